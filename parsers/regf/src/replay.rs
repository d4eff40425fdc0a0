//! Transaction-log replay into an in-memory copy of a dirty primary file.
//!
//! New format (Windows 8.1+): the log's first sector is a base block (file type 6), then
//! 512-aligned "HvLE" entries, each with a sequence number, the hive bins size, dirty page
//! references and the pages, guarded by two Marvin32 hashes. Entries whose sequence number is at
//! least the primary's secondary sequence number are applied in ascending order across all logs
//! (normally .LOG1 then .LOG2) while the numbers stay consecutive; a bad hash or size stops the
//! chain. Old format: a base block (file type 1) then a "DIRT" bitmap of 512-byte pages; only a
//! log whose base-block timestamp equals the primary's applies.
use crate::base_block::{base_block_checksum, BaseBlock, BASE_BLOCK_SIZE};
use crate::cells::{u32_at, u64_at};
use crate::error::{RegfError, Result};
use crate::marvin::{marvin32, LOG_ENTRY_SEED};
use serde::Serialize;

const SECTOR: usize = 512;
const HVLE_HEADER_LEN: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LogFormat {
    /// HvLE log entries (Windows 8.1 and later).
    New,
    /// DIRT dirty vector (before Windows 8.1).
    Old,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// The name the caller gave the log (e.g. "SYSTEM.LOG1").
    pub log: String,
    pub format: LogFormat,
    pub entries_applied: u32,
    /// First and last sequence numbers applied from this log (old format: the log's own).
    pub from_seq: u32,
    pub to_seq: u32,
    /// Dirty pages written into the image.
    pub pages: u32,
    /// Why reading this log stopped early (bad hash, truncated entry, ...), if it did.
    pub stopped: Option<String>,
}

struct Entry<'l> {
    log_index: usize,
    seq: u32,
    hbins_size: u32,
    pages: Vec<(u32, &'l [u8])>,
}

/// Applies `logs` (name, bytes) to a copy of `primary`; returns the new image and one report per
/// log that contributed. Fails when `primary` is not a hive or no log applies.
pub fn replay(primary: &[u8], logs: &[(&str, &[u8])]) -> Result<(Vec<u8>, Vec<ReplayReport>)> {
    let base = BaseBlock::parse(primary)?;
    let growth_budget = logs.iter().map(|(_, b)| b.len()).sum::<usize>();
    let mut new_entries = Vec::new();
    let mut stops: Vec<Option<String>> = vec![None; logs.len()];
    let mut old_candidate = None;
    for (i, (name, bytes)) in logs.iter().enumerate() {
        let log_base = match BaseBlock::parse(bytes) {
            Ok(b) => b,
            Err(e) => {
                stops[i] = Some(e.to_string());
                continue;
            }
        };
        match bytes.get(SECTOR..SECTOR + 4) {
            Some(b"HvLE") => {
                let (entries, stop) = read_new_entries(i, name, bytes);
                new_entries.extend(entries);
                stops[i] = stop;
            }
            Some(b"DIRT") => {
                let applicable = log_base.primary_sequence == log_base.secondary_sequence
                    && log_base.last_written == base.last_written;
                if applicable && old_candidate.is_none() {
                    old_candidate = Some((i, log_base));
                }
            }
            _ => stops[i] = Some(format!("offset {SECTOR:#x}: expected HvLE or DIRT")),
        }
    }

    let mut image = primary.to_vec();
    let mut reports = Vec::new();
    if !new_entries.is_empty() {
        apply_new(
            &mut image,
            &base,
            logs,
            new_entries,
            &stops,
            growth_budget,
            &mut reports,
        )?;
    } else if let Some((i, log_base)) = old_candidate {
        reports.push(apply_old(&mut image, logs[i], &log_base)?);
    }
    if reports.is_empty() {
        return Err(RegfError::NoUsableLog {
            sequence: base.secondary_sequence,
        });
    }
    let checksum = base_block_checksum(&image);
    image[0x1FC..0x200].copy_from_slice(&checksum.to_le_bytes());
    Ok((image, reports))
}

fn read_new_entries<'l>(
    log_index: usize,
    name: &str,
    log: &'l [u8],
) -> (Vec<Entry<'l>>, Option<String>) {
    let mut entries = Vec::new();
    let mut pos = SECTOR;
    let bad = |pos: usize, what: &str| {
        Some(
            RegfError::Log {
                log: name.to_string(),
                offset: pos as u64,
                expected: what.to_string(),
            }
            .to_string(),
        )
    };
    while pos + HVLE_HEADER_LEN <= log.len() {
        if &log[pos..pos + 4] != b"HvLE" {
            return (entries, None); // end of the entries written so far
        }
        let size = u32_at(log, pos + 4).unwrap_or(0) as usize;
        if size < HVLE_HEADER_LEN || size % SECTOR != 0 || size > log.len() - pos {
            return (
                entries,
                bad(
                    pos + 4,
                    "a log entry size that is a multiple of 512 within the file",
                ),
            );
        }
        let entry = &log[pos..pos + size];
        let hash1 = u64_at(entry, 24).unwrap_or(0);
        let hash2 = u64_at(entry, 32).unwrap_or(0);
        if marvin32(LOG_ENTRY_SEED, &entry[..32]) != hash2
            || marvin32(LOG_ENTRY_SEED, &entry[40..]) != hash1
        {
            return (
                entries,
                bad(pos + 24, "log entry hashes matching its contents"),
            );
        }
        let seq = u32_at(entry, 12).unwrap_or(0);
        let hbins_size = u32_at(entry, 16).unwrap_or(0);
        let count = u32_at(entry, 20).unwrap_or(0) as usize;
        if hbins_size % 4096 != 0 || count > (size - HVLE_HEADER_LEN) / 8 {
            return (
                entries,
                bad(
                    pos + 16,
                    "a 4 KiB-aligned hive bins size and a page count fitting the entry",
                ),
            );
        }
        let mut data_at = HVLE_HEADER_LEN + count * 8;
        let mut pages = Vec::with_capacity(count);
        for k in 0..count {
            let off = u32_at(entry, HVLE_HEADER_LEN + k * 8).unwrap_or(u32::MAX);
            let len = u32_at(entry, HVLE_HEADER_LEN + k * 8 + 4).unwrap_or(0) as usize;
            let fits_hive = (off as u64 + len as u64) <= hbins_size as u64;
            match entry.get(data_at..data_at.saturating_add(len)) {
                Some(page) if fits_hive => pages.push((off, page)),
                _ => {
                    return (
                        entries,
                        bad(
                            pos + HVLE_HEADER_LEN + k * 8,
                            "a dirty page inside the entry and the hive bins",
                        ),
                    )
                }
            }
            data_at += len;
        }
        entries.push(Entry {
            log_index,
            seq,
            hbins_size,
            pages,
        });
        pos += size;
    }
    (entries, None)
}

fn apply_new(
    image: &mut Vec<u8>,
    base: &BaseBlock,
    logs: &[(&str, &[u8])],
    mut entries: Vec<Entry<'_>>,
    stops: &[Option<String>],
    growth_budget: usize,
    reports: &mut Vec<ReplayReport>,
) -> Result<()> {
    // Stable sort: for equal sequence numbers the earlier log (LOG1) wins.
    entries.sort_by_key(|e| e.seq);
    if !base.checksum_ok() {
        // The primary's base block cannot be trusted: take the first valid log's first sector.
        if let Some(e) = entries.first() {
            let src = logs[e.log_index].1;
            image[..SECTOR].copy_from_slice(&src[..SECTOR]);
            image[0x1C..0x20].copy_from_slice(&0u32.to_le_bytes()); // file type: primary
        }
    }
    let start = if base.checksum_ok() {
        base.secondary_sequence
    } else {
        entries.first().map_or(0, |e| e.seq)
    };
    let mut expected: Option<u32> = None;
    let max_len = image.len().saturating_add(growth_budget);
    for e in entries.iter().filter(|e| e.seq >= start) {
        match expected {
            Some(x) if e.seq < x => continue, // duplicate sequence number in the other log
            Some(x) if e.seq != x => break,   // gap: later entries do not continue this state
            _ => {}
        }
        let needed = BASE_BLOCK_SIZE + e.hbins_size as usize;
        if needed > max_len {
            return Err(RegfError::Log {
                log: logs[e.log_index].0.to_string(),
                offset: 16,
                expected: format!(
                    "hive bins size {:#x} that the logs could have filled",
                    e.hbins_size
                ),
            });
        }
        if image.len() < needed {
            image.resize(needed, 0);
        }
        for (off, page) in &e.pages {
            let at = BASE_BLOCK_SIZE + *off as usize;
            image[at..at + page.len()].copy_from_slice(page);
        }
        image[4..8].copy_from_slice(&e.seq.to_le_bytes());
        image[8..12].copy_from_slice(&e.seq.to_le_bytes());
        image[0x28..0x2C].copy_from_slice(&e.hbins_size.to_le_bytes());
        expected = Some(e.seq.wrapping_add(1));
        match reports.last_mut() {
            Some(r) if r.log == logs[e.log_index].0 => {
                r.entries_applied += 1;
                r.to_seq = e.seq;
                r.pages += e.pages.len() as u32;
            }
            _ => reports.push(ReplayReport {
                log: logs[e.log_index].0.to_string(),
                format: LogFormat::New,
                entries_applied: 1,
                from_seq: e.seq,
                to_seq: e.seq,
                pages: e.pages.len() as u32,
                stopped: stops[e.log_index].clone(),
            }),
        }
    }
    Ok(())
}

fn apply_old(
    image: &mut [u8],
    (name, log): (&str, &[u8]),
    log_base: &BaseBlock,
) -> Result<ReplayReport> {
    let err = |offset: usize, expected: &str| RegfError::Log {
        log: name.to_string(),
        offset: offset as u64,
        expected: expected.to_string(),
    };
    let bits = log_base.hive_bins_data_size as usize / SECTOR;
    let bitmap = log
        .get(SECTOR + 4..SECTOR + 4 + bits.div_ceil(8))
        .ok_or_else(|| err(SECTOR + 4, "a dirty vector covering the hive bins"))?;
    let pages_start = (SECTOR + 4 + bitmap.len()).div_ceil(SECTOR) * SECTOR;
    let mut page_index = 0usize;
    let mut applied = 0u32;
    for bit in 0..bits {
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            continue;
        }
        let src = pages_start + page_index * SECTOR;
        page_index += 1;
        let page = log
            .get(src..src + SECTOR)
            .ok_or_else(|| err(src, "a 512-byte dirty page"))?;
        let dst = BASE_BLOCK_SIZE + bit * SECTOR;
        match image.get_mut(dst..dst + SECTOR) {
            Some(d) => d.copy_from_slice(page),
            None => {
                return Err(err(
                    SECTOR + 4 + bit / 8,
                    "dirty pages inside the primary file",
                ))
            }
        }
        applied += 1;
    }
    let seq = log_base.primary_sequence;
    image[4..8].copy_from_slice(&seq.to_le_bytes());
    image[8..12].copy_from_slice(&seq.to_le_bytes());
    Ok(ReplayReport {
        log: name.to_string(),
        format: LogFormat::Old,
        entries_applied: 1,
        from_seq: seq,
        to_seq: seq,
        pages: applied,
        stopped: None,
    })
}
