//! Bounds-checked little-endian reads over the SCCA stream: every read names the layer
//! it serves, so a short or lying file becomes an [`Error::Corrupt`] with its offset.

use crate::Error;

/// The SCCA stream (the file, or a MAM file's decompressed data).
#[derive(Clone, Copy)]
pub(crate) struct Buf<'a> {
    pub data: &'a [u8],
    /// Offsets are in decompressed data (reported in errors).
    pub decompressed: bool,
}

impl<'a> Buf<'a> {
    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn corrupt(&self, layer: &'static str, offset: u64, what: impl Into<String>) -> Error {
        Error::Corrupt {
            layer,
            offset,
            what: what.into(),
            decompressed: self.decompressed,
        }
    }

    pub fn unsupported(&self, layer: &'static str, offset: u64, what: impl Into<String>) -> Error {
        Error::Unsupported {
            layer,
            offset,
            what: what.into(),
            decompressed: self.decompressed,
        }
    }

    /// `len` bytes at `offset`, or an error saying what was cut short.
    pub fn slice(
        &self,
        layer: &'static str,
        offset: u64,
        len: u64,
        what: &str,
    ) -> Result<&'a [u8], Error> {
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= self.len() => Ok(&self.data[offset as usize..end as usize]),
            _ => Err(self.corrupt(
                layer,
                offset,
                format!(
                    "{what}: {len} bytes at {offset:#x} run past the end of the data ({:#x} bytes)",
                    self.len()
                ),
            )),
        }
    }

    pub fn u32(&self, layer: &'static str, offset: u64, what: &str) -> Result<u32, Error> {
        let b = self.slice(layer, offset, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub(crate) use triage_bytes::le::{u32_or_zero as le32, u64_or_zero as le64};

pub(crate) use triage_bytes::utf16::until_nul as utf16z;
