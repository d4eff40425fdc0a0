//! Virtual-to-physical translation: x64 4-level paging (4 KiB, 2 MiB, 1 GiB pages),
//! x86 PAE and x86 non-PAE, with Windows' software PTE states for pages not present.
//!
//! Translation never loops (the walk has a fixed depth) and never trusts a frame:
//! table pages missing from the container give [`Translation::Hole`], frames beyond the
//! image give [`Translation::Invalid`].

use serde::Serialize;
use triage_physmem::PhysicalMemory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Arch {
    X64,
    X86Pae,
    X86,
}

impl Arch {
    pub fn pointer_size(self) -> u64 {
        match self {
            Arch::X64 => 8,
            _ => 4,
        }
    }
}

/// Why a page that is not present can still hold data somewhere (Windows software PTEs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PagedOutKind {
    /// On a standby/modified list: the frame in the PTE still holds the data.
    Transition,
    /// Refers to a prototype PTE (shared section memory).
    Prototype,
    /// In a paging file (PageFileHigh/PageFileLow).
    Pagefile,
    /// Committed but never touched (demand zero).
    Demand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InvalidReason {
    NonCanonical,
    FrameBeyondImage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Translation {
    Mapped {
        paddr: u64,
        page_size: u64,
    },
    /// `level`: 4 = PML4E … 1 = PTE (x64); the entry is not valid but not empty.
    PagedOut {
        kind: PagedOutKind,
        pte: u64,
        level: u8,
    },
    NotPresent {
        level: u8,
    },
    /// A table page (or the final page) is absent from the container.
    Hole {
        paddr: u64,
        level: u8,
    },
    Invalid {
        reason: InvalidReason,
        entry: u64,
        level: u8,
    },
}

impl Translation {
    pub fn paddr(&self) -> Option<u64> {
        match *self {
            Translation::Mapped { paddr, .. } => Some(paddr),
            _ => None,
        }
    }
}

const P: u64 = 1;
const PS: u64 = 1 << 7;
const PROTOTYPE: u64 = 1 << 10;
const TRANSITION: u64 = 1 << 11;
const ADDR_MASK_64: u64 = 0x000F_FFFF_FFFF_F000;

fn classify(entry: u64, level: u8, pagefile_high: u64) -> Translation {
    if entry == 0 {
        return Translation::NotPresent { level };
    }
    let kind = if entry & PROTOTYPE != 0 {
        PagedOutKind::Prototype
    } else if entry & TRANSITION != 0 {
        PagedOutKind::Transition
    } else if pagefile_high != 0 {
        PagedOutKind::Pagefile
    } else {
        PagedOutKind::Demand
    };
    Translation::PagedOut {
        kind,
        pte: entry,
        level,
    }
}

/// Physical address held by a transition PTE (the page is still in RAM).
pub fn transition_paddr(arch: Arch, pte: u64) -> u64 {
    match arch {
        Arch::X86 => pte & 0xFFFF_F000,
        _ => pte & ADDR_MASK_64,
    }
}

fn read_entry(
    phys: &dyn PhysicalMemory,
    paddr: u64,
    size: usize,
    level: u8,
) -> Result<u64, Translation> {
    let mut b = [0u8; 8];
    let buf = &mut b[..size];
    if !phys.read(paddr, buf).is_full() {
        return Err(Translation::Hole { paddr, level });
    }
    Ok(u64::from_le_bytes(b))
}

/// One past the highest physical address a frame may name: the container's span.
fn frame_ok(phys: &dyn PhysicalMemory, paddr: u64) -> bool {
    paddr < phys.size_hint()
}

pub fn translate(phys: &dyn PhysicalMemory, arch: Arch, dtb: u64, vaddr: u64) -> Translation {
    match arch {
        Arch::X64 => translate_x64(phys, dtb, vaddr),
        Arch::X86Pae => translate_pae(phys, dtb, vaddr),
        Arch::X86 => translate_x86(phys, dtb, vaddr),
    }
}

fn leaf(
    phys: &dyn PhysicalMemory,
    paddr: u64,
    page_size: u64,
    entry: u64,
    level: u8,
) -> Translation {
    if !frame_ok(phys, paddr) {
        return Translation::Invalid {
            reason: InvalidReason::FrameBeyondImage,
            entry,
            level,
        };
    }
    if !phys.is_present(paddr) {
        return Translation::Hole { paddr, level: 0 };
    }
    Translation::Mapped { paddr, page_size }
}

fn translate_x64(phys: &dyn PhysicalMemory, dtb: u64, va: u64) -> Translation {
    let sign = (va >> 47) & 1;
    let top = va >> 48;
    if (sign == 1 && top != 0xFFFF) || (sign == 0 && top != 0) {
        return Translation::Invalid {
            reason: InvalidReason::NonCanonical,
            entry: va,
            level: 4,
        };
    }
    let mut table = dtb & ADDR_MASK_64;
    for level in (1..=4u8).rev() {
        let shift = 12 + 9 * (level as u64 - 1);
        let index = (va >> shift) & 0x1FF;
        let entry = match read_entry(phys, table + index * 8, 8, level) {
            Ok(e) => e,
            Err(t) => return t,
        };
        if entry & P == 0 {
            return classify(entry, level, entry >> 32);
        }
        if level == 1 || (entry & PS != 0 && (level == 2 || level == 3)) {
            let page_size = 1u64 << shift;
            let base = entry & ADDR_MASK_64 & !(page_size - 1);
            return leaf(phys, base + (va & (page_size - 1)), page_size, entry, level);
        }
        table = entry & ADDR_MASK_64;
        if !frame_ok(phys, table) {
            return Translation::Invalid {
                reason: InvalidReason::FrameBeyondImage,
                entry,
                level,
            };
        }
    }
    Translation::NotPresent { level: 0 }
}

fn translate_pae(phys: &dyn PhysicalMemory, dtb: u64, va: u64) -> Translation {
    let va = va & 0xFFFF_FFFF;
    let pdpt = dtb & 0xFFFF_FFE0;
    let pdpte = match read_entry(phys, pdpt + ((va >> 30) & 3) * 8, 8, 3) {
        Ok(e) => e,
        Err(t) => return t,
    };
    if pdpte & P == 0 {
        return classify(pdpte, 3, pdpte >> 32);
    }
    let pd = pdpte & ADDR_MASK_64;
    if !frame_ok(phys, pd) {
        return Translation::Invalid {
            reason: InvalidReason::FrameBeyondImage,
            entry: pdpte,
            level: 3,
        };
    }
    let pde = match read_entry(phys, pd + ((va >> 21) & 0x1FF) * 8, 8, 2) {
        Ok(e) => e,
        Err(t) => return t,
    };
    if pde & P == 0 {
        return classify(pde, 2, pde >> 32);
    }
    if pde & PS != 0 {
        let base = pde & ADDR_MASK_64 & !0x1F_FFFF;
        return leaf(phys, base + (va & 0x1F_FFFF), 0x20_0000, pde, 2);
    }
    let pt = pde & ADDR_MASK_64;
    if !frame_ok(phys, pt) {
        return Translation::Invalid {
            reason: InvalidReason::FrameBeyondImage,
            entry: pde,
            level: 2,
        };
    }
    let pte = match read_entry(phys, pt + ((va >> 12) & 0x1FF) * 8, 8, 1) {
        Ok(e) => e,
        Err(t) => return t,
    };
    if pte & P == 0 {
        return classify(pte, 1, pte >> 32);
    }
    leaf(phys, (pte & ADDR_MASK_64) + (va & 0xFFF), 0x1000, pte, 1)
}

fn translate_x86(phys: &dyn PhysicalMemory, dtb: u64, va: u64) -> Translation {
    let va = va & 0xFFFF_FFFF;
    let pd = dtb & 0xFFFF_F000;
    let pde = match read_entry(phys, pd + (va >> 22) * 4, 4, 2) {
        Ok(e) => e,
        Err(t) => return t,
    };
    if pde & P == 0 {
        return classify(pde, 2, pde >> 12);
    }
    if pde & PS != 0 {
        let base = pde & 0xFFC0_0000;
        return leaf(phys, base + (va & 0x3F_FFFF), 0x40_0000, pde, 2);
    }
    let pt = pde & 0xFFFF_F000;
    if !frame_ok(phys, pt) {
        return Translation::Invalid {
            reason: InvalidReason::FrameBeyondImage,
            entry: pde,
            level: 2,
        };
    }
    let pte = match read_entry(phys, pt + ((va >> 12) & 0x3FF) * 4, 4, 1) {
        Ok(e) => e,
        Err(t) => return t,
    };
    if pte & P == 0 {
        return classify(pte, 1, pte >> 12);
    }
    leaf(phys, (pte & 0xFFFF_F000) + (va & 0xFFF), 0x1000, pte, 1)
}
