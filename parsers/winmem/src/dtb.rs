//! Finding the kernel's page-table root (DTB): crash-dump header, the processor start
//! block ("low stub") below 1 MiB, or a parallel scan for a self-mapping PML4.

use rayon::prelude::*;
use serde::Serialize;
use triage_physmem::{PhysicalMemory, PAGE_SIZE};

use crate::translate::Arch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DtbSource {
    CrashDumpHeader,
    LowStub,
    SelfMapScan,
    Given,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DtbFound {
    pub dtb: u64,
    pub arch: Arch,
    pub source: DtbSource,
    /// A kernel-space address inside ntoskrnl, from the low stub.
    pub kernel_hint: Option<u64>,
    /// Physical address of the low stub page.
    pub low_stub: Option<u64>,
}

const LOW_STUB_MASK: u64 = 0xFFFF_FFFF_FFFF_00FF;
const LOW_STUB_VALUE: u64 = 0x0000_0001_0006_00E9;

/// Is `qword`, the first of a page below 1 MiB, the start of the processor start block
/// ("low stub") every x64 Windows keeps there? The one test of it: the DTB search here
/// and the raw-memory detection of the CLI both ask it.
pub fn is_low_stub(qword: u64) -> bool {
    qword & LOW_STUB_MASK == LOW_STUB_VALUE
}
const PRESENT: u64 = 1;
const WRITABLE: u64 = 2;
const USER: u64 = 4;
const LARGE: u64 = 1 << 7;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000F_FFFF_FFFF_F000;
/// Real kernels have dozens of supervisor kernel-half entries; MemProcFS requires 6.
const MIN_KERNEL_ENTRIES: usize = 6;

fn u64_in(page: &[u8], off: usize) -> u64 {
    page.get(off..off + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .unwrap_or(0)
}

fn with_page<R>(phys: &dyn PhysicalMemory, paddr: u64, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if let Some(p) = phys.page(paddr) {
        return Some(f(p));
    }
    let mut buf = vec![0u8; PAGE_SIZE as usize];
    phys.read(paddr, &mut buf).is_full().then(|| f(&buf))
}

/// Whether the page at `paddr` looks like a Windows x64 PML4: a self-map entry (any
/// slot, randomised since 1607) and enough present, writable, supervisor, non-large
/// kernel-half entries whose tables lie inside the image.
pub fn is_kernel_pml4(page: &[u8], paddr: u64, phys_end: u64) -> bool {
    let mut self_map = false;
    let mut kernel = 0usize;
    for i in 0..512 {
        let e = u64_in(page, i * 8);
        if e & PRESENT == 0 {
            continue;
        }
        if e & ADDR == paddr && i >= 256 && e & (USER | LARGE) == 0 {
            self_map = true;
            continue;
        }
        if i >= 256 {
            if e & (USER | LARGE) != 0 || e & ADDR >= phys_end {
                return false;
            }
            if e & WRITABLE != 0 && e & NX == 0 {
                kernel += 1;
            }
        }
    }
    self_map && kernel >= MIN_KERNEL_ENTRIES
}

/// The processor start block: a page below 1 MiB whose first qword matches the
/// signature, with the kernel PML4 at +0xA0 and a kernel address at +0x70.
pub fn find_low_stub(phys: &dyn PhysicalMemory) -> Option<DtbFound> {
    let end = phys.size_hint();
    (0x1000..0x10_0000u64)
        .step_by(PAGE_SIZE as usize)
        .find_map(|pa| {
            with_page(phys, pa, |p| {
                if !is_low_stub(u64_in(p, 0)) {
                    return None;
                }
                let hint = u64_in(p, 0x70);
                let pml4 = u64_in(p, 0xA0);
                if hint & 0xFFFF_F800_0000_0003 != 0xFFFF_F800_0000_0000
                    || pml4 & 0xFFFF_FF00_0000_0FFF != 0
                    || pml4 == 0
                    || pml4 >= end
                {
                    return None;
                }
                Some(DtbFound {
                    dtb: pml4,
                    arch: Arch::X64,
                    source: DtbSource::LowStub,
                    kernel_hint: Some(hint),
                    low_stub: Some(pa),
                })
            })
            .flatten()
        })
}

/// Parallel scan of every present page for a kernel PML4; returns candidates in
/// ascending physical order (at most `limit`). The System process's PML4 is usually
/// the lowest.
pub fn scan_self_map(phys: &dyn PhysicalMemory, limit: usize) -> Vec<u64> {
    let end = phys.size_hint();
    let mut found = Vec::new();
    // Chunks in ascending order, pages within a chunk in parallel: stops early once
    // `limit` candidates are found (the System PML4 is usually in the first MiBs).
    const CHUNK_PAGES: u64 = 0x4000; // 64 MiB
    for r in phys.ranges() {
        let first = r.start.div_ceil(PAGE_SIZE);
        let last = r.end / PAGE_SIZE;
        let mut chunk = first;
        while chunk < last {
            let chunk_end = (chunk + CHUNK_PAGES).min(last);
            let mut hits: Vec<u64> = (chunk..chunk_end)
                .into_par_iter()
                .filter_map(|pfn| {
                    let pa = pfn * PAGE_SIZE;
                    with_page(phys, pa, |p| is_kernel_pml4(p, pa, end))
                        .unwrap_or(false)
                        .then_some(pa)
                })
                .collect();
            hits.sort_unstable();
            found.extend(hits);
            if found.len() >= limit {
                found.truncate(limit);
                return found;
            }
            chunk = chunk_end;
        }
    }
    found
}

/// The kernel DTB: crash header, then low stub, then the lowest self-map PML4.
pub fn find_dtb(phys: &dyn PhysicalMemory) -> Option<DtbFound> {
    if let Some(h) = phys.crash_header() {
        let dtb = h.directory_table_base;
        if dtb != 0 && dtb & 0xFFFF_FFFF != 0x4547_4150 {
            let arch = match (h.bits, h.pae_enabled) {
                (64, _) => Arch::X64,
                (_, Some(true)) => Arch::X86Pae,
                _ => Arch::X86,
            };
            return Some(DtbFound {
                dtb,
                arch,
                source: DtbSource::CrashDumpHeader,
                kernel_hint: None,
                low_stub: None,
            });
        }
    }
    if let Some(found) = find_low_stub(phys) {
        let ok = with_page(phys, found.dtb, |p| {
            is_kernel_pml4(p, found.dtb, phys.size_hint())
        })
        .unwrap_or(false);
        if ok {
            return Some(found);
        }
    }
    scan_self_map(phys, 1).first().map(|&dtb| DtbFound {
        dtb,
        arch: Arch::X64,
        source: DtbSource::SelfMapScan,
        kernel_hint: None,
        low_stub: None,
    })
}
