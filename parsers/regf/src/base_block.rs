//! The 4 KiB base block ("regf") at file offset 0.
use crate::error::{RegfError, Result};
use nom::bytes::complete::take;
use nom::number::complete::{le_u32, le_u64};
use nom::Parser;
use serde::Serialize;

pub const BASE_BLOCK_SIZE: usize = 0x1000;
/// The checksum covers the first 127 dwords (0x1FC bytes) and is stored right after them.
const CHECKSUM_OFFSET: usize = 0x1FC;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseBlock {
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    pub last_written: u64,
    pub major_version: u32,
    pub minor_version: u32,
    /// 0 = primary file, 1/2 = old-format log, 6 = new-format log.
    pub file_type: u32,
    pub file_format: u32,
    pub root_cell_offset: u32,
    pub hive_bins_data_size: u32,
    pub clustering_factor: u32,
    /// UTF-16LE at 0x30 (64 bytes), often the tail of the hive's path; trailing NULs dropped.
    pub file_name: String,
    pub checksum: u32,
    pub computed_checksum: u32,
}

impl BaseBlock {
    pub fn parse(data: &[u8]) -> Result<BaseBlock> {
        if data.len() < 0x200 {
            return Err(RegfError::Truncated {
                offset: 0,
                wanted: 0x200,
                available: data.len() as u64,
            });
        }
        if &data[..4] != b"regf" {
            return Err(RegfError::Signature {
                offset: 0,
                expected: "regf",
                found: data[..4].to_vec(),
            });
        }
        let to_err = |_: nom::Err<nom::error::Error<&[u8]>>| RegfError::Truncated {
            offset: 0,
            wanted: 0x200,
            available: data.len() as u64,
        };
        let (rest, (_, primary_sequence, secondary_sequence, last_written)) =
            (take(4usize), le_u32, le_u32, le_u64)
                .parse(data)
                .map_err(to_err)?;
        let (rest, (major_version, minor_version, file_type, file_format, root_cell_offset)) =
            (le_u32, le_u32, le_u32, le_u32, le_u32)
                .parse(rest)
                .map_err(to_err)?;
        let (rest, (hive_bins_data_size, clustering_factor, name_bytes)) =
            (le_u32, le_u32, take(64usize))
                .parse(rest)
                .map_err(to_err)?;
        let _ = rest;
        let (_, checksum) = le_u32.parse(&data[CHECKSUM_OFFSET..]).map_err(to_err)?;
        Ok(BaseBlock {
            primary_sequence,
            secondary_sequence,
            last_written,
            major_version,
            minor_version,
            file_type,
            file_format,
            root_cell_offset,
            hive_bins_data_size,
            clustering_factor,
            file_name: utf16_until_nul(name_bytes),
            checksum,
            computed_checksum: base_block_checksum(data),
        })
    }

    pub fn checksum_ok(&self) -> bool {
        self.checksum == self.computed_checksum
    }
}

/// XOR of the first 127 dwords, with 0 mapped to 1 and 0xFFFFFFFF to 0xFFFFFFFE (as documented
/// in the Windows NT registry file format notes). `data` must hold at least 0x1FC bytes.
pub fn base_block_checksum(data: &[u8]) -> u32 {
    let mut x = 0u32;
    for chunk in data.get(..CHECKSUM_OFFSET).unwrap_or(&[]).chunks_exact(4) {
        x ^= u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        x => x,
    }
}

pub(crate) use triage_bytes::utf16::until_nul as utf16_until_nul;
