//! qcow2 (QEMU copy-on-write v2 and v3) as one byte source.
//!
//! Two-level map: a virtual cluster is found through the L1 table (read whole at open,
//! bounded by the file and by what the virtual size needs) and an L2 table (one cluster,
//! read on demand through a [`ChunkCache`]). Clusters are standard, zero (v3 flag),
//! compressed (raw deflate, or zstd for compression type 1; decoded through a
//! [`ChunkCache`]) or unallocated, which reads
//! from the backing file (a chain of at most [`MAX_CHAIN`] files, opened by file name
//! only through [`Siblings`]) or as zeros. Corrupt tables and clusters are holes at their
//! virtual offsets; they never end the image.

use std::sync::Arc;

use triage_source::{ByteSource, ChunkCache, Location, Result, Siblings, Source, SourceError};

use crate::{Container, ContainerKind};

mod decompress;
mod header;

pub(crate) use decompress::inflate_upto;
use decompress::{inflate_exact, unzstd_exact};
use header::{parse_header, Header};

/// Backing files followed below the top image at most.
pub const MAX_CHAIN: usize = 16;
const L1_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const L2_COMPRESSED: u64 = 1 << 62;
const LAYER: &str = "qcow2";

/// Is `file` a qcow2 image (magic `QFI\xfb`)?
pub fn is_qcow2(file: &dyn ByteSource) -> bool {
    let mut m = [0u8; 4];
    triage_source::read_exact_at(file, 0, &mut m).is_ok() && m == *b"QFI\xfb"
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_be_bytes(a)
        })
        .unwrap_or(0)
}

/// What lies below a layer's unallocated clusters.
enum Below {
    Zeros,
    Source(Source),
    /// A backing file that could not be opened: its clusters are holes.
    Missing(String),
}

/// One qcow2 file of a chain, as the virtual disk it describes.
struct Layer {
    file: Source,
    loc: Location,
    /// Prefix of this layer's cache keys (its depth in the chain).
    key: u64,
    cluster_bits: u32,
    v3: bool,
    zstd: bool,
    size: u64,
    l1: Vec<u64>,
    below: Below,
    tables: Arc<ChunkCache>,
    clusters: Arc<ChunkCache>,
}

enum Map {
    Below,
    Zero,
    Data(u64),
    Compressed(u64, u64),
}

impl Layer {
    fn cs(&self) -> u64 {
        1 << self.cluster_bits
    }

    fn hole(&self, start: u64, len: u64, why: impl Into<String>) -> SourceError {
        SourceError::Hole {
            location: self.loc.clone(),
            offset: start,
            len: len.min(self.size.saturating_sub(start)).max(1),
            why: why.into(),
        }
    }

    /// Where virtual offset `pos` lives.
    fn map(&self, pos: u64) -> Result<Map> {
        let cb = self.cluster_bits;
        let l2_bits = cb - 3;
        let vcl = pos >> cb;
        let l1_idx = (vcl >> l2_bits) as usize;
        let span = 1u64 << (cb + l2_bits);
        let span_start = (l1_idx as u64) << (cb + l2_bits);
        let Some(&l1e) = self.l1.get(l1_idx) else {
            return Ok(Map::Below);
        };
        let l2_off = l1e & L1_OFFSET_MASK;
        if l2_off == 0 {
            return Ok(Map::Below);
        }
        let cs = self.cs();
        if !l2_off.is_multiple_of(cs) || l2_off.saturating_add(cs) > self.file.len() {
            return Err(self.hole(
                span_start,
                span,
                format!("L2 table at {l2_off:#x} is outside the file"),
            ));
        }
        let file = &self.file;
        let table = self.tables.get_or_load(self.key | l2_off, || {
            let mut t = vec![0u8; cs as usize];
            triage_source::read_exact_at(file.as_ref(), l2_off, &mut t)?;
            Ok(Arc::from(t))
        });
        let table =
            table.map_err(|e| self.hole(span_start, span, format!("L2 table unreadable: {e}")))?;
        let idx = (vcl & ((1 << l2_bits) - 1)) as usize;
        let e = be64(&table, idx * 8);
        if e & L2_COMPRESSED != 0 {
            let x = 62 - (cb - 8);
            let off = e & ((1u64 << x) - 1);
            let sectors = (e >> x) & ((1u64 << (cb - 8)) - 1);
            let len = (sectors + 1) * 512 - (off & 511);
            if off >= 1 << 56 {
                let start = vcl << cb;
                return Err(self.hole(
                    start,
                    cs,
                    format!("compressed cluster offset {off:#x} out of range"),
                ));
            }
            return Ok(Map::Compressed(off, len));
        }
        if self.v3 && e & 1 != 0 {
            return Ok(Map::Zero);
        }
        let off = e & L1_OFFSET_MASK;
        if off == 0 {
            return Ok(Map::Below);
        }
        if !off.is_multiple_of(cs) {
            let start = vcl << cb;
            return Err(self.hole(start, cs, format!("cluster offset {off:#x} not aligned")));
        }
        Ok(Map::Data(off))
    }

    fn cluster(&self, vcl_start: u64, off: u64, len: u64) -> Result<Arc<[u8]>> {
        let cs = self.cs();
        let file = &self.file;
        self.clusters
            .get_or_load(self.key | off, || {
                let avail = file.len().saturating_sub(off);
                let len = len.min(avail);
                if len == 0 {
                    return Err(self.hole(vcl_start, cs, "compressed cluster past the end"));
                }
                let mut input = vec![0u8; len as usize];
                triage_source::read_exact_at(file.as_ref(), off, &mut input)?;
                let out = if self.zstd {
                    unzstd_exact(&input, cs as usize)
                } else {
                    inflate_exact(&input, cs as usize, false)
                };
                out.map(Arc::from).ok_or_else(|| {
                    self.hole(
                        vcl_start,
                        cs,
                        "compressed cluster does not inflate to one cluster",
                    )
                })
            })
            .map_err(|e| match e {
                h @ SourceError::Hole { .. } => h,
                other => self.hole(vcl_start, cs, other.to_string()),
            })
    }

    /// Read inside one cluster.
    fn read_piece(&self, pos: u64, out: &mut [u8]) -> Result<usize> {
        let cs = self.cs();
        let start = pos & !(cs - 1);
        let within = pos - start;
        match self.map(pos)? {
            Map::Zero => {
                out.fill(0);
                Ok(out.len())
            }
            Map::Below => match &self.below {
                Below::Zeros => {
                    out.fill(0);
                    Ok(out.len())
                }
                Below::Missing(name) => {
                    Err(self.hole(start, cs, format!("backing file {name} is missing")))
                }
                Below::Source(src) => {
                    let n = src.read_at(pos, out)?;
                    if n == 0 {
                        // Past the end of a shorter backing file: zeros, as qemu reads it.
                        out.fill(0);
                        return Ok(out.len());
                    }
                    Ok(n)
                }
            },
            Map::Data(off) => {
                let n = self.file.read_at(off + within, out)?;
                if n == 0 {
                    return Err(self.hole(
                        start,
                        cs,
                        format!("cluster at {off:#x} is past the end of the file"),
                    ));
                }
                Ok(n)
            }
            Map::Compressed(off, len) => {
                let c = self.cluster(start, off, len)?;
                let w = within as usize;
                let n = out.len().min(c.len().saturating_sub(w));
                out[..n].copy_from_slice(&c[w..w + n]);
                Ok(n)
            }
        }
    }
}

impl ByteSource for Layer {
    fn len(&self) -> u64 {
        self.size
    }
    fn location(&self) -> &Location {
        &self.loc
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.size - offset) as usize;
        let cs = self.cs();
        let mut done = 0usize;
        while done < want {
            let pos = offset + done as u64;
            let n = ((cs - (pos & (cs - 1))) as usize).min(want - done);
            match self.read_piece(pos, &mut buf[done..done + n]) {
                Ok(k) => {
                    done += k;
                    if k < n {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}

/// Open a qcow2 image (and its backing chain) as its virtual disk.
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    // L1 memory for the whole chain (a 2 TiB image with 64 KiB clusters needs 32 KiB).
    let mut l1_budget: u64 = 64 << 20;
    let top = parse_header(&file, &mut l1_budget)?;
    let mut warnings: Vec<String> = top.warnings.clone();
    let mut files = vec![file.location().to_string()];
    let mut facts: Vec<(&'static str, String)> = vec![
        ("cluster_size", (1u64 << top.cluster_bits).to_string()),
        ("virtual_size", top.size.to_string()),
        ("snapshots", top.snapshots.len().to_string()),
    ];
    if !top.snapshots.is_empty() {
        let shown: Vec<&str> = top.snapshots.iter().take(64).map(String::as_str).collect();
        let more = top.snapshots.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        facts.push(("snapshot_names", format!("{}{tail}", shown.join(", "))));
    }
    if let Some(b) = &top.backing_name {
        facts.push(("backing_file", b.clone()));
    }
    if let Some(f) = &top.backing_format {
        facts.push(("backing_format", f.clone()));
    }
    facts.push((
        "compression",
        if top.zstd { "zstd" } else { "zlib" }.to_string(),
    ));
    let variant = format!("qcow2 v{}", top.version);

    // Walk the backing chain iteratively: names first, layers built bottom-up.
    let mut chain: Vec<(Source, Header)> = vec![(file, top)];
    let top_name = chain[0].0.location().last().to_string();
    let mut walk = crate::chain::Walk::new(&top_name, MAX_CHAIN);
    let mut bottom = Below::Zeros;
    while let Some((_, h)) = chain.last() {
        let Some(raw_name) = h.backing_name.clone() else {
            break;
        };
        let (name, src) = match walk.step(
            siblings,
            &raw_name,
            chain.len(),
            "backing file",
            "backing chain",
            "its clusters",
        ) {
            crate::chain::Step::Opened(n, s) => (n, s),
            crate::chain::Step::Stop(n, why) => {
                warnings.push(why);
                bottom = Below::Missing(n);
                break;
            }
        };
        files.push(src.location().to_string());
        if !is_qcow2(src.as_ref()) {
            // qemu also takes raw (and other) backing files; we read a non-qcow2 one raw.
            if let Some(f) = &h.backing_format {
                if f != "raw" {
                    warnings.push(format!("backing file {name} (format {f}) is read as raw"));
                }
            }
            bottom = Below::Source(src);
            break;
        }
        match parse_header(&src, &mut l1_budget) {
            Ok(bh) => {
                warnings.extend(bh.warnings.iter().map(|w| format!("{name}: {w}")));
                chain.push((src, bh));
            }
            Err(e) => {
                warnings.push(format!("backing file {name} unreadable: {e}"));
                bottom = Below::Missing(name);
                break;
            }
        }
    }
    facts.push(("chain_depth", chain.len().to_string()));

    let tables = Arc::new(ChunkCache::new(16 << 20));
    let clusters = Arc::new(ChunkCache::new(64 << 20));
    let mut below = bottom;
    let mut disk: Option<Source> = None;
    for (depth, (f, h)) in chain.into_iter().enumerate().rev() {
        let layer = Layer {
            loc: f.location().clone(),
            file: f,
            key: (depth as u64) << 58,
            cluster_bits: h.cluster_bits,
            v3: h.version >= 3,
            zstd: h.zstd,
            size: h.size,
            l1: h.l1,
            below,
            tables: tables.clone(),
            clusters: clusters.clone(),
        };
        let s: Source = Arc::new(layer);
        below = Below::Source(s.clone());
        disk = Some(s);
    }
    let disk =
        disk.ok_or_else(|| SourceError::corrupt(&Location::new("qcow2"), LAYER, 0, "empty chain"))?;
    Ok(Container {
        kind: ContainerKind::Qcow2,
        disk,
        variant,
        files,
        facts,
        warnings,
    })
}
