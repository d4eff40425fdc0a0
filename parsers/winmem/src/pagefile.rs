//! Paged-out memory read back through paging files (`pagefile.sys` and its siblings).
//!
//! An x64 page that Windows wrote to a paging file has a software PTE
//! (`_MMPTE_SOFTWARE`): not valid, not prototype, not transition, the paging-file number
//! in `PageFileLow` and the page's index in that file in `PageFileHigh` (bits 32–63).
//! Where `PageFileLow` sits depends on the kernel: bits 1–4 on kernels before the
//! L1TF changes of 2018, bits 12–15 after them (every ISF of Windows 10 1803+ and the
//! patched Windows 7/8.1/10 kernels shows `PageFileLow` at bit 12). Those kernels may
//! also "swizzle" invalid PTEs: when `SwizzleBit` (bit 4) is clear, `PageFileHigh` was
//! XORed with the high half of `MiState.Hardware.InvalidPteMask` (MemProcFS reads it the
//! same way; 0 on CPUs without the mitigation).
//!
//! The files are read through [`triage_source`] with positioned reads of one page, so a
//! paging file found inside a disk image works like a loose one and is never loaded
//! whole.

use serde::Serialize;
use triage_source::{read_exact_at, Source, SourceError};

/// Windows numbers at most 16 paging files (4 bits of `PageFileLow`).
pub const MAX_PAGEFILES: usize = 16;
const PAGE: u64 = 0x1000;
const VALID: u64 = 1;
const SWIZZLE_BIT: u64 = 1 << 4;
const PROTOTYPE: u64 = 1 << 10;
const TRANSITION: u64 = 1 << 11;
/// `PageFileHigh` of a PTE whose contents must be looked up in the VAD (no slot).
const LOOKUP_NEEDED: u64 = 0xFFFF_FFFF;
/// MemProcFS's fallback for `InvalidPteMask >> 32` when it cannot read MiState ("most
/// common on Intel"); tried only when the unswizzled slot lies past the file's end.
const COMMON_INVALID_PTE_MASK_HIGH: u64 = 0x2000;

/// How a kernel lays out the paging-file fields of a software PTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PteFormat {
    /// Bit position of the 4-bit `PageFileLow` (1 before the L1TF changes, 12 after).
    pub pagefile_low_shift: u32,
    /// Has `SwizzleBit` (bit 4): a PTE with it clear may be XORed with the mask below.
    pub swizzle: bool,
    /// `MiState.Hardware.InvalidPteMask` when it was read (else the common value is tried
    /// only for slots that would lie past the end of the file).
    pub invalid_pte_mask: Option<u64>,
}

impl PteFormat {
    /// The layout for a kernel build: `PageFileLow` at bit 12 and swizzling from build
    /// 17134 (Windows 10 1803) on, as MemProcFS decodes it. Older builds patched after
    /// 2018 use bit 12 too; give [`PteFormat::from_isf_bits`] when the ISF is at hand.
    pub fn for_build(build: Option<u32>) -> PteFormat {
        let new = build.is_none_or(|b| b >= 17134);
        PteFormat {
            pagefile_low_shift: if new { 12 } else { 1 },
            swizzle: new,
            invalid_pte_mask: None,
        }
    }

    /// The layout from the ISF's `_MMPTE_SOFTWARE` bit positions.
    pub fn from_isf_bits(pagefile_low_bit: u32, has_swizzle_bit: bool) -> PteFormat {
        PteFormat {
            pagefile_low_shift: pagefile_low_bit.min(60),
            swizzle: has_swizzle_bit,
            invalid_pte_mask: None,
        }
    }

    /// With the kernel's `InvalidPteMask` (read from `MiState`).
    pub fn with_invalid_pte_mask(mut self, mask: u64) -> PteFormat {
        self.invalid_pte_mask = Some(mask);
        self
    }
}

impl Default for PteFormat {
    fn default() -> Self {
        PteFormat::for_build(None)
    }
}

/// Where a paged-out page is: paging file `number`, byte `offset` in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwapSlot {
    pub number: u8,
    /// Byte offset of the page in the file (page index × 4096).
    pub offset: u64,
    /// `PageFileHigh` was swizzled and could be XORed with a mask; `alternate` is the
    /// slot under the common mask when the mask was not known.
    pub alternate: Option<u64>,
}

/// The paging-file slot of an x64 software PTE, or `None` when the PTE is not in that
/// state (valid, prototype, transition, demand zero, or a VAD lookup).
pub fn swap_slot(pte: u64, fmt: &PteFormat) -> Option<SwapSlot> {
    if pte & (VALID | PROTOTYPE | TRANSITION) != 0 {
        return None;
    }
    let high = pte >> 32;
    if high == 0 || high == LOOKUP_NEEDED {
        return None;
    }
    let number = ((pte >> fmt.pagefile_low_shift) & 0xF) as u8;
    let swizzled = fmt.swizzle && pte & SWIZZLE_BIT == 0;
    let (index, alternate) = match (swizzled, fmt.invalid_pte_mask) {
        (true, Some(mask)) => (high ^ (mask >> 32), None),
        (true, None) => (high, Some((high ^ COMMON_INVALID_PTE_MASK_HIGH) * PAGE)),
        (false, _) => (high, None),
    };
    Some(SwapSlot {
        number,
        offset: index * PAGE,
        alternate,
    })
}

/// Why a paged-out page could not be read from the paging files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SwapMiss {
    /// The PTE names a paging file that was not given (e.g. number 2 is often the
    /// compressed-memory virtual store).
    NotGiven { number: u8 },
    /// The slot lies past the end of the file given for that number.
    BeyondEnd { number: u8, offset: u64 },
    /// The file could not be read there (a hole in its container, an I/O error).
    Unreadable {
        number: u8,
        offset: u64,
        why: String,
    },
}

impl std::fmt::Display for SwapMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwapMiss::NotGiven { number } => write!(f, "in paging file {number}, not given"),
            SwapMiss::BeyondEnd { number, offset } => {
                write!(f, "paging file {number} ends before {offset:#x}")
            }
            SwapMiss::Unreadable {
                number,
                offset,
                why,
            } => write!(f, "paging file {number} unreadable at {offset:#x}: {why}"),
        }
    }
}

/// The paging files of one system, by number, and how its PTEs name them.
#[derive(Clone, Default)]
pub struct PageFiles {
    files: [Option<Source>; MAX_PAGEFILES],
    pub format: PteFormat,
}

impl std::fmt::Debug for PageFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given: Vec<String> = self
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| format!("{i}: {}", s.location())))
            .collect();
        f.debug_struct("PageFiles")
            .field("files", &given)
            .field("format", &self.format)
            .finish()
    }
}

impl PageFiles {
    /// No files yet; PTEs decoded with `format`.
    pub fn new(format: PteFormat) -> PageFiles {
        PageFiles {
            files: Default::default(),
            format,
        }
    }

    /// `pagefile.sys` is paging file 0.
    pub fn with_pagefile_sys(format: PteFormat, src: Source) -> PageFiles {
        let mut p = PageFiles::new(format);
        p.set(0, src);
        p
    }

    /// Gives paging file `number` (0–15; others are ignored).
    pub fn set(&mut self, number: u8, src: Source) {
        if let Some(slot) = self.files.get_mut(usize::from(number)) {
            *slot = Some(src);
        }
    }

    pub fn get(&self, number: u8) -> Option<&Source> {
        self.files.get(usize::from(number))?.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.files.iter().all(Option::is_none)
    }

    /// Reads `buf.len()` bytes at `in_page` within the page `pte` names. `Ok(false)`:
    /// the PTE is not a paging-file PTE.
    pub fn read(&self, pte: u64, in_page: u64, buf: &mut [u8]) -> Result<bool, SwapMiss> {
        let Some(slot) = swap_slot(pte, &self.format) else {
            return Ok(false);
        };
        self.read_slot(&slot, in_page, buf)?;
        Ok(true)
    }

    /// Reads within the page of `slot` (`in_page + buf.len()` must stay in the page).
    pub fn read_slot(&self, slot: &SwapSlot, in_page: u64, buf: &mut [u8]) -> Result<(), SwapMiss> {
        let number = slot.number;
        let src = self.get(number).ok_or(SwapMiss::NotGiven { number })?;
        let in_page = in_page & (PAGE - 1);
        let fits = |off: u64| {
            off.checked_add(PAGE)
                .is_some_and(|end| end <= src.len() && in_page + buf.len() as u64 <= PAGE)
        };
        let offset = if fits(slot.offset) {
            slot.offset
        } else {
            match slot.alternate {
                Some(alt) if fits(alt) => alt,
                _ => {
                    return Err(SwapMiss::BeyondEnd {
                        number,
                        offset: slot.offset,
                    })
                }
            }
        };
        read_exact_at(src.as_ref(), offset + in_page, buf).map_err(|e: SourceError| {
            SwapMiss::Unreadable {
                number,
                offset,
                why: e.to_string(),
            }
        })
    }
}

/// The PTE format of the kernel in `info`: from its ISF when the layout came from a
/// symbol directory (`_MMPTE_SOFTWARE` bits, and `MiState.Hardware.InvalidPteMask` read
/// from kernel memory), otherwise by build number. Never fails: what cannot be read
/// falls back to [`PteFormat::for_build`].
pub fn kernel_pte_format(
    phys: &dyn triage_physmem::PhysicalMemory,
    info: &crate::MemInfo,
) -> PteFormat {
    let base = PteFormat::for_build(info.build);
    let Some(crate::LayoutSource::SymbolsDir { path }) = &info.layout_source else {
        return base;
    };
    let Ok(isf) = triage_isf::Isf::load(std::path::Path::new(path)) else {
        return base;
    };
    from_isf(
        &isf,
        base,
        |va| {
            let dtb = info.dtb.as_ref()?;
            crate::VirtualMemory::new(phys, dtb.arch, dtb.dtb).read_u64(va)
        },
        info.kernel_base,
    )
}

/// [`kernel_pte_format`] from a loaded ISF; `read_u64` reads kernel virtual memory.
pub fn from_isf(
    isf: &triage_isf::Isf,
    base: PteFormat,
    read_u64: impl Fn(u64) -> Option<u64>,
    kernel_base: Option<u64>,
) -> PteFormat {
    let mut fmt = match isf.bitfield("_MMPTE_SOFTWARE", "PageFileLow") {
        Some(low) => PteFormat::from_isf_bits(
            low.bit_position,
            isf.bitfield("_MMPTE_SOFTWARE", "SwizzleBit").is_some(),
        ),
        None => base,
    };
    let mask_va = (|| {
        let rva = isf.symbol_rva("MiState")?;
        let hw = isf.field_offset("_MI_SYSTEM_INFORMATION", "Hardware")?;
        let m = isf.field_offset("_MI_HARDWARE_STATE", "InvalidPteMask")?;
        kernel_base?
            .checked_add(rva)?
            .checked_add(hw)?
            .checked_add(m)
    })();
    if fmt.swizzle {
        if let Some(mask) = mask_va.and_then(&read_u64) {
            fmt.invalid_pte_mask = Some(mask);
        }
    }
    fmt
}

#[cfg(test)]
mod tests {
    use super::*;
    use triage_source::{Location, MemorySource};

    // PTE values built from the ISF bit positions of `_MMPTE_SOFTWARE` (19041:
    // PageFileLow bit 12, SwizzleBit bit 4, Protection bits 5–9, PageFileHigh 32–63).
    const RW: u64 = 4 << 5;

    fn win10() -> PteFormat {
        PteFormat::from_isf_bits(12, true)
    }

    #[test]
    fn decodes_number_and_offset_per_layout() {
        let pte = (0x1234u64 << 32) | (3 << 12) | RW | SWIZZLE_BIT;
        let s = swap_slot(pte, &win10()).unwrap();
        assert_eq!((s.number, s.offset, s.alternate), (3, 0x1234 * PAGE, None));
        // The same slot in the pre-2018 layout (PageFileLow at bit 1).
        let old = PteFormat::for_build(Some(7600));
        let pte = (0x1234u64 << 32) | (3 << 1) | RW;
        let s = swap_slot(pte, &old).unwrap();
        assert_eq!((s.number, s.offset), (3, 0x1234 * PAGE));
        assert_eq!(PteFormat::for_build(Some(17134)).pagefile_low_shift, 12);
    }

    #[test]
    fn swizzled_slots_use_the_mask() {
        let pte = ((0x10u64 ^ 0x2000) << 32) | RW; // SwizzleBit clear
        let known = win10().with_invalid_pte_mask(0x2000 << 32);
        assert_eq!(swap_slot(pte, &known).unwrap().offset, 0x10 * PAGE);
        // Mask unknown: as stored, with the common mask as the alternate.
        let s = swap_slot(pte, &win10()).unwrap();
        assert_eq!(s.offset, (0x10 ^ 0x2000) * PAGE);
        assert_eq!(s.alternate, Some(0x10 * PAGE));
        // A kernel reporting mask 0 does not swizzle.
        let zero = win10().with_invalid_pte_mask(0);
        assert_eq!(
            swap_slot(pte, &zero).unwrap().offset,
            (0x10 ^ 0x2000) * PAGE
        );
    }

    #[test]
    fn other_states_are_not_slots() {
        let f = win10();
        for pte in [
            (5u64 << 32) | 1,               // valid
            (5u64 << 32) | PROTOTYPE | RW,  // prototype
            (5u64 << 32) | TRANSITION | RW, // transition
            RW,                             // demand zero: no slot
            (LOOKUP_NEEDED << 32) | RW,     // look in the VAD
        ] {
            assert_eq!(swap_slot(pte, &f), None, "{pte:#x}");
        }
    }

    #[test]
    fn reads_the_slot_and_reports_misses() {
        let mut bytes = vec![0u8; 4 * PAGE as usize];
        bytes[2 * PAGE as usize + 0x10..2 * PAGE as usize + 0x14].copy_from_slice(b"PEB!");
        let src: Source = std::sync::Arc::new(MemorySource::new(Location::new("pf"), bytes));
        let pf = PageFiles::with_pagefile_sys(win10(), src);
        let mut b = [0u8; 4];
        let pte = (2u64 << 32) | RW | SWIZZLE_BIT;
        assert_eq!(pf.read(pte, 0x10, &mut b), Ok(true));
        assert_eq!(&b, b"PEB!");
        let other = (2u64 << 32) | (2 << 12) | RW | SWIZZLE_BIT;
        assert_eq!(
            pf.read(other, 0, &mut b),
            Err(SwapMiss::NotGiven { number: 2 })
        );
        let past = (4u64 << 32) | RW | SWIZZLE_BIT;
        assert!(matches!(
            pf.read(past, 0, &mut b),
            Err(SwapMiss::BeyondEnd { number: 0, .. })
        ));
        // A read may not run past its page.
        let mut big = [0u8; 8];
        assert!(pf.read(pte, 0xFFC, &mut big).is_err());
        assert_eq!(pf.read(RW, 0, &mut b), Ok(false));
    }
}
