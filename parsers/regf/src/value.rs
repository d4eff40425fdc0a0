//! Value keys (vk), value lists, resident / cell / big-data (db) storage, typed decoding.
use crate::cells::{file_offset, u16_at, u32_at, Cells, NO_CELL};
use crate::error::{RegfError, Result};
use crate::names::decode_name;
use serde::Serialize;
use std::borrow::Cow;
use triage_bytes::utf16::lossy as utf16_lossy;

const VK_HEADER_LEN: usize = 0x14;
const VALUE_COMP_NAME: u16 = 0x0001;
const DATA_RESIDENT: u32 = 0x8000_0000;
/// Above this size (hive 1.4+) data lives in a db record split into segments of this size.
pub const BIG_DATA_SEGMENT: usize = 16344;

pub const REG_NONE: u32 = 0;
pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
pub const REG_LINK: u32 = 6;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_RESOURCE_LIST: u32 = 8;
pub const REG_FULL_RESOURCE_DESCRIPTOR: u32 = 9;
pub const REG_RESOURCE_REQUIREMENTS_LIST: u32 = 10;
pub const REG_QWORD: u32 = 11;

/// Windows' name for a value type; unknown types as `0x...`.
pub fn reg_type_name(t: u32) -> Cow<'static, str> {
    Cow::Borrowed(match t {
        REG_NONE => "REG_NONE",
        REG_SZ => "REG_SZ",
        REG_EXPAND_SZ => "REG_EXPAND_SZ",
        REG_BINARY => "REG_BINARY",
        REG_DWORD => "REG_DWORD",
        REG_DWORD_BIG_ENDIAN => "REG_DWORD_BIG_ENDIAN",
        REG_LINK => "REG_LINK",
        REG_MULTI_SZ => "REG_MULTI_SZ",
        REG_RESOURCE_LIST => "REG_RESOURCE_LIST",
        REG_FULL_RESOURCE_DESCRIPTOR => "REG_FULL_RESOURCE_DESCRIPTOR",
        REG_RESOURCE_REQUIREMENTS_LIST => "REG_RESOURCE_REQUIREMENTS_LIST",
        REG_QWORD => "REG_QWORD",
        other => return Cow::Owned(format!("{other:#x}")),
    })
}

/// Decoded value data. Strings stop at their first NUL; raw types keep their bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum ValueData<'a> {
    None(Cow<'a, [u8]>),
    Sz(String),
    ExpandSz(String),
    Binary(Cow<'a, [u8]>),
    Dword(u32),
    DwordBigEndian(u32),
    Link(String),
    MultiSz(Vec<String>),
    ResourceList(Cow<'a, [u8]>),
    FullResourceDescriptor(Cow<'a, [u8]>),
    ResourceRequirementsList(Cow<'a, [u8]>),
    Qword(u64),
    /// A numeric type (DWORD, QWORD, big-endian DWORD) stored with zero bytes of data, which
    /// Windows permits (e.g. LSA secrets' placeholder values).
    Empty {
        data_type: u32,
    },
    Other {
        data_type: u32,
        raw: Cow<'a, [u8]>,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    cells: Cells<'a>,
    offset: u32,
    vk: &'a [u8],
}

impl<'a> Value<'a> {
    pub(crate) fn parse(cells: Cells<'a>, offset: u32) -> Result<Value<'a>> {
        let vk = cells.cell_with_sig(offset, "vk", VK_HEADER_LEN)?;
        let name_len = u16_at(vk, 2).unwrap_or(0) as usize;
        if VK_HEADER_LEN + name_len > vk.len() {
            return Err(RegfError::Truncated {
                offset: file_offset(offset) + 4 + VK_HEADER_LEN as u64,
                wanted: name_len as u64,
                available: (vk.len() - VK_HEADER_LEN) as u64,
            });
        }
        Ok(Value { cells, offset, vk })
    }

    pub fn cell_offset(&self) -> u32 {
        self.offset
    }
    pub fn file_offset(&self) -> u64 {
        file_offset(self.offset)
    }
    pub fn name_raw(&self) -> &'a [u8] {
        let len = u16_at(self.vk, 2).unwrap_or(0) as usize;
        &self.vk[VK_HEADER_LEN..VK_HEADER_LEN + len]
    }
    /// The value name; `""` is the key's default value.
    pub fn name(&self) -> Cow<'a, str> {
        let flags = u16_at(self.vk, 0x10).unwrap_or(0);
        decode_name(self.name_raw(), flags & VALUE_COMP_NAME != 0)
    }
    pub fn data_type(&self) -> u32 {
        u32_at(self.vk, 0x0C).unwrap_or(0)
    }
    pub fn type_name(&self) -> Cow<'static, str> {
        reg_type_name(self.data_type())
    }
    fn raw_size(&self) -> u32 {
        u32_at(self.vk, 0x04).unwrap_or(0)
    }
    /// Data length in bytes, as declared.
    pub fn data_len(&self) -> u32 {
        self.raw_size() & !DATA_RESIDENT
    }
    /// Data of at most 4 bytes stored in the vk's own data-offset field.
    pub fn is_resident(&self) -> bool {
        self.raw_size() & DATA_RESIDENT != 0
    }

    /// The data bytes: borrowed unless they are spread over big-data segments.
    pub fn raw_data(&self) -> Result<Cow<'a, [u8]>> {
        let len = self.data_len() as usize;
        if self.is_resident() {
            return match self.vk.get(0x08..0x08 + len) {
                Some(b) if len <= 4 => Ok(Cow::Borrowed(b)),
                _ => Err(RegfError::BadValueData {
                    offset: self.file_offset() + 4 + 4,
                    data_type: self.data_type(),
                    len: len as u64,
                    expected: "at most 4 bytes of resident data",
                }),
            };
        }
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let data_off = u32_at(self.vk, 0x08).unwrap_or(NO_CELL);
        let cell = self.cells.cell(data_off)?;
        if len > BIG_DATA_SEGMENT && cell.len() >= 8 && &cell[..2] == b"db" {
            return self.big_data(data_off, cell, len).map(Cow::Owned);
        }
        cell.get(..len)
            .map(Cow::Borrowed)
            .ok_or(RegfError::Truncated {
                offset: file_offset(data_off) + 4,
                wanted: len as u64,
                available: cell.len() as u64,
            })
    }

    fn big_data(&self, db_off: u32, db: &'a [u8], len: usize) -> Result<Vec<u8>> {
        if len > self.cells.bins_len() {
            return Err(RegfError::TooMany {
                offset: self.file_offset() + 4 + 4,
                what: "big data bytes",
                count: len as u64,
                limit: self.cells.bins_len() as u64,
            });
        }
        let segments = u16_at(db, 2).unwrap_or(0) as usize;
        let list_off = u32_at(db, 4).unwrap_or(NO_CELL);
        let list = self.cells.cell(list_off)?;
        if segments * 4 > list.len() {
            return Err(RegfError::TooMany {
                offset: file_offset(db_off) + 4 + 2,
                what: "big data segment",
                count: segments as u64,
                limit: (list.len() / 4) as u64,
            });
        }
        let mut out = Vec::with_capacity(len);
        for i in 0..segments {
            if out.len() >= len {
                break;
            }
            let seg_off = u32_at(list, i * 4).unwrap_or(NO_CELL);
            let seg = self.cells.cell(seg_off)?;
            let take = (len - out.len()).min(BIG_DATA_SEGMENT).min(seg.len());
            out.extend_from_slice(&seg[..take]);
        }
        if out.len() < len {
            return Err(RegfError::Truncated {
                offset: file_offset(db_off),
                wanted: len as u64,
                available: out.len() as u64,
            });
        }
        Ok(out)
    }

    /// Typed data, decoded on demand.
    pub fn data(&self) -> Result<ValueData<'a>> {
        let raw = self.raw_data()?;
        let t = self.data_type();
        let need = |n: usize, expected: &'static str| -> Result<()> {
            if raw.len() < n {
                Err(RegfError::BadValueData {
                    offset: self.file_offset(),
                    data_type: t,
                    len: raw.len() as u64,
                    expected,
                })
            } else {
                Ok(())
            }
        };
        if raw.is_empty() && matches!(t, REG_DWORD | REG_DWORD_BIG_ENDIAN | REG_QWORD) {
            return Ok(ValueData::Empty { data_type: t });
        }
        Ok(match t {
            REG_NONE => ValueData::None(raw),
            REG_SZ => ValueData::Sz(decode_sz(&raw)),
            REG_EXPAND_SZ => ValueData::ExpandSz(decode_sz(&raw)),
            REG_BINARY => ValueData::Binary(raw),
            REG_DWORD => {
                need(4, "at least 4 bytes")?;
                ValueData::Dword(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
            }
            REG_DWORD_BIG_ENDIAN => {
                need(4, "at least 4 bytes")?;
                ValueData::DwordBigEndian(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
            }
            REG_LINK => ValueData::Link(utf16_lossy(&raw)),
            REG_MULTI_SZ => ValueData::MultiSz(decode_multi_sz(&raw)),
            REG_RESOURCE_LIST => ValueData::ResourceList(raw),
            REG_FULL_RESOURCE_DESCRIPTOR => ValueData::FullResourceDescriptor(raw),
            REG_RESOURCE_REQUIREMENTS_LIST => ValueData::ResourceRequirementsList(raw),
            REG_QWORD => {
                need(8, "at least 8 bytes")?;
                let mut b = [0u8; 8];
                b.copy_from_slice(&raw[..8]);
                ValueData::Qword(u64::from_le_bytes(b))
            }
            data_type => ValueData::Other { data_type, raw },
        })
    }
}

/// REG_SZ / REG_EXPAND_SZ: UTF-16LE up to the first NUL (a trailing odd byte is ignored).
pub fn decode_sz(raw: &[u8]) -> String {
    triage_bytes::utf16::until_nul(raw)
}

/// REG_MULTI_SZ: NUL-separated strings. Only the final terminators (the last string's NUL and
/// the list's closing NUL, i.e. at most two trailing NUL units) are dropped; empty strings inside
/// are kept because PendingFileRenameOperations pairs depend on them:
/// `a\0\0b\0\0` → ["a", "", "b"]; `\0\0` → [""]; empty data → [].
pub fn decode_multi_sz(raw: &[u8]) -> Vec<String> {
    let mut body = &raw[..raw.len() & !1];
    if body.is_empty() {
        return Vec::new();
    }
    for _ in 0..2 {
        if body.ends_with(&[0, 0]) {
            body = &body[..body.len() - 2];
        }
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        match triage_bytes::utf16::nul_position(rest) {
            Some(end) => {
                out.push(triage_bytes::utf16::lossy(&rest[..end]));
                rest = &rest[end + 2..];
            }
            None => {
                out.push(triage_bytes::utf16::lossy(rest));
                return out;
            }
        }
    }
}

/// Lazy iteration over a key's value list.
pub struct ValueIter<'a> {
    cells: Cells<'a>,
    list: &'a [u8],
    index: usize,
    count: usize,
    pending_err: Option<RegfError>,
}

impl<'a> ValueIter<'a> {
    pub(crate) fn new(cells: Cells<'a>, list_off: u32, declared: u32) -> ValueIter<'a> {
        let mut it = ValueIter {
            cells,
            list: &[],
            index: 0,
            count: 0,
            pending_err: None,
        };
        if declared == 0 || list_off == NO_CELL {
            return it;
        }
        match cells.cell(list_off) {
            Ok(list) => {
                let fits = list.len() / 4;
                if declared as usize > fits {
                    it.pending_err = Some(RegfError::TooMany {
                        offset: file_offset(list_off),
                        what: "value list entry",
                        count: declared as u64,
                        limit: fits as u64,
                    });
                }
                it.list = list;
                it.count = (declared as usize).min(fits);
            }
            Err(e) => it.pending_err = Some(e),
        }
        it
    }
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = Result<Value<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_err.take() {
            return Some(Err(e));
        }
        if self.index >= self.count {
            return None;
        }
        let off = u32_at(self.list, self.index * 4).unwrap_or(NO_CELL);
        self.index += 1;
        Some(Value::parse(self.cells, off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }
    #[test]
    fn multi_sz_keeps_inner_empty_strings() {
        assert_eq!(decode_multi_sz(&utf16("a\0\0b\0\0")), ["a", "", "b"]);
        assert_eq!(
            decode_multi_sz(&utf16("src\0\0dst\0!x\0\0")),
            ["src", "", "dst", "!x"]
        );
        assert_eq!(decode_multi_sz(&utf16("\0\0")), [""]);
        assert_eq!(decode_multi_sz(&utf16("a")), ["a"]);
        assert!(decode_multi_sz(&[]).is_empty());
    }
    #[test]
    fn non_ascii_and_unpaired_surrogates_decode() {
        assert_eq!(
            decode_sz(&utf16("Übersicht\u{1F600}")),
            "Übersicht\u{1F600}"
        );
        assert_eq!(decode_sz(&[0x00, 0xD8, 0x41, 0x00]), "\u{FFFD}A");
    }
    #[test]
    fn sz_stops_at_nul_and_ignores_odd_byte() {
        let mut b = utf16("abc\0junk");
        assert_eq!(decode_sz(&b), "abc");
        b = utf16("xy");
        b.push(0x41);
        assert_eq!(decode_sz(&b), "xy");
    }
}
