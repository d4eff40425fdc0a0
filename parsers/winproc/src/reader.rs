//! Reads through the kernel's (or a process's) page tables, with the reason when a
//! page is not in the dump.

use serde::Serialize;
use triage_physmem::PhysicalMemory;
use triage_winmem::{Arch, PageFiles, PagedOutKind, SwapMiss, Translation, VirtualMemory};

use crate::bytes::u16_at;
use crate::bytes::u64_at;
use crate::layout::ProcLayout;

/// Longest UNICODE_STRING read (its Length is a u16 anyway: 32 767 UTF-16 units).
const MAX_UNICODE_BYTES: usize = 0xFFFE;

/// Why bytes at a virtual address could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unavailable {
    /// The PTE names a paging-file slot (in a form not decoded).
    Pagefile,
    /// The PTE names a slot in paging file `number`, which was not given (0 is
    /// pagefile.sys; 2 is often the compressed-memory virtual store).
    InPagefile { number: u8 },
    /// Paging file `number` was given but the slot is past its end or unreadable.
    PagefileUnreadable { number: u8 },
    /// A transition PTE whose frame is not in the dump.
    Transition,
    /// The PTE refers to a prototype PTE (shared section memory).
    Prototype,
    /// Committed, never touched.
    DemandZero,
    /// No mapping at all.
    NotMapped,
    /// A page-table page or the data page is missing from the container.
    DumpHole,
    /// A malformed entry or a frame beyond the image.
    Invalid,
    /// The pointer itself is not an address of the expected half.
    BadPointer,
}

/// A string read from memory, or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MemString {
    Read {
        value: String,
    },
    Unavailable {
        what: &'static str,
        vaddr: u64,
        reason: Unavailable,
    },
    /// The process has no such string (no PEB: System, Registry, minimal processes).
    Absent,
}

impl MemString {
    pub fn value(&self) -> Option<&str> {
        match self {
            MemString::Read { value } => Some(value),
            _ => None,
        }
    }
}

pub(crate) struct Ctx<'a> {
    pub phys: &'a dyn PhysicalMemory,
    pub kernel: VirtualMemory<'a>,
    pub l: &'a ProcLayout,
    pub phys_end: u64,
}

pub(crate) fn why_unreadable(vm: &VirtualMemory, vaddr: u64) -> Unavailable {
    match vm.translate(vaddr) {
        Translation::PagedOut {
            kind: PagedOutKind::Pagefile,
            ..
        } => match vm.swap_miss(vaddr) {
            Some(SwapMiss::NotGiven { number }) => Unavailable::InPagefile { number },
            Some(SwapMiss::BeyondEnd { number, .. } | SwapMiss::Unreadable { number, .. }) => {
                Unavailable::PagefileUnreadable { number }
            }
            None => Unavailable::Pagefile,
        },
        Translation::PagedOut {
            kind: PagedOutKind::Transition,
            ..
        } => Unavailable::Transition,
        Translation::PagedOut {
            kind: PagedOutKind::Prototype,
            ..
        } => Unavailable::Prototype,
        Translation::PagedOut {
            kind: PagedOutKind::Demand,
            ..
        } => Unavailable::DemandZero,
        Translation::NotPresent { .. } => Unavailable::NotMapped,
        Translation::Hole { .. } => Unavailable::DumpHole,
        Translation::Invalid { .. } => Unavailable::Invalid,
        // Mapped but the frame read failed: the frame is in a hole of the container.
        Translation::Mapped { .. } => Unavailable::DumpHole,
    }
}

pub(crate) type Failure = (&'static str, u64, Unavailable);

/// `n` bytes at `vaddr`, all readable, or the first address that was not.
pub(crate) fn read_exact(
    vm: &VirtualMemory,
    vaddr: u64,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), Failure> {
    match vm.read(vaddr, buf) {
        triage_physmem::ReadOutcome::Full => Ok(()),
        triage_physmem::ReadOutcome::Partial { holes } => {
            let at = holes.first().map(|h| h.start).unwrap_or(vaddr);
            Err((what, at, why_unreadable(vm, at)))
        }
        triage_physmem::ReadOutcome::Absent => Err((what, vaddr, why_unreadable(vm, vaddr))),
    }
}

pub(crate) fn read_u64(vm: &VirtualMemory, vaddr: u64, what: &'static str) -> Result<u64, Failure> {
    let mut b = [0u8; 8];
    read_exact(vm, vaddr, &mut b, what)?;
    Ok(u64::from_le_bytes(b))
}

/// A UNICODE_STRING (x64: Length, MaximumLength, pad, Buffer) at `at`.
pub(crate) fn read_unicode(
    vm: &VirtualMemory,
    at: u64,
    what: &'static str,
    user: bool,
) -> Result<String, Failure> {
    let mut head = [0u8; 16];
    read_exact(vm, at, &mut head, what)?;
    let len = usize::from(u16_at(&head, 0).unwrap_or(0)).min(MAX_UNICODE_BYTES) & !1;
    let buffer = u64_at(&head, 8).unwrap_or(0);
    if len == 0 {
        return Ok(String::new());
    }
    let pointer_ok = if user {
        crate::bytes::is_user_pointer(buffer)
    } else {
        buffer >= 0xFFFF_8000_0000_0000
    };
    if !pointer_ok {
        return Err((what, buffer, Unavailable::BadPointer));
    }
    let mut text = vec![0u8; len];
    read_exact(vm, buffer, &mut text, what)?;
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

impl<'a> Ctx<'a> {
    pub fn new(
        phys: &'a dyn PhysicalMemory,
        dtb: u64,
        l: &'a ProcLayout,
        pagefiles: Option<&'a PageFiles>,
    ) -> Ctx<'a> {
        Ctx {
            phys,
            kernel: VirtualMemory::new(phys, Arch::X64, dtb).with_pagefiles(pagefiles),
            l,
            phys_end: phys.size_hint(),
        }
    }

    /// A process's address space; paged-out pages are read through the paging files.
    pub fn process_space(&self, dtb: u64) -> VirtualMemory<'a> {
        VirtualMemory::new(self.phys, Arch::X64, dtb).with_pagefiles(self.kernel.pagefiles)
    }
}
