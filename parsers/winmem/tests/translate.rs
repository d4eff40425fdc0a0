//! Translation over hand-built page tables in a Vec.

use triage_physmem::{ContainerKind, PhysicalMemory, ReadOutcome, Segment, SegmentedMemory};
use triage_winmem::{translate, Arch, InvalidReason, PagedOutKind, Translation, VirtualMemory};

const PAGE: usize = 0x1000;

struct Img(Vec<u8>);

impl Img {
    fn new(pages: usize) -> Img {
        Img(vec![0u8; pages * PAGE])
    }
    fn q(&mut self, pa: u64, v: u64) {
        self.0[pa as usize..pa as usize + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn d(&mut self, pa: u64, v: u32) {
        self.0[pa as usize..pa as usize + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn raw(self) -> SegmentedMemory<Vec<u8>> {
        let len = self.0.len() as u64;
        SegmentedMemory::new(
            self.0,
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
}

fn idx(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * (level - 1))) & 0x1FF
}

const VA: u64 = 0xFFFF_F804_1234_5678;

/// PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000, data page 0x5000.
fn four_level() -> Img {
    let mut m = Img::new(0x400);
    m.q(0x1000 + idx(VA, 4) * 8, 0x2000 | 3);
    m.q(0x2000 + idx(VA, 3) * 8, 0x3000 | 3);
    m.q(0x3000 + idx(VA, 2) * 8, 0x4000 | 3);
    m.q(0x4000 + idx(VA, 1) * 8, 0x5000 | 3 | (1 << 63));
    m.0[0x5678] = 0xAB;
    m
}

#[test]
fn x64_4k_page() {
    let mem = four_level().raw();
    assert_eq!(
        translate(&mem, Arch::X64, 0x1000, VA),
        Translation::Mapped {
            paddr: 0x5678,
            page_size: 0x1000
        }
    );
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let mut b = [0u8; 1];
    assert_eq!(vm.read(VA, &mut b), ReadOutcome::Full);
    assert_eq!(b[0], 0xAB);
}

#[test]
fn x64_large_pages() {
    let mut m = Img::new(0x400);
    let va2m = 0xFFFF_F800_0020_0000u64 + 0x1234;
    m.q(0x1000 + idx(va2m, 4) * 8, 0x2000 | 3);
    m.q(0x2000 + idx(va2m, 3) * 8, 0x3000 | 3);
    m.q(0x3000 + idx(va2m, 2) * 8, 0x20_0000 | 3 | 0x80);
    let va1g = 0x0000_0040_0000_0000u64 + 0x5_6789;
    m.q(0x1000 + idx(va1g, 4) * 8, 0x6000 | 7);
    m.q(0x6000 + idx(va1g, 3) * 8, 3 | 0x80); // 1 GiB page at physical 0
    let mem = m.raw();
    assert_eq!(
        translate(&mem, Arch::X64, 0x1000, va2m),
        Translation::Mapped {
            paddr: 0x20_1234,
            page_size: 0x20_0000
        }
    );
    assert_eq!(
        translate(&mem, Arch::X64, 0x1000, va1g),
        Translation::Mapped {
            paddr: 0x5_6789,
            page_size: 1 << 30
        }
    );
}

#[test]
fn x64_software_ptes() {
    let mut m = four_level();
    let pte_at = 0x4000 + idx(VA, 1) * 8;
    let cases = [
        (0x5000u64 | (1 << 11), PagedOutKind::Transition),
        (1 << 10, PagedOutKind::Prototype),
        (0x0000_0123_0000_0080, PagedOutKind::Pagefile),
        (0x80, PagedOutKind::Demand),
    ];
    for (pte, kind) in cases {
        m.q(pte_at, pte);
        let mem = Img(m.0.clone()).raw();
        assert_eq!(
            translate(&mem, Arch::X64, 0x1000, VA),
            Translation::PagedOut {
                kind,
                pte,
                level: 1
            },
            "{kind:?}"
        );
    }
    // A transition page is read from its frame by default.
    m.q(pte_at, 0x5000 | (1 << 11));
    let mem = Img(m.0.clone()).raw();
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    assert_eq!(vm.read_exact(VA, 1), Some(vec![0xAB]));
    m.q(pte_at, 0);
    let mem = m.raw();
    assert_eq!(
        translate(&mem, Arch::X64, 0x1000, VA),
        Translation::NotPresent { level: 1 }
    );
}

#[test]
fn x64_table_in_a_hole_and_frame_beyond_image() {
    let m = four_level();
    // Drop page 0x3000 (the PD) from the container: a hole, not zeros.
    let data = m.0;
    let segs = vec![
        Segment {
            paddr: 0,
            file_offset: 0,
            len: 0x3000,
        },
        Segment {
            paddr: 0x4000,
            file_offset: 0x4000,
            len: data.len() as u64 - 0x4000,
        },
    ];
    let mem = SegmentedMemory::new(data.clone(), ContainerKind::Raw, segs, None, vec![]);
    assert_eq!(
        translate(&mem, Arch::X64, 0x1000, VA),
        Translation::Hole {
            paddr: 0x3000 + idx(VA, 2) * 8,
            level: 2
        }
    );
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let mut b = [0u8; 4];
    assert_eq!(vm.read(VA, &mut b), ReadOutcome::Absent);

    let mut m = Img(data);
    m.q(0x3000 + idx(VA, 2) * 8, 0x7_0000_0000 | 3);
    let mem = m.raw();
    assert!(matches!(
        translate(&mem, Arch::X64, 0x1000, VA),
        Translation::Invalid {
            reason: InvalidReason::FrameBeyondImage,
            level: 2,
            ..
        }
    ));
}

#[test]
fn x64_self_loop_terminates() {
    // Every entry of the PML4 points back at the PML4: the walk is fixed-depth.
    let mut m = Img::new(4);
    for i in 0..512 {
        m.q(0x1000 + i * 8, 0x1000 | 3);
    }
    let mem = m.raw();
    for va in [0u64, VA, 0xFFFF_FFFF_FFFF_F000] {
        assert_eq!(
            translate(&mem, Arch::X64, 0x1000, va),
            Translation::Mapped {
                paddr: 0x1000 + (va & 0xFFF),
                page_size: 0x1000
            }
        );
    }
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let mut big = vec![0u8; 0x10000];
    assert_eq!(vm.read(0x7FFF_0000, &mut big), ReadOutcome::Full);
}

#[test]
fn x64_non_canonical_is_invalid() {
    let mem = four_level().raw();
    assert!(matches!(
        translate(&mem, Arch::X64, 0x1000, 0x0000_9000_0000_0000),
        Translation::Invalid {
            reason: InvalidReason::NonCanonical,
            ..
        }
    ));
}

#[test]
fn partial_virtual_read_reports_the_unmapped_page() {
    let mem = four_level().raw();
    let vm = VirtualMemory::new(&mem, Arch::X64, 0x1000);
    let page = VA & !0xFFF;
    let mut b = vec![0u8; 0x2000];
    match vm.read(page, &mut b) {
        ReadOutcome::Partial { holes } => {
            assert_eq!(holes.len(), 1);
            assert_eq!(
                (holes[0].start, holes[0].end),
                (page + 0x1000, page + 0x2000)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b[0x678], 0xAB);
}

#[test]
fn x86_pae() {
    let mut m = Img::new(0x40);
    let va = 0x8123_4567u64;
    // PDPT at 0x1020 (32-byte aligned), PD 0x2000, PT 0x3000, page 0x4000.
    m.q(0x1020 + ((va >> 30) & 3) * 8, 0x2000 | 1);
    m.q(0x2000 + ((va >> 21) & 0x1FF) * 8, 0x3000 | 3);
    m.q(0x3000 + ((va >> 12) & 0x1FF) * 8, 0x4000 | 3);
    let va_large = 0xC060_0010u64;
    m.q(0x1020 + ((va_large >> 30) & 3) * 8, 0x5000 | 1);
    m.q(0x5000 + ((va_large >> 21) & 0x1FF) * 8, 0x20_0000 | 0x83);
    let mem = Img(m.0).raw();
    assert_eq!(
        translate(&mem, Arch::X86Pae, 0x1020, va),
        Translation::Mapped {
            paddr: 0x4567,
            page_size: 0x1000
        }
    );
    // The large page's frame is beyond this 256 KiB image.
    assert!(matches!(
        translate(&mem, Arch::X86Pae, 0x1020, va_large),
        Translation::Invalid { .. }
    ));
    assert_eq!(
        translate(&mem, Arch::X86Pae, 0x1020, 0x0000_1000),
        Translation::NotPresent { level: 3 }
    );
}

#[test]
fn x86_non_pae() {
    let mut m = Img::new(0x800);
    let va = 0x8012_3456u64;
    m.d(0x1000 + (va >> 22) * 4, 0x2000 | 3);
    m.d(0x2000 + ((va >> 12) & 0x3FF) * 4, 0x3000 | 3);
    let va4m = 0x0040_1234u64;
    m.d(0x1000 + (va4m >> 22) * 4, 0x40_0000 | 0x83);
    let mem = m.raw();
    assert_eq!(
        translate(&mem, Arch::X86, 0x1000, va),
        Translation::Mapped {
            paddr: 0x3456,
            page_size: 0x1000
        }
    );
    assert_eq!(
        translate(&mem, Arch::X86, 0x1000, va4m),
        Translation::Mapped {
            paddr: 0x40_1234,
            page_size: 0x40_0000
        }
    );
    let vm = VirtualMemory::new(&mem, Arch::X86, 0x1000);
    assert_eq!(vm.read_ptr(va), Some(0));
}

#[test]
fn hostile_tables_never_panic() {
    // Pseudo-random page-table bytes: every translation must return, whatever it says.
    let mut m = Img::new(16);
    let mut x = 0x1234_5678_9abc_def1u64;
    for chunk in m.0.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&(x & 0x8000_0000_0000_FFFF | (x & 0xF000)).to_le_bytes());
    }
    let mem = m.raw();
    for arch in [Arch::X64, Arch::X86Pae, Arch::X86] {
        for i in 0..2000u64 {
            let va = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let _ = translate(&mem, arch, 0x1000, va);
            let _ = translate(&mem, arch, 0xFFFF_FFFF_FFFF_F000, va);
        }
    }
    assert!(mem.size_hint() > 0);
}
