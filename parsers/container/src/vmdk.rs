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

use crate::chain::file_name_only;
use crate::{Container, ContainerKind};

mod descriptor;
mod sparse;

use descriptor::{looks_like_descriptor, parse_descriptor, read_text, Descriptor, MAX_DESCRIPTOR};
use sparse::{open_sparse, Flavor, Grain, Sparse, SparseInfo, SESPARSE_MAGIC};

/// Parents followed below the top disk at most.
pub const MAX_CHAIN: usize = 16;
/// Grain-directory memory for one disk and all its parents and extents together: a
/// descriptor naming one big file a thousand times cannot make us hold a thousand copies.
const DIR_BUDGET: u64 = 256 << 20;
const LAYER: &str = "vmdk";

use triage_bytes::le::{u32_or_zero as le32, u64_or_zero as le64};

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
    let mut walk = crate::chain::Walk::new(chain[0].loc.last(), MAX_CHAIN);
    let mut warnings = Vec::new();
    let mut bottom = Parent::None;
    while let Some(last) = chain.last() {
        let Some(hint) = has_parent(&last.desc).map(str::to_string) else {
            break;
        };
        let child_pcid = last.desc.parent_cid.clone();
        let (name, src) = match walk.step(
            siblings,
            &hint,
            chain.len(),
            "parent",
            "snapshot chain",
            "unallocated grains",
        ) {
            crate::chain::Step::Opened(n, s) => (n, s),
            crate::chain::Step::Stop(n, why) => {
                warnings.push(why);
                bottom = Parent::Missing(n);
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
