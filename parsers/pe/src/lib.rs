//! Facts about a PE file for triage: headers, sections with entropy,
//! imports, export name, version-info strings, PE checksum, overlay, hashes
//! and the embedded Authenticode signature (read, digest recomputed, never
//! verified against a trust store).
//!
//! ```no_run
//! let data = std::fs::read("smss.exe").unwrap();
//! let facts = triage_pe::analyze(&data, &triage_pe::Options { hashes: true }).unwrap();
//! assert_eq!(facts.subsystem, "native");
//! ```
// No unsafe code but the SHA-NI kernel of `fused` (see its docs and
// docs/reliability.md).
#![deny(unsafe_code)]

mod authenticode;
mod bytes;
mod checksum;
mod entropy;
mod error;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod fused;
mod hashes;
mod layout;
mod names;
mod pass;
mod resources;
mod time;
mod version_info;

use goblin::pe::options::ParseOptions;
use goblin::pe::PE;
use serde::Serialize;

pub use authenticode::{
    is_microsoft_root_name, Authenticode, CertSummary, DigestAlgorithm, NestedSignature,
};
pub use checksum::pe_checksum;
pub use entropy::shannon_entropy;
pub use error::PeError;
pub use hashes::{file_hashes, FileHashes};
pub use version_info::{parse_version_info, VersionInfo, VersionString};

use layout::Layout;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Compute md5/sha1/sha256 of the whole file.
    pub hashes: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
    pub characteristics: u32,
    /// Shannon entropy (bits per byte, 0..=8) of the raw data in the file;
    /// `None` for sections past the work budget (overlapping sections of a
    /// hostile file, see `warnings`).
    pub entropy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeFacts {
    pub file_size: u64,
    pub machine: &'static str,
    pub machine_raw: u16,
    pub subsystem: &'static str,
    pub subsystem_raw: u16,
    pub characteristics: u16,
    pub characteristics_flags: Vec<&'static str>,
    pub dll_characteristics: u16,
    pub dll_characteristics_flags: Vec<&'static str>,
    pub is_dll: bool,
    pub is_64: bool,
    pub timestamp: u32,
    pub timestamp_utc: String,
    pub entry_point: u32,
    pub image_base: u64,
    pub sections: Vec<Section>,
    /// Imported DLL names, lowercase, in import-directory order, each once.
    pub imports: Vec<String>,
    pub imported_function_count: usize,
    /// Module name recorded in the export directory.
    pub export_name: Option<String>,
    pub version_info: Option<VersionInfo>,
    pub checksum_stored: u32,
    pub checksum_computed: u32,
    /// Bytes after the end of the last section's raw data, not counting a
    /// certificate table at the end of the file.
    pub overlay_offset: u64,
    pub overlay_size: u64,
    pub hashes: Option<FileHashes>,
    /// SHA-256 Authenticode digest of the image, signed or not (the value a
    /// security catalog would list).
    pub authenticode_sha256: String,
    pub authenticode: Option<Authenticode>,
    /// Damage in optional parts, each naming its offset; the facts above
    /// are still those that could be read.
    pub warnings: Vec<String>,
}

const IMAGE_FILE_DLL: u16 = 0x2000;

/// Reads every fact from `data`. Errors only when the mandatory headers are
/// unusable; everything else degrades into `warnings`.
pub fn analyze(data: &[u8], opts: &Options) -> Result<PeFacts, PeError> {
    let layout = Layout::parse(data)?;
    let mut warnings = Vec::new();

    let (mut sections, in_pass) = sections_with_entropy(data, &layout, &mut warnings);
    for s in &layout.sections {
        if (s.raw_offset as usize).saturating_add(s.raw_size as usize) > data.len()
            && s.raw_size != 0
        {
            warnings.push(format!(
                "offset {:#x}: section {:?} raw data ends beyond the file of {} bytes",
                s.raw_offset,
                s.name,
                data.len()
            ));
        }
    }

    let (imports, imported_function_count, export_name) =
        imports_and_exports(data, &layout, &mut warnings);
    let version_info = version_info(data, &layout, &mut warnings);

    let table = authenticode::certificate_table(data, &layout, &mut warnings);
    let ranges = authenticode::digest_ranges(data, &layout, table);
    let signature = table.and_then(|t| authenticode::read_signature(data, t, &mut warnings));
    // The signature says which image digests it needs before the file is
    // read, so all of them come from the one pass with the file hashes.
    let mut algorithms = vec![DigestAlgorithm::Sha256];
    algorithms.extend(signature.iter().flat_map(|s| s.algorithms()));
    let entropy_ranges: Vec<(usize, usize)> = in_pass.iter().map(|&(_, r)| r).collect();
    let whole = pass::whole_file(
        data,
        layout.checksum_offset,
        &ranges,
        opts.hashes,
        &algorithms,
        &entropy_ranges,
    );
    for (&(i, _), &e) in in_pass.iter().zip(&whole.entropies) {
        if let Some(s) = sections.get_mut(i) {
            s.entropy = Some(e);
        }
    }
    let authenticode_sha256 = whole
        .digests
        .iter()
        .find(|(a, _)| *a == DigestAlgorithm::Sha256)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    let authenticode =
        signature.map(|s| authenticode::summarise(data, s, &ranges, &whole.digests, &mut warnings));

    let overlay_offset = layout.end_of_image_data(data.len());
    let mut overlay_end = data.len();
    if let Some((start, size)) = table {
        if start >= overlay_offset && start + size == data.len() {
            overlay_end = start;
        }
    }

    Ok(PeFacts {
        file_size: data.len() as u64,
        machine: names::machine_name(layout.machine),
        machine_raw: layout.machine,
        subsystem: names::subsystem_name(layout.subsystem),
        subsystem_raw: layout.subsystem,
        characteristics: layout.characteristics,
        characteristics_flags: names::characteristics_names(layout.characteristics),
        dll_characteristics: layout.dll_characteristics,
        dll_characteristics_flags: names::dll_characteristics_names(layout.dll_characteristics),
        is_dll: layout.characteristics & IMAGE_FILE_DLL != 0,
        is_64: layout.is_64,
        timestamp: layout.time_date_stamp,
        timestamp_utc: time::iso8601_utc(layout.time_date_stamp),
        entry_point: layout.entry_point,
        image_base: layout.image_base,
        sections,
        imports,
        imported_function_count,
        export_name,
        version_info,
        checksum_stored: layout.checksum,
        checksum_computed: whole.checksum,
        overlay_offset: overlay_offset as u64,
        overlay_size: overlay_end.saturating_sub(overlay_offset) as u64,
        hashes: whole.hashes,
        authenticode_sha256,
        authenticode,
        warnings,
    })
}

/// A section whose entropy the single pass counts: its index and file range.
type InPass = (usize, (usize, usize));

/// Sections may overlap, so a forged table of 65535 sections over the same
/// bytes would histogram the file 65535 times: entropy work is capped at a
/// few times the file size. The sections that follow one another in the file
/// without overlapping are counted by the single pass (`pass.rs`); the
/// others here. Returns the sections, entropy still `None` for those of the
/// pass, and those (index, file range).
fn sections_with_entropy(
    data: &[u8],
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> (Vec<Section>, Vec<InPass>) {
    let mut budget = data.len().saturating_mul(4).saturating_add(1 << 20);
    let mut over_budget = false;
    let mut in_pass: Vec<InPass> = Vec::new();
    let sections = layout
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let raw = s.raw_data(data);
            let start = (s.raw_offset as usize).min(data.len());
            let range = (start, start + raw.len());
            let entropy = if raw.len() <= budget {
                budget -= raw.len();
                if in_pass.last().is_none_or(|(_, (_, end))| *end <= range.0) {
                    in_pass.push((i, range));
                    None
                } else {
                    Some(shannon_entropy(raw))
                }
            } else {
                over_budget = true;
                None
            };
            Section {
                name: s.name.clone(),
                virtual_address: s.virtual_address,
                virtual_size: s.virtual_size,
                raw_offset: s.raw_offset,
                raw_size: s.raw_size,
                characteristics: s.characteristics,
                entropy,
            }
        })
        .collect();
    if over_budget {
        warnings.push(format!(
            "offset {:#x}: sections overlap so much that entropy was left out for some of them",
            layout.e_lfanew
        ));
    }
    (sections, in_pass)
}

fn imports_and_exports(
    data: &[u8],
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> (Vec<String>, usize, Option<String>) {
    let mut opts = ParseOptions::default();
    opts.parse_attribute_certificates = false;
    opts.parse_tls_data = false;
    opts.parse_resources = false;
    // Recover what can be read from damaged directories instead of failing.
    opts.parse_mode = goblin::options::ParseMode::Permissive;
    let pe = match PE::parse_with_opts(data, &opts) {
        Ok(pe) => pe,
        Err(e) => {
            warnings.push(format!(
                "offset {:#x}: goblin could not read the import/export directories: {e}",
                layout.e_lfanew
            ));
            return (Vec::new(), 0, None);
        }
    };
    let mut dlls: Vec<String> = Vec::new();
    if let Some(import_data) = &pe.import_data {
        for entry in &import_data.import_data {
            let name = entry.name.to_ascii_lowercase();
            if !dlls.contains(&name) {
                dlls.push(name);
            }
        }
    }
    let export_name = pe
        .export_data
        .as_ref()
        .and_then(|e| e.name)
        .map(str::to_string);
    (dlls, pe.imports.len(), export_name)
}

fn version_info(data: &[u8], layout: &Layout, warnings: &mut Vec<String>) -> Option<VersionInfo> {
    let leaf = match resources::find_version_resource(data, layout) {
        Ok(leaf) => leaf?,
        Err(e) => {
            warnings.push(e);
            return None;
        }
    };
    let end = leaf.offset.saturating_add(leaf.size).min(data.len());
    let Some(blob) = data.get(leaf.offset..end) else {
        warnings.push(format!(
            "offset {:#x}: version resource starts beyond the file",
            leaf.offset
        ));
        return None;
    };
    match parse_version_info(blob) {
        Ok(v) => Some(v),
        Err(e) => {
            warnings.push(format!("offset {:#x}: {e}", leaf.offset));
            None
        }
    }
}
