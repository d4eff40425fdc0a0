//! Key nodes (nk) and their subkey lists (lf / lh / li / ri).
use crate::cells::{file_offset, u16_at, u32_at, u64_at, Cells, NO_CELL};
use crate::error::{RegfError, Result};
use crate::names::{decode_name, names_equal};
use crate::value::{Value, ValueIter};
use std::borrow::Cow;
use triage_bytes::utf16::lossy as utf16_lossy;

const NK_HEADER_LEN: usize = 0x4C;
pub const KEY_HIVE_ENTRY: u16 = 0x0004;
pub const KEY_SYM_LINK: u16 = 0x0010;
pub const KEY_COMP_NAME: u16 = 0x0020;
/// ri lists may in theory nest; Windows never nests them more than once.
const MAX_INDEX_DEPTH: usize = 8;

/// A key node, borrowing the hive bytes.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    cells: Cells<'a>,
    offset: u32,
    nk: &'a [u8],
}

impl<'a> Key<'a> {
    pub(crate) fn parse(cells: Cells<'a>, offset: u32) -> Result<Key<'a>> {
        let nk = cells.cell_with_sig(offset, "nk", NK_HEADER_LEN)?;
        let key = Key { cells, offset, nk };
        let name_len = key.u16(0x48) as usize;
        if NK_HEADER_LEN + name_len > nk.len() {
            return Err(RegfError::Truncated {
                offset: key.file_offset() + 4 + NK_HEADER_LEN as u64,
                wanted: name_len as u64,
                available: (nk.len() - NK_HEADER_LEN) as u64,
            });
        }
        Ok(key)
    }

    #[inline]
    fn u16(&self, at: usize) -> u16 {
        u16_at(self.nk, at).unwrap_or(0) // header length checked in parse()
    }
    #[inline]
    fn u32(&self, at: usize) -> u32 {
        u32_at(self.nk, at).unwrap_or(0)
    }

    pub fn cell_offset(&self) -> u32 {
        self.offset
    }
    pub fn file_offset(&self) -> u64 {
        file_offset(self.offset)
    }
    pub fn flags(&self) -> u16 {
        self.u16(0x02)
    }
    pub fn is_root(&self) -> bool {
        self.flags() & KEY_HIVE_ENTRY != 0
    }
    pub fn is_symlink(&self) -> bool {
        self.flags() & KEY_SYM_LINK != 0
    }
    /// FILETIME of the last write to this key (format with [`crate::filetime_to_iso8601`]).
    pub fn last_written(&self) -> u64 {
        u64_at(self.nk, 0x04).unwrap_or(0)
    }
    pub fn parent_offset(&self) -> u32 {
        self.u32(0x10)
    }
    pub fn subkey_count(&self) -> u32 {
        self.u32(0x14)
    }
    pub fn value_count(&self) -> u32 {
        self.u32(0x24)
    }
    pub fn security_offset(&self) -> u32 {
        self.u32(0x2C)
    }
    pub fn name_raw(&self) -> &'a [u8] {
        let len = self.u16(0x48) as usize;
        &self.nk[NK_HEADER_LEN..NK_HEADER_LEN + len]
    }
    pub fn name(&self) -> Cow<'a, str> {
        decode_name(self.name_raw(), self.flags() & KEY_COMP_NAME != 0)
    }

    /// The class name (UTF-16LE), if the key has one.
    pub fn class_name(&self) -> Option<Result<String>> {
        let off = self.u32(0x30);
        let len = self.u16(0x4A) as usize;
        if off == NO_CELL || len == 0 {
            return None;
        }
        Some(self.cells.cell(off).and_then(|c| {
            c.get(..len).map(utf16_lossy).ok_or(RegfError::Truncated {
                offset: file_offset(off) + 4,
                wanted: len as u64,
                available: c.len() as u64,
            })
        }))
    }

    /// The security descriptor bytes of the key's sk cell.
    pub fn security_descriptor(&self) -> Result<&'a [u8]> {
        let off = self.security_offset();
        let sk = self.cells.cell_with_sig(off, "sk", 0x14)?;
        let len = u32_at(sk, 0x10).unwrap_or(0) as usize;
        sk.get(0x14..0x14usize.saturating_add(len))
            .ok_or(RegfError::Truncated {
                offset: file_offset(off) + 4 + 0x14,
                wanted: len as u64,
                available: (sk.len() - 0x14) as u64,
            })
    }

    /// Lazy iteration over subkeys (stable ones; volatile subkeys never reach disk).
    pub fn subkeys(&self) -> SubkeyIter<'a> {
        let list = self.u32(0x1C);
        let mut it = SubkeyIter {
            cells: self.cells,
            stack: Vec::new(),
            budget: self.cells.bins_len() / 8,
            pending_err: None,
        };
        if self.subkey_count() > 0 && list != NO_CELL {
            it.push_list(list);
        }
        it
    }

    /// Case-insensitive lookup of a direct subkey.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'a>>> {
        for k in self.subkeys() {
            let k = k?;
            if names_equal(&k.name(), name) {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Lazy iteration over values.
    pub fn values(&self) -> ValueIter<'a> {
        ValueIter::new(self.cells, self.u32(0x28), self.value_count())
    }

    /// Case-insensitive lookup of a value; `""` is the default value.
    pub fn value(&self, name: &str) -> Result<Option<Value<'a>>> {
        for v in self.values() {
            let v = v?;
            if names_equal(&v.name(), name) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

struct ListFrame<'a> {
    cell_offset: u32,
    list: &'a [u8],
    is_ri: bool,
    /// Entry size: 8 for lf/lh (offset + hash), 4 for li/ri.
    stride: usize,
    count: usize,
    index: usize,
}

/// Walks lf/lh/li lists and ri indexes lazily, bounded by depth and a total cell budget.
pub struct SubkeyIter<'a> {
    cells: Cells<'a>,
    stack: Vec<ListFrame<'a>>,
    budget: usize,
    pending_err: Option<RegfError>,
}

impl<'a> SubkeyIter<'a> {
    fn push_list(&mut self, off: u32) {
        if self.stack.len() >= MAX_INDEX_DEPTH {
            self.pending_err = Some(RegfError::TooDeep {
                offset: file_offset(off),
                depth: self.stack.len() as u32,
            });
            return;
        }
        let list = match self.cells.cell(off) {
            Ok(l) if l.len() >= 4 => l,
            Ok(l) => {
                self.pending_err = Some(RegfError::Truncated {
                    offset: file_offset(off) + 4,
                    wanted: 4,
                    available: l.len() as u64,
                });
                return;
            }
            Err(e) => {
                self.pending_err = Some(e);
                return;
            }
        };
        let (is_ri, stride) = match &list[..2] {
            b"lf" | b"lh" => (false, 8),
            b"li" => (false, 4),
            b"ri" => (true, 4),
            other => {
                self.pending_err = Some(RegfError::Signature {
                    offset: file_offset(off) + 4,
                    expected: "lf, lh, li or ri",
                    found: other.to_vec(),
                });
                return;
            }
        };
        let declared = u16_at(list, 2).unwrap_or(0) as usize;
        let fits = (list.len() - 4) / stride;
        if declared > fits {
            // Keep what the cell can hold and report the rest as missing.
            self.pending_err = Some(RegfError::TooMany {
                offset: file_offset(off) + 6,
                what: "subkey list entry",
                count: declared as u64,
                limit: fits as u64,
            });
        }
        self.stack.push(ListFrame {
            cell_offset: off,
            list,
            is_ri,
            stride,
            count: declared.min(fits),
            index: 0,
        });
    }
}

impl<'a> Iterator for SubkeyIter<'a> {
    type Item = Result<Key<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending_err.take() {
                return Some(Err(e));
            }
            let frame = self.stack.last_mut()?;
            if frame.index >= frame.count {
                self.stack.pop();
                continue;
            }
            if self.budget == 0 {
                let off = frame.cell_offset;
                self.stack.clear();
                return Some(Err(RegfError::TooMany {
                    offset: file_offset(off),
                    what: "subkey list entries walked",
                    count: (self.cells.bins_len() / 8) as u64 + 1,
                    limit: (self.cells.bins_len() / 8) as u64,
                }));
            }
            self.budget -= 1;
            let at = 4 + frame.index * frame.stride;
            frame.index += 1;
            let target = u32_at(frame.list, at).unwrap_or(NO_CELL);
            if frame.is_ri {
                self.push_list(target);
                continue;
            }
            return Some(Key::parse(self.cells, target));
        }
    }
}
