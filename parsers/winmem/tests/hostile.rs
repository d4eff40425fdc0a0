//! Hostile images: cyclic process lists, garbage memory. Errors, never panics or hangs.

use triage_physmem::{ContainerKind, Segment, SegmentedMemory};
use triage_winmem::{mem_info, walk_active_processes, Arch, Layout, VirtualMemory};

/// Every PML4 entry points at the PML4 itself, so every virtual address maps into the
/// page at 0x1000 (at its page offset).
fn self_looped() -> Vec<u8> {
    let mut m = vec![0u8; 0x4000];
    for i in 0..512 {
        m[0x1000 + i * 8..0x1000 + i * 8 + 8].copy_from_slice(&(0x1000u64 | 3).to_le_bytes());
    }
    m
}

fn raw(m: Vec<u8>) -> SegmentedMemory<Vec<u8>> {
    let len = m.len() as u64;
    SegmentedMemory::new(m, ContainerKind::Raw, vec![Segment { paddr: 0, file_offset: 0, len }], None, vec![])
}

#[test]
fn cyclic_process_list_stops_with_an_error() {
    // Low virtual addresses use only entry 0 at every level, so list entries can live
    // elsewhere in the page: head 0x100 -> A 0x200 -> B 0x300 -> A (never back to head).
    let mut m = self_looped();
    for (at, flink) in [(0x100u64, 0x200u64), (0x200, 0x300), (0x300, 0x200)] {
        let a = (0x1000 + at) as usize;
        m[a..a + 8].copy_from_slice(&flink.to_le_bytes());
    }
    let mem = raw(m);
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let layout = Layout {
        eprocess_active_process_links: Some(0x8),
        eprocess_unique_process_id: Some(0x0),
        eprocess_image_file_name: Some(0x20),
        ..Layout::default()
    };
    let walk = walk_active_processes(&vm, &layout, 0x100);
    assert_eq!(walk.processes.len(), 2);
    assert!(walk.errors.iter().any(|e| e.contains("cycle")), "{:?}", walk.errors);
}

#[test]
fn mem_info_on_garbage_reports_warnings() {
    let mut m = vec![0u8; 0x20_0000];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for c in m.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes());
    }
    let mem = raw(m);
    let info = mem_info(&mem, None);
    assert!(info.dtb.is_none());
    assert!(!info.warnings.is_empty());
    // A self-looped PML4 is not a kernel PML4 (no supervisor kernel tables beside it).
    let info = mem_info(&raw(self_looped()), None);
    assert!(info.kernel_base.is_none());
}

#[test]
fn huge_token_group_count_is_an_error() {
    let mut m = self_looped();
    let token = 0x400u64;
    let put = |m: &mut Vec<u8>, va: u64, v: &[u8]| {
        let a = 0x1000 + va as usize;
        m[a..a + v.len()].copy_from_slice(v);
    };
    put(&mut m, token + 0x98, &0x600u64.to_le_bytes());
    put(&mut m, token + 0x7c, &u32::MAX.to_le_bytes());
    let mem = raw(m);
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let layout = Layout { token_user_and_groups: Some(0x98), token_user_and_group_count: Some(0x7c), ..Layout::default() };
    let t = triage_winmem::read_token(&vm, &layout, token);
    assert!(t.sids.is_empty());
    assert!(t.errors.iter().any(|e| e.contains("exceeds")), "{:?}", t.errors);
}
