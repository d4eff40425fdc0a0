//! x64 4-level page tables written into [`PhysMem`].
use crate::error::MemgenError;
use crate::phys::{PhysMem, LARGE, PAGE};

pub const P: u64 = 1;
pub const RW: u64 = 2;
pub const US: u64 = 4;
pub const ACCESSED: u64 = 0x20;
pub const DIRTY: u64 = 0x40;
pub const PS: u64 = 0x80;
pub const GLOBAL: u64 = 0x100;
pub const NX: u64 = 1 << 63;
pub const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Kernel data: present, writable, no-execute.
pub const KERNEL_DATA: u64 = P | RW | ACCESSED | DIRTY | GLOBAL | NX;
/// Kernel code: present, read-only, executable.
pub const KERNEL_CODE: u64 = P | ACCESSED | GLOBAL;
/// User data.
pub const USER_DATA: u64 = P | RW | US | ACCESSED | DIRTY | NX;
pub const USER_READONLY: u64 = P | US | ACCESSED | NX;

pub fn is_user(va: u64) -> bool {
    va < 0x0000_8000_0000_0000
}

pub fn index(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * level)) & 0x1FF
}

/// Canonical form of a 48-bit address.
pub fn canonical(va: u64) -> u64 {
    if va & (1 << 47) != 0 {
        va | 0xFFFF_0000_0000_0000
    } else {
        va & 0x0000_FFFF_FFFF_FFFF
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpace {
    /// Physical address of the PML4 (CR3 without flags).
    pub pml4: u64,
}

impl AddressSpace {
    pub fn new(mem: &mut PhysMem) -> Result<AddressSpace, MemgenError> {
        Ok(AddressSpace {
            pml4: mem.alloc_page(true)?,
        })
    }

    pub fn at(mem: &mut PhysMem, pml4: u64) -> AddressSpace {
        mem.zero_page(pml4);
        AddressSpace { pml4 }
    }

    fn entry_pa(table: u64, va: u64, level: u32) -> u64 {
        table + index(va, level) * 8
    }

    /// Table below `level` for `va`, created when missing.
    fn next_table(
        &self,
        mem: &mut PhysMem,
        table: u64,
        va: u64,
        level: u32,
    ) -> Result<u64, MemgenError> {
        let epa = Self::entry_pa(table, va, level);
        let e = mem.read_u64(epa);
        if e & P != 0 && level == 1 && e & PS != 0 {
            return Err(MemgenError::Scenario(format!(
                "{va:#x}: 4 KiB mapping inside a large page"
            )));
        }
        if e & P != 0 {
            return Ok(e & ADDR_MASK);
        }
        let new = mem.alloc_page(true)?;
        let flags = if is_user(va) {
            P | RW | US | ACCESSED
        } else {
            P | RW | ACCESSED
        };
        mem.write_u64(epa, new | flags);
        Ok(new)
    }

    fn pte_pa(&self, mem: &mut PhysMem, va: u64) -> Result<u64, MemgenError> {
        let pdpt = self.next_table(mem, self.pml4, va, 3)?;
        let pd = self.next_table(mem, pdpt, va, 2)?;
        let pt = self.next_table(mem, pd, va, 1)?;
        Ok(Self::entry_pa(pt, va, 0))
    }

    pub fn map_4k(
        &self,
        mem: &mut PhysMem,
        va: u64,
        pa: u64,
        flags: u64,
    ) -> Result<(), MemgenError> {
        let pte = self.pte_pa(mem, va)?;
        mem.write_u64(pte, (pa & ADDR_MASK) | flags);
        Ok(())
    }

    /// Store a raw (e.g. not-present software) PTE value.
    pub fn set_pte(&self, mem: &mut PhysMem, va: u64, raw: u64) -> Result<(), MemgenError> {
        let pte = self.pte_pa(mem, va)?;
        mem.write_u64(pte, raw);
        Ok(())
    }

    pub fn map_2m(
        &self,
        mem: &mut PhysMem,
        va: u64,
        pa: u64,
        flags: u64,
    ) -> Result<(), MemgenError> {
        debug_assert!(va.is_multiple_of(LARGE) && pa.is_multiple_of(LARGE));
        let pdpt = self.next_table(mem, self.pml4, va, 3)?;
        let pd = self.next_table(mem, pdpt, va, 2)?;
        mem.write_u64(Self::entry_pa(pd, va, 1), (pa & ADDR_MASK) | flags | PS);
        Ok(())
    }

    /// Map `len` bytes at `va` to fresh pages; returns nothing (read back with translate).
    pub fn map_fresh(
        &self,
        mem: &mut PhysMem,
        va: u64,
        len: u64,
        flags: u64,
        zeroed: bool,
    ) -> Result<(), MemgenError> {
        let mut v = va & !(PAGE - 1);
        while v < va + len {
            if self.translate(mem, v).is_none() {
                let pa = mem.alloc_page(zeroed)?;
                self.map_4k(mem, v, pa, flags)?;
            }
            v += PAGE;
        }
        Ok(())
    }

    /// Walk the tables; `None` when any level is not present.
    pub fn translate(&self, mem: &PhysMem, va: u64) -> Option<u64> {
        let mut table = self.pml4;
        for level in (1..=3).rev() {
            let e = mem.read_u64(Self::entry_pa(table, va, level));
            if e & P == 0 {
                return None;
            }
            if level == 1 && e & PS != 0 {
                return Some((e & ADDR_MASK & !(LARGE - 1)) | (va & (LARGE - 1)));
            }
            table = e & ADDR_MASK;
        }
        let e = mem.read_u64(Self::entry_pa(table, va, 0));
        (e & P != 0).then_some((e & ADDR_MASK) | (va & (PAGE - 1)))
    }

    pub fn write(&self, mem: &mut PhysMem, va: u64, data: &[u8]) -> Result<(), MemgenError> {
        let mut done = 0usize;
        while done < data.len() {
            let v = va + done as u64;
            let n = (data.len() - done).min((PAGE - v % PAGE) as usize);
            let pa = self
                .translate(mem, v)
                .ok_or(MemgenError::Unmapped { va: v })?;
            mem.write(pa, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    pub fn write_u64(&self, mem: &mut PhysMem, va: u64, v: u64) -> Result<(), MemgenError> {
        self.write(mem, va, &v.to_le_bytes())
    }
    pub fn write_u32(&self, mem: &mut PhysMem, va: u64, v: u32) -> Result<(), MemgenError> {
        self.write(mem, va, &v.to_le_bytes())
    }
    pub fn write_u16(&self, mem: &mut PhysMem, va: u64, v: u16) -> Result<(), MemgenError> {
        self.write(mem, va, &v.to_le_bytes())
    }
    pub fn write_u8(&self, mem: &mut PhysMem, va: u64, v: u8) -> Result<(), MemgenError> {
        self.write(mem, va, &[v])
    }

    pub fn pml4_entry(&self, mem: &PhysMem, idx: u64) -> u64 {
        mem.read_u64(self.pml4 + idx * 8)
    }
    pub fn set_pml4_entry(&self, mem: &mut PhysMem, idx: u64, v: u64) {
        mem.write_u64(self.pml4 + idx * 8, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Independent of `translate`: reads raw table entries level by level from the page
    /// contents as they would be written out.
    fn walk(mem: &PhysMem, cr3: u64, va: u64) -> Option<u64> {
        let read = |pa: u64| {
            let mut page = vec![0u8; PAGE as usize];
            mem.page_into(pa / PAGE, &mut page);
            let o = (pa % PAGE) as usize;
            u64::from_le_bytes(page[o..o + 8].try_into().unwrap())
        };
        let pml4e = read(cr3 + ((va >> 39) & 0x1FF) * 8);
        if pml4e & 1 == 0 {
            return None;
        }
        let pdpte = read((pml4e & ADDR_MASK) + ((va >> 30) & 0x1FF) * 8);
        if pdpte & 1 == 0 {
            return None;
        }
        let pde = read((pdpte & ADDR_MASK) + ((va >> 21) & 0x1FF) * 8);
        if pde & 1 == 0 {
            return None;
        }
        if pde & 0x80 != 0 {
            return Some((pde & ADDR_MASK & !0x1F_FFFF) + (va & 0x1F_FFFF));
        }
        let pte = read((pde & ADDR_MASK) + ((va >> 12) & 0x1FF) * 8);
        (pte & 1 == 1).then(|| (pte & ADDR_MASK) + (va & 0xFFF))
    }

    #[test]
    fn mappings_translate_back_through_the_written_tables() {
        let mut mem = PhysMem::new(256 << 20, 42, 0x100_0000);
        let space = AddressSpace::at(&mut mem, 0x1AD000);
        let mut rng = Rng::new(7);
        let mut expected = Vec::new();
        for _ in 0..300 {
            let va = canonical(rng.next_u64() & 0x0000_FFFF_FFFF_F000);
            if expected.iter().any(|&(v, _, large): &(u64, u64, bool)| {
                (v & !(LARGE - 1)) == (va & !(LARGE - 1)) && large
            }) {
                continue;
            }
            let pa = mem.alloc_page(false).unwrap();
            space
                .map_4k(
                    &mut mem,
                    va,
                    pa,
                    if is_user(va) { USER_DATA } else { KERNEL_DATA },
                )
                .unwrap();
            expected.push((va, pa, false));
        }
        for i in 0..3u64 {
            let va = 0xFFFF_A000_0000_0000 + i * LARGE;
            let pa = mem.alloc_large().unwrap();
            space.map_2m(&mut mem, va, pa, KERNEL_DATA).unwrap();
            expected.push((va, pa, true));
        }
        for &(va, pa, large) in &expected {
            for off in [0u64, 8, 0xFF8, if large { 0x1F_FFF8 } else { 0x10 }] {
                assert_eq!(
                    walk(&mem, 0x1AD000, va + off),
                    Some(pa + off),
                    "{va:#x}+{off:#x}"
                );
                assert_eq!(space.translate(&mem, va + off), Some(pa + off));
            }
        }
        // Unmapped neighbours stay unmapped; a software PTE is not present but not zero.
        let (va, _, _) = expected[0];
        let hole = va ^ 0x1000;
        if !expected.iter().any(|e| e.0 == hole) {
            assert_eq!(walk(&mem, 0x1AD000, hole), None);
        }
        space.set_pte(&mut mem, va, 0x1234_0000_0080).unwrap();
        assert_eq!(walk(&mem, 0x1AD000, va), None);
        // User mappings carry the U/S bit at every level; kernel ones never do.
        let user_va = expected.iter().find(|e| is_user(e.0) && !e.2).unwrap().0;
        let e = mem.read_u64(0x1AD000 + index(user_va, 3) * 8);
        assert_eq!(e & US, US);
        let kva = expected.iter().find(|e| !is_user(e.0)).unwrap().0;
        let e = mem.read_u64(0x1AD000 + index(kva, 3) * 8);
        assert_eq!(e & US, 0);
    }
}
