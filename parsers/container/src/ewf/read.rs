//! The EWF v1 image as a byte source: chunks found through the tables, inflated (or
//! checksummed when stored) straight into the caller's buffer, holes where a chunk is
//! corrupt or its segment is missing.

use std::cell::RefCell;
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use triage_source::{ByteSource, ChunkCache, Location, Result, Source, SourceError};

use super::layout::{bytes, Segment, Table, OFFSET_MASK};

/// Decoded chunks kept for reads smaller than a chunk (NTFS records, directory blocks).
const CACHE_BYTES: usize = 32 << 20;
/// Chunks larger than this (EnCase writes 32 KiB; libewf allows up to 16 MiB) skip it.
const MAX_CACHED_CHUNK: u64 = 1 << 20;

/// One table's chunks placed in the image: chunk `first + i` is `entries[i]`.
struct Run {
    first: u64,
    seg: usize,
    table: Table,
}

/// Place every table's chunks in the image. Segments before the first gap (a missing
/// or truncated segment) are counted from the image's start, those after the last gap
/// from its end (the volume section gives the chunk count); anything between two gaps
/// cannot be placed and reads as a hole.
pub(super) struct Placement {
    runs: Vec<Run>,
    pub warnings: Vec<String>,
}

enum Item {
    Tables(usize, Vec<Table>),
    Gap,
}

impl Placement {
    pub fn new(segs: &mut [Segment], total_chunks: u64) -> Placement {
        let mut warnings = Vec::new();
        let mut items = Vec::new();
        let mut expect = 1u32;
        for (i, seg) in segs.iter_mut().enumerate() {
            if seg.number > expect {
                let what = if seg.number - 1 > expect {
                    format!("segments {expect}-{} are", seg.number - 1)
                } else {
                    format!("segment {expect} is")
                };
                warnings.push(format!("{what} missing: their chunks read as holes"));
                items.push(Item::Gap);
            }
            items.push(Item::Tables(i, std::mem::take(&mut seg.tables)));
            if !seg.complete {
                warnings.push(format!(
                    "segment {} ({}) is truncated: its later chunks read as holes",
                    seg.number, seg.name
                ));
                items.push(Item::Gap);
            }
            expect = seg.number.saturating_add(1);
        }
        if segs.last().is_some_and(|s| s.complete && !s.last) {
            warnings.push(format!(
                "segment {expect} and later are missing: their chunks read as holes"
            ));
            items.push(Item::Gap);
        }
        let first_gap = items.iter().position(|i| matches!(i, Item::Gap));
        let last_gap = items.iter().rposition(|i| matches!(i, Item::Gap));
        let mut runs = Vec::new();
        let mut next = 0u64;
        let mut lost = 0u64;
        let mut tail: Vec<(usize, Table)> = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            let Item::Tables(seg, tables) = item else {
                continue;
            };
            let before = first_gap.is_none_or(|g| k < g);
            let after = last_gap.is_some_and(|g| k > g);
            for t in tables {
                if before {
                    let n = t.entries.len() as u64;
                    runs.push(Run {
                        first: next,
                        seg,
                        table: t,
                    });
                    next = next.saturating_add(n);
                } else if after {
                    tail.push((seg, t));
                } else {
                    lost = lost.saturating_add(t.entries.len() as u64);
                }
            }
        }
        if lost > 0 {
            warnings.push(format!(
                "{lost} chunks lie between two missing stretches and cannot be placed: holes"
            ));
        }
        let tail_len: u64 = tail.iter().map(|(_, t)| t.entries.len() as u64).sum();
        let mut at = match total_chunks.checked_sub(tail_len) {
            Some(s) if s >= next => s,
            _ => {
                if !tail.is_empty() {
                    warnings.push("chunk counts disagree with the volume section: the segments after the gap are placed right after the ones before it".into());
                }
                next
            }
        };
        for (seg, t) in tail {
            let n = t.entries.len() as u64;
            runs.push(Run {
                first: at,
                seg,
                table: t,
            });
            at = at.saturating_add(n);
        }
        let placed: u64 = at.max(next);
        if first_gap.is_none() && placed != total_chunks {
            warnings.push(format!(
                "the chunk tables hold {placed} chunks, the volume section says {total_chunks}"
            ));
        }
        // Clip runs to the image and drop empty ones, so the search below stays simple.
        runs.retain_mut(|r| {
            let room = total_chunks.saturating_sub(r.first);
            if (r.table.entries.len() as u64) > room {
                r.table.entries.truncate(room as usize);
            }
            !r.table.entries.is_empty()
        });
        Placement { runs, warnings }
    }
}

/// The decoded image.
pub(super) struct EwfDisk {
    location: Location,
    segs: Vec<Source>,
    runs: Vec<Run>,
    chunk_size: u64,
    len: u64,
    cache: ChunkCache,
}

thread_local! {
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Inflate one zlib stream into `out`; the stream must end inside `out`.
fn inflate(input: &[u8], out: &mut [u8]) -> std::result::Result<usize, String> {
    INFLATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let d = cell.get_or_insert_with(|| Decompress::new(true));
        d.reset(true);
        match d.decompress(input, out, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) => Ok(d.total_out() as usize),
            Ok(_) => Err("the compressed chunk does not end where it should".into()),
            Err(e) => Err(format!("inflate failed: {e}")),
        }
    })
}

impl EwfDisk {
    pub fn new(
        location: Location,
        segs: Vec<Source>,
        placement: Placement,
        chunk_size: u64,
        len: u64,
    ) -> EwfDisk {
        EwfDisk {
            location,
            segs,
            runs: placement.runs,
            chunk_size,
            len,
            cache: ChunkCache::new(CACHE_BYTES),
        }
    }

    fn hole(&self, chunk: u64, chunks: u64, why: impl Into<String>) -> SourceError {
        let start = chunk.saturating_mul(self.chunk_size);
        SourceError::Hole {
            location: self.location.clone(),
            offset: start,
            len: chunks
                .saturating_mul(self.chunk_size)
                .min(self.len.saturating_sub(start)),
            why: why.into(),
        }
    }

    /// The logical length of chunk `ci` (the last one may be short).
    fn chunk_len(&self, ci: u64) -> usize {
        let start = ci.saturating_mul(self.chunk_size);
        self.chunk_size.min(self.len.saturating_sub(start)) as usize
    }

    /// Decode chunk `ci` into `out` (exactly its logical length).
    fn decode_into(&self, ci: u64, out: &mut [u8]) -> Result<()> {
        let k = self
            .runs
            .partition_point(|r| r.first + r.table.entries.len() as u64 <= ci);
        let run = match self.runs.get(k) {
            Some(r) if r.first <= ci => r,
            other => {
                // A gap: report all of it, up to the next placed chunk.
                let next = other.map_or(self.len.div_ceil(self.chunk_size), |r| r.first);
                let start = self
                    .runs
                    .get(k.wrapping_sub(1))
                    .map_or(0, |p| p.first + p.table.entries.len() as u64);
                return Err(self.hole(
                    start,
                    next.saturating_sub(start),
                    "chunk not in any segment present (missing or truncated segment)",
                ));
            }
        };
        let i = (ci - run.first) as usize;
        let t = &run.table;
        let entry = t.entries.get(i).copied().unwrap_or(0);
        let seg = self
            .segs
            .get(run.seg)
            .ok_or_else(|| self.hole(ci, 1, "no segment"))?;
        let at = t.base.saturating_add(u64::from(entry & OFFSET_MASK));
        if entry & !OFFSET_MASK != 0 {
            let end = match t.entries.get(i + 1) {
                Some(n) => t.base.saturating_add(u64::from(n & OFFSET_MASK)),
                None => t.end,
            };
            // A compressed chunk is at most a little larger than the chunk itself; a
            // table claiming more is wrong, and we never read past the segment.
            let cap = self.chunk_size + self.chunk_size / 8 + 1024;
            let size = end
                .saturating_sub(at)
                .min(cap)
                .min(seg.len().saturating_sub(at));
            if size == 0 {
                return Err(self.hole(
                    ci,
                    1,
                    format!(
                        "chunk table points at {at:#x}, outside {} ({} bytes)",
                        seg.location(),
                        seg.len()
                    ),
                ));
            }
            let input = bytes(&**seg, at, size)
                .ok_or_else(|| self.hole(ci, 1, "compressed chunk unreadable"))?;
            let full = self.chunk_size as usize;
            if out.len() == full {
                match inflate(&input, out) {
                    Ok(n) if n == full => Ok(()),
                    Ok(n) => {
                        Err(self.hole(ci, 1, format!("chunk inflated to {n} bytes, not {full}")))
                    }
                    Err(e) => Err(self.hole(ci, 1, e)),
                }
            } else {
                let mut tmp = vec![0u8; full];
                match inflate(&input, &mut tmp) {
                    Ok(n) if n >= out.len() => {
                        out.copy_from_slice(&tmp[..out.len()]);
                        Ok(())
                    }
                    Ok(n) => Err(self.hole(
                        ci,
                        1,
                        format!("chunk inflated to {n} bytes, not {}", out.len()),
                    )),
                    Err(e) => Err(self.hole(ci, 1, e)),
                }
            }
        } else {
            let n = out.len() as u64;
            let raw = bytes(&**seg, at, n + 4).ok_or_else(|| {
                self.hole(
                    ci,
                    1,
                    format!(
                        "stored chunk at {at:#x} runs past the end of {}",
                        seg.location()
                    ),
                )
            })?;
            let (data, sum) = raw.split_at(out.len());
            let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
            if adler2::adler32_slice(data) != stored {
                return Err(self.hole(ci, 1, "stored chunk fails its adler32 checksum"));
            }
            out.copy_from_slice(data);
            Ok(())
        }
    }

    fn cached(&self, ci: u64) -> Result<Arc<[u8]>> {
        let load = || {
            let mut v = vec![0u8; self.chunk_len(ci)];
            self.decode_into(ci, &mut v)?;
            Ok(Arc::from(v))
        };
        // The cache keeps at least one chunk per shard whatever its budget: chunks of a
        // size the image chose (up to 64 MiB) are decoded each time instead.
        if self.chunk_size > MAX_CACHED_CHUNK {
            return load();
        }
        self.cache.get_or_load(ci, load)
    }
}

impl ByteSource for EwfDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn location(&self) -> &Location {
        &self.location
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.len - offset) as usize;
        let mut done = 0usize;
        while done < want {
            let pos = offset + done as u64;
            let ci = pos / self.chunk_size;
            let within = (pos % self.chunk_size) as usize;
            let clen = self.chunk_len(ci);
            let take = (clen - within).min(want - done);
            let dst = &mut buf[done..done + take];
            // Whole chunks go straight into the caller's buffer, uncached: a bulk reader
            // (hashing, a rayon scan) reads each chunk once.
            let r = if within == 0 && take == clen {
                self.decode_into(ci, dst)
            } else {
                self.cached(ci)
                    .map(|c| dst.copy_from_slice(&c[within..within + take]))
            };
            match r {
                Ok(()) => done += take,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}
