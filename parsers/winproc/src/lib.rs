//! Processes from a Windows x64 memory dump: the ActiveProcessLinks walk and a pool-tag
//! scan of physical memory, merged by EPROCESS address, each process with its token,
//! session, kernel and PEB paths and times.
//!
//! Input: a [`triage_physmem::PhysicalMemory`] and the image facts from
//! [`triage_winmem::mem_info`]. Nothing here prints, and bad input never panics: what
//! can't be read is a warning or a field state.
#![forbid(unsafe_code)]

mod bytes;
mod eprocess;
mod error;
mod facts;
mod layout;
mod merge;
mod privileges;
mod reader;
mod scan;
mod sid;
mod time;
mod token;
mod walk;

pub use eprocess::{check_eprocess, EprocessCore, Reject, IMAGE_FILE_NAME_LEN};
pub use error::{Result, WinprocError};
pub use facts::{FoundBy, ProcessFacts};
pub use layout::{PrivilegeLayout, ProcLayout, OPTIONAL_HEADER_SIZES};
pub use privileges::{
    from_array as privileges_from_array, from_bitmasks as privileges_from_bitmasks, privilege_name,
    Privilege,
};
pub use reader::{MemString, Unavailable};
pub use scan::{count_tag, scan_processes, ScanCounters, ScanHit, ScanKey};
pub use sid::{format_sid, well_known_name, IntegrityLevel, SidError};
pub use time::{filetime_to_iso, FileTime};
pub use token::{SidEntry, TokenFacts, TokenType, MAX_USER_AND_GROUPS};
pub use walk::DEFAULT_MAX_LIST_ENTRIES;

use serde::Serialize;
use triage_physmem::PhysicalMemory;
use triage_winmem::{Arch, MemInfo};

use crate::reader::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcOptions {
    /// Scan all physical memory for process objects (else: list walk only).
    pub scan: bool,
    /// Most ActiveProcessLinks entries followed.
    pub max_list_entries: usize,
}

impl Default for ProcOptions {
    fn default() -> Self {
        ProcOptions {
            scan: true,
            max_list_entries: DEFAULT_MAX_LIST_ENTRIES,
        }
    }
}

/// Kernel facts the walk and the scan start from (all from `MemInfo` normally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KernelStart {
    /// Kernel page-table root.
    pub dtb: u64,
    pub ps_active_process_head: Option<u64>,
    /// System's EPROCESS (PsInitialSystemProcess), to learn the process object type.
    pub system_eprocess: Option<u64>,
    /// ObHeaderCookie, only to report the process type index.
    pub ob_header_cookie: Option<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcStats {
    pub list_count: usize,
    /// The walk returned to PsActiveProcessHead.
    pub list_complete: bool,
    pub scan_ran: bool,
    /// EPROCESS found by the scan (before merging).
    pub scan_hits: usize,
    pub scan: ScanCounters,
    /// Scan rejected after its virtual address was known (TypeIndex high bits).
    pub scan_rejected_late: usize,
    pub scan_micros: u64,
    /// `TypeIndex ^ header-address byte` of the process objects (see [`ScanKey`]).
    pub type_key: Option<u8>,
    /// The process object type index, when ObHeaderCookie was readable.
    pub process_type_index: Option<u8>,
    pub found_by_list_only: usize,
    pub found_by_scan_only: usize,
    pub found_by_both: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessList {
    /// Sorted by creation time, then PID.
    pub processes: Vec<ProcessFacts>,
    pub warnings: Vec<String>,
    pub stats: ProcStats,
}

/// Every process in the image, found by the list walk and (if `opts.scan`) the scan.
pub fn processes(
    phys: &dyn PhysicalMemory,
    info: &MemInfo,
    opts: &ProcOptions,
) -> Result<ProcessList> {
    processes_paged(phys, info, opts, None)
}

/// [`processes`], reading paged-out pages (PEBs, process parameters, …) through the
/// paging files given (see [`triage_winmem::PageFiles`]).
pub fn processes_paged(
    phys: &dyn PhysicalMemory,
    info: &MemInfo,
    opts: &ProcOptions,
    pagefiles: Option<&triage_winmem::PageFiles>,
) -> Result<ProcessList> {
    processes_paged_until(phys, info, opts, pagefiles, &|| false)
}

/// [`processes_paged`] that stops the list walk and the scan once `stop()` says so (the
/// per-input time budget); what was found before is returned, with a warning.
pub fn processes_paged_until(
    phys: &dyn PhysicalMemory,
    info: &MemInfo,
    opts: &ProcOptions,
    pagefiles: Option<&triage_winmem::PageFiles>,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<ProcessList> {
    let dtb = info.dtb.ok_or(WinprocError::NoDtb)?;
    if dtb.arch != Arch::X64 {
        return Err(WinprocError::UnsupportedArch {
            arch: format!("{:?}", dtb.arch),
        });
    }
    let layout = info.layout.as_ref().ok_or(WinprocError::MissingField {
        field: "structure layout (unknown kernel)",
    })?;
    let l = ProcLayout::from_layout(layout, info.build)?;
    let vm = triage_winmem::VirtualMemory::new(phys, Arch::X64, dtb.dtb);
    let cookie = match (info.kernel_base, layout.symbols.ob_header_cookie) {
        (Some(base), Some(rva)) => {
            let mut b = [0u8; 1];
            vm.read(base.wrapping_add(rva), &mut b)
                .is_full()
                .then_some(b[0])
        }
        _ => None,
    };
    let start = KernelStart {
        dtb: dtb.dtb,
        ps_active_process_head: info.ps_active_process_head,
        system_eprocess: info.system_eprocess,
        ob_header_cookie: cookie,
    };
    Ok(processes_until(phys, &start, &l, opts, pagefiles, stop))
}

/// The same from explicit kernel facts and a resolved layout; never fails.
pub fn processes_with(
    phys: &dyn PhysicalMemory,
    start: &KernelStart,
    l: &ProcLayout,
    opts: &ProcOptions,
) -> ProcessList {
    processes_with_pagefiles(phys, start, l, opts, None)
}

/// [`processes_with`], reading paged-out pages through `pagefiles`.
pub fn processes_with_pagefiles(
    phys: &dyn PhysicalMemory,
    start: &KernelStart,
    l: &ProcLayout,
    opts: &ProcOptions,
    pagefiles: Option<&triage_winmem::PageFiles>,
) -> ProcessList {
    processes_until(phys, start, l, opts, pagefiles, &|| false)
}

/// [`processes_with_pagefiles`] with a stop check in the list walk and the scan.
pub fn processes_until(
    phys: &dyn PhysicalMemory,
    start: &KernelStart,
    l: &ProcLayout,
    opts: &ProcOptions,
    pagefiles: Option<&triage_winmem::PageFiles>,
    stop: &(dyn Fn() -> bool + Sync),
) -> ProcessList {
    let ctx = Ctx::new(phys, start.dtb & !0xFFF, l, pagefiles);
    let mut warnings = Vec::new();
    let mut stats = ProcStats::default();
    let walk = match start.ps_active_process_head {
        Some(head) => walk::walk_list_until(&ctx, head, opts.max_list_entries, stop),
        None => {
            warnings.push("no PsActiveProcessHead: list walk skipped".into());
            walk::Walk {
                entries: Vec::new(),
                complete: false,
                warnings: Vec::new(),
            }
        }
    };
    warnings.extend(walk.warnings.iter().cloned());
    stats.list_count = walk.entries.len();
    stats.list_complete = walk.complete;
    let mut found = merge::Merged::default();
    for e in walk.entries {
        found.add_list(&ctx, e);
    }
    if opts.scan {
        stats.scan_ran = true;
        let key = merge::type_key(&ctx, start.system_eprocess, found.list_vas());
        stats.type_key = key;
        stats.process_type_index = match (key, start.ob_header_cookie, l.type_index_encoded) {
            (Some(k), Some(c), true) => Some(k ^ c),
            (Some(k), _, false) => Some(k),
            _ => None,
        };
        if key.is_none() {
            warnings.push(
                "scan: no known process object to learn the type index from; TypeIndex not checked"
                    .into(),
            );
        }
        let timer = std::time::Instant::now();
        let (hits, counters, stopped) = scan::scan_processes_until(
            phys,
            l,
            ScanKey {
                type_key: key,
                phys_end: ctx.phys_end,
            },
            stop,
        );
        if stopped {
            warnings
                .push("scan stopped at the time budget: memory after it was not scanned".into());
        }
        stats.scan_micros = timer.elapsed().as_micros() as u64;
        stats.scan = counters;
        stats.scan_hits = hits.len();
        for h in hits {
            if !found.add_scan(&ctx, h, key) {
                stats.scan_rejected_late += 1;
            }
        }
    }
    let mut processes = found.finish(&ctx);
    for p in &mut processes {
        p.hiding_candidate = p.found_by == FoundBy::Scan && !p.is_exited() && stats.list_complete;
        match p.found_by {
            FoundBy::List => stats.found_by_list_only += 1,
            FoundBy::Scan => stats.found_by_scan_only += 1,
            FoundBy::Both => stats.found_by_both += 1,
        }
    }
    processes.sort_by_key(|p| (p.create_time.filetime, p.pid, p.eprocess_pa));
    ProcessList {
        processes,
        warnings,
        stats,
    }
}
