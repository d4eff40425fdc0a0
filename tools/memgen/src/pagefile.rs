//! Pages chosen user pages (PEBs, process parameters) out to a generated paging file:
//! their bytes go to a slot of the file, their frame is wiped, and their PTE becomes an
//! x64 software PTE in the paging-file format of the kernel's ISF (`_MMPTE_SOFTWARE`:
//! `PageFileLow` = file number, `PageFileHigh` = page index, protection READWRITE).
//!
//! With a non-zero `Scenario::invalid_pte_mask` the PTEs are swizzled as kernels with
//! the L1TF mitigation store them (`SwizzleBit` clear, `PageFileHigh` XORed with the
//! mask's high half), and the mask is written to `MiState.Hardware.InvalidPteMask`.

use serde::{Deserialize, Serialize};

use crate::error::MemgenError;
use crate::layout::Layout;
use crate::paging::AddressSpace;
use crate::phys::{PhysMem, PAGE};
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::truth::Truth;

/// MM_READWRITE in `_MMPTE_SOFTWARE.Protection` (bits 5–9).
const PROTECTION_READWRITE: u64 = 4 << 5;

/// One page placed in a paging file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagedOutTruth {
    pub pid: u64,
    /// `PEB` or `ProcessParameters` (+ page index for the second page).
    pub what: String,
    pub va: u64,
    /// Paging file number (0 = pagefile.sys).
    pub pagefile: u8,
    /// Byte offset of the page in that file.
    pub offset: u64,
    /// The software PTE as stored.
    pub pte: u64,
}

/// The generated paging file of one number, with the pages it holds.
#[derive(Debug, Clone, Default)]
pub struct Pagefile {
    pub bytes: Vec<u8>,
}

/// Pages every PEB / process-parameter page the scenario asks for out to paging files;
/// records them in `truth.paged_out`. Returns paging file 0 (pagefile.sys); pages of
/// other numbers are recorded but their file is not kept (they stay unreadable).
pub(crate) fn page_out(
    mem: &mut PhysMem,
    truth: &mut Truth,
    l: &Layout,
    sc: &Scenario,
) -> Result<Pagefile, MemgenError> {
    let mut wanted: Vec<(u64, u64, String, u8)> = Vec::new(); // (dtb, va, what, number)
    let params_off = l.off("_PEB", "ProcessParameters")?;
    for spec in &sc.processes {
        let Some(t) = truth.processes.iter().find(|t| t.pid == spec.pid) else {
            continue;
        };
        if t.peb_va == 0 {
            continue;
        }
        let space = AddressSpace { pml4: t.dtb };
        let n = spec.pagefile_number.min(15);
        if spec.params_paged_out {
            let pa = space
                .translate(mem, t.peb_va + params_off)
                .ok_or(MemgenError::Unmapped { va: t.peb_va })?;
            let params = mem.read_u64(pa);
            for i in 0..2 {
                let what = if i == 0 {
                    "ProcessParameters".to_string()
                } else {
                    format!("ProcessParameters+{i}")
                };
                wanted.push((t.dtb, params + i * PAGE, what, n));
            }
        }
        if spec.peb_paged_out {
            wanted.push((t.dtb, t.peb_va, "PEB".into(), n));
        }
    }
    if wanted.is_empty() {
        return Ok(Pagefile::default());
    }
    let mut rng = Rng::new(sc.seed ^ 0x5041_4745_4649_4C45);
    // Slot 0 is never used (Windows keeps the first page; index 0 reads as "no slot").
    let slots = 16 + 4 * wanted.len() as u64;
    let mut order: Vec<u64> = (1..slots).collect();
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut file = vec![0u8; (slots * PAGE) as usize];
    for (i, chunk) in file.chunks_mut(PAGE as usize).enumerate() {
        PhysMem::noise_page(rng.next_u64(), i as u64, chunk);
    }
    let low_shift = l
        .isf
        .bitfield("_MMPTE_SOFTWARE", "PageFileLow")
        .map(|b| b.bit_position)
        .unwrap_or(12);
    let swizzle_high = sc.invalid_pte_mask >> 32;
    if sc.invalid_pte_mask != 0 {
        write_invalid_pte_mask(mem, truth, l, sc.invalid_pte_mask)?;
    }
    for ((dtb, va, what, number), slot) in wanted.into_iter().zip(order) {
        let space = AddressSpace { pml4: dtb };
        let pa = space
            .translate(mem, va)
            .ok_or(MemgenError::Unmapped { va })?
            & !(PAGE - 1);
        let mut page = vec![0u8; PAGE as usize];
        mem.page_into(pa / PAGE, &mut page);
        if number == 0 {
            let at = (slot * PAGE) as usize;
            file[at..at + PAGE as usize].copy_from_slice(&page);
        }
        // The frame goes back to the free list: its old bytes must not be found there.
        mem.zero_page(pa);
        let pte =
            ((slot ^ swizzle_high) << 32) | (u64::from(number) << low_shift) | PROTECTION_READWRITE;
        space.set_pte(mem, va, pte)?;
        let pid = truth
            .processes
            .iter()
            .find(|t| t.dtb == dtb)
            .map(|t| t.pid)
            .unwrap_or(0);
        truth.paged_out.push(PagedOutTruth {
            pid,
            what,
            va,
            pagefile: number,
            offset: slot * PAGE,
            pte,
        });
    }
    Ok(Pagefile { bytes: file })
}

fn write_invalid_pte_mask(
    mem: &mut PhysMem,
    truth: &Truth,
    l: &Layout,
    mask: u64,
) -> Result<(), MemgenError> {
    let va = truth.kernel_base
        + l.sym("MiState")?
        + l.off("_MI_SYSTEM_INFORMATION", "Hardware")?
        + l.off("_MI_HARDWARE_STATE", "InvalidPteMask")?;
    AddressSpace { pml4: truth.dtb }.write_u64(mem, va, mask)
}
