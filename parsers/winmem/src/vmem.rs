//! Reading virtual memory through a DTB, page by page, with partial results.

use triage_physmem::{PhysicalMemory, Range, ReadOutcome};

use crate::translate::{transition_paddr, translate, Arch, PagedOutKind, Translation};

/// A virtual address space: a physical memory plus a page-table root.
pub struct VirtualMemory<'a> {
    pub phys: &'a dyn PhysicalMemory,
    pub arch: Arch,
    pub dtb: u64,
    /// Read transition pages from their frame, as Volatility and MemProcFS do (default).
    pub read_transition: bool,
}

impl<'a> VirtualMemory<'a> {
    pub fn new(phys: &'a dyn PhysicalMemory, arch: Arch, dtb: u64) -> Self {
        VirtualMemory {
            phys,
            arch,
            dtb,
            read_transition: true,
        }
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
                    chunk.fill(0);
                    false
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
