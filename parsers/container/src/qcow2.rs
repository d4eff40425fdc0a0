//! qcow2 (QEMU copy-on-write v2 and v3) as one byte source.
//!
//! Two-level map: a virtual cluster is found through the L1 table (read whole at open,
//! bounded by the file and by what the virtual size needs) and an L2 table (one cluster,
//! read on demand through a [`ChunkCache`]). Clusters are standard, zero (v3 flag),
//! compressed (raw deflate, decoded through a [`ChunkCache`]) or unallocated, which reads
//! from the backing file (a chain of at most [`MAX_CHAIN`] files, opened by file name
//! only through [`Siblings`]) or as zeros. Corrupt tables and clusters are holes at their
//! virtual offsets; they never end the image.

use std::sync::Arc;

use triage_source::{ByteSource, ChunkCache, Location, Result, Siblings, Source, SourceError};

use crate::{Container, ContainerKind};

/// Backing files followed below the top image at most.
pub const MAX_CHAIN: usize = 16;
/// qemu's own limit on the L1 table (32 MiB).
const MAX_L1_ENTRIES: u64 = 32 * 1024 * 1024 / 8;
const MAX_SNAPSHOTS: u32 = 65536;
const L1_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const L2_COMPRESSED: u64 = 1 << 62;
const LAYER: &str = "qcow2";

/// The parsed header of one qcow2 file.
struct Header {
    version: u32,
    /// Compressed clusters are zstd frames (compression type 1), not raw deflate.
    zstd: bool,
    cluster_bits: u32,
    size: u64,
    l1: Vec<u64>,
    backing_name: Option<String>,
    backing_format: Option<String>,
    snapshots: Vec<String>,
    warnings: Vec<String>,
}

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

/// The file-name part of a name from evidence: never a path out of the directory.
pub(crate) fn file_name_only(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        None
    } else {
        Some(base)
    }
}

fn parse_header(file: &Source, l1_budget: &mut u64) -> Result<Header> {
    let loc = file.location();
    let corrupt = |off: u64, what: &str| SourceError::corrupt(loc, "qcow2 header", off, what);
    let mut h = [0u8; 112];
    let got = file.read_at(0, &mut h)?;
    if got < 72 || h[..4] != *b"QFI\xfb" {
        return Err(corrupt(0, "no qcow2 magic / header too short"));
    }
    let version = be32(&h, 4);
    match version {
        2 | 3 => {}
        1 => return Err(crate::unsupported(file, LAYER, "qcow version 1")),
        v => {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("qcow2 version {v}"),
            ))
        }
    }
    let cluster_bits = be32(&h, 20);
    if !(9..=21).contains(&cluster_bits) {
        return Err(corrupt(
            20,
            &format!("cluster_bits {cluster_bits} outside 9..=21"),
        ));
    }
    let cs = 1u64 << cluster_bits;
    let size = be64(&h, 24);
    match be32(&h, 32) {
        0 => {}
        1 => return Err(crate::unsupported(file, LAYER, "encryption (AES)")),
        2 => return Err(crate::unsupported(file, LAYER, "encryption (LUKS)")),
        m => {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("encryption (method {m})"),
            ))
        }
    }
    let mut warnings = Vec::new();
    let mut header_len = 72u64;
    let mut zstd = false;
    if version == 3 {
        if got < 104 {
            return Err(corrupt(0, "v3 header too short"));
        }
        let incompat = be64(&h, 72);
        header_len = u64::from(be32(&h, 100));
        if header_len < 104 || header_len > cs {
            return Err(corrupt(100, &format!("header_length {header_len}")));
        }
        if incompat & 1 != 0 {
            warnings
                .push("qcow2 dirty bit set (refcounts may be stale; data is read as is)".into());
        }
        if incompat & 2 != 0 {
            warnings.push("qcow2 marked corrupt by its writer".into());
        }
        if incompat & 4 != 0 {
            return Err(crate::unsupported(file, LAYER, "external data file"));
        }
        if incompat & 8 != 0 {
            let ct = if header_len > 104 { h[104] } else { 0 };
            match ct {
                0 => {}
                1 => zstd = true,
                t => {
                    return Err(crate::unsupported(
                        file,
                        LAYER,
                        &format!("compression type {t}"),
                    ))
                }
            }
        }
        if incompat & 16 != 0 {
            return Err(crate::unsupported(
                file,
                LAYER,
                "extended L2 entries (subclusters)",
            ));
        }
        let unknown = incompat & !0x1f;
        if unknown != 0 {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("incompatible features {unknown:#x}"),
            ));
        }
    }

    // L1: bounded by what the virtual size needs, qemu's limit and the file.
    let l2_bits = cluster_bits - 3;
    let per_l1 = 1u128 << (cluster_bits + l2_bits);
    let needed = (u128::from(size)).div_ceil(per_l1);
    if needed > u128::from(MAX_L1_ENTRIES) {
        return Err(crate::unsupported(
            file,
            LAYER,
            &format!("virtual size {size} needs an L1 table over 32 MiB"),
        ));
    }
    let needed = needed as u64;
    let l1_size = u64::from(be32(&h, 36));
    let l1_off = be64(&h, 40);
    if l1_size < needed {
        return Err(corrupt(
            36,
            &format!("l1_size {l1_size} < {needed} needed for size {size}"),
        ));
    }
    if l1_size > MAX_L1_ENTRIES {
        return Err(corrupt(
            36,
            &format!("l1_size {l1_size} over qemu's 32 MiB limit"),
        ));
    }
    let l1_end = l1_size
        .checked_mul(8)
        .and_then(|n| n.checked_add(l1_off))
        .ok_or_else(|| corrupt(40, "L1 table offset overflows"))?;
    if l1_end > file.len() && needed > 0 {
        return Err(corrupt(
            40,
            &format!("L1 table ({l1_size} entries at {l1_off:#x}) runs past the end"),
        ));
    }
    if l1_off % cs != 0 && needed > 0 {
        return Err(corrupt(40, "L1 table offset not cluster aligned"));
    }
    *l1_budget = l1_budget
        .checked_sub(needed * 8)
        .ok_or_else(|| crate::unsupported(file, LAYER, "L1 tables over 64 MiB in one chain"))?;
    let mut raw = vec![0u8; (needed * 8) as usize];
    triage_source::read_exact_at(file.as_ref(), l1_off, &mut raw)?;
    let l1 = raw.chunks_exact(8).map(|c| be64(c, 0)).collect();

    let (backing_format, ext_warn) = walk_extensions(file, header_len, cs)?;
    warnings.extend(ext_warn);

    let backing_name = {
        let off = be64(&h, 8);
        let len = be32(&h, 16);
        if off == 0 || len == 0 {
            None
        } else if len > 1023 {
            return Err(corrupt(16, &format!("backing file name of {len} bytes")));
        } else {
            let mut b = vec![0u8; len as usize];
            triage_source::read_exact_at(file.as_ref(), off, &mut b)
                .map_err(|_| corrupt(8, "backing file name runs past the end"))?;
            Some(String::from_utf8_lossy(&b).into_owned())
        }
    };

    let snapshots = match read_snapshots(file, be32(&h, 60), be64(&h, 64)) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!("snapshot table unreadable: {e}"));
            Vec::new()
        }
    };
    Ok(Header {
        version,
        zstd,
        cluster_bits,
        size,
        l1,
        backing_name,
        backing_format,
        snapshots,
        warnings,
    })
}

/// Header extensions: the backing format, and refusals for what we cannot read.
fn walk_extensions(file: &Source, start: u64, cs: u64) -> Result<(Option<String>, Vec<String>)> {
    let end = cs.min(file.len());
    let mut at = start;
    let mut fmt = None;
    let warnings = Vec::new();
    // Each extension is at least 8 bytes, and they stay inside the first cluster.
    while at + 8 <= end {
        let mut hd = [0u8; 8];
        triage_source::read_exact_at(file.as_ref(), at, &mut hd)?;
        let (ty, len) = (be32(&hd, 0), u64::from(be32(&hd, 4)));
        let data = at + 8;
        if ty == 0 {
            break;
        }
        if data + len > end {
            return Err(SourceError::corrupt(
                file.location(),
                "qcow2 header extension",
                at,
                "runs past the first cluster",
            ));
        }
        match ty {
            0xe279_2aca if len <= 64 => {
                let mut b = vec![0u8; len as usize];
                triage_source::read_exact_at(file.as_ref(), data, &mut b)?;
                fmt = Some(
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            0x0537_be77 => return Err(crate::unsupported(file, LAYER, "encryption (LUKS header)")),
            0x4441_5441 => return Err(crate::unsupported(file, LAYER, "external data file")),
            _ => {}
        }
        at = data + len.div_ceil(8) * 8;
    }
    Ok((fmt, warnings))
}

/// Internal snapshot names (bounded count and sizes; the table must be in the file).
fn read_snapshots(file: &Source, count: u32, off: u64) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let loc = file.location();
    if count > MAX_SNAPSHOTS {
        return Err(SourceError::corrupt(
            loc,
            "qcow2 snapshot table",
            off,
            format!("{count} snapshots"),
        ));
    }
    let mut names = Vec::new();
    let mut at = off;
    for _ in 0..count {
        let mut h = [0u8; 40];
        triage_source::read_exact_at(file.as_ref(), at, &mut h)?;
        let id_len = u64::from(u16::from_be_bytes([h[12], h[13]]));
        let name_len = u64::from(u16::from_be_bytes([h[14], h[15]]));
        let extra = u64::from(be32(&h, 36));
        if extra > 1 << 16 {
            return Err(SourceError::corrupt(
                loc,
                "qcow2 snapshot table",
                at,
                "extra data too large",
            ));
        }
        let name_at = at + 40 + extra + id_len;
        let mut n = vec![0u8; name_len as usize];
        triage_source::read_exact_at(file.as_ref(), name_at, &mut n)?;
        names.push(String::from_utf8_lossy(&n).into_owned());
        at = (name_at + name_len).div_ceil(8) * 8;
    }
    Ok(names)
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
        if l2_off % cs != 0 || l2_off.saturating_add(cs) > self.file.len() {
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
        if off % cs != 0 {
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

/// Decode zstd frames from `input` until exactly `out_len` bytes are out, as qemu does
/// (a cluster may hold several frames; the last must end where the cluster does).
/// `None` when the data is bad, ends short, or would produce more.
fn unzstd_exact(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    // ruzstd is fuzzed upstream, but a decoder panic must not take the image down.
    std::panic::catch_unwind(|| {
        let mut out = vec![0u8; out_len];
        let mut rest: &[u8] = input;
        let mut pos = 0usize;
        // Every frame must add output, so this runs at most `out_len` times.
        while pos < out_len {
            let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut rest).ok()?;
            let start = pos;
            while pos < out_len {
                match dec.read(&mut out[pos..]) {
                    Ok(0) => break,
                    Ok(n) => pos += n,
                    Err(_) => return None,
                }
            }
            if pos == start {
                return None;
            }
            if pos == out_len {
                // Full: the frame must end here.
                let mut one = [0u8; 1];
                if !matches!(dec.read(&mut one), Ok(0)) {
                    return None;
                }
            }
        }
        Some(out)
    })
    .ok()
    .flatten()
}

/// Inflate `input` (zlib when `zlib`, raw deflate otherwise) to exactly `out_len` bytes:
/// `None` when it ends short, is truncated, or would produce more.
pub(crate) fn inflate_exact(input: &[u8], out_len: usize, zlib: bool) -> Option<Vec<u8>> {
    let (out, ended) = inflate_upto(input, out_len, zlib)?;
    (ended && out.len() == out_len).then_some(out)
}

/// Inflate at most `out_len` bytes; `None` when the data is bad or would produce more
/// than `out_len`; the flag says whether the stream ended.
pub(crate) fn inflate_upto(input: &[u8], out_len: usize, zlib: bool) -> Option<(Vec<u8>, bool)> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut out = vec![0u8; out_len];
    let mut d = Decompress::new(zlib);
    let st = d
        .decompress(input, &mut out, FlushDecompress::Finish)
        .ok()?;
    let produced = d.total_out() as usize;
    match st {
        Status::StreamEnd => {
            out.truncate(produced);
            Some((out, true))
        }
        _ if produced == out_len => {
            // Output full but the stream did not end: is there more?
            let used = d.total_in() as usize;
            let mut more = [0u8; 64];
            let rest = input.get(used..).unwrap_or(&[]);
            match d.decompress(rest, &mut more, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) if d.total_out() as usize == out_len => Some((out, true)),
                _ => None,
            }
        }
        _ => None,
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
    let mut seen: Vec<String> = vec![file_name_only(&top_name).unwrap_or("").to_ascii_lowercase()];
    let mut bottom = Below::Zeros;
    while let Some((_, h)) = chain.last() {
        let Some(raw_name) = h.backing_name.clone() else {
            break;
        };
        let Some(name) = file_name_only(&raw_name).map(str::to_string) else {
            warnings.push(format!("backing file name {raw_name:?} has no file name"));
            bottom = Below::Missing(raw_name);
            break;
        };
        let lname = name.to_ascii_lowercase();
        if seen.contains(&lname) {
            warnings.push(format!("backing chain loops back to {name}"));
            bottom = Below::Missing(name);
            break;
        }
        if chain.len() > MAX_CHAIN {
            warnings.push(format!(
                "backing chain deeper than {MAX_CHAIN}: {name} not followed"
            ));
            bottom = Below::Missing(name);
            break;
        }
        seen.push(lname);
        let src = match siblings.open(&name) {
            Ok(Some(s)) => s,
            Ok(None) => {
                warnings.push(format!(
                    "backing file {name} not found: its clusters read as holes"
                ));
                bottom = Below::Missing(name);
                break;
            }
            Err(e) => {
                warnings.push(format!("backing file {name} cannot be opened: {e}"));
                bottom = Below::Missing(name);
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
