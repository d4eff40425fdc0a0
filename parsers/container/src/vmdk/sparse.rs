//! Sparse extent files: hosted `KDMV` (also stream-optimised, with grain markers and a
//! footer), ESX `COWD` and VMFS-6 `SESPARSE`: header, grain directory and grain tables.

use std::sync::Arc;

use triage_source::{ChunkCache, Result, Source, SourceError};

use super::{le32, le64, LAYER};
use crate::qcow2::inflate_upto;

/// Largest grain we accept (qemu allows 1 GiB; real images use 64 KiB).
const MAX_GRAIN: u64 = 16 << 20;
const MAX_GD_ENTRIES: u64 = 8 << 20;
const GD_AT_END: u64 = u64::MAX;
pub(super) const SESPARSE_MAGIC: u64 = 0x0000_0000_cafe_babe;
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// Hosted sparse (`KDMV`): u32 grain-table entries, 0 unallocated, 1 zero.
    Kdmv,
    /// ESX 2/3 sparse (`COWD`): u32 entries.
    Cowd,
    /// VMFS-6 `SESPARSE`: u64 entries with a type nibble.
    SeSparse { tables: u64, grains: u64 },
}

/// The grain map of one sparse extent file.
pub(super) struct Sparse {
    pub(super) file: Source,
    pub(super) key: u64,
    pub(super) flavor: Flavor,
    /// Grain size in bytes.
    pub(super) grain: u64,
    pub(super) gt_entries: u64,
    pub(super) gd: Vec<u64>,
    pub(super) rgd: Vec<u64>,
    pub(super) compressed: bool,
    pub(super) markers: bool,
    pub(super) capacity: u64,
}

/// What the header of a sparse file says.
pub(super) struct SparseInfo {
    pub(super) sparse: Sparse,
    pub(super) descriptor: Option<(u64, u64)>,
    pub(super) warnings: Vec<String>,
}

pub(super) fn corrupt(file: &Source, off: u64, what: impl Into<String>) -> SourceError {
    SourceError::corrupt(file.location(), "vmdk sparse header", off, what)
}

pub(super) fn read_dir(
    file: &Source,
    off: u64,
    count: u64,
    wide: bool,
    budget: &mut u64,
) -> Result<Vec<u64>> {
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
pub(super) fn open_sparse(file: &Source, key: u64, budget: &mut u64) -> Result<SparseInfo> {
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

pub(super) enum Grain {
    Unallocated,
    Zero,
    Data(u64),
    Compressed(u64),
}

impl Sparse {
    pub(super) fn entry_width(&self) -> u64 {
        if matches!(self.flavor, Flavor::SeSparse { .. }) {
            8
        } else {
            4
        }
    }

    /// The grain table's byte offset for directory entry `e`, `None` when unallocated.
    pub(super) fn table_offset(&self, e: u64) -> std::result::Result<Option<u64>, String> {
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
    pub(super) fn rescued(&self) -> usize {
        self.gd
            .iter()
            .zip(&self.rgd)
            .filter(|(&e, &r)| self.table_offset(e).is_err() && self.table_offset(r).is_ok())
            .count()
    }

    /// Find grain `g` (`tables` caches the grain tables).
    pub(super) fn lookup(&self, g: u64, tables: &ChunkCache) -> std::result::Result<Grain, String> {
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
    pub(super) fn inflate(&self, off: u64) -> std::result::Result<Arc<[u8]>, String> {
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
