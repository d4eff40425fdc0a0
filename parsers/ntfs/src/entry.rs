//! The record types handed to callers, and how one merged record becomes an [`Entry`].

use crate::record::{self, u32_at, u64_at, Attr, Header};

/// One `$FILE_NAME` attribute: a name of the file in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub name: String,
    /// 0 POSIX, 1 Win32, 2 DOS (8.3), 3 Win32 and DOS.
    pub namespace: u8,
    /// The directory: (MFT entry, sequence).
    pub parent: (u64, u16),
    /// created, modified, MFT modified, accessed (raw FILETIME).
    pub times: [u64; 4],
    /// The size recorded in the name (often stale; the `$DATA` size is the truth).
    pub size: u64,
}

/// `$STANDARD_INFORMATION`: the times Windows shows (and `SetFileTime` changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StandardInfo {
    pub created: u64,
    pub modified: u64,
    pub mft_modified: u64,
    pub accessed: u64,
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
}

impl StandardInfo {
    /// The four times in the same order as [`FileName::times`] and [`Entry::fn_times`].
    pub fn times(&self) -> [u64; 4] {
        [
            self.created,
            self.modified,
            self.mft_modified,
            self.accessed,
        ]
    }
}

/// File properties from `$STANDARD_INFORMATION` attributes and the `$DATA` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub readonly: bool,
    pub hidden: bool,
    pub system: bool,
    pub compressed: bool,
    pub sparse: bool,
    pub encrypted: bool,
    pub reparse: bool,
}

/// One MFT record (extension records merged into their base through `$ATTRIBUTE_LIST`).
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub entry: u64,
    pub sequence: u16,
    pub in_use: bool,
    pub is_dir: bool,
    /// 0 for a base record; for an extension record, the base it belongs to (its
    /// attributes are merged into that base's entry).
    pub base_record: u64,
    /// The primary name's directory.
    pub parent: Option<(u64, u16)>,
    pub names: Vec<FileName>,
    /// Full path of the primary name from the root (`\Windows\System32\smss.exe`), filled
    /// by [`crate::Ntfs::for_each_entry`] and [`crate::Ntfs::entry`]. Markers: see the
    /// crate docs (`\$Orphan\`, `\$Cycle\`, `\$Truncated\`); empty for a record without a name.
    pub path: String,
    pub si: Option<StandardInfo>,
    /// The primary name's `$FILE_NAME` times (Win32 or POSIX, else DOS), same order as si.
    pub fn_times: Option<[u64; 4]>,
    /// Size of the unnamed `$DATA` (0 for directories).
    pub size: u64,
    pub allocated: u64,
    pub flags: Flags,
    /// Names of the alternate data streams (named `$DATA` attributes).
    pub streams: Vec<String>,
    pub reparse_tag: Option<u32>,
    pub hard_links: u16,
    /// Problems with this record, each naming the entry and the byte offset.
    pub warnings: Vec<String>,
}

/// Counts from one enumeration.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    /// Records in the `$MFT`.
    pub records: u64,
    pub in_use: u64,
    pub deleted: u64,
    /// Never-used (all zero) records.
    pub empty: u64,
    /// Records that are not `FILE` records (`BAAD`, garbage) or whose header is bad.
    pub bad: u64,
    pub extension: u64,
    /// Record-level problems (bounded to the first 10,000), each with entry and offset.
    pub errors: Vec<String>,
    /// The enumeration stopped at its deadline ([`crate::Ntfs::for_each_entry_until`]):
    /// the entries handed out so far are all there is.
    pub timed_out: bool,
    /// Nodes in the path index the enumeration built: the directories, the root, and
    /// any deleted non-directory record named as a parent. It is the part of the
    /// enumeration's memory that grows with the volume (about 25 bytes plus the name a
    /// node), so it grows with the directories, not with the files.
    pub index_nodes: u64,
}

pub(crate) const TAG_WOF: u32 = 0x8000_0017;

/// Name-space preference for the primary name: Win32 (or Win32+DOS), POSIX, then DOS.
fn rank(ns: u8) -> u8 {
    match ns {
        1 | 3 => 0,
        0 => 1,
        _ => 2,
    }
}

pub(crate) fn parse_file_name(v: &[u8]) -> Option<FileName> {
    let len = *v.get(64)? as usize;
    let ns = *v.get(65)?;
    let name = v.get(66..66 + len * 2)?;
    let (p, s) = record::split_ref(u64_at(v, 0));
    Some(FileName {
        name: record::utf16(name),
        namespace: ns,
        parent: (p, s),
        times: [u64_at(v, 8), u64_at(v, 16), u64_at(v, 24), u64_at(v, 32)],
        size: u64_at(v, 48),
    })
}

/// Index of the primary name among `names`.
pub(crate) fn primary(names: &[FileName]) -> Option<usize> {
    (0..names.len()).min_by_key(|&i| rank(names[i].namespace))
}

/// Build the entry from a header and its merged attributes.
pub(crate) fn build(n: u64, h: &Header, attrs: &[Attr<'_>], warnings: Vec<String>) -> Entry {
    let mut e = Entry {
        entry: n,
        sequence: h.sequence,
        in_use: h.in_use(),
        is_dir: h.is_dir(),
        base_record: record::split_ref(h.base).0,
        hard_links: h.hard_links,
        warnings,
        ..Entry::default()
    };
    // Sized to fit: a grown Vec would hold room for four names (352 bytes) where most
    // records have one or two, times every entry in flight.
    e.names.reserve_exact(
        attrs
            .iter()
            .filter(|a| a.ty == record::AT_FILE_NAME)
            .count(),
    );
    let mut data_flags = 0u16;
    for a in attrs {
        match a.ty {
            record::AT_STANDARD_INFORMATION => {
                if let Some(v) = a.resident.filter(|v| v.len() >= 36) {
                    e.si = Some(StandardInfo {
                        created: u64_at(v, 0),
                        modified: u64_at(v, 8),
                        mft_modified: u64_at(v, 16),
                        accessed: u64_at(v, 24),
                        attributes: u32_at(v, 32),
                    });
                }
            }
            record::AT_FILE_NAME => match a.resident.and_then(parse_file_name) {
                Some(f) => e.names.push(f),
                None => e.warnings.push(format!(
                    "$MFT entry {}: $FILE_NAME at {:#x} does not hold together",
                    a.record, a.offset
                )),
            },
            record::AT_DATA => {
                if a.name.is_empty() {
                    // The extent that starts at VCN 0 (or the resident value) carries the sizes.
                    match (a.resident, a.nonres) {
                        (Some(v), _) => {
                            e.size = v.len() as u64;
                            e.allocated = v.len() as u64;
                            data_flags = a.flags;
                        }
                        (_, Some(nr)) if nr.start_vcn == 0 => {
                            e.size = nr.size;
                            e.allocated = nr.alloc;
                            data_flags = a.flags;
                        }
                        _ => {}
                    }
                } else {
                    let name = a.name_string();
                    if !e.streams.contains(&name) {
                        e.streams.push(name);
                    }
                }
            }
            record::AT_REPARSE_POINT => {
                e.reparse_tag = a.resident.filter(|v| v.len() >= 4).map(|v| u32_at(v, 0));
                if e.reparse_tag.is_none() && a.nonres.is_some() {
                    // Large reparse data lives out of the record; the tag needs a read.
                    e.reparse_tag = None;
                }
            }
            _ => {}
        }
    }
    let fa = e.si.map(|s| s.attributes).unwrap_or(0);
    e.flags = Flags {
        readonly: fa & 0x1 != 0,
        hidden: fa & 0x2 != 0,
        system: fa & 0x4 != 0,
        sparse: fa & 0x200 != 0 || data_flags & 0x8000 != 0,
        reparse: fa & 0x400 != 0 || e.reparse_tag.is_some(),
        compressed: fa & 0x800 != 0 || data_flags & 0x0001 != 0,
        encrypted: fa & 0x4000 != 0 || data_flags & 0x4000 != 0,
    };
    if let Some(p) = primary(&e.names) {
        e.parent = Some(e.names[p].parent);
        e.fn_times = Some(e.names[p].times);
    }
    if e.is_dir {
        e.size = 0;
        e.allocated = 0;
    }
    e
}
