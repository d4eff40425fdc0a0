//! A bump allocator over the kernel's nonpaged-pool mapping that writes POOL_HEADERs,
//! never lets a small block cross a page, and drops decoy tags between real blocks.
use crate::error::MemgenError;
use crate::paging::AddressSpace;
use crate::phys::{PhysMem, PAGE};
use crate::rng::Rng;

pub struct Pool {
    /// (start, end) of mapped pool regions, used in order.
    pub regions: Vec<(u64, u64)>,
    region: usize,
    cursor: u64,
    /// End and size (16-byte units) of the last block, for the next one's PreviousSize.
    last: (u64, u8),
    /// Or'ed into the decoy object tags' last byte (PROTECTED_POOL before Windows 8).
    pub decoy_tag_bit: u8,
}

/// POOL_HEADER.PoolType for nonpaged pool as Volatility's Vista+ header reads it (even, > 0).
pub const NONPAGED: u8 = 2;

impl Pool {
    pub fn new(regions: Vec<(u64, u64)>) -> Pool {
        let cursor = regions.first().map(|r| r.0).unwrap_or(0);
        Pool {
            regions,
            region: 0,
            cursor,
            last: (0, 0),
            decoy_tag_bit: 0,
        }
    }

    /// Reserve a block of `body` bytes after a 16-byte pool header; returns the header VA.
    /// The block is zeroed (object bodies are zero-initialised by the object manager).
    /// PreviousSize is the size of the block just before in the same page (0 for a page's
    /// first block), as the allocator keeps it so that pool pages can be walked.
    pub fn alloc(
        &mut self,
        space: &AddressSpace,
        mem: &mut PhysMem,
        tag: &[u8; 4],
        body: u64,
    ) -> Result<u64, MemgenError> {
        let total = (16 + body).div_ceil(16) * 16;
        let va = self.reserve(total)?;
        let mut hdr = [0u8; 16];
        let units = (total / 16).min(255) as u8;
        if va % PAGE != 0 && va == self.last.0 {
            hdr[0] = self.last.1;
        }
        self.last = (va + total, units);
        hdr[2] = units;
        hdr[3] = NONPAGED;
        hdr[4..8].copy_from_slice(tag);
        space.write(mem, va, &hdr)?;
        space.write(mem, va + 16, &vec![0u8; (total - 16) as usize])?;
        Ok(va)
    }

    /// A whole zeroed page without a pool header (as the allocator hands out page-sized
    /// blocks, e.g. handle-table levels).
    pub fn alloc_page(
        &mut self,
        space: &AddressSpace,
        mem: &mut PhysMem,
    ) -> Result<u64, MemgenError> {
        self.cursor = self.cursor.div_ceil(PAGE) * PAGE;
        let va = self.reserve(PAGE)?;
        space.write(mem, va, &[0u8; PAGE as usize])?;
        Ok(va)
    }

    fn reserve(&mut self, total: u64) -> Result<u64, MemgenError> {
        loop {
            let (_, end) = *self
                .regions
                .get(self.region)
                .ok_or(MemgenError::OutOfMemory {
                    size: 0,
                    needed: total,
                })?;
            let mut va = self.cursor;
            if total <= PAGE && (va % PAGE) + total > PAGE {
                va = va.div_ceil(PAGE) * PAGE;
            }
            if va + total <= end {
                self.cursor = va + total;
                return Ok(va);
            }
            self.region += 1;
            if let Some(r) = self.regions.get(self.region) {
                self.cursor = r.0;
            }
        }
    }

    /// Stray tags that are not objects: a too-small `Proc` block, a `Proc` block of the
    /// right size whose body is empty, and loose `Toke`/`Obtb` tags.
    pub fn decoys(
        &mut self,
        space: &AddressSpace,
        mem: &mut PhysMem,
        rng: &mut Rng,
    ) -> Result<(), MemgenError> {
        let tag = |t: &[u8; 4], bit: u8| [t[0], t[1], t[2], t[3] | bit];
        let (proc_tag, token_tag) = (
            tag(b"Proc", self.decoy_tag_bit),
            tag(b"Toke", self.decoy_tag_bit),
        );
        match rng.next_u64() % 3 {
            0 => {
                let va = self.alloc(space, mem, &proc_tag, 0x1E0)?;
                // Leave the body as noise-free zeros but shrink the recorded size below what
                // any EPROCESS needs.
                space.write(mem, va + 2, &[0x1F])?;
            }
            1 => {
                self.alloc(space, mem, &proc_tag, 0x700)?;
            }
            _ => {
                self.alloc(space, mem, &token_tag, 0x40)?;
                self.alloc(space, mem, b"Obtb", 0x20)?;
            }
        }
        Ok(())
    }
}
