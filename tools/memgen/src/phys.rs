//! Sparse physical memory: pages that hold structures are stored; every other page is
//! seeded noise produced on demand while streaming, so a 4 GiB image never sits in RAM.
use crate::error::MemgenError;
use crate::rng::{mix, Rng};
use std::collections::BTreeMap;

pub const PAGE: u64 = 0x1000;
pub const LARGE: u64 = 0x20_0000;

/// Physical address ranges backed by RAM (half-open). Everything else is a hole.
pub type Runs = Vec<(u64, u64)>;

pub struct PhysMem {
    pub size: u64,
    pub runs: Runs,
    seed: u64,
    pages: BTreeMap<u64, Box<[u8]>>,
    next_free: u64,
    rng: Rng,
    /// Or'ed into the last byte of the decoy object tags in noise: 0x80 where the kernel
    /// tags object allocations with PROTECTED_POOL (before Windows 8: `Pro\xe3`).
    pub decoy_tag_bit: u8,
}

impl PhysMem {
    /// RAM is `size` bytes with the legacy VGA/BIOS hole 0xA0000..0x100000 and page 0 left
    /// out, as firmware memory maps report it.
    pub fn new(size: u64, seed: u64, alloc_start: u64) -> PhysMem {
        PhysMem {
            size,
            runs: vec![(0x1000, 0x9F000), (0x10_0000, size)],
            seed,
            pages: BTreeMap::new(),
            next_free: alloc_start,
            rng: Rng::new(seed ^ 0xA110C),
            decoy_tag_bit: 0,
        }
    }

    pub fn is_ram(&self, pa: u64) -> bool {
        self.runs.iter().any(|&(s, e)| pa >= s && pa < e)
    }

    /// Noise for a page nobody wrote: seeded random qwords plus, now and then, a stray pool
    /// tag so that tag scanners meet decoys as they do in real memory.
    pub fn noise_page(seed: u64, pfn: u64, out: &mut [u8]) {
        Self::noise_page_tagged(seed, pfn, out, 0)
    }

    /// [`PhysMem::noise_page`] with `tag_bit` or'ed into the decoy tags' last byte.
    pub fn noise_page_tagged(seed: u64, pfn: u64, out: &mut [u8], tag_bit: u8) {
        let base = mix(seed ^ pfn.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&mix(base.wrapping_add(i as u64)).to_le_bytes());
        }
        let pick = mix(base ^ 0xDEC0);
        if pick.is_multiple_of(48) {
            let tags: [&[u8; 4]; 4] = [b"Proc", b"Toke", b"Obtb", b"Proc"];
            let tag = tags[((pick >> 8) % 4) as usize];
            let off = (((pick >> 16) % 255) * 16 + 4) as usize;
            out[off..off + 4].copy_from_slice(tag);
            out[off + 3] |= tag_bit;
        }
    }

    fn fresh_page(&self, pfn: u64, zeroed: bool) -> Box<[u8]> {
        let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
        if !zeroed {
            Self::noise_page_tagged(self.seed, pfn, &mut page, self.decoy_tag_bit);
        }
        page
    }

    /// The stored page at `pa`, materialised from noise when first touched.
    pub fn page_mut(&mut self, pa: u64) -> &mut [u8] {
        let pfn = pa / PAGE;
        if !self.pages.contains_key(&pfn) {
            let p = self.fresh_page(pfn, false);
            self.pages.insert(pfn, p);
        }
        self.pages
            .get_mut(&pfn)
            .map(|p| &mut p[..])
            .unwrap_or(&mut [])
    }

    pub fn zero_page(&mut self, pa: u64) {
        let pfn = pa / PAGE;
        let p = self.fresh_page(pfn, true);
        self.pages.insert(pfn, p);
    }

    pub fn write(&mut self, mut pa: u64, mut data: &[u8]) {
        while !data.is_empty() {
            let off = (pa % PAGE) as usize;
            let n = data.len().min(PAGE as usize - off);
            self.page_mut(pa)[off..off + n].copy_from_slice(&data[..n]);
            data = &data[n..];
            pa += n as u64;
        }
    }

    pub fn write_u64(&mut self, pa: u64, v: u64) {
        self.write(pa, &v.to_le_bytes());
    }

    /// Read back (noise for untouched pages, zeros in holes).
    pub fn read(&self, pa: u64, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let a = pa + done as u64;
            let off = (a % PAGE) as usize;
            let n = (out.len() - done).min(PAGE as usize - off);
            let mut page = vec![0u8; PAGE as usize];
            self.page_into(a / PAGE, &mut page);
            out[done..done + n].copy_from_slice(&page[off..off + n]);
            done += n;
        }
    }

    pub fn read_u64(&self, pa: u64) -> u64 {
        // Fast path for page-table walks: aligned reads of stored pages.
        if pa.is_multiple_of(8) {
            if let Some(p) = self.pages.get(&(pa / PAGE)) {
                let off = (pa % PAGE) as usize;
                let mut b = [0u8; 8];
                b.copy_from_slice(&p[off..off + 8]);
                return u64::from_le_bytes(b);
            }
        }
        let mut b = [0u8; 8];
        self.read(pa, &mut b);
        u64::from_le_bytes(b)
    }

    /// Contents of one page as it will be written out.
    pub fn page_into(&self, pfn: u64, out: &mut [u8]) {
        if !self.is_ram(pfn * PAGE) {
            out.fill(0);
        } else if let Some(p) = self.pages.get(&pfn) {
            out.copy_from_slice(p);
        } else {
            Self::noise_page_tagged(self.seed, pfn, out, self.decoy_tag_bit);
        }
    }

    /// A fresh page from the bump allocator, skipping a few pages now and then so
    /// structures do not sit in one neat block.
    pub fn alloc_page(&mut self, zeroed: bool) -> Result<u64, MemgenError> {
        if self.rng.next_u64().is_multiple_of(4) {
            self.next_free += PAGE * self.rng.range(1, 4);
        }
        let pa = self.next_free;
        self.next_free += PAGE;
        if pa + PAGE > self.size {
            return Err(MemgenError::OutOfMemory {
                size: self.size,
                needed: pa,
            });
        }
        if zeroed {
            self.zero_page(pa);
        }
        Ok(pa)
    }

    /// 2 MiB-aligned, physically contiguous block for a large page.
    pub fn alloc_large(&mut self) -> Result<u64, MemgenError> {
        let pa = self.next_free.div_ceil(LARGE) * LARGE;
        self.next_free = pa + LARGE;
        if pa + LARGE > self.size {
            return Err(MemgenError::OutOfMemory {
                size: self.size,
                needed: pa,
            });
        }
        Ok(pa)
    }

    /// Contiguous, 2 MiB-aligned block of `len` bytes (the kernel image).
    pub fn alloc_contiguous(&mut self, len: u64) -> Result<u64, MemgenError> {
        let pa = self.next_free.div_ceil(LARGE) * LARGE;
        self.next_free = pa + len.div_ceil(PAGE) * PAGE;
        if self.next_free > self.size {
            return Err(MemgenError::OutOfMemory {
                size: self.size,
                needed: self.next_free,
            });
        }
        Ok(pa)
    }

    pub fn stored_pages(&self) -> usize {
        self.pages.len()
    }
}
