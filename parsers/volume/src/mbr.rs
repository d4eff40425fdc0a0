//! The MBR: four primary entries, and for an extended partition the chain of EBRs, each
//! holding one logical partition (its start relative to that EBR) and a link to the next
//! EBR (its start relative to the extended partition's start).

use std::collections::HashSet;

use triage_source::ByteSource;

use crate::{identify, le32, names, read_zeroed, FileSystem, Partition, PartitionTable, Scheme};

/// Logical partitions followed at most: the chain is a linked list the image controls.
const MAX_LOGICAL: usize = 1024;

pub(crate) fn is_extended(t: u8) -> bool {
    matches!(t, 0x05 | 0x0F | 0x85)
}

#[derive(Clone, Copy)]
struct Entry {
    boot: u8,
    typ: u8,
    start: u32,
    count: u32,
}

impl Entry {
    fn used(&self) -> bool {
        self.typ != 0 && self.count != 0
    }
}

fn entries(s: &[u8; 512]) -> [Entry; 4] {
    std::array::from_fn(|i| {
        let o = 446 + 16 * i;
        Entry {
            boot: s[o],
            typ: s[o + 4],
            start: le32(s, o + 8),
            count: le32(s, o + 12),
        }
    })
}

fn has_signature(s: &[u8; 512]) -> bool {
    s[510] == 0x55 && s[511] == 0xAA
}

/// Does sector 0 look like an MBR: the signature, boot flags 0 or 0x80, and at least
/// one used entry that starts past sector 0.
pub(crate) fn looks_like_mbr(s0: &[u8; 512]) -> bool {
    let es = entries(s0);
    has_signature(s0)
        && es.iter().all(|e| e.boot == 0 || e.boot == 0x80)
        && es.iter().any(|e| e.used() && e.start >= 1)
}

/// The protective MBR of a GPT disk: an entry of type 0xEE.
pub(crate) fn is_protective(s0: &[u8; 512]) -> bool {
    has_signature(s0) && entries(s0).iter().any(|e| e.typ == 0xEE)
}

fn partition(
    disk: &dyn ByteSource,
    ss: u64,
    index: u32,
    start: u64,
    e: &Entry,
    logical: bool,
) -> Partition {
    let offset = start.saturating_mul(ss);
    let fs = if is_extended(e.typ) {
        FileSystem::Unknown
    } else {
        identify(disk, offset)
    };
    Partition {
        index,
        offset,
        size: u64::from(e.count) * ss,
        scheme: Scheme::Mbr,
        type_name: names::mbr_type_name(e.typ),
        mbr_type: Some(e.typ),
        gpt_type: None,
        gpt_guid: None,
        name: String::new(),
        bootable: e.boot == 0x80,
        logical,
        fs,
    }
}

/// The MBR, its LBAs counted in 512-byte sectors, or in 4096-byte ones when only that
/// reading finds a file system where the partitions start (a 4Kn disk).
pub(crate) fn read(disk: &dyn ByteSource, s0: &[u8; 512]) -> Option<PartitionTable> {
    if !looks_like_mbr(s0) {
        return None;
    }
    let t = read_with(disk, s0, 512);
    let known = |t: &PartitionTable| t.partitions.iter().filter(|p| p.fs.is_known()).count();
    if known(&t) == 0 {
        let t4 = read_with(disk, s0, 4096);
        if known(&t4) > 0 {
            return Some(t4);
        }
    }
    Some(t)
}

fn read_with(disk: &dyn ByteSource, s0: &[u8; 512], ss: u64) -> PartitionTable {
    let sectors = disk.len() / ss;
    let mut warnings = Vec::new();
    let mut parts = Vec::new();
    let mut next_logical = 5u32;
    let mut visited = HashSet::new();
    for (slot, e) in entries(s0).iter().enumerate() {
        if !e.used() {
            continue;
        }
        if e.start == 0 {
            warnings.push(format!(
                "MBR entry {} starts at sector 0: skipped",
                slot + 1
            ));
            continue;
        }
        let end = u64::from(e.start) + u64::from(e.count);
        if end > sectors {
            warnings.push(format!(
                "partition {} (sectors {}-{}) runs past the end of the disk ({sectors} sectors)",
                slot + 1,
                e.start,
                end - 1
            ));
        }
        parts.push(partition(
            disk,
            ss,
            slot as u32 + 1,
            u64::from(e.start),
            e,
            false,
        ));
        if is_extended(e.typ) {
            let mut walk = Walk {
                disk,
                ss,
                visited: &mut visited,
                next_logical: &mut next_logical,
                parts: &mut parts,
                warnings: &mut warnings,
            };
            walk.ebrs(u64::from(e.start));
        }
    }
    PartitionTable {
        scheme: Scheme::Mbr,
        sector_size: ss as u32,
        disk_guid: None,
        partitions: parts,
        warnings,
    }
}

struct Walk<'a> {
    disk: &'a dyn ByteSource,
    ss: u64,
    visited: &'a mut HashSet<u64>,
    next_logical: &'a mut u32,
    parts: &'a mut Vec<Partition>,
    warnings: &'a mut Vec<String>,
}

impl Walk<'_> {
    /// Follow the EBR chain of the extended partition starting at `ext_start`.
    fn ebrs(&mut self, ext_start: u64) {
        let mut ebr = ext_start;
        let mut count = 0usize;
        loop {
            if count >= MAX_LOGICAL {
                self.warnings.push(format!(
                    "more than {MAX_LOGICAL} logical partitions: stopped"
                ));
                return;
            }
            if !self.visited.insert(ebr) {
                self.warnings
                    .push(format!("EBR chain loops at sector {ebr}: stopped"));
                return;
            }
            let mut s = [0u8; 512];
            if !read_zeroed(self.disk, ebr.saturating_mul(self.ss), &mut s) {
                self.warnings
                    .push(format!("EBR at sector {ebr} is unreadable: chain stopped"));
                return;
            }
            if !has_signature(&s) {
                self.warnings.push(format!(
                    "EBR at sector {ebr} has no 0x55AA signature: chain stopped"
                ));
                return;
            }
            let es = entries(&s);
            let (e0, e1) = (es[0], es[1]);
            if e0.used() {
                if is_extended(e0.typ) {
                    self.warnings.push(format!(
                        "EBR at sector {ebr}: first entry is an extended partition: skipped"
                    ));
                } else {
                    let start = ebr.saturating_add(u64::from(e0.start));
                    let p = partition(self.disk, self.ss, *self.next_logical, start, &e0, true);
                    self.parts.push(p);
                    *self.next_logical = self.next_logical.saturating_add(1);
                    count += 1;
                }
            }
            if !(e1.used() && is_extended(e1.typ)) {
                return;
            }
            ebr = ext_start.saturating_add(u64::from(e1.start));
        }
    }
}
