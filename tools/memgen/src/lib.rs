//! Generates Windows 10/11 x64 physical memory images from real kernel ISF layouts, and
//! a [`Truth`] recording every structure placed, so readers can be checked against it.
//!
//! ```no_run
//! use triage_memgen::{generate, Format, Scenario};
//! let isf = triage_isf::Isf::load("ntkrnlmp.pdb/GUID-1.json.xz".as_ref())?;
//! let sc = Scenario::clean_boot(19041);
//! let mut out = std::io::BufWriter::new(std::fs::File::create("img.raw")?);
//! let truth = generate(&sc, &isf, &mut out, Format::Raw)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
mod disguise;
mod error;
mod gen;
mod hiberfil;
mod layout;
mod output;
mod pagefile;
mod paging;
mod pe;
mod phys;
mod pool;
mod rng;
mod scenario;
mod truth;

pub use disguise::{disguise_file, write_disguised_image, Disguise};
pub use error::MemgenError;
pub use gen::{sid_bytes, KERNEL_DTB, KUSER_KERNEL, KUSER_USER};
pub use hiberfil::{huffman_compress, write_pages, xpress_compress, HiberCompression, HiberStats};
pub use output::Format;
pub use pagefile::{PagedOutTruth, Pagefile};
pub use paging::AddressSpace;
pub use phys::{PhysMem, PAGE};
pub use scenario::{dos_path, GroupSpec, ProcessSpec, Scenario, TokenType, TICKS};
pub use truth::{filetime_iso, ModuleTruth, ProcessTruth, Truth};

use std::io::{Seek, Write};
use std::path::Path;
use triage_isf::{Isf, IsfDir};

/// Build the image described by `sc` with the layouts in `isf` and write it as `format`.
pub fn generate(
    sc: &Scenario,
    isf: &Isf,
    out: &mut (impl Write + Seek),
    format: Format,
) -> Result<Truth, MemgenError> {
    generate_paged(sc, isf, out, format).map(|(t, _)| t)
}

/// [`generate`], also returning the paging file 0 (pagefile.sys) that holds the pages
/// the scenario pages out (`peb_paged_out`, `params_paged_out`; empty when none).
pub fn generate_paged(
    sc: &Scenario,
    isf: &Isf,
    out: &mut (impl Write + Seek),
    format: Format,
) -> Result<(Truth, Pagefile), MemgenError> {
    let mut built = gen::build(sc, isf, format == Format::CrashDump64)?;
    let mut truth = built.truth;
    let pagefile = pagefile::page_out(&mut built.mem, &mut truth, &layout::Layout { isf }, sc)?;
    truth.format = format.name().to_string();
    match format {
        Format::Raw => output::write_raw(&built.mem, out)?,
        Format::CrashDump64 => output::write_crashdump(
            &built.mem,
            &truth,
            &output::DumpInfo {
                ps_loaded_module_list: built.ps_loaded_module_list,
                kd_debugger_data_block: built.kd_debugger_data_block,
                processors: sc.processors,
            },
            out,
        )?,
        Format::ElfCore => output::write_elf(&built.mem, &truth, out)?,
        Format::Hiberfil => {
            hiberfil::write_hiberfil(&built.mem, &truth, HiberCompression::Xpress, out)?;
        }
        Format::HiberfilHuffman => {
            hiberfil::write_hiberfil(&built.mem, &truth, HiberCompression::XpressHuffman, out)?;
        }
    }
    output::finish(out)?;
    Ok((truth, pagefile))
}

/// Write the image to `path` and its Truth to `<path>.truth.json`.
pub fn write_image(
    sc: &Scenario,
    isf: &Isf,
    path: &Path,
    format: Format,
) -> Result<Truth, MemgenError> {
    write_image_paged(sc, isf, path, format, None)
}

/// [`write_image`], writing the paging file with the paged-out pages to `pagefile`.
pub fn write_image_paged(
    sc: &Scenario,
    isf: &Isf,
    path: &Path,
    format: Format,
    pagefile: Option<&Path>,
) -> Result<Truth, MemgenError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (truth, pf) = generate_paged(sc, isf, &mut out, format)?;
    if let Some(p) = pagefile {
        std::fs::write(p, &pf.bytes)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let mut truth_path = path.as_os_str().to_owned();
    truth_path.push(".truth.json");
    std::fs::write(truth_path, serde_json::to_vec_pretty(&truth)?)?;
    Ok(truth)
}

/// Build only the physical memory (no container), e.g. to inspect it in tests.
pub fn build_memory(sc: &Scenario, isf: &Isf) -> Result<(PhysMem, Truth), MemgenError> {
    let mut b = gen::build(sc, isf, false)?;
    pagefile::page_out(&mut b.mem, &mut b.truth, &layout::Layout { isf }, sc)?;
    Ok((b.mem, b.truth))
}

/// Every ntkrnlmp ISF of a known build from `min_build` on in a Volatility symbol
/// directory, with its build, in file-name order: the kernels a test generates from.
pub fn kernel_isfs(symbols: &Path, min_build: u32) -> Result<Vec<(u32, Isf)>, MemgenError> {
    let dir = symbols.join("windows/ntkrnlmp.pdb");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for p in files {
        let known = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json.xz"))
            .and_then(|stem| stem.split_once('-'))
            .and_then(|(guid, age)| triage_isf::known_build(guid, age.parse().ok()?));
        if let Some(k) = known.filter(|k| k.build >= min_build) {
            out.push((k.build, Isf::load(&p)?));
        }
    }
    Ok(out)
}

/// The ISF a scenario asks for: its explicit `isf` path, or the oldest known revision of
/// its `build` in a Volatility symbol directory.
pub fn resolve_isf(sc: &Scenario, symbols: &Path) -> Result<Isf, MemgenError> {
    if let Some(p) = &sc.isf {
        return Ok(Isf::load(p)?);
    }
    let build = sc
        .build
        .ok_or_else(|| MemgenError::Scenario("scenario names neither isf nor build".into()))?;
    let dir = IsfDir::open(symbols)?;
    for k in triage_isf::known_for_build(build) {
        if dir.find("ntkrnlmp.pdb", k.guid, k.age).is_some() {
            return Ok(dir.load("ntkrnlmp.pdb", k.guid, k.age)?);
        }
    }
    Err(MemgenError::Scenario(format!(
        "no ISF for build {build} under {}",
        symbols.display()
    )))
}
