//! Pool-tag scan of all physical memory for process objects: rayon over chunks of the
//! container's present ranges, pages borrowed from the map (no per-page allocation),
//! `memmem` for the tag, then POOL_HEADER, OBJECT_HEADER and EPROCESS checks.

use memchr::memmem;
use rayon::prelude::*;
use serde::Serialize;
use triage_physmem::{PhysicalMemory, ReadOutcome, PAGE_SIZE};

use crate::eprocess::{check_eprocess, EprocessCore};
use crate::layout::ProcLayout;

/// Work unit of the parallel scan: big enough to amortise scheduling, small enough to
/// balance two cores over a few hundred MiB.
const CHUNK_BYTES: u64 = 4 << 20;
/// x64 pool blocks are 16-byte aligned: the tag sits at 4 mod 16.
const POOL_ALIGN: usize = 16;
const TAG_OFFSET: usize = 4;
/// Largest optional-header run searched between the pool header and OBJECT_HEADER:
/// all seven 16-byte-multiple headers (PaddingInfo aside).
const MAX_OPTIONAL: u32 = 0xA0;
const INFO_MASK_PADDING: u8 = 0x80;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanCounters {
    /// Bytes of physical memory searched.
    pub bytes: u64,
    /// Pages present in the container but not borrowable whole (read into a buffer).
    pub copied_pages: u64,
    /// Tag occurrences anywhere.
    pub tag_hits: u64,
    /// Of those, at a pool-header position with a BlockSize that holds an EPROCESS.
    pub pool_header_ok: u64,
    /// Of those, with an OBJECT_HEADER (InfoMask consistent, TypeIndex = Process).
    pub object_header_ok: u64,
    /// Of those, passing the structural EPROCESS check.
    pub eprocess_ok: u64,
}

impl ScanCounters {
    fn add(mut self, o: ScanCounters) -> ScanCounters {
        self.bytes += o.bytes;
        self.copied_pages += o.copied_pages;
        self.tag_hits += o.tag_hits;
        self.pool_header_ok += o.pool_header_ok;
        self.object_header_ok += o.object_header_ok;
        self.eprocess_ok += o.eprocess_ok;
        self
    }
}

/// An EPROCESS found by the scan.
#[derive(Debug, Clone)]
pub struct ScanHit {
    /// Physical address of the EPROCESS (the object body).
    pub pa: u64,
    pub header_pa: u64,
    /// OBJECT_HEADER.TypeIndex as stored (encoded on Windows 10+).
    pub type_index_raw: u8,
    pub core: EprocessCore,
}

/// What the scan needs beyond the layout.
#[derive(Debug, Clone, Copy)]
pub struct ScanKey {
    /// `TypeIndex ^ header-address byte` of a known process object (= ObHeaderCookie ^
    /// process type index on Windows 10+, the plain type index before). `None`: no type
    /// check, the structural check alone decides.
    pub type_key: Option<u8>,
    pub phys_end: u64,
}

struct Checker<'a> {
    l: &'a ProcLayout,
    key: ScanKey,
    min_block: u32,
}

impl Checker<'_> {
    /// Does the header at `header_pa` (bits 8..11 of the virtual address equal the
    /// physical ones) carry the process type? Bits 12..15 are checked once the virtual
    /// address is known.
    fn type_matches(&self, stored: u8, header_pa: u64) -> bool {
        match (self.key.type_key, self.l.type_index_encoded) {
            (None, _) => true,
            (Some(k), true) => (stored ^ (header_pa >> 8) as u8 ^ k) & 0x0F == 0,
            (Some(k), false) => stored == k,
        }
    }

    /// Checks a tag occurrence at `tag_off` of `page` (physical `page_pa`).
    fn candidate(
        &self,
        phys: &dyn PhysicalMemory,
        page: &[u8],
        page_pa: u64,
        tag_off: usize,
        spill: &mut Vec<u8>,
        c: &mut ScanCounters,
    ) -> Option<ScanHit> {
        if tag_off % POOL_ALIGN != TAG_OFFSET {
            return None;
        }
        let pool = tag_off - TAG_OFFSET;
        let block = u32::from(*page.get(pool + 2)?) * POOL_ALIGN as u32;
        if block < self.min_block {
            return None;
        }
        c.pool_header_ok += 1;
        let l = self.l;
        let first_header = pool + l.pool_header_size as usize;
        for optional in (0..=MAX_OPTIONAL).step_by(0x10) {
            let header = first_header + optional as usize;
            let mask = *page.get(header + l.object_info_mask as usize)?;
            let announced = ProcLayout::optional_headers_size(mask);
            let fits =
                announced == optional || (mask & INFO_MASK_PADDING != 0 && announced <= optional);
            if !fits {
                continue;
            }
            let stored = *page.get(header + l.object_type_index as usize)?;
            let header_pa = page_pa + header as u64;
            if !self.type_matches(stored, header_pa) {
                continue;
            }
            c.object_header_ok += 1;
            let body_off = header + l.object_header_size as usize;
            let body_pa = page_pa + body_off as u64;
            let size = l.eprocess_size as usize;
            let body: &[u8] = match page.get(body_off..body_off + size) {
                Some(b) => b,
                None => {
                    // Crosses into the next frame: only right when physically contiguous
                    // (large-page pool); a small-pool block never crosses a page.
                    spill.resize(size, 0);
                    if phys.read(body_pa, spill) == ReadOutcome::Absent {
                        continue;
                    }
                    spill
                }
            };
            if let Ok(core) = check_eprocess(body, l, self.key.phys_end) {
                c.eprocess_ok += 1;
                return Some(ScanHit {
                    pa: body_pa,
                    header_pa,
                    type_index_raw: stored,
                    core,
                });
            }
        }
        None
    }
}

/// Page-aligned work units covering every present range.
fn chunks(phys: &dyn PhysicalMemory) -> Vec<(u64, u64)> {
    let mut chunks = Vec::new();
    for r in phys.ranges() {
        let last_page = (r.end.saturating_sub(1)) & !(PAGE_SIZE - 1);
        let mut start = r.start & !(PAGE_SIZE - 1);
        while start <= last_page && r.end > r.start {
            // Inclusive of the page holding the range's last byte.
            let end = start
                .saturating_add(CHUNK_BYTES)
                .min(last_page.saturating_add(PAGE_SIZE));
            chunks.push((start, end));
            if end <= start {
                break;
            }
            start = end;
        }
    }
    chunks
}

/// Scans every present page of `phys` for process objects.
pub fn scan_processes(
    phys: &dyn PhysicalMemory,
    l: &ProcLayout,
    key: ScanKey,
) -> (Vec<ScanHit>, ScanCounters) {
    let (hits, counters, _) = scan_processes_until(phys, l, key, &|| false);
    (hits, counters)
}

/// [`scan_processes`] with a time budget: `stop` (e.g. a deadline's `expired`) is
/// asked before each work unit (4 MiB of physical memory); once it says stop, the units
/// not yet started are skipped. Returns the hits found so far and whether it stopped.
pub fn scan_processes_until(
    phys: &dyn PhysicalMemory,
    l: &ProcLayout,
    key: ScanKey,
    stop: &(dyn Fn() -> bool + Sync),
) -> (Vec<ScanHit>, ScanCounters, bool) {
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let checker = Checker {
        l,
        key,
        min_block: l.pool_header_size + l.object_header_size + l.eprocess_size,
    };
    let finder = memmem::Finder::new(&l.pool_tag);
    let chunks = chunks(phys);
    let results: Vec<(Vec<ScanHit>, ScanCounters)> = chunks
        .par_iter()
        .map(|&(start, end)| {
            let mut hits = Vec::new();
            let mut c = ScanCounters::default();
            if stop() {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                return (hits, c);
            }
            let mut spill = Vec::new();
            // Pages borrowed from the map where they lie whole; a page cut by a range
            // edge is read (holes as zeros), a compressed container decodes each block
            // once (see `PhysicalMemory::for_each_page`).
            let copied = phys.for_each_page(start, end, &mut |page_pa, page| {
                c.bytes += page.len() as u64;
                for off in finder.find_iter(page) {
                    c.tag_hits += 1;
                    if let Some(hit) =
                        checker.candidate(phys, page, page_pa, off, &mut spill, &mut c)
                    {
                        hits.push(hit);
                    }
                }
            });
            c.copied_pages += copied;
            (hits, c)
        })
        .collect();
    let mut all = Vec::new();
    let mut total = ScanCounters::default();
    for (h, c) in results {
        all.extend(h);
        total = total.add(c);
    }
    (all, total, stopped.into_inner())
}

/// A bare `memmem` count of `tag` over every present page, for comparison with the scan.
/// Pages the container cannot lend (compressed ones, pages cut by a range edge) are read
/// or decoded, as the scan does, so every container counts the same memory.
pub fn count_tag(phys: &dyn PhysicalMemory, tag: &[u8]) -> u64 {
    let finder = memmem::Finder::new(tag);
    let chunks = chunks(phys);
    chunks
        .par_iter()
        .map(|&(start, end)| {
            let mut n = 0u64;
            phys.for_each_page(start, end, &mut |_, page| {
                n += finder.find_iter(page).count() as u64;
            });
            n
        })
        .sum()
}
