//! Disguising a written image as a build no layout table knows: the kernel's CodeView
//! (RSDS) GUID, `NtBuildNumber` (kernel global and KUSER_SHARED_DATA) and the crash-dump
//! header's MinorVersion are rewritten in place, so that neither a PDB GUID lookup nor a
//! build-number lookup matches and a reader has to discover the layout from the image.
//!
//! Every value is checked against what the generator wrote before it is overwritten, so a
//! disguise never silently patches the wrong bytes.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use triage_isf::Isf;

use crate::error::MemgenError;
use crate::gen::KUSER_KERNEL;
use crate::phys::PAGE;
use crate::truth::Truth;

/// What a disguised image claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disguise {
    /// New PDB GUID (32 hex digits); the age is kept.
    pub guid: String,
    /// New build number (NtBuildNumber & 0xFFFF).
    pub build: u32,
}

impl Disguise {
    /// A GUID and build derived from the real ones that no table knows: the GUID's first
    /// eight digits replaced, the build plus one (the same Windows generation, so version
    /// thresholds in other readers' heuristics still hold).
    pub fn unknown_for(truth: &Truth) -> Disguise {
        let rest = truth
            .pdb_guid
            .get(8..)
            .unwrap_or("000000000000000000000000");
        Disguise {
            guid: format!("D15C0DED{rest}"),
            build: truth.build + 1,
        }
    }
}

fn err(what: impl Into<String>) -> MemgenError {
    MemgenError::Scenario(format!("disguise: {}", what.into()))
}

/// File offset of physical address `pa` in an image written as `truth.format`.
fn file_offset(truth: &Truth, pa: u64) -> Result<u64, MemgenError> {
    match truth.format.as_str() {
        "raw" => Ok(pa),
        "crashdump" => {
            let mut off = 0x2000;
            for &(s, e) in &truth.runs {
                if (s..e).contains(&pa) {
                    return Ok(off + pa - s);
                }
                off += e - s;
            }
            Err(err(format!("{pa:#x} is in no run of the dump")))
        }
        "elf" => {
            // write_elf's two PT_LOAD segments, data from the first page on.
            let segs = [(0u64, 0xA0000u64), (0x10_0000, truth.memory_size)];
            let mut off = PAGE;
            for (s, e) in segs {
                if (s..e).contains(&pa) {
                    return Ok(off + pa - s);
                }
                off += e - s;
            }
            Err(err(format!("{pa:#x} is in no ELF segment")))
        }
        other => Err(err(format!("unknown format {other:?}"))),
    }
}

struct Image<'a> {
    file: std::fs::File,
    truth: &'a Truth,
}

impl Image<'_> {
    fn read(&mut self, pa: u64, buf: &mut [u8]) -> Result<(), MemgenError> {
        let off = file_offset(self.truth, pa)?;
        self.file.seek(SeekFrom::Start(off))?;
        self.file.read_exact(buf)?;
        Ok(())
    }

    fn read_u64(&mut self, pa: u64) -> Result<u64, MemgenError> {
        let mut b = [0u8; 8];
        self.read(pa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn write(&mut self, pa: u64, data: &[u8]) -> Result<(), MemgenError> {
        let off = file_offset(self.truth, pa)?;
        self.file.seek(SeekFrom::Start(off))?;
        self.file.write_all(data)?;
        Ok(())
    }

    /// Replaces the u32 at `pa`, which must hold `old`.
    fn swap_u32(&mut self, pa: u64, old: u32, new: u32, what: &str) -> Result<(), MemgenError> {
        let mut b = [0u8; 4];
        self.read(pa, &mut b)?;
        if u32::from_le_bytes(b) != old {
            return Err(err(format!(
                "{what} at {pa:#x} is {:#x}, expected {old:#x}",
                u32::from_le_bytes(b)
            )));
        }
        self.write(pa, &new.to_le_bytes())
    }

    /// Physical address of a kernel virtual address (4 KiB and 2 MiB pages).
    fn kernel_pa(&mut self, va: u64) -> Result<u64, MemgenError> {
        let mut table = self.truth.dtb & !0xFFF;
        for (level, shift) in [39u32, 30, 21, 12].into_iter().enumerate() {
            let e = self.read_u64(table + ((va >> shift) & 0x1FF) * 8)?;
            if e & 1 == 0 {
                return Err(err(format!("{va:#x} not mapped")));
            }
            let frame = e & 0x000F_FFFF_FFFF_F000;
            if level == 2 && e & 0x80 != 0 {
                return Ok((frame & !0x1F_FFFF) + (va & 0x1F_FFFF));
            }
            table = frame;
        }
        Ok(table + (va & 0xFFF))
    }
}

/// Rewrites the image at `path` (written by [`crate::write_image`] or [`crate::generate`]
/// with `truth` and `isf`) to claim `d`, and updates `truth` (pdb_guid, build,
/// nt_build_number) to match.
pub fn disguise_file(
    path: &Path,
    isf: &Isf,
    truth: &mut Truth,
    d: &Disguise,
) -> Result<(), MemgenError> {
    let new_guid = crate::pe::guid_bytes(&d.guid).ok_or_else(|| err("bad GUID"))?;
    let old_guid = crate::pe::guid_bytes(&truth.pdb_guid).ok_or_else(|| err("bad old GUID"))?;
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let snapshot = truth.clone();
    let mut img = Image {
        file,
        truth: &snapshot,
    };
    let base = truth.kernel_base_pa;
    // MZ → PE → data directory 6 (debug) → IMAGE_DEBUG_DIRECTORY → RSDS.
    let mut head = vec![0u8; PAGE as usize];
    img.read(base, &mut head)?;
    let u32_at = |b: &[u8], o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
    };
    if head.get(..2) != Some(b"MZ") {
        return Err(err("no MZ at the kernel base"));
    }
    let pe = u32_at(&head, 0x3C).ok_or_else(|| err("e_lfanew"))? as usize;
    // PE32+: data directories start 0x70 into the optional header (after 24 bytes).
    let debug_dir = u32_at(&head, pe + 24 + 0x70 + 6 * 8).ok_or_else(|| err("debug dir"))?;
    let mut dd = [0u8; 28];
    img.read(base + u64::from(debug_dir), &mut dd)?;
    let rsds_rva = u32_at(&dd, 0x14).ok_or_else(|| err("debug entry"))?;
    let rsds_pa = base + u64::from(rsds_rva);
    let mut rsds = [0u8; 24];
    img.read(rsds_pa, &mut rsds)?;
    if &rsds[..4] != b"RSDS" || rsds[4..20] != old_guid {
        return Err(err("the RSDS record does not hold the ISF's GUID"));
    }
    img.write(rsds_pa + 4, &new_guid)?;

    let old_build = truth.nt_build_number;
    let new_build = (old_build & 0xFFFF_0000) | (d.build & 0xFFFF);
    let nt_rva = isf
        .symbol_rva("NtBuildNumber")
        .ok_or_else(|| err("ISF has no NtBuildNumber"))?;
    img.swap_u32(base + nt_rva, old_build, new_build, "NtBuildNumber")?;
    if let Some(off) = isf.field_offset("_KUSER_SHARED_DATA", "NtBuildNumber") {
        let pa = img.kernel_pa(KUSER_KERNEL + off)?;
        img.swap_u32(pa, truth.build, d.build, "KUSER_SHARED_DATA.NtBuildNumber")?;
    }
    if truth.format == "crashdump" {
        // DUMP_HEADER64.MinorVersion sits in the file header, not in physical memory.
        img.file.seek(SeekFrom::Start(0xC))?;
        let mut b = [0u8; 4];
        img.file.read_exact(&mut b)?;
        if u32::from_le_bytes(b) == truth.build {
            img.file.seek(SeekFrom::Start(0xC))?;
            img.file.write_all(&d.build.to_le_bytes())?;
        }
    }
    img.file.sync_all()?;
    truth.pdb_guid = d.guid.clone();
    truth.build = d.build;
    truth.nt_build_number = new_build;
    Ok(())
}

/// [`crate::write_image`], then [`disguise_file`] with [`Disguise::unknown_for`]; the
/// truth file records the disguised identity.
pub fn write_disguised_image(
    sc: &crate::Scenario,
    isf: &Isf,
    path: &Path,
    format: crate::Format,
) -> Result<Truth, MemgenError> {
    let mut truth = crate::write_image(sc, isf, path, format)?;
    let d = Disguise::unknown_for(&truth);
    disguise_file(path, isf, &mut truth, &d)?;
    let mut truth_path = path.as_os_str().to_owned();
    truth_path.push(".truth.json");
    std::fs::write(truth_path, serde_json::to_vec_pretty(&truth)?)?;
    Ok(truth)
}
