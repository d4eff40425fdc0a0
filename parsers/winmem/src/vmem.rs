//! Reading virtual memory through a DTB, page by page, with partial results.

use triage_physmem::{PhysicalMemory, Range, ReadOutcome};

use crate::pagefile::{PageFiles, SwapMiss};
use crate::translate::{transition_paddr, translate, Arch, PagedOutKind, Translation};

/// A virtual address space: a physical memory plus a page-table root.
pub struct VirtualMemory<'a> {
    pub phys: &'a dyn PhysicalMemory,
    pub arch: Arch,
    pub dtb: u64,
    /// Read transition pages from their frame, as Volatility and MemProcFS do (default).
    pub read_transition: bool,
    /// Paging files to read paged-out pages from (x64 only); `None`: such pages are
    /// unreadable.
    pub pagefiles: Option<&'a PageFiles>,
}

impl<'a> VirtualMemory<'a> {
    pub fn new(phys: &'a dyn PhysicalMemory, arch: Arch, dtb: u64) -> Self {
        VirtualMemory {
            phys,
            arch,
            dtb,
            read_transition: true,
            pagefiles: None,
        }
    }

    /// The same address space, reading paged-out pages through `pagefiles`.
    pub fn with_pagefiles(mut self, pagefiles: Option<&'a PageFiles>) -> Self {
        self.pagefiles = pagefiles;
        self
    }

    /// Same physical memory and paging files, another page-table root (a process).
    pub fn with_dtb(&self, dtb: u64) -> VirtualMemory<'a> {
        VirtualMemory {
            phys: self.phys,
            arch: self.arch,
            dtb,
            read_transition: self.read_transition,
            pagefiles: self.pagefiles,
        }
    }

    /// The paging-file PTE of `vaddr` (x64 PTE level only), if it has one.
    fn swap_pte(&self, vaddr: u64) -> Option<u64> {
        if self.arch != Arch::X64 {
            return None;
        }
        match self.translate(vaddr) {
            Translation::PagedOut {
                kind: PagedOutKind::Pagefile,
                pte,
                level: 1,
            } => Some(pte),
            _ => None,
        }
    }

    /// Why the page of `vaddr`, paged out to a paging file, could not be read from the
    /// paging files given (`None`: it is not such a page, or it was read).
    pub fn swap_miss(&self, vaddr: u64) -> Option<SwapMiss> {
        let pte = self.swap_pte(vaddr)?;
        let fmt = self.pagefiles.map(|p| p.format).unwrap_or_default();
        let slot = crate::pagefile::swap_slot(pte, &fmt)?;
        let Some(pf) = self.pagefiles else {
            return Some(SwapMiss::NotGiven {
                number: slot.number,
            });
        };
        let mut b = [0u8; 1];
        pf.read_slot(&slot, vaddr & 0xFFF, &mut b).err()
    }

    /// Reads bytes of one page that is in a paging file; false when it is not.
    fn read_swapped(&self, vaddr: u64, chunk: &mut [u8]) -> bool {
        let Some(pf) = self.pagefiles else {
            return false;
        };
        let Some(pte) = self.swap_pte(vaddr) else {
            return false;
        };
        matches!(pf.read(pte, vaddr & 0xFFF, chunk), Ok(true))
    }

    pub fn translate(&self, vaddr: u64) -> Translation {
        translate(self.phys, self.arch, self.dtb, vaddr)
    }

    /// Physical address of `vaddr` if its bytes can be read (mapped, or transition).
    pub fn resolve(&self, vaddr: u64) -> Option<u64> {
        match self.translate(vaddr) {
            Translation::Mapped { paddr, .. } => Some(paddr),
            Translation::PagedOut {
                kind: PagedOutKind::Transition,
                pte,
                ..
            } if self.read_transition => {
                let p = transition_paddr(self.arch, pte) + (vaddr & 0xFFF);
                self.phys.is_present(p).then_some(p)
            }
            _ => None,
        }
    }

    /// Reads `buf.len()` bytes at `vaddr`. Unreadable bytes are zero and their virtual
    /// ranges are listed in the outcome.
    pub fn read(&self, vaddr: u64, buf: &mut [u8]) -> ReadOutcome {
        let mut holes: Vec<Range> = Vec::new();
        let mut any = false;
        let mut done = 0usize;
        while done < buf.len() {
            let va = vaddr.wrapping_add(done as u64);
            let in_page = (0x1000 - (va & 0xFFF)) as usize;
            let n = in_page.min(buf.len() - done);
            let chunk = &mut buf[done..done + n];
            let ok = match self.resolve(va) {
                Some(pa) => match self.phys.read(pa, chunk) {
                    ReadOutcome::Full => true,
                    _ => {
                        chunk.fill(0);
                        false
                    }
                },
                None => {
                    let ok = self.read_swapped(va, chunk);
                    if !ok {
                        chunk.fill(0);
                    }
                    ok
                }
            };
            if ok {
                any = true;
            } else {
                let end = va.saturating_add(n as u64);
                match holes.last_mut() {
                    Some(h) if h.end == va => h.end = end,
                    _ => holes.push(Range { start: va, end }),
                }
            }
            done += n;
        }
        if holes.is_empty() {
            ReadOutcome::Full
        } else if any {
            ReadOutcome::Partial { holes }
        } else {
            ReadOutcome::Absent
        }
    }

    /// `n` bytes at `vaddr`, only if every one is readable.
    pub fn read_exact(&self, vaddr: u64, n: usize) -> Option<Vec<u8>> {
        let mut v = vec![0u8; n];
        self.read(vaddr, &mut v).is_full().then_some(v)
    }

    pub fn read_u16(&self, vaddr: u64) -> Option<u16> {
        let mut b = [0u8; 2];
        self.read(vaddr, &mut b)
            .is_full()
            .then(|| u16::from_le_bytes(b))
    }

    pub fn read_u32(&self, vaddr: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(vaddr, &mut b)
            .is_full()
            .then(|| u32::from_le_bytes(b))
    }

    pub fn read_u64(&self, vaddr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(vaddr, &mut b)
            .is_full()
            .then(|| u64::from_le_bytes(b))
    }

    /// A pointer of the architecture's width.
    pub fn read_ptr(&self, vaddr: u64) -> Option<u64> {
        match self.arch {
            Arch::X64 => self.read_u64(vaddr),
            _ => self.read_u32(vaddr).map(u64::from),
        }
    }
}
