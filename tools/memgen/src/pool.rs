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
        }
    }

    /// Reserve a block of `body` bytes after a 16-byte pool header; returns the header VA.
    /// The block is zeroed (object bodies are zero-initialised by the object manager).
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
        hdr[2] = (total / 16).min(255) as u8;
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
        match rng.next_u64() % 3 {
            0 => {
                let va = self.alloc(space, mem, b"Proc", 0x1E0)?;
                // Leave the body as noise-free zeros but shrink the recorded size below what
                // any EPROCESS needs.
                space.write(mem, va + 2, &[0x1F])?;
            }
            1 => {
                self.alloc(space, mem, b"Proc", 0x700)?;
            }
            _ => {
                self.alloc(space, mem, b"Toke", 0x40)?;
                self.alloc(space, mem, b"Obtb", 0x20)?;
            }
        }
        Ok(())
    }
}
