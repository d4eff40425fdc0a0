//! Directory indexes (`$I30`: `$INDEX_ROOT` + `$INDEX_ALLOCATION`): name lookup by
//! B-tree descent (with a depth and visited limit) and a flat listing of every block.

use triage_source::{read_exact_at, ByteSource, Location, Result, SourceError};

use crate::data::FileData;
use crate::record::{self, u16_at, u32_at, u64_at};

/// Levels of a directory B-tree walked at most (real trees are 3–4 deep).
const MAX_LEVELS: usize = 64;
/// Index blocks read by one listing at most (64 Ki blocks of 4 KiB = 256 MiB of index).
const MAX_BLOCKS: u64 = 1 << 16;

/// One index entry of a directory.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The file: (MFT entry, sequence).
    pub file: (u64, u16),
    pub name: String,
    /// 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS.
    pub namespace: u8,
    pub is_dir: bool,
}

/// A directory's `$I30` index, opened.
pub(crate) struct Dir {
    pub root: Vec<u8>,
    pub alloc: Option<FileData>,
    pub bitmap: Option<Vec<u8>>,
    pub block_size: u32,
    pub cluster: u32,
    /// The directory's `$I30`, for messages.
    pub loc: Location,
}

struct Raw<'a> {
    file: u64,
    key: &'a [u8],
    child: Option<u64>,
}

/// The entries of one node (`h` = the index header), in order; stops at the last-entry
/// marker.
fn node_entries(b: &[u8], h: usize) -> Result<Vec<Raw<'_>>, String> {
    let first = h
        .checked_add(u32_at(b, h) as usize)
        .ok_or("entry offset overflows")?;
    let end = h
        .checked_add(u32_at(b, h + 4) as usize)
        .ok_or("index size overflows")?
        .min(b.len());
    let mut pos = first;
    let mut out = Vec::new();
    while pos + 16 <= end {
        let len = u16_at(b, pos + 8) as usize;
        let klen = u16_at(b, pos + 10) as usize;
        let flags = u16_at(b, pos + 12);
        if len < 16 || pos + len > end {
            return Err(format!("index entry at {pos:#x} claims length {len}"));
        }
        let child = (flags & 1 != 0 && len >= 24).then(|| u64_at(b, pos + len - 8));
        if flags & 2 != 0 {
            out.push(Raw {
                file: u64::MAX,
                key: &[],
                child,
            });
            return Ok(out);
        }
        let key = b
            .get(pos + 16..pos + 16 + klen)
            .filter(|_| 16 + klen <= len)
            .ok_or_else(|| format!("index entry at {pos:#x}: key of {klen} bytes runs past it"))?;
        out.push(Raw {
            file: u64_at(b, pos),
            key,
            child,
        });
        pos += len;
    }
    Ok(out)
}

fn key_name(key: &[u8]) -> Option<(&[u8], u8)> {
    let len = *key.get(64)? as usize;
    Some((key.get(66..66 + len * 2)?, *key.get(65)?))
}

/// Case-insensitive comparison as NTFS collates file names: code unit by code unit
/// through the volume's `$UpCase` table.
pub(crate) fn collate(a: &[u16], b: &[u8], up: &dyn Fn(u16) -> u16) -> std::cmp::Ordering {
    let bu = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut ai = a.iter();
    let mut bi = bu;
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(&x), Some(y)) => match up(x).cmp(&up(y)) {
                std::cmp::Ordering::Equal => {}
                o => return o,
            },
        }
    }
}

impl Dir {
    fn block(&self, vcn: u64) -> Result<Vec<u8>> {
        let alloc = self.alloc.as_ref().ok_or_else(|| {
            SourceError::corrupt(
                &self.loc,
                "index",
                0,
                "entry points to a child block but the directory has no $INDEX_ALLOCATION",
            )
        })?;
        let unit = if self.block_size >= self.cluster {
            self.cluster as u64
        } else {
            512
        };
        let off = vcn.checked_mul(unit).ok_or_else(|| {
            SourceError::corrupt(
                alloc.location(),
                "index",
                0,
                format!("child VCN {vcn:#x} overflows"),
            )
        })?;
        let mut b = vec![0u8; self.block_size as usize];
        read_exact_at(alloc, off, &mut b)?;
        if b.get(0..4) != Some(b"INDX") {
            return Err(SourceError::corrupt(
                alloc.location(),
                "index block",
                off,
                format!("index block at VCN {vcn:#x} has no INDX signature"),
            ));
        }
        record::apply_fixups(&mut b).map_err(|e| {
            SourceError::corrupt(
                alloc.location(),
                "index block",
                off,
                format!("index block at VCN {vcn:#x}: {e}"),
            )
        })?;
        Ok(b)
    }

    /// The MFT reference of `name` in this directory, by B-tree descent.
    pub fn find(&self, name: &str, up: &dyn Fn(u16) -> u16) -> Result<Option<(u64, u16)>> {
        let target: Vec<u16> = name.encode_utf16().collect();
        let mut node = self.root.clone();
        let mut header = 16usize;
        let mut visited: Vec<u64> = Vec::new();
        for _ in 0..MAX_LEVELS {
            let entries = node_entries(&node, header)
                .map_err(|e| SourceError::corrupt(&self.loc, "index node", 0, e))?;
            let mut next = None;
            for e in &entries {
                if e.file == u64::MAX {
                    next = e.child;
                    break;
                }
                let Some((kname, _)) = key_name(e.key) else {
                    continue;
                };
                match collate(&target, kname, up) {
                    std::cmp::Ordering::Equal => return Ok(Some(record::split_ref(e.file))),
                    std::cmp::Ordering::Less => {
                        next = e.child;
                        break;
                    }
                    std::cmp::Ordering::Greater => {}
                }
            }
            let Some(vcn) = next else { return Ok(None) };
            if visited.contains(&vcn) {
                return Err(SourceError::corrupt(
                    &self.loc,
                    "index",
                    vcn,
                    format!("index block VCN {vcn:#x} is its own descendant"),
                ));
            }
            visited.push(vcn);
            node = self.block(vcn)?;
            header = 0x18;
        }
        Ok(None)
    }

    /// Every entry of the directory: the root, then every in-use block in order.
    pub fn list(&self, warn: &mut Vec<String>) -> Vec<DirEntry> {
        let mut out = Vec::new();
        let push = |b: &[u8], h: usize, out: &mut Vec<DirEntry>, warn: &mut Vec<String>| {
            match node_entries(b, h) {
                Ok(es) => {
                    for e in es {
                        if e.file == u64::MAX {
                            continue;
                        }
                        if let Some((n, ns)) = key_name(e.key) {
                            out.push(DirEntry {
                                file: record::split_ref(e.file),
                                name: record::utf16(n),
                                namespace: ns,
                                is_dir: u32_at(e.key, 56) & 0x1000_0000 != 0,
                            });
                        }
                    }
                }
                Err(e) => warn.push(e),
            }
        };
        push(&self.root, 16, &mut out, warn);
        if let Some(a) = &self.alloc {
            let blocks = (a.len() / self.block_size as u64).min(MAX_BLOCKS);
            let unit = if self.block_size >= self.cluster {
                self.cluster as u64
            } else {
                512
            };
            let per = self.block_size as u64 / unit;
            for i in 0..blocks {
                let used = match &self.bitmap {
                    Some(bm) => bm
                        .get((i / 8) as usize)
                        .is_some_and(|b| b & (1 << (i % 8)) != 0),
                    None => true,
                };
                if !used {
                    continue;
                }
                match self.block(i * per) {
                    Ok(b) => push(&b, 0x18, &mut out, warn),
                    Err(e) => warn.push(e.to_string()),
                }
            }
        }
        out
    }
}
