//! File content as a [`ByteSource`]: resident values, runlists (sparse runs read as
//! zeros), LZNT1 compression units and WOF (`WofCompressedData`) chunked streams.

use std::sync::Arc;

use triage_compress::{wof::ChunkedStream, Algorithm};
use triage_source::{read_exact_at, ByteSource, ChunkCache, Location, Result, Source, SourceError};

use crate::runs::Run;

/// Decoded compression units / WOF chunks kept per open file.
const CACHE_BYTES: usize = 4 << 20;

/// The content of one attribute (a file's `$DATA`, an ADS, an index allocation, the
/// `$MFT` itself): a [`ByteSource`] whose [`Location`] is the volume's location plus the
/// file's path (and `:stream`). Reads through it are reads of the volume.
pub struct FileData {
    kind: Kind,
    len: u64,
    location: Location,
    warnings: Vec<String>,
}

enum Kind {
    Resident(Arc<[u8]>),
    Plain(Clusters),
    Lznt1 {
        clusters: Clusters,
        unit: u64,
        cache: ChunkCache,
    },
    Wof {
        stream: Box<FileData>,
        table: ChunkedStream,
        alg: Algorithm,
        cache: ChunkCache,
    },
}

/// Clusters of an attribute on the volume.
#[derive(Clone)]
pub(crate) struct Clusters {
    pub vol: Source,
    pub runs: Arc<[Run]>,
    pub cluster: u64,
    /// Bytes past `init` (the valid data length) read as zeros.
    pub init: u64,
}

impl Clusters {
    /// Read bytes at attribute offset `off` (no size limit: that is the caller's), zeros
    /// for sparse runs, a hole for clusters no run maps.
    fn read(&self, off: u64, buf: &mut [u8], loc: &Location) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if off >= self.init {
            buf.fill(0);
            return Ok(buf.len());
        }
        let vcn = off / self.cluster;
        let i = self.runs.partition_point(|r| r.vcn + r.len <= vcn);
        let Some(run) = self.runs.get(i).filter(|r| r.vcn <= vcn) else {
            return Err(SourceError::Hole {
                location: loc.clone(),
                offset: off,
                len: self.cluster,
                why: format!("no run maps cluster {vcn} of the attribute"),
            });
        };
        let run_end = (run.vcn + run.len).saturating_mul(self.cluster);
        let n = (buf.len() as u64).min(run_end - off).min(self.init - off) as usize;
        match run.lcn {
            None => {
                buf[..n].fill(0);
                Ok(n)
            }
            Some(lcn) => {
                let at = lcn
                    .saturating_add(vcn - run.vcn)
                    .saturating_mul(self.cluster)
                    .saturating_add(off % self.cluster);
                let got = self.vol.read_at(at, &mut buf[..n])?;
                if got == 0 {
                    return Err(SourceError::OutOfRange {
                        location: self.vol.location().clone(),
                        offset: at,
                        len: n as u64,
                        size: self.vol.len(),
                    });
                }
                Ok(got)
            }
        }
    }

    fn read_exact(&self, off: u64, buf: &mut [u8], loc: &Location) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            done += self.read(off + done as u64, &mut buf[done..], loc)?;
        }
        Ok(())
    }

    /// How many of `count` clusters from `vcn` are allocated (not sparse), and whether
    /// every one is mapped at all.
    fn allocated(&self, vcn: u64, count: u64) -> (u64, bool) {
        let mut alloc = 0;
        let mut covered = 0;
        let mut i = self.runs.partition_point(|r| r.vcn + r.len <= vcn);
        while let Some(r) = self.runs.get(i) {
            let s = r.vcn.max(vcn);
            let e = (r.vcn + r.len).min(vcn + count);
            if s >= e {
                break;
            }
            covered += e - s;
            if r.lcn.is_some() {
                alloc += e - s;
            }
            i += 1;
        }
        (alloc, covered == count)
    }
}

impl FileData {
    pub(crate) fn resident(value: &[u8], location: Location) -> FileData {
        FileData {
            len: value.len() as u64,
            kind: Kind::Resident(Arc::from(value)),
            location,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn plain(clusters: Clusters, len: u64, location: Location) -> FileData {
        FileData {
            kind: Kind::Plain(clusters),
            len,
            location,
            warnings: Vec::new(),
        }
    }

    /// `unit` = compression unit in bytes (clusters << compression-unit shift).
    pub(crate) fn lznt1(clusters: Clusters, unit: u64, len: u64, location: Location) -> FileData {
        FileData {
            kind: Kind::Lznt1 {
                clusters,
                unit,
                cache: ChunkCache::new(CACHE_BYTES),
            },
            len,
            location,
            warnings: Vec::new(),
        }
    }

    /// A WOF-compressed file: `stream` is its `WofCompressedData`, `len` the size of the
    /// unnamed `$DATA` (the uncompressed size).
    pub(crate) fn wof(
        stream: FileData,
        alg_code: u32,
        len: u64,
        location: Location,
    ) -> Result<FileData> {
        let (alg, chunk) = triage_compress::wof::wof_algorithm(alg_code).ok_or_else(|| {
            SourceError::Unsupported {
                location: location.clone(),
                layer: "WOF",
                what: format!("compression algorithm {alg_code}"),
            }
        })?;
        let table = ChunkedStream::parse(stream.len, len, chunk, |off, n| {
            let mut v = vec![0u8; n];
            read_exact_at(&stream, off, &mut v)?;
            Ok(v)
        })
        .map_err(|e| e.into_source_error(stream.location(), 0))?;
        Ok(FileData {
            kind: Kind::Wof {
                stream: Box::new(stream),
                table,
                alg,
                cache: ChunkCache::new(CACHE_BYTES),
            },
            len,
            location,
            warnings: Vec::new(),
        })
    }

    /// `len` bytes at `off` straight from the memory map, when they lie in one allocated,
    /// initialised run of a mapped volume (the zero-copy path of the `$MFT` scan).
    pub(crate) fn contiguous(&self, off: u64, len: u64) -> Option<&[u8]> {
        let Kind::Plain(c) = &self.kind else {
            return None;
        };
        let end = off.checked_add(len)?;
        if end > self.len || end > c.init {
            return None;
        }
        let vcn = off / c.cluster;
        let i = c.runs.partition_point(|r| r.vcn + r.len <= vcn);
        let run = c.runs.get(i).filter(|r| r.vcn <= vcn)?;
        if end > (run.vcn + run.len).checked_mul(c.cluster)? {
            return None;
        }
        let at = run
            .lcn?
            .checked_add(vcn - run.vcn)?
            .checked_mul(c.cluster)?
            .checked_add(off % c.cluster)?;
        let at = usize::try_from(at).ok()?;
        c.vol
            .as_slice()?
            .get(at..at.checked_add(usize::try_from(len).ok()?)?)
    }

    pub(crate) fn with_warnings(mut self, w: Vec<String>) -> FileData {
        self.warnings = w;
        self
    }

    /// Problems found opening it that do not stop reading (a run that overlaps the
    /// `$MFT` or another run of the same file).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How the content is stored: "resident", "non-resident", "LZNT1", "WOF XPRESS Huffman", "WOF LZX".
    pub fn storage(&self) -> String {
        match &self.kind {
            Kind::Resident(_) => "resident".into(),
            Kind::Plain(_) => "non-resident".into(),
            Kind::Lznt1 { .. } => "LZNT1".into(),
            Kind::Wof { alg, .. } => format!("WOF {}", alg.name()),
        }
    }

    fn unit(&self, c: &Clusters, unit: u64, cache: &ChunkCache, idx: u64) -> Result<Arc<[u8]>> {
        cache.get_or_load(idx, || {
            let cl = c.cluster;
            let per = unit / cl;
            let vcn = idx * per;
            let (alloc, mapped) = c.allocated(vcn, per);
            if !mapped && alloc == 0 {
                return Err(SourceError::Hole {
                    location: self.location.clone(),
                    offset: idx * unit,
                    len: unit,
                    why: "compression unit not mapped by any run".into(),
                });
            }
            let mut raw = vec![0u8; (alloc * cl) as usize];
            c.read_exact(vcn * cl, &mut raw, &self.location)?;
            if alloc == per {
                return Ok(Arc::from(raw)); // stored uncompressed
            }
            if alloc == 0 {
                return Ok(Arc::from(vec![0u8; unit as usize]));
            }
            let mut out = triage_compress::lznt1::decompress(&raw, unit as usize).map_err(|e| {
                let e = e.into_source_error(&self.location, idx * unit);
                SourceError::corrupt(
                    &self.location,
                    "LZNT1",
                    idx * unit,
                    format!("compression unit {idx}: {e}"),
                )
            })?;
            out.resize(unit as usize, 0);
            Ok(Arc::from(out))
        })
    }

    fn chunk(
        &self,
        stream: &FileData,
        table: &ChunkedStream,
        alg: Algorithm,
        cache: &ChunkCache,
        i: u64,
    ) -> Result<Arc<[u8]>> {
        cache.get_or_load(i, || {
            let (off, slen, ulen) = table.chunk_range(i).ok_or_else(|| {
                SourceError::corrupt(
                    &self.location,
                    "WOF",
                    0,
                    format!("chunk {i} is not in the table"),
                )
            })?;
            // A stored chunk is never larger than its output: bound the read by that.
            let n = usize::try_from(slen)
                .ok()
                .filter(|n| *n <= ulen)
                .ok_or_else(|| {
                    SourceError::corrupt(
                        &self.location,
                        "WOF",
                        off,
                        format!("chunk {i} claims {slen} bytes"),
                    )
                })?;
            let mut stored = vec![0u8; n];
            read_exact_at(stream, off, &mut stored)?;
            let out = table.decode_chunk(alg, i, &stored).map_err(|e| {
                SourceError::corrupt(
                    &self.location,
                    "WOF",
                    off,
                    format!(
                        "WOF {} chunk {i} at offset {off:#x} of WofCompressedData: {e}",
                        alg.name()
                    ),
                )
            })?;
            Ok(Arc::from(out))
        })
    }
}

impl ByteSource for FileData {
    fn len(&self) -> u64 {
        self.len
    }
    /// Zero-copy when the content is resident, or one allocated run of a mapped volume.
    fn as_slice(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Resident(v) => Some(v),
            Kind::Plain(c) if c.init >= self.len => {
                let [run] = &c.runs[..] else { return None };
                let lcn = run.lcn?;
                if run.vcn != 0 || run.len.checked_mul(c.cluster)? < self.len {
                    return None;
                }
                let start = usize::try_from(lcn.checked_mul(c.cluster)?).ok()?;
                c.vol
                    .as_slice()?
                    .get(start..start.checked_add(usize::try_from(self.len).ok()?)?)
            }
            _ => None,
        }
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.len - offset) as usize;
        let buf = &mut buf[..want];
        match &self.kind {
            Kind::Resident(v) => {
                let s = &v[offset as usize..offset as usize + want];
                buf.copy_from_slice(s);
                Ok(want)
            }
            Kind::Plain(c) => c.read(offset, buf, &self.location),
            Kind::Lznt1 {
                clusters,
                unit,
                cache,
            } => {
                let idx = offset / unit;
                let u = self.unit(clusters, *unit, cache, idx)?;
                let within = (offset % unit) as usize;
                let n = want.min(u.len().saturating_sub(within));
                buf[..n].copy_from_slice(&u[within..within + n]);
                Ok(n)
            }
            Kind::Wof {
                stream,
                table,
                alg,
                cache,
            } => {
                let cs = table.chunk_size() as u64;
                let i = offset / cs;
                let c = self.chunk(stream, table, *alg, cache, i)?;
                let within = (offset % cs) as usize;
                let n = want.min(c.len().saturating_sub(within));
                if n == 0 {
                    return Err(SourceError::corrupt(
                        &self.location,
                        "WOF",
                        offset,
                        format!("chunk {i} decoded short"),
                    ));
                }
                buf[..n].copy_from_slice(&c[within..within + n]);
                Ok(n)
            }
        }
    }
}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileData")
            .field("location", &self.location)
            .field("len", &self.len)
            .field("storage", &self.storage())
            .finish()
    }
}
