//! GPT: the header at LBA 1 (for 512- or 4096-byte sectors), its CRC32 and the entry
//! array's CRC32; the backup header at the last LBA when the primary is damaged.

use triage_source::ByteSource;

use crate::{identify, le32, le64, mbr, names, read_zeroed, Partition, PartitionTable, Scheme};

/// The entry array is read at most this large (the spec's minimum is 16 KiB; 128
/// entries of 128 bytes).
const MAX_ARRAY: u64 = 16 << 20;
const SIGNATURE: &[u8; 8] = b"EFI PART";

struct Header {
    lba: u64,
    crc_ok: bool,
    disk_guid: [u8; 16],
    entries_lba: u64,
    count: u32,
    entry_size: u32,
    entries_crc: u32,
    alternate: u64,
}

/// The header at `lba`, if it has the signature.
fn header(disk: &dyn ByteSource, ss: u64, lba: u64) -> Option<Header> {
    let mut b = vec![0u8; ss as usize];
    read_zeroed(disk, lba.checked_mul(ss)?, &mut b);
    if &b[..8] != SIGNATURE {
        return None;
    }
    let size = le32(&b, 12) as usize;
    let crc_ok = (92..=b.len()).contains(&size) && {
        let mut h = b[..size].to_vec();
        h[16..20].fill(0);
        crc32fast::hash(&h) == le32(&b, 16)
    };
    let mut disk_guid = [0u8; 16];
    disk_guid.copy_from_slice(&b[56..72]);
    Some(Header {
        lba,
        crc_ok: crc_ok && le64(&b, 24) == lba,
        disk_guid,
        entries_lba: le64(&b, 72),
        count: le32(&b, 80),
        entry_size: le32(&b, 84),
        entries_crc: le32(&b, 88),
        alternate: le64(&b, 32),
    })
}

/// The entry array of `h`, bounded, and whether its CRC32 matched.
fn array(disk: &dyn ByteSource, ss: u64, h: &Header) -> Option<(Vec<u8>, bool)> {
    let esz = u64::from(h.entry_size);
    if !(128..=4096).contains(&esz) || esz % 8 != 0 {
        return None;
    }
    let claimed = u64::from(h.count).checked_mul(esz)?;
    let len = claimed.min(MAX_ARRAY) / esz * esz;
    let at = h.entries_lba.checked_mul(ss)?;
    if len == 0 || at >= disk.len() {
        return None;
    }
    let mut b = vec![0u8; len as usize];
    let whole = read_zeroed(disk, at, &mut b);
    let ok = whole && len == claimed && crc32fast::hash(&b) == h.entries_crc;
    Some((b, ok))
}

/// Mixed-endian GUID text, as `sgdisk` prints it (upper case).
pub(crate) fn guid(b: &[u8]) -> String {
    triage_bytes::guid::upper(&triage_bytes::guid::at(b, 0))
}

/// Is there a GPT header at LBA 1 (512- or 4096-byte sectors)?
pub(crate) fn has_header(disk: &dyn ByteSource) -> bool {
    [512u64, 4096]
        .iter()
        .any(|&ss| header(disk, ss, 1).is_some())
}

struct Found {
    ss: u64,
    primary: Option<Header>,
}

pub(crate) fn read(disk: &dyn ByteSource, s0: &[u8; 512]) -> Option<PartitionTable> {
    // Which sector size puts a header at LBA 1.
    let mut found = None;
    for ss in [512u64, 4096] {
        if let Some(h) = header(disk, ss, 1) {
            found = Some(Found {
                ss,
                primary: Some(h),
            });
            break;
        }
    }
    if found.is_none() && mbr::is_protective(s0) {
        // No primary at all: a backup at the last LBA of either size.
        found = [512u64, 4096].into_iter().find_map(|ss| {
            let last = (disk.len() / ss).checked_sub(1)?;
            header(disk, ss, last).map(|_| Found { ss, primary: None })
        });
        if found.is_none() {
            return Some(PartitionTable {
                scheme: Scheme::Gpt,
                sector_size: 512,
                disk_guid: None,
                partitions: Vec::new(),
                warnings: vec!["protective MBR but no GPT header at LBA 1 or the last LBA".into()],
            });
        }
    }
    let Found { ss, primary } = found?;
    let mut warnings = Vec::new();
    let last = (disk.len() / ss).saturating_sub(1);
    let mut backup = header(disk, ss, last);
    if backup.is_none() {
        if let Some(alt) = primary.as_ref().filter(|p| p.crc_ok).map(|p| p.alternate) {
            if alt != last && alt != 1 {
                backup = header(disk, ss, alt);
            }
        }
    }
    let p_arr = primary.as_ref().and_then(|h| array(disk, ss, h));
    let b_arr = backup.as_ref().and_then(|h| array(disk, ss, h));
    let good = |h: &Option<Header>, a: &Option<(Vec<u8>, bool)>| {
        h.as_ref().is_some_and(|h| h.crc_ok) && a.as_ref().is_some_and(|a| a.1)
    };
    let (p_good, b_good) = (good(&primary, &p_arr), good(&backup, &b_arr));
    let problem = |h: &Option<Header>, a: &Option<(Vec<u8>, bool)>| match (h, a) {
        (None, _) => "missing",
        (Some(h), _) if !h.crc_ok => "header CRC bad",
        (_, Some((_, true))) => "good",
        (_, Some(_)) => "entries CRC bad",
        (_, None) => "entry array unreadable",
    };
    let (hdr, arr) = if p_good {
        if !b_good {
            warnings.push(format!("backup GPT {}", problem(&backup, &b_arr)));
        }
        (primary, p_arr)
    } else if b_good {
        warnings.push(format!(
            "primary GPT {}: backup used",
            problem(&primary, &p_arr)
        ));
        (backup, b_arr)
    } else {
        warnings.push(format!(
            "primary GPT {}, backup GPT {}: the primary read as it is",
            problem(&primary, &p_arr),
            problem(&backup, &b_arr)
        ));
        if primary.is_some() {
            (primary, p_arr)
        } else {
            (backup, b_arr)
        }
    };
    let hdr = hdr?;
    let mut parts = Vec::new();
    if let Some((bytes, _)) = arr {
        let esz = hdr.entry_size as usize;
        for (slot, e) in bytes.chunks_exact(esz).enumerate() {
            if e[..16].iter().all(|&b| b == 0) {
                continue;
            }
            let (first, end) = (le64(e, 32), le64(e, 40));
            if end < first {
                warnings.push(format!(
                    "GPT entry {} ends before it starts: skipped",
                    slot + 1
                ));
                continue;
            }
            let offset = first.saturating_mul(ss);
            let type_guid = guid(&e[..16]);
            parts.push(Partition {
                index: slot as u32 + 1,
                offset,
                size: (end - first).saturating_add(1).saturating_mul(ss),
                scheme: Scheme::Gpt,
                type_name: names::gpt_type_name(&type_guid),
                mbr_type: None,
                gpt_type: Some(type_guid),
                gpt_guid: Some(guid(&e[16..32])),
                name: triage_bytes::utf16::until_nul(&e[56..128]),
                bootable: le64(e, 48) & 0x4 != 0,
                logical: false,
                fs: identify(disk, offset),
            });
        }
    } else {
        warnings.push(format!(
            "GPT header at LBA {}: entry array out of bounds",
            hdr.lba
        ));
    }
    Some(PartitionTable {
        scheme: Scheme::Gpt,
        sector_size: ss as u32,
        disk_guid: Some(guid(&hdr.disk_guid)),
        partitions: parts,
        warnings,
    })
}
