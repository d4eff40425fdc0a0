//! Finding ntoskrnl in kernel virtual memory and reading its identity.

use serde::Serialize;

use crate::pe::{codeview, export_name, pe_header, CodeView, PeImage};
use crate::translate::{Arch, Translation};
use crate::vmem::VirtualMemory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KernelSource {
    LowStubHint,
    CrashDumpModuleList,
    CrashDumpKdDebuggerData,
    PageTableScan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kernel {
    pub base: u64,
    pub source: KernelSource,
    pub pe: PeImage,
    pub codeview: Option<CodeView>,
    pub export_name: Option<String>,
}

const KERNEL_PDBS: [&str; 4] = [
    "ntkrnlmp.pdb",
    "ntoskrnl.pdb",
    "ntkrpamp.pdb",
    "ntkrnlpa.pdb",
];
/// How far back from the low-stub hint to look: ntoskrnl is < 64 MiB.
const HINT_WINDOWS: u64 = 32;
/// Upper bound of pages checked by the page-table scan.
const MAX_SCAN_PAGES: usize = 1 << 20;

/// Checks that `base` holds ntoskrnl: a PE whose RSDS names a kernel PDB, or whose
/// export directory is named `ntoskrnl.exe`.
pub fn identify_kernel(vm: &VirtualMemory, base: u64, source: KernelSource) -> Option<Kernel> {
    let mut mz = [0u8; 2];
    if !vm.read(base, &mut mz).is_full() || &mz != b"MZ" {
        return None;
    }
    let pe = pe_header(vm, base).ok()?;
    let cv = codeview(vm, &pe);
    let name = export_name(vm, &pe);
    let by_pdb = cv.as_ref().is_some_and(|c| {
        KERNEL_PDBS
            .iter()
            .any(|k| c.pdb_name.eq_ignore_ascii_case(k))
    });
    let by_export = name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case("ntoskrnl.exe"));
    (by_pdb || by_export).then_some(Kernel {
        base,
        source,
        pe,
        codeview: cv,
        export_name: name,
    })
}

/// Searches back from a kernel address in 2 MiB windows, checking each 4 KiB page.
pub fn from_hint(vm: &VirtualMemory, hint: u64) -> Option<Kernel> {
    let top = hint & !0x1F_FFFF;
    for w in 0..HINT_WINDOWS {
        let window = top.checked_sub(w * 0x20_0000)?;
        for page in (0..0x200u64).rev() {
            let va = window + page * 0x1000;
            if va > hint {
                continue;
            }
            if let Some(k) = identify_kernel(vm, va, KernelSource::LowStubHint) {
                return Some(k);
            }
        }
    }
    None
}

/// From a crash-dump header: the first PsLoadedModuleList entry's DllBase, else
/// KDDEBUGGER_DATA64.KernBase.
pub fn from_crash_header(vm: &VirtualMemory, module_list: u64, kdbg: u64) -> Option<Kernel> {
    let dll_base_off = if vm.arch == Arch::X64 { 0x30 } else { 0x18 };
    if let Some(first) = vm.read_ptr(module_list) {
        if let Some(base) = vm.read_ptr(first + dll_base_off) {
            if let Some(k) = identify_kernel(vm, base, KernelSource::CrashDumpModuleList) {
                return Some(k);
            }
        }
    }
    let kern_base_off = if vm.arch == Arch::X64 { 0x18 } else { 0x10 };
    let base = vm.read_ptr(kdbg + kern_base_off)?;
    identify_kernel(vm, base, KernelSource::CrashDumpKdDebuggerData)
}

/// Walks the page tables of the x64 kernel image region (PML4 slot 0x1F0,
/// `0xFFFFF800_00000000`–`0xFFFFF808_00000000`) and checks every mapped page that
/// starts with `MZ`.
pub fn scan_page_tables(vm: &VirtualMemory) -> Option<Kernel> {
    if vm.arch != Arch::X64 {
        return None;
    }
    let region = 0xFFFF_F800_0000_0000u64;
    let mut checked = 0usize;
    // 1 GiB steps, then 2 MiB, then 4 KiB, skipping what is not mapped.
    for gib in 0..512u64 {
        let va1 = region + gib * (1 << 30);
        if let Translation::NotPresent { level } = vm.translate(va1) {
            if level >= 3 {
                continue;
            }
        }
        for mib in 0..512u64 {
            let va2 = va1 + mib * 0x20_0000;
            let t = vm.translate(va2);
            if let Translation::NotPresent { level } = t {
                if level >= 2 {
                    continue;
                }
            }
            let large =
                matches!(t, Translation::Mapped { page_size, .. } if page_size >= 0x20_0000);
            let step = if large { 0x20_0000 } else { 0x1000 };
            for off in (0..0x20_0000u64).step_by(step) {
                let va = va2 + off;
                checked += 1;
                if checked > MAX_SCAN_PAGES {
                    return None;
                }
                if let Some(k) = identify_kernel(vm, va, KernelSource::PageTableScan) {
                    return Some(k);
                }
            }
        }
    }
    None
}
