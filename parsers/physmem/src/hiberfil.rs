//! Windows 8+ hibernation files (`hiberfil.sys`) as a physical address space.
//!
//! Format facts (from LeechCore's `device_hibr.c` and the unmerged Volatility 3
//! `layers/hib.py`, checked against generated files and independent decoders):
//! - Page 0 is `PO_MEMORY_IMAGE`: `HIBR` at 0 (`WAKE`, or a zeroed page, once the
//!   system has resumed: no memory to read), `LengthSelf` at 0xC. `LengthSelf` tells the
//!   build family and so where the other fields are ([`PROFILES`], builds 9200-26100).
//! - Two *restore sets*, loader pages (`NumPagesForLoader` pages from page
//!   `FirstBootRestorePage`) and kernel pages (`KernelPagesProcessed` pages from page
//!   `FirstKernelRestorePage`), each a chain of *compression sets*: a status dword
//!   (descriptors in bits 0-7, compressed size in bits 8-29, the algorithm in bits 30-31:
//!   0 plain LZXPRESS, 2-3 LZXPRESS Huffman), page descriptors (`pfn << 4 | (pages - 1)`,
//!   8 bytes on x64, 4 on x86), then the compressed pages. A set whose compressed size
//!   equals its page bytes is stored as is. The next set follows immediately.
//!
//! The chains are walked once at open (headers only, bounded by the file size); pages are
//! decompressed on demand, one compression set at a time, into a bounded cache shared by
//! all threads. Large reads decompress their sets in parallel (rayon). A whole-memory
//! pass (`PhysicalMemory::for_each_page`, the pool scan: rayon over 4 MiB pieces)
//! decodes each set once into its own buffer and skips the cache and its copies.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;
use triage_compress::{decompress, Algorithm};
use triage_source::{read_exact_at, ChunkCache, Location, Source, SourceError};

use crate::{ContainerKind, PhysicalMemory, Range, ReadOutcome, PAGE_SIZE};

const LAYER: &str = "hiberfil.sys";
/// Windows compresses at most 16 pages (64 KiB) per set; allow some slack, no more.
const MAX_SET_PAGES: u64 = 64;
/// Physical addresses stay below 2^52 (x64 architectural limit).
const MAX_PFN: u64 = 1 << 40;
/// Decoded sets kept for re-reads (all threads together).
const CACHE_BYTES: usize = 64 << 20;
/// 2^26 sets of 16 pages is 4 TiB of memory: more is not a real file, and the set table
/// (about 80 bytes a set) must not grow with a hostile file's size.
const MAX_SETS: usize = 1 << 26;
/// At most this many decode errors are kept for [`HiberMemory::read_errors`].
const MAX_ERRORS: usize = 64;

/// Where `PO_MEMORY_IMAGE` keeps what a reader needs, keyed by its `LengthSelf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HiberProfile {
    pub length_self: u32,
    /// The builds this layout was seen on (first, last).
    pub builds: (u32, u32),
    pub is_32bit: bool,
    pub page_size: usize,
    pub system_time: usize,
    pub num_pages_for_loader: usize,
    pub first_boot_restore_page: usize,
    pub first_kernel_restore_page: usize,
    pub kernel_pages_processed: usize,
    pub highest_physical_page: usize,
}

const fn x64(
    length_self: u32,
    builds: (u32, u32),
    fb: usize,
    kpp: usize,
    hpp: usize,
) -> HiberProfile {
    HiberProfile {
        length_self,
        builds,
        is_32bit: false,
        page_size: 0x18,
        system_time: 0x20,
        num_pages_for_loader: 0x58,
        first_boot_restore_page: fb,
        first_kernel_restore_page: fb + 8,
        kernel_pages_processed: kpp,
        highest_physical_page: hpp,
    }
}

const fn x86(length_self: u32, builds: (u32, u32), kpp: usize, hpp: usize) -> HiberProfile {
    HiberProfile {
        length_self,
        builds,
        is_32bit: true,
        page_size: 0x14,
        system_time: 0x18,
        num_pages_for_loader: 0x48,
        first_boot_restore_page: 0x50,
        first_kernel_restore_page: 0x54,
        kernel_pages_processed: kpp,
        highest_physical_page: hpp,
    }
}

/// `PO_MEMORY_IMAGE` layouts by `LengthSelf`, Windows 8 (9200) to 11 24H2 (26100).
pub const PROFILES: [HiberProfile; 12] = [
    x64(0x360, (9200, 9600), 0x60, 0x1c8, 0x330),
    x64(0x3b0, (10240, 10586), 0x68, 0x218, 0x380),
    x64(0x3c8, (14393, 14393), 0x68, 0x220, 0x388),
    x64(0x3d8, (15063, 17134), 0x68, 0x230, 0x398),
    x64(0x3e0, (17763, 19045), 0x68, 0x230, 0x398),
    x64(0x448, (20348, 22631), 0x68, 0x230, 0x400),
    x64(0x4d8, (26100, 26100), 0x68, 0x238, 0x498),
    x86(0x2c8, (9200, 9600), 0x1b0, 0x2b0),
    x86(0x310, (10240, 10586), 0x1f8, 0x2f8),
    x86(0x328, (14393, 14393), 0x200, 0x300),
    x86(0x338, (15063, 17134), 0x210, 0x310),
    x86(0x340, (17763, 19045), 0x210, 0x310),
];

/// The header fields of a hibernated image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiberHeader {
    pub profile: HiberProfile,
    /// `PageSize` (4096 for every supported file).
    pub page_size: u32,
    /// When the system hibernated (FILETIME).
    pub system_time: u64,
    pub num_pages_for_loader: u64,
    pub first_boot_restore_page: u64,
    pub first_kernel_restore_page: u64,
    pub kernel_pages_processed: u64,
    pub highest_physical_page: u64,
}

/// What the first page of a `hiberfil.sys` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HiberState {
    /// `HIBR` with a known layout: memory to read.
    Hibernated(HiberHeader),
    /// `WAKE`: the system resumed from this file; Windows marks it used.
    Resumed,
    /// The header page is all zeros: the file was cleared after resume (or never used).
    Zeroed,
    /// `HIBR`, but `LengthSelf` matches no known layout.
    UnknownLayout { length_self: u32 },
    /// Not a hibernation file header at all.
    NotHiberfil,
}

impl HiberState {
    /// Why there is no memory to read, or `None` for [`HiberState::Hibernated`].
    pub fn reason(&self) -> Option<String> {
        match self {
            HiberState::Hibernated(_) => None,
            HiberState::Resumed => Some(
                "hiberfil.sys header is WAKE: the system resumed from it, no memory image to read"
                    .into(),
            ),
            HiberState::Zeroed => Some(
                "hiberfil.sys header page is zeroed: cleared after resume, no memory image to read"
                    .into(),
            ),
            HiberState::UnknownLayout { length_self } => Some(format!(
                "hiberfil.sys PO_MEMORY_IMAGE.LengthSelf {length_self:#x} matches no known build layout (9200-26100)"
            )),
            HiberState::NotHiberfil => Some("no HIBR/WAKE hibernation header".into()),
        }
    }
}

use triage_bytes::le::{u32_at, u64_at};

/// Reads the header page (`head` = the first 4 KiB of the file; shorter is read as far as
/// it goes). Cheap: for disk triage deciding whether a `hiberfil.sys` holds memory.
pub fn probe(head: &[u8]) -> HiberState {
    let sig = head.get(..4);
    if sig == Some(b"WAKE") || sig == Some(b"wake") {
        return HiberState::Resumed;
    }
    if sig != Some(b"HIBR") && sig != Some(b"hibr") {
        let page = &head[..head.len().min(PAGE_SIZE as usize)];
        if !page.is_empty() && page.iter().all(|&b| b == 0) {
            return HiberState::Zeroed;
        }
        return HiberState::NotHiberfil;
    }
    let Some(length_self) = u32_at(head, 0xC) else {
        return HiberState::NotHiberfil;
    };
    let Some(profile) = PROFILES.iter().find(|p| p.length_self == length_self) else {
        return HiberState::UnknownLayout { length_self };
    };
    let ptr = |off: usize| {
        if profile.is_32bit {
            u32_at(head, off).map(u64::from)
        } else {
            u64_at(head, off)
        }
    };
    let fields = (|| {
        Some(HiberHeader {
            profile: *profile,
            page_size: u32_at(head, profile.page_size)?,
            system_time: u64_at(head, profile.system_time)?,
            num_pages_for_loader: u64_at(head, profile.num_pages_for_loader)?,
            first_boot_restore_page: ptr(profile.first_boot_restore_page)?,
            first_kernel_restore_page: ptr(profile.first_kernel_restore_page)?,
            kernel_pages_processed: u64_at(head, profile.kernel_pages_processed)?,
            highest_physical_page: ptr(profile.highest_physical_page)?,
        })
    })();
    match fields {
        Some(h) => HiberState::Hibernated(h),
        None => HiberState::NotHiberfil,
    }
}

/// How a compression set's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetCodec {
    Stored,
    Xpress,
    XpressHuffman,
    /// Algorithm bits 01: plain LZXPRESS to Volatility's layer, Huffman to LeechCore's;
    /// tried in that order.
    Ambiguous,
}

/// One compression set, as found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompressionSet {
    /// File offset of the status dword.
    pub offset: u64,
    /// File offset of the compressed bytes.
    pub data_offset: u64,
    pub compressed_len: u32,
    pub codec: SetCodec,
    /// The page descriptors in order: (first PFN, page count). Pages of the decompressed
    /// set are these, one after another.
    pub runs: Vec<(u64, u32)>,
}

impl CompressionSet {
    /// Pages this set decompresses to.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|r| u64::from(r.1)).sum()
    }
}

/// A run of PFNs held by one set: page `first` of set `set` onwards.
#[derive(Debug, Clone, Copy)]
struct PfnRun {
    pfn: u64,
    count: u64,
    set: u32,
    first: u32,
}

/// A hibernation file read as physical memory. `Send + Sync`; reads through `&self`.
pub struct HiberMemory {
    src: Source,
    header: HiberHeader,
    sets: Vec<CompressionSet>,
    runs: Vec<PfnRun>,
    ranges: Vec<Range>,
    warnings: Vec<String>,
    cache: ChunkCache,
    errors: Mutex<Vec<String>>,
}

fn corrupt(loc: &Location, layer: &'static str, off: u64, what: impl Into<String>) -> SourceError {
    SourceError::corrupt(loc, layer, off, what)
}

/// Opens a hibernation file read in place through `src` (a loose file or a file inside
/// a disk image): the header and every compression-set header are read now, pages when
/// asked for. A resumed (`WAKE`) or zeroed file is [`SourceError::Unsupported`] with the
/// reason.
pub fn open_source(src: Source) -> Result<HiberMemory, SourceError> {
    let loc = src.location().clone();
    let mut head = vec![0u8; PAGE_SIZE.min(src.len()) as usize];
    read_exact_at(src.as_ref(), 0, &mut head)?;
    let header = match probe(&head) {
        HiberState::Hibernated(h) => h,
        HiberState::NotHiberfil => {
            return Err(corrupt(&loc, "hiberfil.sys header", 0, "no HIBR signature"))
        }
        other => {
            return Err(SourceError::Unsupported {
                location: loc,
                layer: LAYER,
                what: other.reason().unwrap_or_default(),
            })
        }
    };
    if header.page_size != PAGE_SIZE as u32 {
        return Err(corrupt(
            &loc,
            "hiberfil.sys header",
            header.profile.page_size as u64,
            format!("PageSize {:#x}, expected 0x1000", header.page_size),
        ));
    }
    if header.highest_physical_page >= MAX_PFN {
        return Err(corrupt(
            &loc,
            "hiberfil.sys header",
            header.profile.highest_physical_page as u64,
            format!(
                "HighestPhysicalPage {:#x} is past the 52-bit physical address space",
                header.highest_physical_page
            ),
        ));
    }
    let mut warnings = Vec::new();
    let mut sets = Vec::new();
    for (name, first_page, pages) in [
        (
            "loader restore set",
            header.first_boot_restore_page,
            header.num_pages_for_loader,
        ),
        (
            "kernel restore set",
            header.first_kernel_restore_page,
            header.kernel_pages_processed,
        ),
    ] {
        if let Err(w) = walk_restore_set(&src, &header, name, first_page, pages, &mut sets) {
            warnings.push(w);
        }
    }
    if sets.is_empty() {
        return Err(corrupt(
            &loc,
            "hiberfil.sys restore sets",
            header.first_kernel_restore_page.saturating_mul(PAGE_SIZE),
            format!("no compression set could be read: {}", warnings.join("; ")),
        ));
    }
    let (runs, overlap) = index(&sets, header.highest_physical_page, &mut warnings);
    if overlap > 0 {
        warnings.push(format!(
            "{overlap} pages are described by more than one compression set; the first is read"
        ));
    }
    let ranges = ranges_of(&runs);
    Ok(HiberMemory {
        src,
        header,
        sets,
        runs,
        ranges,
        warnings,
        cache: ChunkCache::new(CACHE_BYTES),
        errors: Mutex::new(Vec::new()),
    })
}

/// Walks one chain of compression sets; stops at the first set that cannot be right
/// (the next set's position depends on this one's header) and says where.
fn walk_restore_set(
    src: &Source,
    header: &HiberHeader,
    name: &str,
    first_page: u64,
    total_pages: u64,
    sets: &mut Vec<CompressionSet>,
) -> Result<(), String> {
    let loc = src.location();
    let file_len = src.len();
    let desc_len: u64 = if header.profile.is_32bit { 4 } else { 8 };
    let Some(mut off) = first_page.checked_mul(PAGE_SIZE).filter(|&o| o < file_len) else {
        if total_pages == 0 {
            return Ok(());
        }
        return Err(format!(
            "{loc}: {name}: first page {first_page:#x} is past the end of the file"
        ));
    };
    // Every set is at least 4 + one descriptor + one byte long, so the walk is bounded by
    // the file; the page count bounds it too.
    let total_pages = total_pages.min(header.highest_physical_page.saturating_add(1));
    let mut done = 0u64;
    let mut hdr = vec![0u8; 4 + 255 * desc_len as usize];
    while done < total_pages {
        let at = off;
        let fail = |what: String| {
            format!("{loc}: {name}: compression set at offset {at:#x}: {what} ({done} of {total_pages} pages read)")
        };
        let avail = file_len.saturating_sub(off).min(hdr.len() as u64) as usize;
        if avail < 4 {
            return Err(fail("cut by the end of the file".into()));
        }
        read_exact_at(src.as_ref(), off, &mut hdr[..avail]).map_err(|e| fail(e.to_string()))?;
        let status = u32_at(&hdr, 0).unwrap_or(0);
        let ndesc = (status & 0xFF) as usize;
        let cb = (status >> 8) & 0x3F_FFFF;
        if ndesc == 0 || cb == 0 {
            return Err(fail(format!("empty status {status:#010x}")));
        }
        let descs_end = 4 + ndesc * desc_len as usize;
        if descs_end > avail {
            return Err(fail("descriptors cut by the end of the file".into()));
        }
        let mut runs = Vec::with_capacity(ndesc);
        let mut pages = 0u64;
        for i in 0..ndesc {
            let p = 4 + i * desc_len as usize;
            let d = if desc_len == 4 {
                u32_at(&hdr, p).map(u64::from)
            } else {
                u64_at(&hdr, p)
            }
            .unwrap_or(0);
            let count = (d & 0xF) + 1;
            runs.push((d >> 4, count as u32));
            pages += count;
        }
        if pages > MAX_SET_PAGES {
            return Err(fail(format!(
                "{pages} pages in one set, more than {MAX_SET_PAGES}"
            )));
        }
        let raw_len = pages * PAGE_SIZE;
        if u64::from(cb) > raw_len {
            return Err(fail(format!(
                "compressed size {cb:#x} is larger than its {pages} pages"
            )));
        }
        let data_offset = off + descs_end as u64;
        let end = data_offset + u64::from(cb);
        if end > file_len {
            return Err(fail(format!(
                "{cb:#x} compressed bytes run past the end of the file"
            )));
        }
        let codec = if u64::from(cb) == raw_len {
            SetCodec::Stored
        } else {
            match status >> 30 {
                0 => SetCodec::Xpress,
                1 => SetCodec::Ambiguous,
                _ => SetCodec::XpressHuffman,
            }
        };
        if sets.len() >= MAX_SETS {
            return Err(fail("too many compression sets".into()));
        }
        sets.push(CompressionSet {
            offset: off,
            data_offset,
            compressed_len: cb,
            codec,
            runs,
        });
        done += pages;
        off = end;
    }
    Ok(())
}

/// PFN-sorted runs (first set wins where two describe one page) and the overlap count.
fn index(sets: &[CompressionSet], highest: u64, warnings: &mut Vec<String>) -> (Vec<PfnRun>, u64) {
    let mut runs = Vec::new();
    let mut beyond = 0u64;
    for (si, s) in sets.iter().enumerate() {
        let mut first = 0u32;
        for &(pfn, count) in &s.runs {
            if pfn.saturating_add(u64::from(count)) > highest.saturating_add(1) {
                beyond += u64::from(count);
            } else {
                runs.push(PfnRun {
                    pfn,
                    count: u64::from(count),
                    set: si as u32,
                    first,
                });
            }
            first += count;
        }
    }
    if beyond > 0 {
        warnings.push(format!(
            "{beyond} pages have PFNs above HighestPhysicalPage {highest:#x}; ignored"
        ));
    }
    // Stable: among runs starting at one PFN, the earlier set stays first.
    runs.sort_by_key(|r| r.pfn);
    let mut kept: Vec<PfnRun> = Vec::with_capacity(runs.len());
    let mut overlap = 0u64;
    for mut r in runs {
        if let Some(prev) = kept.last() {
            let end = prev.pfn + prev.count;
            if r.pfn < end {
                let cut = (end - r.pfn).min(r.count);
                overlap += cut;
                r.pfn += cut;
                r.count -= cut;
                r.first += cut as u32;
                if r.count == 0 {
                    continue;
                }
            }
        }
        kept.push(r);
    }
    (kept, overlap)
}

fn ranges_of(runs: &[PfnRun]) -> Vec<Range> {
    let mut out: Vec<Range> = Vec::new();
    for r in runs {
        let (start, end) = (r.pfn * PAGE_SIZE, (r.pfn + r.count) * PAGE_SIZE);
        match out.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => out.push(Range { start, end }),
        }
    }
    out
}

impl HiberMemory {
    /// The header this file was read with.
    pub fn header(&self) -> &HiberHeader {
        &self.header
    }

    /// Every compression set found, in file order.
    pub fn sets(&self) -> &[CompressionSet] {
        &self.sets
    }

    /// Sets that failed to decompress so far (each names the file offset); their pages
    /// read as holes. At most 64 are kept.
    pub fn read_errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The set and page index holding `pfn`.
    fn locate(&self, pfn: u64) -> Option<(u32, u64)> {
        let i = self.runs.partition_point(|r| r.pfn + r.count <= pfn);
        let r = self.runs.get(i)?;
        (r.pfn <= pfn).then(|| (r.set, u64::from(r.first) + (pfn - r.pfn)))
    }

    /// Decompress set `index` (exactly its page bytes, never more), through the cache.
    fn set_data(&self, index: u32) -> Option<Arc<[u8]>> {
        let s = self.sets.get(index as usize)?;
        let loaded = self.cache.get_or_load(u64::from(index), || {
            self.decode(s).map(|d| Arc::from(d.as_ref()))
        });
        loaded.map_err(|e| self.note_error(e)).ok()
    }

    fn note_error(&self, e: SourceError) {
        let mut errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errs.len() < MAX_ERRORS {
            errs.push(e.to_string());
        }
    }

    /// The set's page bytes: borrowed from the map for a stored set, else decompressed.
    fn decode(&self, s: &CompressionSet) -> Result<Cow<'_, [u8]>, SourceError> {
        let loc = self.src.location();
        let want = (s.pages() * PAGE_SIZE) as usize;
        let input: Cow<'_, [u8]> = match self.src.as_slice().and_then(|all| {
            let start = usize::try_from(s.data_offset).ok()?;
            all.get(start..start.checked_add(s.compressed_len as usize)?)
        }) {
            Some(b) => Cow::Borrowed(b),
            None => {
                let mut v = vec![0u8; s.compressed_len as usize];
                read_exact_at(self.src.as_ref(), s.data_offset, &mut v)?;
                Cow::Owned(v)
            }
        };
        let run = |alg| {
            decompress(alg, &input, want)
                .map(Cow::Owned)
                .map_err(|e| e.into_source_error(loc, s.data_offset))
        };
        let out = match s.codec {
            SetCodec::Stored => Ok(input.clone()),
            SetCodec::Xpress => run(Algorithm::Xpress),
            SetCodec::XpressHuffman => run(Algorithm::XpressHuffman),
            SetCodec::Ambiguous => match run(Algorithm::Xpress) {
                Ok(v) if v.len() == want => Ok(v),
                _ => run(Algorithm::XpressHuffman),
            },
        }?;
        if out.len() != want {
            return Err(corrupt(
                loc,
                "hiberfil.sys compression set",
                s.offset,
                format!(
                    "decompressed to {:#x} bytes, its descriptors say {want:#x}",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    /// Decompress the sets behind pages `first_pfn..first_pfn + n` in parallel, so the
    /// copy that follows finds them cached.
    fn prefetch(&self, first_pfn: u64, n: u64) {
        let mut wanted: Vec<u32> = Vec::new();
        for pfn in first_pfn..first_pfn + n {
            if let Some((set, _)) = self.locate(pfn) {
                if wanted.last() != Some(&set) && self.cache.get(u64::from(set)).is_none() {
                    wanted.push(set);
                }
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        // Bounded by the cache: prefetching more than it holds would evict what it loads.
        let cap = CACHE_BYTES / (2 * MAX_SET_PAGES as usize * PAGE_SIZE as usize);
        wanted.truncate(cap.max(1));
        wanted.par_iter().for_each(|&s| {
            let _ = self.set_data(s);
        });
    }
}

impl PhysicalMemory for HiberMemory {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> ReadOutcome {
        let mut holes: Vec<Range> = Vec::new();
        let mut done = 0usize;
        let pages = (buf.len() as u64).div_ceil(PAGE_SIZE) + 1;
        if pages >= 8 {
            self.prefetch(paddr / PAGE_SIZE, pages);
        }
        while done < buf.len() {
            let at = paddr.saturating_add(done as u64);
            let in_page = (at % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            let page = self.locate(at / PAGE_SIZE).and_then(|(set, idx)| {
                let data = self.set_data(set)?;
                let start = idx as usize * PAGE_SIZE as usize + in_page;
                data.get(start..start + n).map(|s| out.copy_from_slice(s))
            });
            if page.is_none() || at.checked_add(n as u64).is_none() {
                out.fill(0);
                let end = at.saturating_add(n as u64);
                match holes.last_mut() {
                    Some(h) if h.end == at => h.end = end,
                    _ => holes.push(Range { start: at, end }),
                }
            }
            done += n;
        }
        let hole_bytes: u64 = holes.iter().map(Range::len).sum();
        if holes.is_empty() {
            ReadOutcome::Full
        } else if hole_bytes >= buf.len() as u64 {
            ReadOutcome::Absent
        } else {
            ReadOutcome::Partial { holes }
        }
    }

    fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// Pages are decompressed on demand, never stored contiguously: always `None`.
    fn page(&self, _paddr: u64) -> Option<&[u8]> {
        None
    }

    /// Decodes each set once into a buffer of this call (not through the shared cache:
    /// a whole-memory pass would only churn it), pages in PFN order. A set needed again
    /// after another (runs of two sets interleaved) comes from the cache, so a file that
    /// interleaves every page costs at most two decodes per set, not one per run.
    fn for_each_page(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, &[u8])) -> u64 {
        let first_pfn = start / PAGE_SIZE;
        let end_pfn = end.div_ceil(PAGE_SIZE);
        let mut i = self.runs.partition_point(|r| r.pfn + r.count <= first_pfn);
        let mut held: Option<(u32, Held<'_>)> = None;
        let mut decoded: HashSet<u32> = HashSet::new();
        let mut pages = 0u64;
        while let Some(r) = self.runs.get(i) {
            i += 1;
            if r.pfn >= end_pfn {
                break;
            }
            if held.as_ref().map(|h| h.0) != Some(r.set) {
                held = None;
                let data = if decoded.insert(r.set) {
                    let Some(s) = self.sets.get(r.set as usize) else {
                        continue;
                    };
                    match self.decode(s) {
                        Ok(d) => Held::Own(d),
                        Err(e) => {
                            self.note_error(e);
                            continue;
                        }
                    }
                } else {
                    match self.set_data(r.set) {
                        Some(d) => Held::Shared(d),
                        None => continue,
                    }
                };
                held = Some((r.set, data));
            }
            let Some((_, data)) = held.as_ref() else {
                continue;
            };
            let (lo, hi) = (r.pfn.max(first_pfn), (r.pfn + r.count).min(end_pfn));
            for pfn in lo..hi {
                let at = (u64::from(r.first) + (pfn - r.pfn)) as usize * PAGE_SIZE as usize;
                if let Some(page) = data.bytes().get(at..at + PAGE_SIZE as usize) {
                    f(pfn * PAGE_SIZE, page);
                    pages += 1;
                }
            }
        }
        pages
    }

    fn kind(&self) -> ContainerKind {
        ContainerKind::Hiberfil
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// A decoded set held by [`HiberMemory::for_each_page`]: its own decode, or the cache's.
enum Held<'a> {
    Own(Cow<'a, [u8]>),
    Shared(Arc<[u8]>),
}

impl Held<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Held::Own(c) => c,
            Held::Shared(a) => a,
        }
    }
}

/// Any byte container (a memory map, a `Vec`) as a [`triage_source::ByteSource`], for
/// [`crate::parse`], which is handed bytes rather than a source.
pub(crate) struct BytesSource<D> {
    data: D,
    location: Location,
}

impl<D: AsRef<[u8]>> BytesSource<D> {
    pub(crate) fn new(data: D, name: &str) -> BytesSource<D> {
        BytesSource {
            data,
            location: Location::new(name),
        }
    }
}

impl<D: AsRef<[u8]> + Send + Sync> triage_source::ByteSource for BytesSource<D> {
    fn len(&self) -> u64 {
        self.data.as_ref().len() as u64
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, SourceError> {
        let data = self.data.as_ref();
        let Some(rest) = usize::try_from(offset).ok().and_then(|o| data.get(o..)) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.data.as_ref())
    }
}
