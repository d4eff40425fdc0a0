//! Memory-dump containers as one physical address space.
//!
//! Every supported container (raw images, Windows crash dumps, ELF cores, LiME, VMware
//! `.vmem` + `.vmss`) reduces to a sorted list of [`Segment`]s: a physical range and the
//! file offset holding it. Physical addresses not covered by any segment are *holes* and
//! read as absent, never as zero pages.
// Unsafe only where a file is memory-mapped (marked `allow(unsafe_code)` there).
#![deny(unsafe_code)]

mod bytes;
mod crashdump;
mod detect;
mod elf;
mod error;
pub mod hiberfil;
mod lime;
mod open;
mod segmented;
mod vmware;

pub use crashdump::{parse_crashdump, CrashDumpHeader, CrashDumpLayout};
pub use detect::{detect, ContainerKind};
pub use elf::parse_elf_core;
pub use error::{PhysmemError, Result};
pub use lime::parse_lime;
pub use open::{open, open_vmware, parse, MappedFile};
pub use segmented::{Segment, SegmentedMemory};
pub use vmware::{parse_vmss_regions, vmem_with_regions, VmwareRegion};

use serde::Serialize;

pub const PAGE_SIZE: u64 = 0x1000;

/// A half-open physical address range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Result of a physical read. Bytes inside holes are zero-filled in the buffer but
/// reported here, so a caller can tell "absent" from "a page of zeros".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ReadOutcome {
    Full,
    Partial { holes: Vec<Range> },
    Absent,
}

impl ReadOutcome {
    pub fn is_full(&self) -> bool {
        matches!(self, ReadOutcome::Full)
    }
}

/// A physical address space backed by a container.
pub trait PhysicalMemory: Send + Sync {
    /// Reads `buf.len()` bytes at `paddr`; holes read as zero and are listed in the outcome.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> ReadOutcome;
    /// Present physical ranges, sorted and non-overlapping.
    fn ranges(&self) -> &[Range];
    /// One past the highest present physical address.
    fn size_hint(&self) -> u64 {
        self.ranges().last().map(|r| r.end).unwrap_or(0)
    }
    /// The 4 KiB page containing `paddr`, borrowed from the map when stored contiguously.
    fn page(&self, paddr: u64) -> Option<&[u8]>;
    /// Calls `f(paddr, page)` for every 4 KiB page from `start` (rounded down to a page)
    /// to `end` that has present bytes, in address order; holes inside a page read as
    /// zero, pages with no present byte are skipped. A whole-memory pass (the pool scan)
    /// goes through here: containers that decompress override it to decode each block
    /// once, without the cache. Returns how many pages were copied or decoded rather than
    /// borrowed from the map.
    fn for_each_page(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, &[u8])) -> u64 {
        let mut copy = vec![0u8; PAGE_SIZE as usize];
        let mut copied = 0u64;
        let mut pa = start & !(PAGE_SIZE - 1);
        while pa < end {
            match self.page(pa) {
                Some(p) => f(pa, p),
                None => {
                    if self.read(pa, &mut copy) != ReadOutcome::Absent {
                        copied += 1;
                        f(pa, &copy);
                    }
                }
            }
            let Some(next) = pa.checked_add(PAGE_SIZE) else {
                break;
            };
            pa = next;
        }
        copied
    }
    /// Which container this is.
    fn kind(&self) -> ContainerKind;
    /// The crash-dump header, when the container is a Windows crash dump.
    fn crash_header(&self) -> Option<&CrashDumpHeader> {
        None
    }
    /// Problems found while reading the container that did not stop it (truncation etc.).
    fn warnings(&self) -> &[String] {
        &[]
    }
    /// Whether any byte of the page at `paddr` is present.
    fn is_present(&self, paddr: u64) -> bool {
        let page = paddr & !(PAGE_SIZE - 1);
        let ranges = self.ranges();
        let i = ranges.partition_point(|r| r.end <= page);
        ranges
            .get(i)
            .is_some_and(|r| r.start < page.saturating_add(PAGE_SIZE))
    }
}

impl<T: PhysicalMemory + ?Sized> PhysicalMemory for Box<T> {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> ReadOutcome {
        (**self).read(paddr, buf)
    }
    fn ranges(&self) -> &[Range] {
        (**self).ranges()
    }
    fn size_hint(&self) -> u64 {
        (**self).size_hint()
    }
    fn page(&self, paddr: u64) -> Option<&[u8]> {
        (**self).page(paddr)
    }
    fn for_each_page(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, &[u8])) -> u64 {
        (**self).for_each_page(start, end, f)
    }
    fn kind(&self) -> ContainerKind {
        (**self).kind()
    }
    fn crash_header(&self) -> Option<&CrashDumpHeader> {
        (**self).crash_header()
    }
    fn warnings(&self) -> &[String] {
        (**self).warnings()
    }
}

/// Holes between present ranges below `size_hint`: (count, bytes).
pub fn hole_summary(mem: &dyn PhysicalMemory) -> (usize, u64) {
    let mut count = 0;
    let mut bytes = 0u64;
    let mut cursor = 0u64;
    for r in mem.ranges() {
        if r.start > cursor {
            count += 1;
            bytes += r.start - cursor;
        }
        cursor = cursor.max(r.end);
    }
    (count, bytes)
}
