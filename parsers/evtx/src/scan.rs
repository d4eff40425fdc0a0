//! The parallel walk over a file's chunks.

use crate::events::{classify, is_candidate, Found};
use crate::{EvtxFile, Scan, CHUNK_SIZE, FILE_HEADER_SIZE, MAX_CHUNK_ERRORS};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, ParserSettings};
use rayon::prelude::*;
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use triage_source::{Deadline, Location, SourceError};

const LAYER: &str = "evtx chunk";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";

/// The chunk count in the file header (a u16 at offset 42).
fn header_chunks(file: &EvtxFile<'_>) -> usize {
    file.bytes()
        .get(42..44)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// Reads every chunk of `file` in parallel and returns its process events, boot markers,
/// record count, channel and the damage it met. Never panics: a chunk the `evtx` crate
/// panics on is reported and skipped.
///
/// Stops at the time budget of the calling thread ([`Deadline::current`], set by the
/// batch driver for `--max-seconds-per-input`): see [`scan_until`].
pub fn scan(file: &EvtxFile<'_>) -> Scan {
    scan_until(file, &Deadline::current())
}

/// [`scan`] that stops at `deadline`: asked before each chunk (65,536 bytes, a few
/// hundred records), so one huge log cannot hold its input past the budget. Chunks
/// started before it are finished and kept; the rest are skipped and counted in
/// [`Scan::chunks_skipped`], and [`Scan::stopped`] says the result is partial.
pub fn scan_until(file: &EvtxFile<'_>, deadline: &Deadline) -> Scan {
    let settings = Arc::new(
        ParserSettings::new()
            .validate_checksums(true)
            .recover_records(false)
            .num_threads(1),
    );
    let mut out = Scan::default();
    if let Some(err) = header_error(file) {
        out.errors.push(err);
    }
    // One more than the whole chunks when the file ends inside a chunk.
    let chunks = file
        .bytes()
        .len()
        .saturating_sub(FILE_HEADER_SIZE)
        .div_ceil(CHUNK_SIZE);
    out.chunks = chunks as u64;
    // `None`: the chunk was not read, the budget was spent.
    let parts: Vec<Option<Scan>> = (0..chunks)
        .into_par_iter()
        .map(|n| (!deadline.expired()).then(|| scan_chunk_guarded(file, n, &settings)))
        .collect();
    for part in parts {
        let Some(part) = part else {
            out.stopped = true;
            out.chunks_skipped += 1;
            continue;
        };
        out.records += part.records;
        out.broken_records += part.broken_records;
        out.processes.extend(part.processes);
        out.boots.extend(part.boots);
        out.errors.extend(part.errors);
        if out.channel.is_none() {
            out.channel = part.channel;
        }
    }
    // Chunks of a log that wrapped around are not in record order in the file.
    out.processes.sort_by_key(|p| p.record_id);
    out.boots.sort_by_key(|b| b.record_id);
    out
}

fn corrupt(loc: &Location, offset: u64, what: String) -> SourceError {
    SourceError::corrupt(loc, LAYER, offset, what)
}

/// The file header's CRC32 (over its first 120 bytes, stored at 124), reported but not
/// needed: the chunks are found by position.
fn header_error(file: &EvtxFile<'_>) -> Option<SourceError> {
    let data = file.bytes();
    let (Some(covered), Some(stored)) = (data.get(..120), data.get(124..128)) else {
        return Some(SourceError::corrupt(
            file.location(),
            "evtx file header",
            0,
            "truncated file header",
        ));
    };
    let stored = u32::from_le_bytes(stored.try_into().ok()?);
    let computed = evtx::checksum_ieee(covered);
    (stored != computed).then(|| {
        SourceError::corrupt(
            file.location(),
            "evtx file header",
            0,
            format!("header checksum {stored:#010x}, computed {computed:#010x}"),
        )
    })
}

fn scan_chunk_guarded(file: &EvtxFile<'_>, n: usize, settings: &Arc<ParserSettings>) -> Scan {
    let offset = (FILE_HEADER_SIZE + n * CHUNK_SIZE) as u64;
    match catch_unwind(AssertUnwindSafe(|| scan_chunk(file, n, settings))) {
        Ok(part) => part,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Scan {
                errors: vec![corrupt(
                    file.location(),
                    offset,
                    format!("chunk {n}: the evtx parser panicked: {why}"),
                )],
                ..Scan::default()
            }
        }
    }
}

fn scan_chunk(file: &EvtxFile<'_>, n: usize, settings: &Arc<ParserSettings>) -> Scan {
    let mut out = Scan::default();
    let offset = FILE_HEADER_SIZE + n * CHUNK_SIZE;
    let loc = file.location();
    let Some(rest) = file.bytes().get(offset..) else {
        return out;
    };
    let (bytes, validate) = match rest.get(..CHUNK_SIZE) {
        Some(whole) => (Cow::Borrowed(whole), true),
        // Slack after the last chunk is common; only a chunk that was cut short is damage.
        None if !rest.starts_with(CHUNK_MAGIC) => return out,
        None => {
            out.errors.push(corrupt(
                loc,
                offset as u64,
                format!(
                    "chunk {n}: truncated ({} of {CHUNK_SIZE} bytes): its whole records are read without checksums",
                    rest.len()
                ),
            ));
            // Zeros after the cut end the record walk where the data ends.
            let mut padded = rest.to_vec();
            padded.resize(CHUNK_SIZE, 0);
            (Cow::Owned(padded), false)
        }
    };
    // A dirty log can have unused, zeroed chunks between used ones; past the chunks the
    // header counts, the file's preallocated space holds old bytes that aren't chunks.
    if bytes.iter().all(|&b| b == 0)
        || (n >= header_chunks(file) && !bytes.starts_with(CHUNK_MAGIC))
    {
        return out;
    }
    let fail = |what: String| corrupt(loc, offset as u64, format!("chunk {n}: {what}"));
    let mut data = match EvtxChunkData::new(bytes.into_owned(), validate) {
        Ok(data) => data,
        Err(e) => {
            out.errors.push(fail(chain(&e)));
            return out;
        }
    };
    let mut chunk = match data.parse(settings.clone()) {
        Ok(chunk) => chunk,
        Err(e) => {
            out.errors.push(fail(chain(&e)));
            return out;
        }
    };
    let mut record_errors = 0usize;
    for record in chunk.iter() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                record_errors += 1;
                if record_errors <= MAX_CHUNK_ERRORS {
                    out.errors.push(record_error(loc, offset, n, &e));
                }
                continue;
            }
        };
        out.records += 1;
        let id = record.event_record_id;
        if !is_candidate(&record) && out.channel.is_some() {
            continue;
        }
        let header_time = record.timestamp;
        let value = match record.into_json_value() {
            Ok(v) => v.data,
            Err(e) => {
                record_errors += 1;
                if record_errors <= MAX_CHUNK_ERRORS {
                    out.errors.push(fail(format!("record {id}: {}", chain(&e))));
                }
                continue;
            }
        };
        let (found, channel) = classify(&value, id, header_time);
        if out.channel.is_none() {
            out.channel = channel;
        }
        match found {
            Some(Found::Process(p)) => out.processes.push(*p),
            Some(Found::Boot(b)) => out.boots.push(b),
            None => {}
        }
    }
    out.broken_records = record_errors as u64;
    if record_errors > MAX_CHUNK_ERRORS {
        out.errors.push(fail(format!(
            "{} more broken records not listed",
            record_errors - MAX_CHUNK_ERRORS
        )));
    }
    out
}

/// A record error, at its own offset when the parser says where it is.
fn record_error(loc: &Location, chunk_off: usize, n: usize, e: &EvtxError) -> SourceError {
    let at = match e {
        EvtxError::FailedToReadRecordAt { offset, .. } => chunk_off as u64 + offset,
        _ => chunk_off as u64,
    };
    corrupt(
        loc,
        at,
        format!("chunk {n} (at {chunk_off:#x}): {}", chain(e)),
    )
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    // Bounded: error chains are built by code, but stay careful.
    for _ in 0..16 {
        let Some(c) = cur else { break };
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
