//! VMDK (VMware virtual disk) as one byte source.
//!
//! A disk is a descriptor (a text file, or embedded in a monolithic sparse file) that
//! lists extents, each a range of the virtual disk: `FLAT`/`VMFS` (raw bytes at an
//! offset of a file), `ZERO`, `SPARSE` (a `KDMV` hosted sparse file, possibly
//! stream-optimised with deflate grains and a footer, or an ESX `COWD` file),
//! `VMFSSPARSE` (`COWD`) and `SESPARSE` (VMFS-6). A snapshot's unallocated grains read
//! from the parent named by `parentFileNameHint` (file name only, through [`Siblings`];
//! at most [`MAX_CHAIN`] parents, cycle-checked). Grain tables and inflated grains are
//! cached in bounded [`ChunkCache`]s; a bad table or grain is a hole at its virtual
//! offset.

use std::sync::Arc;

use triage_source::{ByteSource, ChunkCache, Location, Result, Siblings, Source, SourceError};

use crate::qcow2::{file_name_only, inflate_upto};
use crate::{Container, ContainerKind};

/// Parents followed below the top disk at most.
pub const MAX_CHAIN: usize = 16;
const MAX_EXTENTS: usize = 4096;
const MAX_DESCRIPTOR: u64 = 1 << 20;
/// Largest grain we accept (qemu allows 1 GiB; real images use 64 KiB).
const MAX_GRAIN: u64 = 16 << 20;
const MAX_GD_ENTRIES: u64 = 8 << 20;
/// Grain-directory memory for one disk and all its parents and extents together: a
/// descriptor naming one big file a thousand times cannot make us hold a thousand copies.
const DIR_BUDGET: u64 = 256 << 20;
const GD_AT_END: u64 = u64::MAX;
const SESPARSE_MAGIC: u64 = 0x0000_0000_cafe_babe;
const LAYER: &str = "vmdk";

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------- descriptor

/// One extent line of a descriptor.
#[derive(Debug, Clone)]
struct ExtentLine {
    access: String,
    sectors: u64,
    kind: String,
    name: String,
    offset: u64,
}

/// A parsed descriptor.
#[derive(Debug, Default)]
struct Descriptor {
    create_type: Option<String>,
    cid: Option<String>,
    parent_cid: Option<String>,
    parent_hint: Option<String>,
    extents: Vec<ExtentLine>,
}

fn parse_descriptor(text: &str) -> Descriptor {
    let mut d = Descriptor::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(e) = parse_extent_line(line) {
            if d.extents.len() < MAX_EXTENTS {
                d.extents.push(e);
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "createType" => d.create_type = Some(v),
            "CID" => d.cid = Some(v),
            "parentCID" => d.parent_cid = Some(v),
            "parentFileNameHint" => d.parent_hint = Some(v),
            _ => {}
        }
    }
    d
}

/// `ACCESS SECTORS TYPE "NAME" [OFFSET]`.
fn parse_extent_line(line: &str) -> Option<ExtentLine> {
    let (access, rest) = token(line);
    if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
        return None;
    }
    let (sectors, rest) = token(rest);
    let sectors: u64 = sectors.parse().ok()?;
    let (kind, rest) = token(rest);
    let kind = kind.to_ascii_uppercase();
    let rest = rest.trim();
    let (name, tail) = if let Some(r) = rest.strip_prefix('"') {
        let end = r.find('"')?;
        (r[..end].to_string(), r[end + 1..].trim())
    } else {
        (String::new(), rest)
    };
    let offset = tail
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Some(ExtentLine {
        access: access.to_string(),
        sectors,
        kind,
        name,
        offset,
    })
}

/// The first whitespace-separated token of `s`, and the rest.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    s.split_at(s.find(char::is_whitespace).unwrap_or(s.len()))
}

/// Descriptor text, bounded, cut at the first NUL.
fn read_text(file: &dyn ByteSource, off: u64, len: u64) -> Result<String> {
    let len = len.min(MAX_DESCRIPTOR).min(file.len().saturating_sub(off));
    let mut b = vec![0u8; len as usize];
    triage_source::read_exact_at(file, off, &mut b)?;
    if let Some(z) = b.iter().position(|&c| c == 0) {
        b.truncate(z);
    }
    Ok(String::from_utf8_lossy(&b).into_owned())
}

fn looks_like_descriptor(text: &str) -> bool {
    text.contains("createType") || text.lines().any(|l| parse_extent_line(l.trim()).is_some())
}

// ---------------------------------------------------------------- sparse extents

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Hosted sparse (`KDMV`): u32 grain-table entries, 0 unallocated, 1 zero.
    Kdmv,
    /// ESX 2/3 sparse (`COWD`): u32 entries.
    Cowd,
    /// VMFS-6 `SESPARSE`: u64 entries with a type nibble.
    SeSparse { tables: u64, grains: u64 },
}

/// The grain map of one sparse extent file.
struct Sparse {
    file: Source,
    key: u64,
    flavor: Flavor,
    /// Grain size in bytes.
    grain: u64,
    gt_entries: u64,
    gd: Vec<u64>,
    rgd: Vec<u64>,
    compressed: bool,
    markers: bool,
    capacity: u64,
}

/// What the header of a sparse file says.
struct SparseInfo {
    sparse: Sparse,
    descriptor: Option<(u64, u64)>,
    warnings: Vec<String>,
}

fn corrupt(file: &Source, off: u64, what: impl Into<String>) -> SourceError {
    SourceError::corrupt(file.location(), "vmdk sparse header", off, what)
}

fn read_dir(file: &Source, off: u64, count: u64, wide: bool, budget: &mut u64) -> Result<Vec<u64>> {
    let w = if wide { 8 } else { 4 };
    let bytes = count
        .checked_mul(w)
        .filter(|&b| count <= MAX_GD_ENTRIES && off.checked_add(b).is_some_and(|e| e <= file.len()))
        .ok_or_else(|| {
            corrupt(
                file,
                off,
                format!("grain directory of {count} entries runs past the end"),
            )
        })?;
    // Held as u64s: count * 8 bytes.
    *budget = budget.checked_sub(count * 8).ok_or_else(|| {
        crate::unsupported(file, LAYER, "grain directories over 256 MiB in one disk")
    })?;
    let mut raw = vec![0u8; bytes as usize];
    triage_source::read_exact_at(file.as_ref(), off, &mut raw)?;
    Ok(if wide {
        raw.chunks_exact(8).map(|c| le64(c, 0)).collect()
    } else {
        raw.chunks_exact(4).map(|c| u64::from(le32(c, 0))).collect()
    })
}

/// Parse a sparse extent file's header and grain directory.
fn open_sparse(file: &Source, key: u64, budget: &mut u64) -> Result<SparseInfo> {
    let mut h = [0u8; 512];
    let got = file.read_at(0, &mut h)?;
    if got < 512 {
        return Err(corrupt(file, 0, "shorter than one sector"));
    }
    let mut warnings = Vec::new();
    if h[..4] == *b"KDMV" {
        let mut hd = h;
        if le64(&h, 56) == GD_AT_END {
            // Stream-optimised: the footer (marker, header copy, end-of-stream) is last.
            let len = file.len();
            if len < 1536 {
                return Err(corrupt(file, 0, "grain directory at the end but no footer"));
            }
            let mut f = [0u8; 1536];
            triage_source::read_exact_at(file.as_ref(), len - 1536, &mut f)?;
            let ok = le32(&f, 8) == 0
                && le32(&f, 12) == 3
                && f[512..516] == *b"KDMV"
                && le64(&f, 1024) == 0
                && le32(&f, 1032) == 0
                && le32(&f, 1036) == 0;
            if !ok {
                return Err(corrupt(
                    file,
                    len - 1536,
                    "stream-optimised footer missing or invalid",
                ));
            }
            hd.copy_from_slice(&f[512..1024]);
        }
        let version = le32(&hd, 4);
        if version > 3 {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("sparse version {version}"),
            ));
        }
        let flags = le32(&hd, 8);
        let capacity = le64(&hd, 12);
        let grain_sectors = le64(&hd, 20);
        let desc = (le64(&h, 28), le64(&h, 36));
        let gt_entries = u64::from(le32(&hd, 44));
        let rgd_off = le64(&hd, 48);
        let gd_off = le64(&hd, 56);
        let compressed = u16::from_le_bytes([hd[77], hd[78]]) == 1;
        if grain_sectors == 0 || grain_sectors > MAX_GRAIN / 512 {
            return Err(corrupt(
                file,
                20,
                format!("grain of {grain_sectors} sectors"),
            ));
        }
        if gt_entries == 0 || gt_entries > 512 {
            return Err(corrupt(
                file,
                44,
                format!("{gt_entries} entries per grain table"),
            ));
        }
        let per_gd = gt_entries * grain_sectors;
        let n = capacity.div_ceil(per_gd);
        let gd = if capacity == 0 {
            Vec::new()
        } else {
            read_dir(file, gd_off.saturating_mul(512), n, false, budget)?
        };
        let mut rgd = Vec::new();
        if flags & 2 != 0 && rgd_off != 0 && capacity != 0 {
            match read_dir(file, rgd_off.saturating_mul(512), n, false, budget) {
                // Its entries point at the redundant grain tables (copies elsewhere).
                Ok(r) => rgd = r,
                Err(e) => warnings.push(format!("redundant grain directory unreadable: {e}")),
            }
        }
        let sparse = Sparse {
            file: file.clone(),
            key,
            flavor: Flavor::Kdmv,
            grain: grain_sectors * 512,
            gt_entries,
            gd,
            rgd,
            compressed,
            markers: flags & (1 << 17) != 0,
            capacity: capacity.saturating_mul(512),
        };
        let rescued = sparse.rescued();
        if rescued > 0 {
            warnings.push(format!(
                "{rescued} grain directory entries are bad; the redundant directory's are used"
            ));
        }
        return Ok(SparseInfo {
            sparse,
            descriptor: (desc.0 != 0 && desc.1 != 0).then_some(desc),
            warnings,
        });
    }
    if h[..4] == *b"COWD" {
        let capacity = u64::from(le32(&h, 12));
        let grain_sectors = u64::from(le32(&h, 16));
        let gd_off = u64::from(le32(&h, 20));
        let n = u64::from(le32(&h, 24));
        if grain_sectors == 0 || grain_sectors > MAX_GRAIN / 512 {
            return Err(corrupt(
                file,
                16,
                format!("grain of {grain_sectors} sectors"),
            ));
        }
        let gd = read_dir(file, gd_off * 512, n, false, budget)?;
        return Ok(SparseInfo {
            sparse: Sparse {
                file: file.clone(),
                key,
                flavor: Flavor::Cowd,
                grain: grain_sectors * 512,
                gt_entries: 4096,
                gd,
                rgd: Vec::new(),
                compressed: false,
                markers: false,
                capacity: capacity * 512,
            },
            descriptor: None,
            warnings,
        });
    }
    if le64(&h, 0) == SESPARSE_MAGIC {
        let version = le64(&h, 8);
        let capacity = le64(&h, 16);
        let grain_sectors = le64(&h, 24);
        let gt_sectors = le64(&h, 32);
        if version != 0x0000_0002_0000_0001 || grain_sectors != 8 || gt_sectors != 64 {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!(
                    "seSparse version {version:#x}, grain {grain_sectors}, table {gt_sectors}"
                ),
            ));
        }
        let gd_off = le64(&h, 128);
        let gd_sectors = le64(&h, 136);
        let tables = le64(&h, 144);
        let grains = le64(&h, 192);
        let gd = read_dir(
            file,
            gd_off.saturating_mul(512),
            gd_sectors.saturating_mul(64),
            true,
            budget,
        )?;
        return Ok(SparseInfo {
            sparse: Sparse {
                file: file.clone(),
                key,
                flavor: Flavor::SeSparse { tables, grains },
                grain: grain_sectors * 512,
                gt_entries: gt_sectors * 512 / 8,
                gd,
                rgd: Vec::new(),
                compressed: false,
                markers: false,
                capacity: capacity.saturating_mul(512),
            },
            descriptor: None,
            warnings,
        });
    }
    Err(corrupt(
        file,
        0,
        "not a sparse extent (no KDMV, COWD or seSparse magic)",
    ))
}

enum Grain {
    Unallocated,
    Zero,
    Data(u64),
    Compressed(u64),
}

impl Sparse {
    fn entry_width(&self) -> u64 {
        if matches!(self.flavor, Flavor::SeSparse { .. }) {
            8
        } else {
            4
        }
    }

    /// The grain table's byte offset for directory entry `e`, `None` when unallocated.
    fn table_offset(&self, e: u64) -> std::result::Result<Option<u64>, String> {
        if e == 0 {
            return Ok(None);
        }
        let off = match self.flavor {
            Flavor::SeSparse { tables, .. } => {
                if e & 0xffff_ffff_0000_0000 != 0x1000_0000_0000_0000 {
                    return Err(format!("grain directory entry {e:#x} has a bad type"));
                }
                let idx = e & 0xffff_ffff;
                tables
                    .checked_add(idx * (self.gt_entries * 8 / 512))
                    .and_then(|s| s.checked_mul(512))
                    .ok_or("grain table offset overflows")?
            }
            _ => e * 512,
        };
        let end = off.checked_add(self.gt_entries * self.entry_width());
        if end.is_none_or(|end| end > self.file.len()) {
            return Err(format!("grain table at {off:#x} is outside the file"));
        }
        Ok(Some(off))
    }

    /// Directory entries that are bad where the redundant directory's are good.
    fn rescued(&self) -> usize {
        self.gd
            .iter()
            .zip(&self.rgd)
            .filter(|(&e, &r)| self.table_offset(e).is_err() && self.table_offset(r).is_ok())
            .count()
    }

    /// Find grain `g` (`tables` caches the grain tables).
    fn lookup(&self, g: u64, tables: &ChunkCache) -> std::result::Result<Grain, String> {
        let gdi = (g / self.gt_entries) as usize;
        let Some(&e) = self.gd.get(gdi) else {
            return Ok(Grain::Unallocated);
        };
        let off = match self.table_offset(e) {
            Ok(o) => o,
            // A bad primary entry: the redundant directory may still be good.
            Err(why) => match self.rgd.get(gdi).map(|&r| self.table_offset(r)) {
                Some(Ok(o)) => o,
                _ => return Err(why),
            },
        };
        let Some(off) = off else {
            return Ok(Grain::Unallocated);
        };
        let bytes = self.gt_entries * self.entry_width();
        let file = &self.file;
        let table = tables
            .get_or_load(self.key | (off >> 9), || {
                let mut t = vec![0u8; bytes as usize];
                triage_source::read_exact_at(file.as_ref(), off, &mut t)?;
                Ok(Arc::from(t))
            })
            .map_err(|e| format!("grain table unreadable: {e}"))?;
        let i = (g % self.gt_entries) as usize;
        match self.flavor {
            Flavor::SeSparse { grains, .. } => {
                let v = le64(&table, i * 8);
                match v >> 60 {
                    0 if v == 0 => Ok(Grain::Unallocated),
                    1 | 2 => Ok(Grain::Zero),
                    3 => {
                        let cl = ((v & 0x0fff_0000_0000_0000) >> 48)
                            | ((v & 0x0000_ffff_ffff_ffff) << 12);
                        cl.checked_mul(self.grain / 512)
                            .and_then(|s| s.checked_add(grains))
                            .and_then(|s| s.checked_mul(512))
                            .map(Grain::Data)
                            .ok_or_else(|| "grain offset overflows".to_string())
                    }
                    _ => Err(format!("grain table entry {v:#x} has a bad type")),
                }
            }
            _ => match u64::from(le32(&table, i * 4)) {
                0 => Ok(Grain::Unallocated),
                1 => Ok(Grain::Zero),
                s if self.compressed => Ok(Grain::Compressed(s * 512)),
                s => Ok(Grain::Data(s * 512)),
            },
        }
    }

    /// Inflate the compressed grain at byte `off`.
    fn inflate(&self, off: u64) -> std::result::Result<Arc<[u8]>, String> {
        let avail = self.file.len().saturating_sub(off);
        let (start, len) = if self.markers {
            let mut m = [0u8; 12];
            triage_source::read_exact_at(self.file.as_ref(), off, &mut m)
                .map_err(|e| e.to_string())?;
            let size = u64::from(le32(&m, 8));
            if size == 0 || size > 2 * self.grain + 1024 || size + 12 > avail {
                return Err(format!("grain marker size {size} is bad"));
            }
            (off + 12, size)
        } else {
            (off, avail.min(2 * self.grain + 1024))
        };
        let mut input = vec![0u8; len as usize];
        triage_source::read_exact_at(self.file.as_ref(), start, &mut input)
            .map_err(|e| e.to_string())?;
        let (mut out, ended) = inflate_upto(&input, self.grain as usize, true)
            .ok_or("grain does not inflate to one grain")?;
        if !ended {
            return Err("compressed grain is truncated".into());
        }
        // A short last grain: the rest is zeros.
        out.resize(self.grain as usize, 0);
        Ok(Arc::from(out))
    }
}

// ---------------------------------------------------------------- the disk

enum ExtentKind {
    Zero,
    Flat { file: Source, base: u64 },
    Sparse(Box<Sparse>),
    Missing(String),
}

struct Extent {
    start: u64,
    len: u64,
    kind: ExtentKind,
}

enum Parent {
    None,
    Disk(Source),
    Missing(String),
}

/// One descriptor's virtual disk (a link of a snapshot chain).
struct Disk {
    loc: Location,
    size: u64,
    extents: Vec<Extent>,
    parent: Parent,
    tables: Arc<ChunkCache>,
    grains: Arc<ChunkCache>,
}

impl Disk {
    fn hole(&self, start: u64, len: u64, why: impl Into<String>) -> SourceError {
        SourceError::Hole {
            location: self.loc.clone(),
            offset: start,
            len: len.max(1),
            why: why.into(),
        }
    }

    fn read_parent(&self, pos: u64, out: &mut [u8], start: u64, len: u64) -> Result<usize> {
        match &self.parent {
            Parent::None => {
                out.fill(0);
                Ok(out.len())
            }
            Parent::Missing(n) => Err(self.hole(start, len, format!("parent {n} is missing"))),
            Parent::Disk(p) => {
                let n = p.read_at(pos, out)?;
                if n == 0 {
                    out.fill(0);
                    return Ok(out.len());
                }
                Ok(n)
            }
        }
    }

    /// Read at `pos`, at most to the end of the extent or grain.
    fn read_piece(&self, pos: u64, out: &mut [u8]) -> Result<usize> {
        let idx = self.extents.partition_point(|e| e.start + e.len <= pos);
        let Some(ext) = self.extents.get(idx) else {
            return Ok(0);
        };
        let rel = pos - ext.start;
        let left = (ext.len - rel).min(out.len() as u64) as usize;
        let out = &mut out[..left];
        match &ext.kind {
            ExtentKind::Zero => {
                out.fill(0);
                Ok(left)
            }
            ExtentKind::Missing(why) => Err(self.hole(ext.start, ext.len, why.clone())),
            ExtentKind::Flat { file, base } => {
                let n = file.read_at(base.saturating_add(rel), out)?;
                if n == 0 {
                    return Err(self.hole(
                        pos,
                        ext.len - rel,
                        "flat extent file is shorter than the descriptor says",
                    ));
                }
                Ok(n)
            }
            ExtentKind::Sparse(sp) => {
                let g = rel / sp.grain;
                let within = rel % sp.grain;
                let gstart = ext.start + g * sp.grain;
                let glen = sp.grain.min(ext.len - g * sp.grain);
                let n = ((sp.grain - within) as usize).min(left);
                let out = &mut out[..n];
                if rel >= sp.capacity {
                    return self.read_parent(pos, out, gstart, glen);
                }
                match sp.lookup(g, &self.tables) {
                    Err(why) => Err(self.hole(gstart, glen, why)),
                    Ok(Grain::Unallocated) => self.read_parent(pos, out, gstart, glen),
                    Ok(Grain::Zero) => {
                        out.fill(0);
                        Ok(n)
                    }
                    Ok(Grain::Data(off)) => {
                        let k = sp.file.read_at(off.saturating_add(within), out)?;
                        if k == 0 {
                            return Err(self.hole(
                                gstart,
                                glen,
                                format!("grain at {off:#x} is past the end"),
                            ));
                        }
                        Ok(k)
                    }
                    Ok(Grain::Compressed(off)) => {
                        let c = self
                            .grains
                            .get_or_load(sp.key | (off >> 9), || {
                                sp.inflate(off).map_err(|why| self.hole(gstart, glen, why))
                            })
                            .map_err(|e| match e {
                                h @ SourceError::Hole { .. } => h,
                                o => self.hole(gstart, glen, o.to_string()),
                            })?;
                        let w = within as usize;
                        let k = n.min(c.len().saturating_sub(w));
                        out[..k].copy_from_slice(&c[w..w + k]);
                        Ok(k)
                    }
                }
            }
        }
    }
}

impl ByteSource for Disk {
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
        let mut done = 0usize;
        while done < want {
            let pos = offset + done as u64;
            match self.read_piece(pos, &mut buf[done..want]) {
                Ok(0) => break,
                Ok(k) => done += k,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}

// ---------------------------------------------------------------- opening

/// One disk of a chain before its parent is attached.
struct Link {
    loc: Location,
    size: u64,
    extents: Vec<Extent>,
    variant: String,
    desc: Descriptor,
    files: Vec<String>,
    facts: Vec<(&'static str, String)>,
    warnings: Vec<String>,
}

fn extent_kind_sparse(s: SparseInfo, warnings: &mut Vec<String>) -> ExtentKind {
    warnings.extend(s.warnings);
    ExtentKind::Sparse(Box::new(s.sparse))
}

/// Open one descriptor (or monolithic sparse file) and its extents.
/// What one [`open`] shares across its links: cache-key prefixes and the directory budget.
struct OpenState {
    next_key: u64,
    dir_budget: u64,
}

fn open_link(file: Source, siblings: &dyn Siblings, st: &mut OpenState) -> Result<Link> {
    let mut magic = [0u8; 8];
    let got = file.read_at(0, &mut magic)?;
    let is_sparse = got >= 4 && (magic[..4] == *b"KDMV" || magic[..4] == *b"COWD")
        || got == 8 && u64::from_le_bytes(magic) == SESPARSE_MAGIC;
    let mut warnings = Vec::new();
    let mut files = vec![file.location().to_string()];
    let mut key = || {
        let k = st.next_key;
        st.next_key += 1;
        k << 40
    };
    let (desc, own) = if is_sparse {
        let k = key();
        let info = open_sparse(&file, k, &mut st.dir_budget)?;
        let text = match info.descriptor {
            Some((off, len)) => read_text(
                file.as_ref(),
                off.saturating_mul(512),
                len.saturating_mul(512),
            )?,
            None => String::new(),
        };
        (parse_descriptor(&text), Some(info))
    } else {
        let text = read_text(file.as_ref(), 0, MAX_DESCRIPTOR)?;
        if !looks_like_descriptor(&text) {
            return Err(SourceError::corrupt(
                file.location(),
                "vmdk descriptor",
                0,
                "neither a sparse header nor a descriptor",
            ));
        }
        (parse_descriptor(&text), None)
    };

    let own_name = file_name_only(file.location().last())
        .unwrap_or("")
        .to_string();
    let mut extents = Vec::new();
    let mut pos = 0u64;
    let mut grain = None;
    let mut own = own;
    if desc.extents.is_empty() {
        // A sparse file on its own: one extent of its capacity.
        let info = own.take().ok_or_else(|| {
            SourceError::corrupt(file.location(), "vmdk descriptor", 0, "no extents")
        })?;
        let len = info.sparse.capacity;
        grain = Some(info.sparse.grain);
        extents.push(Extent {
            start: 0,
            len,
            kind: extent_kind_sparse(info, &mut warnings),
        });
        pos = len;
    }
    for e in &desc.extents {
        let len = e
            .sectors
            .checked_mul(512)
            .filter(|l| pos.checked_add(*l).is_some_and(|end| end < 1 << 62))
            .ok_or_else(|| {
                SourceError::corrupt(
                    file.location(),
                    "vmdk descriptor",
                    0,
                    "extent sizes overflow",
                )
            })?;
        if len == 0 {
            continue;
        }
        let kind = if e.access == "NOACCESS" {
            ExtentKind::Missing(format!("extent {} is NOACCESS", e.name))
        } else if e.kind == "ZERO" {
            ExtentKind::Zero
        } else {
            // The sparse file itself (a monolithic sparse disk names its own file).
            let base = file_name_only(&e.name).map(str::to_string);
            let is_self = own.is_some()
                && (desc.extents.len() == 1
                    || base
                        .as_deref()
                        .is_some_and(|b| b.eq_ignore_ascii_case(&own_name)));
            if is_self {
                let info = own.take().ok_or_else(|| {
                    SourceError::corrupt(file.location(), "vmdk descriptor", 0, "extent")
                })?;
                grain.get_or_insert(info.sparse.grain);
                extent_kind_sparse(info, &mut warnings)
            } else {
                let opened = match &base {
                    None => Err(format!("extent name {:?} has no file name", e.name)),
                    Some(b) => match siblings.open(b) {
                        Ok(Some(s)) => Ok(s),
                        Ok(None) => Err(format!("extent {b} not found")),
                        Err(err) => Err(format!("extent {b} cannot be opened: {err}")),
                    },
                };
                match opened {
                    Err(why) => {
                        warnings.push(format!("{why}: its {len} bytes read as holes"));
                        ExtentKind::Missing(why)
                    }
                    Ok(src) => {
                        files.push(src.location().to_string());
                        match e.kind.as_str() {
                            "FLAT" | "VMFS" | "VMFSRDM" | "VMFSRAW" => ExtentKind::Flat {
                                file: src,
                                base: e.offset.saturating_mul(512),
                            },
                            "SPARSE" | "VMFSSPARSE" | "SESPARSE" => {
                                match open_sparse(&src, key(), &mut st.dir_budget) {
                                    Ok(info) => {
                                        grain.get_or_insert(info.sparse.grain);
                                        extent_kind_sparse(info, &mut warnings)
                                    }
                                    Err(err) => {
                                        warnings.push(format!("extent {}: {err}", e.name));
                                        ExtentKind::Missing(err.to_string())
                                    }
                                }
                            }
                            other => {
                                warnings.push(format!(
                                    "extent type {other} not supported: read as holes"
                                ));
                                ExtentKind::Missing(format!("extent type {other}"))
                            }
                        }
                    }
                }
            }
        };
        extents.push(Extent {
            start: pos,
            len,
            kind,
        });
        pos += len;
    }
    let variant =
        desc.create_type
            .clone()
            .unwrap_or_else(|| match extents.first().map(|e| &e.kind) {
                Some(ExtentKind::Sparse(s)) => match s.flavor {
                    Flavor::SeSparse { .. } => "seSparse".into(),
                    Flavor::Cowd => "vmfsSparse".into(),
                    Flavor::Kdmv if s.compressed => "streamOptimized".into(),
                    Flavor::Kdmv => "monolithicSparse".into(),
                },
                _ => "unknown".into(),
            });
    let mut facts = vec![("extents", extents.len().to_string())];
    if let Some(g) = grain {
        facts.push(("grain_size", g.to_string()));
    }
    if let Some(c) = &desc.cid {
        facts.push(("cid", c.clone()));
    }
    Ok(Link {
        loc: file.location().clone(),
        size: pos,
        extents,
        variant,
        desc,
        files,
        facts,
        warnings,
    })
}

fn has_parent(d: &Descriptor) -> Option<&str> {
    d.parent_hint.as_deref().filter(|h| !h.is_empty())
}

/// Open a VMDK disk (descriptor, extents and snapshot parents) as its virtual disk.
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    let mut st = OpenState {
        next_key: 0,
        dir_budget: DIR_BUDGET,
    };
    let top = open_link(file, siblings, &mut st)?;
    let mut chain = vec![top];
    let mut seen = vec![file_name_only(chain[0].loc.last())
        .unwrap_or("")
        .to_ascii_lowercase()];
    let mut warnings = Vec::new();
    let mut bottom = Parent::None;
    while let Some(last) = chain.last() {
        let Some(hint) = has_parent(&last.desc).map(str::to_string) else {
            break;
        };
        let child_pcid = last.desc.parent_cid.clone();
        let Some(name) = file_name_only(&hint).map(str::to_string) else {
            warnings.push(format!("parent {hint:?} has no file name"));
            bottom = Parent::Missing(hint);
            break;
        };
        let lname = name.to_ascii_lowercase();
        if seen.contains(&lname) {
            warnings.push(format!("snapshot chain loops back to {name}"));
            bottom = Parent::Missing(name);
            break;
        }
        if chain.len() > MAX_CHAIN {
            warnings.push(format!(
                "snapshot chain deeper than {MAX_CHAIN}: {name} not followed"
            ));
            bottom = Parent::Missing(name);
            break;
        }
        seen.push(lname);
        let src = match siblings.open(&name) {
            Ok(Some(s)) => s,
            Ok(None) => {
                warnings.push(format!(
                    "parent {name} not found: unallocated grains read as holes"
                ));
                bottom = Parent::Missing(name);
                break;
            }
            Err(e) => {
                warnings.push(format!("parent {name} cannot be opened: {e}"));
                bottom = Parent::Missing(name);
                break;
            }
        };
        match open_link(src, siblings, &mut st) {
            Ok(p) => {
                if let (Some(want), Some(cid)) = (&child_pcid, &p.desc.cid) {
                    if !want.eq_ignore_ascii_case(cid) {
                        warnings.push(format!(
                            "parent {name} CID {cid} is not the parentCID {want} of its child"
                        ));
                    }
                }
                chain.push(p);
            }
            Err(e) => {
                warnings.push(format!("parent {name} unreadable: {e}"));
                bottom = Parent::Missing(name);
                break;
            }
        }
    }

    let depth = chain.len();
    let first = chain.first();
    let variant = first.map(|l| l.variant.clone()).unwrap_or_default();
    let mut facts = first.map(|l| l.facts.clone()).unwrap_or_default();
    if let Some(p) = first.and_then(|l| l.desc.parent_hint.clone()) {
        facts.push(("parent", p));
    }
    facts.push(("chain_depth", depth.to_string()));
    let mut files = Vec::new();
    let mut all_warnings = Vec::new();
    for l in &chain {
        files.extend(l.files.iter().cloned());
        all_warnings.extend(l.warnings.iter().cloned());
    }
    all_warnings.extend(warnings);

    let tables = Arc::new(ChunkCache::new(16 << 20));
    let grains = Arc::new(ChunkCache::new(64 << 20));
    let mut parent = bottom;
    let mut disk: Option<Source> = None;
    for l in chain.into_iter().rev() {
        let d: Source = Arc::new(Disk {
            loc: l.loc,
            size: l.size,
            extents: l.extents,
            parent,
            tables: tables.clone(),
            grains: grains.clone(),
        });
        parent = Parent::Disk(d.clone());
        disk = Some(d);
    }
    let disk =
        disk.ok_or_else(|| SourceError::corrupt(&Location::new("vmdk"), LAYER, 0, "empty chain"))?;
    Ok(Container {
        kind: ContainerKind::Vmdk,
        disk,
        variant,
        files,
        facts,
        warnings: all_warnings,
    })
}

/// For an extent file (`disk-s001.vmdk`, `disk-flat.vmdk`) that a descriptor in the same
/// directory names, `Some("extent of disk.vmdk")`; `None` for a descriptor or a
/// monolithic file, which is opened on its own.
pub fn secondary_of(file: &Source, name: &str, siblings: &dyn Siblings) -> Option<String> {
    let mut h = [0u8; 64];
    let got = file.read_at(0, &mut h).ok()?;
    if got >= 44 && h[..4] == *b"KDMV" && le64(&h, 28) != 0 && le64(&h, 36) != 0 {
        // qemu gives split extents an empty descriptor area: only one with extents in
        // it makes a monolithic file.
        let (off, len) = (
            le64(&h, 28).saturating_mul(512),
            le64(&h, 36).saturating_mul(512),
        );
        let text = read_text(file.as_ref(), off, len).ok()?;
        if !parse_descriptor(&text).extents.is_empty() {
            return None;
        }
    }
    if got >= 4 && h[..4] != *b"KDMV" && h[..4] != *b"COWD" {
        // A text descriptor is a disk of its own.
        let text = read_text(file.as_ref(), 0, 4096).ok()?;
        if looks_like_descriptor(&text) {
            return None;
        }
    }
    let me = file_name_only(name)?;
    let candidates = siblings
        .names()
        .into_iter()
        .filter(|n| !n.eq_ignore_ascii_case(me) && n.to_ascii_lowercase().ends_with(".vmdk"))
        .take(256);
    for cand in candidates {
        let Ok(Some(src)) = siblings.open(&cand) else {
            continue;
        };
        if src.len() > MAX_DESCRIPTOR {
            continue;
        }
        let Ok(text) = read_text(src.as_ref(), 0, MAX_DESCRIPTOR) else {
            continue;
        };
        let d = parse_descriptor(&text);
        let names_me = d
            .extents
            .iter()
            .any(|e| file_name_only(&e.name).is_some_and(|b| b.eq_ignore_ascii_case(me)));
        if names_me {
            return Some(format!("extent of {cand}"));
        }
    }
    None
}
