//! Builds the physical memory of one scenario: page tables, kernel image, globals, pool
//! objects (EPROCESS, TOKEN, …) and per-process user space.
mod ctx;
mod era;
mod kernel;
mod process;

use crate::error::MemgenError;
use crate::layout::Layout;
use crate::paging::{self, AddressSpace, ACCESSED, DIRTY, KERNEL_DATA, NX, P, RW};
use crate::phys::{PhysMem, LARGE, PAGE};
use crate::pool::Pool;
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::truth::{filetime_iso, Truth};
pub use ctx::sid_bytes;
use ctx::{Ctx, PROCESS_TYPE_INDEX};
pub(crate) use era::Era;
use triage_isf::Isf;

/// Volatility looks for recent kernels' PML4 in 0x150000..0x2A0000; real Windows 10 puts it
/// at 0x1AD000 (Windows 7 at 0x187000, 8.1 at 0x1A7000: see `era::Era::kernel_dtb`).
pub const KERNEL_DTB: u64 = 0x1AD000;
pub const KUSER_KERNEL: u64 = 0xFFFF_F780_0000_0000;
pub const KUSER_USER: u64 = 0x7FFE_0000;
/// Page tables and everything else come from above 16 MiB, out of Volatility's DTB scan windows.
const ALLOC_START: u64 = 0x0100_0000;

pub struct Built {
    pub mem: PhysMem,
    pub truth: Truth,
    /// For the crash-dump header.
    pub ps_loaded_module_list: u64,
    pub kd_debugger_data_block: u64,
}

/// `plain_kdbg`: write KdDebuggerDataBlock decoded (as crash dumps carry it); otherwise it
/// stays encoded-looking noise with KdpDataBlockEncoded set, as in live memory.
pub fn build(sc: &Scenario, isf: &Isf, plain_kdbg: bool) -> Result<Built, MemgenError> {
    let l = Layout { isf };
    let pdb = isf.pdb().ok_or_else(|| MemgenError::MissingLayout {
        isf: isf.source_name.clone(),
        what: "metadata.windows.pdb".into(),
    })?;
    let build_no = triage_isf::known_build(&pdb.guid, pdb.age)
        .map(|k| k.build)
        .or(sc.build)
        .ok_or_else(|| MemgenError::Scenario("unknown build: give `build`".into()))?;
    if sc.memory_size < 64 << 20 || !sc.memory_size.is_multiple_of(PAGE) {
        return Err(MemgenError::Scenario(
            "memory_size must be a page multiple of at least 64 MiB".into(),
        ));
    }
    let era = Era::new(build_no, isf);
    let dtb = era.kernel_dtb();
    let mut rng = Rng::new(sc.seed);
    let mut mem = PhysMem::new(sc.memory_size, sc.seed, ALLOC_START);
    let tag_bit = era.object_tag(b"\0\0\0\0")[3];
    mem.decoy_tag_bit = tag_bit;
    let k = AddressSpace::at(&mut mem, dtb);

    // PML4 slots: kernel at 0x1F0, KUSER at 0x1EF; the self-map at 0x1ED before Windows 10
    // 1607, randomised since. Before Windows 10 the other kernel regions sit at fixed slots
    // too (`Era::regions`); from Windows 10 on they are picked at random.
    let mut used = vec![0x1EFu64, 0x1F0];
    used.extend(era.fixed_self_map());
    let legacy = era.regions();
    let mut fixed = legacy.map(|r| r.to_vec()).unwrap_or_default().into_iter();
    let mut pick = |rng: &mut Rng, used: &mut Vec<u64>| {
        if let Some(i) = fixed.next() {
            used.push(i);
            return i;
        }
        loop {
            let i = rng.range(0x100, 0x1EF);
            if !used.contains(&i) {
                used.push(i);
                break i;
            }
        }
    };
    let self_ref = match era.fixed_self_map() {
        Some(i) => i,
        None => pick(&mut rng, &mut used),
    };

    let image = kernel::map_image(&l, &era, &mut mem, &k, &mut rng, pdb)?;
    let (kernel_base, entry_rva) = (image.base, image.entry_rva);

    // ---- KUSER_SHARED_DATA (kernel view; processes map it read-only at 0x7FFE0000) ----
    let kuser_pa = mem.alloc_page(true)?;
    k.map_4k(&mut mem, KUSER_KERNEL, kuser_pa, KERNEL_DATA)?;

    // ---- nonpaged pool: two 2 MiB large pages and a 4 KiB-mapped stretch ----
    let pool_idx = pick(&mut rng, &mut used);
    let pool_base = paging::canonical((pool_idx << 39) | (rng.range(0, 0x100) * LARGE * 4));
    let mut regions = Vec::new();
    for i in 0..2 {
        let pa = mem.alloc_large()?;
        k.map_2m(&mut mem, pool_base + i * LARGE, pa, KERNEL_DATA)?;
    }
    regions.push((pool_base, pool_base + 2 * LARGE));
    let small = pool_base + 4 * LARGE;
    k.map_fresh(&mut mem, small, 256 * PAGE, KERNEL_DATA, false)?;
    regions.push((small, small + 256 * PAGE));
    // A busy system's pool: a share of RAM mapped into its own kernel region in 2 MiB pages.
    // The frames are never written, so they stream out as noise with decoy tags: a pool
    // scanner of the kernel's virtual memory has to read and reject all of it. Nothing is
    // allocated in it, so no object is mapped twice.
    if sc.kernel_pool_fraction > 0.0 {
        let share = sc.kernel_pool_fraction.clamp(0.0, 0.9);
        let large_pages = ((sc.memory_size as f64 * share) as u64) / LARGE;
        let idx = pick(&mut rng, &mut used);
        let busy = paging::canonical(idx << 39);
        for i in 0..large_pages {
            let pa = mem.alloc_large()?;
            k.map_2m(&mut mem, busy + i * LARGE, pa, KERNEL_DATA)?;
        }
    }
    // Other kernel regions (PFN database, system PTEs, paged pool, session space): one page each,
    // so the PML4 has as many kernel entries as a real one.
    for _ in 0..4 {
        let idx = pick(&mut rng, &mut used);
        let va = paging::canonical((idx << 39) | (rng.range(0, 0x1000) * LARGE));
        k.map_fresh(&mut mem, va, PAGE, KERNEL_DATA, false)?;
    }

    // No ObHeaderCookie before Windows 10: TypeIndex is stored plain (cookie 0 leaves it so).
    let cookie = if era.type_index_encoded {
        rng.range(1, 256) as u8
    } else {
        0
    };
    let mut pool = Pool::new(regions);
    pool.decoy_tag_bit = tag_bit;
    let mut cx = Ctx {
        l,
        era,
        mem,
        k,
        rng,
        pool,
        kernel_base,
        cookie,
    };
    kernel::write_kuser(&mut cx, sc, build_no)?;

    kernel::write_object_types(&mut cx)?;
    let (loaded, modules) = kernel::write_globals(&mut cx, sc, build_no, &image, plain_kdbg)?;
    let ks = cx.kernel_base;
    let (truths, head, system) = process::write_processes(&mut cx, sc)?;

    // ---- low stub (PROCESSOR_START_BLOCK) in the first MiB ----
    let low_stub = 0x13000u64;
    cx.mem.zero_page(low_stub);
    cx.mem.write_u64(low_stub, 0x0000_0001_0006_00E9);
    cx.mem
        .write_u64(low_stub + 0x70, kernel_base + entry_rva as u64);
    cx.mem.write_u64(low_stub + 0xA0, dtb);

    // ---- self-map, then every process PML4 shares the kernel half ----
    cx.k.set_pml4_entry(&mut cx.mem, self_ref, dtb | P | RW | ACCESSED | DIRTY | NX);
    for t in &truths {
        if t.dtb == dtb {
            continue;
        }
        let space = AddressSpace { pml4: t.dtb };
        for idx in 256..512 {
            let e = if idx == self_ref {
                t.dtb | P | RW | ACCESSED | DIRTY | NX
            } else {
                cx.k.pml4_entry(&cx.mem, idx)
            };
            space.set_pml4_entry(&mut cx.mem, idx, e);
        }
    }

    let nt_build_number = 0xF000_0000 | build_no;
    let truth = Truth {
        format: String::new(),
        memory_size: sc.memory_size,
        runs: cx.mem.runs.clone(),
        build: build_no,
        nt_build_number,
        pdb_name: pdb.database.clone(),
        pdb_guid: pdb.guid.clone(),
        pdb_age: pdb.age,
        isf_file: isf.source_name.clone(),
        kernel_base,
        kernel_base_pa: image.pa,
        kernel_size: image.size,
        dtb,
        self_ref_index: self_ref,
        low_stub_pa: low_stub,
        ps_active_process_head: head,
        ps_initial_system_process: system,
        ob_header_cookie: cookie,
        type_index_encoded: cx.era.type_index_encoded,
        process_type_index: PROCESS_TYPE_INDEX,
        system_time: sc.system_time,
        system_time_iso: filetime_iso(sc.system_time),
        processes: truths,
        modules: kernel::module_truth(&modules),
        paged_out: Vec::new(),
    };
    Ok(Built {
        ps_loaded_module_list: loaded,
        kd_debugger_data_block: ks + cx.l.sym("KdDebuggerDataBlock")?,
        mem: cx.mem,
        truth,
    })
}
