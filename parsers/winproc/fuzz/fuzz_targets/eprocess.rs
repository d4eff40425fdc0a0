#![no_main]
//! Fuzzed bytes are a physical image read with the Windows 10 19041 layout; the first
//! 32 bytes choose the DTB, PsActiveProcessHead, System's EPROCESS and the type key.
//! The walk, the scan, token/PEB reads and the structural check must never panic or hang.
use libfuzzer_sys::fuzz_target;
use triage_physmem::{ContainerKind, Segment, SegmentedMemory};
use triage_winproc::{check_eprocess, processes_with, KernelStart, ProcLayout, ProcOptions};

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let word = |i: usize| u64::from_le_bytes(data[i * 8..i * 8 + 8].try_into().unwrap());
    let Some(entry) = triage_winmem::builtin_layouts()
        .iter()
        .find(|e| e.build == 19041)
    else {
        return;
    };
    let Ok(layout) = ProcLayout::from_layout(&entry.layout, Some(19041)) else {
        return;
    };
    let mem = data[32..].to_vec();
    let len = mem.len() as u64;
    let _ = check_eprocess(&mem, &layout, len);
    let start = KernelStart {
        dtb: word(0) % (len + 0x2000),
        ps_active_process_head: Some(word(1)),
        system_eprocess: Some(word(2)),
        ob_header_cookie: Some(data[24]),
    };
    // A hole in the middle so reads also meet absent pages.
    let segs = vec![
        Segment {
            paddr: 0,
            file_offset: 0,
            len: len / 2,
        },
        Segment {
            paddr: len / 2 + 0x3000,
            file_offset: len / 2,
            len: len - len / 2,
        },
    ];
    let phys = SegmentedMemory::new(mem, ContainerKind::Raw, segs, None, vec![]);
    let opts = ProcOptions {
        scan: true,
        max_list_entries: 256,
    };
    let _ = processes_with(&phys, &start, &layout, &opts);
});
