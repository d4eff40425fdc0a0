//! Cell addressing: cell offsets are relative to the start of the hive bins data (file offset 0x1000).
use crate::base_block::BASE_BLOCK_SIZE;
use crate::error::{RegfError, Result};
use serde::Serialize;

/// Marks "no cell" in every offset field.
pub const NO_CELL: u32 = 0xFFFF_FFFF;
const HBIN_HEADER_SIZE: usize = 0x20;

/// A copyable view of the hive bins data, shared by keys and values.
#[derive(Debug, Clone, Copy)]
pub struct Cells<'a> {
    pub(crate) bins: &'a [u8],
    pub(crate) minor_version: u32,
}

#[inline]
pub fn file_offset(cell_offset: u32) -> u64 {
    cell_offset as u64 + BASE_BLOCK_SIZE as u64
}

pub(crate) use triage_bytes::le::{u16_at, u32_at, u64_at};

impl<'a> Cells<'a> {
    /// Hive format minor version (big data records exist from 1.4 on).
    pub fn minor_version(&self) -> u32 {
        self.minor_version
    }

    pub fn bins_len(&self) -> usize {
        self.bins.len()
    }

    /// The payload of the cell at `cell_offset` (without its 4-byte size field).
    /// Free cells are returned too: deleted-but-referenced data is still evidence.
    pub fn cell(&self, cell_offset: u32) -> Result<&'a [u8]> {
        let start = cell_offset as usize;
        let raw = match u32_at(self.bins, start) {
            Some(v) => v as i32,
            None => {
                return Err(RegfError::CellOutOfBounds {
                    offset: file_offset(cell_offset),
                    cell_offset,
                })
            }
        };
        let size = raw.unsigned_abs() as usize;
        if size < 8 || size > self.bins.len() - start {
            return Err(RegfError::BadCellSize {
                offset: file_offset(cell_offset),
                size: raw as i64,
                min: 8,
            });
        }
        Ok(&self.bins[start + 4..start + size])
    }

    /// A cell whose payload must start with `sig` and hold at least `min_len` bytes.
    pub(crate) fn cell_with_sig(
        &self,
        cell_offset: u32,
        sig: &'static str,
        min_len: usize,
    ) -> Result<&'a [u8]> {
        let c = self.cell(cell_offset)?;
        if c.len() < min_len {
            return Err(RegfError::Truncated {
                offset: file_offset(cell_offset) + 4,
                wanted: min_len as u64,
                available: c.len() as u64,
            });
        }
        if &c[..2] != sig.as_bytes() {
            return Err(RegfError::Signature {
                offset: file_offset(cell_offset) + 4,
                expected: sig,
                found: c[..2].to_vec(),
            });
        }
        Ok(c)
    }

    /// Every hive bin in the first `len` bytes of the bins data, in file order; stops at the
    /// first header that does not parse.
    pub fn hbins(&self, len: usize) -> HbinIter<'a> {
        HbinIter {
            bins: &self.bins[..len.min(self.bins.len())],
            pos: 0,
            done: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hbin {
    /// Offset of the bin relative to the hive bins data.
    pub offset: u32,
    pub size: u32,
    pub timestamp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellInfo {
    pub cell_offset: u32,
    pub size: u32,
    pub allocated: bool,
    /// First two payload bytes (e.g. `nk`, `vk`, `lh`), when present.
    pub signature: [u8; 2],
}

pub struct HbinIter<'a> {
    bins: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for HbinIter<'a> {
    type Item = Result<Hbin>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos + HBIN_HEADER_SIZE > self.bins.len() {
            return None;
        }
        let at = self.pos;
        let hdr = &self.bins[at..at + HBIN_HEADER_SIZE];
        let fo = file_offset(at as u32);
        if &hdr[..4] != b"hbin" {
            self.done = true;
            return Some(Err(RegfError::Signature {
                offset: fo,
                expected: "hbin",
                found: hdr[..4].to_vec(),
            }));
        }
        let size = u32_at(hdr, 8).unwrap_or(0);
        if size < 0x1000 || size % 0x1000 != 0 || size as usize > self.bins.len() - at {
            self.done = true;
            return Some(Err(RegfError::BadCellSize {
                offset: fo + 8,
                size: size as i64,
                min: 0x1000,
            }));
        }
        self.pos += size as usize;
        Some(Ok(Hbin {
            offset: at as u32,
            size,
            timestamp: u64_at(hdr, 0x14).unwrap_or(0),
        }))
    }
}

impl Hbin {
    /// Allocated and free cells of this bin; stops at the first impossible size.
    pub fn cells<'a>(&self, cells: &Cells<'a>) -> impl Iterator<Item = Result<CellInfo>> + 'a {
        let bins = cells.bins;
        let end = (self.offset as usize + self.size as usize).min(bins.len());
        let mut pos = self.offset as usize + HBIN_HEADER_SIZE;
        let mut done = false;
        std::iter::from_fn(move || {
            if done || pos + 4 > end {
                return None;
            }
            let raw = u32_at(bins, pos).unwrap_or(0) as i32;
            let size = raw.unsigned_abs() as usize;
            if size < 8 || size % 8 != 0 || size > end - pos {
                done = true;
                return Some(Err(RegfError::BadCellSize {
                    offset: file_offset(pos as u32),
                    size: raw as i64,
                    min: 8,
                }));
            }
            let sig = [bins[pos + 4], bins[pos + 5]];
            let info = CellInfo {
                cell_offset: pos as u32,
                size: size as u32,
                allocated: raw < 0,
                signature: sig,
            };
            pos += size;
            Some(Ok(info))
        })
    }
}
