//! `mem info`: the facts about an image a responder checks first.

use std::path::Path;

use serde::Serialize;
use triage_isf::IsfDir;
use triage_physmem::{hole_summary, ContainerKind, CrashDumpHeader, PhysicalMemory, Range};

use crate::discover::{discover, Discovery};
use crate::dtb::{find_dtb, DtbFound};
use crate::kernel::{from_crash_header, from_hint, scan_page_tables, Kernel, KernelSource};
use crate::layout::{builtin_for, BuiltinMatch, KernelSymbols, Layout, LayoutSource};
use crate::pe::{export_address, CodeView};
use crate::translate::Arch;
use crate::vmem::VirtualMemory;
use crate::Result;

/// Ranges listed in full up to this many; the counts are always exact.
const MAX_LISTED_RANGES: usize = 256;
const KUSER_SHARED_DATA_X64: u64 = 0xFFFF_F780_0000_0000;
const KUSER_SHARED_DATA_X86: u64 = 0xFFDF_0000;

#[derive(Debug, Clone, Serialize)]
pub struct MemInfo {
    pub container: ContainerKind,
    /// One past the highest present physical address.
    pub physical_size: u64,
    pub present_bytes: u64,
    pub range_count: usize,
    /// The first ranges (all of them up to 256).
    pub ranges: Vec<Range>,
    pub hole_count: usize,
    pub hole_bytes: u64,
    pub arch: Option<Arch>,
    pub dtb: Option<DtbFound>,
    pub kernel_base: Option<u64>,
    pub kernel_source: Option<KernelSource>,
    pub pdb: Option<CodeView>,
    /// `NtBuildNumber & 0xFFFF`, read from the kernel.
    pub build: Option<u32>,
    /// `NtBuildNumber` as stored (the high nibble marks free/checked builds).
    pub nt_build_number_raw: Option<u32>,
    /// MinorVersion of the crash-dump header (the build), when there is one.
    pub crash_header_build: Option<u32>,
    pub crash_header: Option<CrashDumpHeader>,
    pub layout_source: Option<LayoutSource>,
    pub layout: Option<Layout>,
    /// How each discovered field was confirmed and which could not be found, when
    /// discovery ran (unknown kernel, or a partial built-in entry completed).
    pub discovery: Option<Discovery>,
    /// Virtual address of the PsActiveProcessHead list head.
    pub ps_active_process_head: Option<u64>,
    /// System's EPROCESS (the value of PsInitialSystemProcess).
    pub system_eprocess: Option<u64>,
    /// FILETIME of the dump (crash header SystemTime, else KUSER_SHARED_DATA.SystemTime).
    pub dump_time: Option<u64>,
    pub dump_time_source: Option<&'static str>,
    pub number_processors: Option<u32>,
    pub warnings: Vec<String>,
}

/// Opens `path` and gathers [`MemInfo`].
pub fn mem_info_path(path: &Path, symbols: Option<&Path>) -> Result<MemInfo> {
    let phys = triage_physmem::open(path)?;
    Ok(mem_info(phys.as_ref(), symbols))
}

fn filled(v: u64) -> bool {
    v != 0 && v != 0x4547_4150_4547_4150 && v != 0x4547_4150
}

/// Gathers the facts; never fails: what can't be found is `None` with a warning.
pub fn mem_info(phys: &dyn PhysicalMemory, symbols: Option<&Path>) -> MemInfo {
    let (hole_count, hole_bytes) = hole_summary(phys);
    let ranges = phys.ranges();
    let header = phys.crash_header().cloned();
    let mut info = MemInfo {
        container: phys.kind(),
        physical_size: phys.size_hint(),
        present_bytes: ranges.iter().map(|r| r.len()).sum(),
        range_count: ranges.len(),
        ranges: ranges.iter().take(MAX_LISTED_RANGES).copied().collect(),
        hole_count,
        hole_bytes,
        arch: None,
        dtb: None,
        kernel_base: None,
        kernel_source: None,
        pdb: None,
        build: None,
        nt_build_number_raw: None,
        crash_header_build: header.as_ref().map(|h| h.minor_version),
        crash_header: header.clone(),
        layout_source: None,
        layout: None,
        discovery: None,
        ps_active_process_head: None,
        system_eprocess: None,
        dump_time: header
            .as_ref()
            .map(|h| h.system_time)
            .filter(|&t| filled(t)),
        dump_time_source: None,
        number_processors: header
            .as_ref()
            .map(|h| h.number_processors)
            .filter(|&n| n != 0 && n != 0x4547_4150),
        warnings: phys.warnings().to_vec(),
    };
    if info.dump_time.is_some() {
        info.dump_time_source = Some("crash dump header SystemTime");
    }
    let Some(dtb) = find_dtb(phys) else {
        info.warnings.push("no kernel DTB found".into());
        return info;
    };
    info.dtb = Some(dtb);
    info.arch = Some(dtb.arch);
    let vm = VirtualMemory::new(phys, dtb.arch, dtb.dtb);

    let kernel = find_kernel(&vm, &dtb, header.as_ref());
    let Some(kernel) = kernel else {
        info.warnings
            .push("ntoskrnl not found in kernel memory".into());
        fill_kuser(&vm, &mut info);
        return info;
    };
    info.kernel_base = Some(kernel.base);
    info.kernel_source = Some(kernel.source);
    info.pdb = kernel.codeview.clone();
    if info.pdb.is_none() {
        info.warnings
            .push("ntoskrnl has no readable CodeView record".into());
    }

    let (layout, source) =
        choose_layout(&vm, &kernel, symbols, header.as_ref(), &mut info.warnings);
    let nt_build = layout
        .as_ref()
        .and_then(|l| l.symbols.nt_build_number)
        .map(|rva| kernel.base + rva)
        .or_else(|| export_address(&vm, &kernel.pe, "NtBuildNumber"));
    if let Some(va) = nt_build {
        info.nt_build_number_raw = vm.read_u32(va);
        info.build = info.nt_build_number_raw.map(|v| v & 0xFFFF);
    }
    let psh = layout
        .as_ref()
        .and_then(|l| l.symbols.ps_active_process_head)
        .map(|rva| kernel.base + rva);
    info.ps_active_process_head = psh.or(header
        .as_ref()
        .map(|h| h.ps_active_process_head)
        .filter(|&v| filled(v)));
    let psi = layout
        .as_ref()
        .and_then(|l| l.symbols.ps_initial_system_process)
        .map(|rva| kernel.base + rva)
        .or_else(|| export_address(&vm, &kernel.pe, "PsInitialSystemProcess"));
    info.system_eprocess = psi.and_then(|va| vm.read_ptr(va));

    let (layout, source) = match (layout, source, dtb.arch, info.system_eprocess) {
        (Some(l), Some(s), _, _) => {
            // A partial published entry: complete what discovery can find in the image.
            let l = match (&s, dtb.arch, info.system_eprocess) {
                (LayoutSource::Builtin { .. }, Arch::X64, Some(sys))
                    if !l.missing_fields().is_empty() =>
                {
                    match discover(&vm, sys, &l) {
                        Some(d) => {
                            let mut full = l.clone();
                            let filled = full.fill_missing_from(&d.layout);
                            if !filled.is_empty() {
                                info.warnings.push(format!(
                                    "built-in layout completed by discovery: {}",
                                    filled.join(", ")
                                ));
                            }
                            info.discovery = Some(d);
                            full
                        }
                        None => l,
                    }
                }
                _ => l,
            };
            (Some(l), Some(s))
        }
        (_, _, Arch::X64, Some(sys)) => match discover(&vm, sys, &Layout::default()) {
            Some(d) => {
                let l = d.layout.clone();
                info.discovery = Some(d);
                (Some(l), Some(LayoutSource::Discovered))
            }
            None => {
                info.warnings
                    .push("layout discovery found no process list at System's EPROCESS".into());
                (None, None)
            }
        },
        _ => {
            info.warnings
                .push("no layout: unknown build and no System EPROCESS to discover from".into());
            (None, None)
        }
    };
    if let Some(d) = &info.discovery {
        if info.ps_active_process_head.is_none() {
            info.ps_active_process_head = d.ps_active_process_head;
        }
        if !d.not_found.is_empty() {
            info.warnings.push(format!(
                "discovery: not found: {}",
                d.not_found_names().join(", ")
            ));
        }
    }
    info.layout = layout;
    info.layout_source = source;
    if let (Some(b), Some(h)) = (info.build, info.crash_header_build) {
        if b != h {
            info.warnings
                .push(format!("NtBuildNumber says {b}, the crash header says {h}"));
        }
    }
    fill_kuser(&vm, &mut info);
    info
}

fn find_kernel(
    vm: &VirtualMemory,
    dtb: &DtbFound,
    header: Option<&CrashDumpHeader>,
) -> Option<Kernel> {
    if let Some(h) = header {
        if let Some(k) = from_crash_header(vm, h.ps_loaded_module_list, h.kd_debugger_data_block) {
            return Some(k);
        }
    }
    if let Some(hint) = dtb.kernel_hint {
        if let Some(k) = from_hint(vm, hint) {
            return Some(k);
        }
    }
    scan_page_tables(vm)
}

fn choose_layout(
    vm: &VirtualMemory,
    kernel: &Kernel,
    symbols: Option<&Path>,
    header: Option<&CrashDumpHeader>,
    warnings: &mut Vec<String>,
) -> (Option<Layout>, Option<LayoutSource>) {
    let cv = kernel.codeview.as_ref();
    if let (Some(dir), Some(cv)) = (symbols, cv) {
        match IsfDir::open(dir) {
            Ok(d) => {
                let pdb = cv.pdb_name.to_ascii_lowercase();
                if let Some(entry) = d.find(&pdb, &cv.guid, cv.age) {
                    match d.load(&pdb, &cv.guid, cv.age) {
                        Ok(isf) => {
                            return (
                                Some(Layout::from_isf(&isf)),
                                Some(LayoutSource::SymbolsDir {
                                    path: entry.path.display().to_string(),
                                }),
                            )
                        }
                        Err(e) => warnings.push(format!("symbols: {e}")),
                    }
                } else {
                    warnings.push(format!(
                        "symbols: no ISF for {} {}-{} in {}",
                        pdb,
                        cv.guid,
                        cv.age,
                        dir.display()
                    ));
                }
            }
            Err(e) => warnings.push(format!("symbols: {e}")),
        }
    }
    // The build for a by-build match: NtBuildNumber via exports, else the crash header.
    let build = export_address(vm, &kernel.pe, "NtBuildNumber")
        .and_then(|va| vm.read_u32(va))
        .map(|v| v & 0xFFFF)
        .or(header.map(|h| h.minor_version));
    match builtin_for(cv.map(|c| c.guid.as_str()), cv.map(|c| c.age), build) {
        Some((entry, matched_by)) => {
            let mut layout = entry.layout.clone();
            if matched_by == BuiltinMatch::BuildNumber {
                // Symbol RVAs differ between revisions of one build; offsets mostly don't.
                layout.symbols = KernelSymbols::default();
                warnings.push(format!("layout matched by build {} only (not this kernel's GUID); symbol RVAs not used", entry.build));
            }
            (
                Some(layout),
                Some(LayoutSource::Builtin {
                    matched_by,
                    origin: entry.origin,
                }),
            )
        }
        None => (None, None),
    }
}

fn fill_kuser(vm: &VirtualMemory, info: &mut MemInfo) {
    let kuser = if vm.arch == Arch::X64 {
        KUSER_SHARED_DATA_X64
    } else {
        KUSER_SHARED_DATA_X86
    };
    if info.dump_time.is_none() {
        // KSYSTEM_TIME: LowPart, High1Time, High2Time; High1 == High2 when consistent.
        if let Some(b) = vm.read_exact(kuser + 0x14, 12) {
            let low = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let high1 = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as u64;
            let high2 = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as u64;
            if high1 == high2 && (high1 | low) != 0 {
                info.dump_time = Some(high1 << 32 | low);
                info.dump_time_source = Some("KUSER_SHARED_DATA.SystemTime");
            } else {
                info.warnings
                    .push("KUSER_SHARED_DATA.SystemTime is torn or empty".into());
            }
        }
    }
    if info.number_processors.is_none() {
        // KUSER_SHARED_DATA.ActiveProcessorCount (0x3C0 since Vista).
        info.number_processors = vm
            .read_u32(kuser + 0x3C0)
            .filter(|&n| (1..=4096).contains(&n));
    }
}
