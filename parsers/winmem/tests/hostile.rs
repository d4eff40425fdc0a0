//! Hostile images: cyclic process lists, garbage memory. Errors, never panics or hangs.

use triage_physmem::{ContainerKind, Segment, SegmentedMemory};
use triage_winmem::mem_info;

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
    SegmentedMemory::new(
        m,
        ContainerKind::Raw,
        vec![Segment {
            paddr: 0,
            file_offset: 0,
            len,
        }],
        None,
        vec![],
    )
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
