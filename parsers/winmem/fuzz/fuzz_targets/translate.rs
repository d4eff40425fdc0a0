#![no_main]
//! Fuzzed bytes are physical memory (page tables included); the first 16 bytes choose
//! the DTB and the virtual address. Translation and reads must never panic or hang.
use libfuzzer_sys::fuzz_target;
use triage_physmem::{ContainerKind, Segment, SegmentedMemory};
use triage_winmem::{translate, Arch, VirtualMemory};

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let dtb = u64::from_le_bytes(data[..8].try_into().unwrap()) % (data.len() as u64 + 0x2000);
    let va = u64::from_le_bytes(data[8..16].try_into().unwrap());
    let mem = data[16..].to_vec();
    let len = mem.len() as u64;
    // Put a hole in the middle so table walks also meet absent pages.
    let segs = vec![
        Segment { paddr: 0, file_offset: 0, len: len / 2 },
        Segment { paddr: len / 2 + 0x3000, file_offset: len / 2, len: len - len / 2 },
    ];
    let phys = SegmentedMemory::new(mem, ContainerKind::Raw, segs, None, vec![]);
    for arch in [Arch::X64, Arch::X86Pae, Arch::X86] {
        let _ = translate(&phys, arch, dtb, va);
        let vm = VirtualMemory::new(&phys, arch, dtb);
        let mut buf = [0u8; 0x1800];
        let _ = vm.read(va, &mut buf);
    }
    let _ = triage_winmem::is_kernel_pml4(data, 0x1000, len);
    let _ = triage_winmem::parse_rsds(data);
});
