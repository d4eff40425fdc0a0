//! `open()` on tiny hand-built files of each container kind, in a temporary directory.

use std::path::Path;

use triage_physmem::{open, ContainerKind, PhysmemError, Range, ReadOutcome};

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn elf_core(loads: &[(u64, &[u8])]) -> Vec<u8> {
    let phnum = loads.len();
    let data_start = 64 + 56 * phnum;
    let mut h = vec![0u8; data_start];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4..8].copy_from_slice(&[2, 1, 1, 0]);
    h[16..18].copy_from_slice(&4u16.to_le_bytes());
    h[18..20].copy_from_slice(&62u16.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[32..40].copy_from_slice(&64u64.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes());
    h[54..56].copy_from_slice(&56u16.to_le_bytes());
    h[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
    let mut off = data_start as u64;
    let mut body = Vec::new();
    for (i, (paddr, data)) in loads.iter().enumerate() {
        let p = 64 + 56 * i;
        h[p..p + 4].copy_from_slice(&1u32.to_le_bytes());
        h[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
        h[p + 24..p + 32].copy_from_slice(&paddr.to_le_bytes());
        h[p + 32..p + 40].copy_from_slice(&(data.len() as u64).to_le_bytes());
        h[p + 40..p + 48].copy_from_slice(&(data.len() as u64).to_le_bytes());
        off += data.len() as u64;
        body.extend_from_slice(data);
    }
    h.extend(body);
    h
}

#[test]
fn raw_file_is_physical_memory_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = vec![0u8; 0x3000];
    data[0x2001] = 9;
    let m = open(&write(dir.path(), "a.raw", &data)).unwrap();
    assert_eq!(m.kind(), ContainerKind::Raw);
    assert_eq!(
        m.ranges(),
        &[Range {
            start: 0,
            end: 0x3000
        }]
    );
    assert_eq!(m.page(0x2000).unwrap()[1], 9);
}

#[test]
fn elf_core_maps_p_paddr_with_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    let low = vec![1u8; 0x1000];
    let high = vec![2u8; 0x2000];
    let f = elf_core(&[(0, &low), (0x10_0000, &high)]);
    let m = open(&write(dir.path(), "vm.elf", &f)).unwrap();
    assert_eq!(m.kind(), ContainerKind::ElfCore);
    assert_eq!(
        m.ranges(),
        &[
            Range {
                start: 0,
                end: 0x1000
            },
            Range {
                start: 0x10_0000,
                end: 0x10_2000
            }
        ]
    );
    let mut b = [0u8; 2];
    assert_eq!(
        m.read(0x10_1fff, &mut b),
        ReadOutcome::Partial {
            holes: vec![Range {
                start: 0x10_2000,
                end: 0x10_2001
            }]
        }
    );
    assert_eq!(m.read(0x5000, &mut b), ReadOutcome::Absent);
}

#[test]
fn corrupt_elf_program_header_table_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = elf_core(&[(0, &[0u8; 0x1000])]);
    f[32..40].copy_from_slice(&0xFFFF_FFFFu64.to_le_bytes()); // e_phoff past the end
    assert!(matches!(
        open(&write(dir.path(), "bad.elf", &f)),
        Err(PhysmemError::Elf { .. })
    ));
}

#[test]
fn lime_file_via_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Vec::new();
    for (start, fill) in [(0u64, 3u8), (0x20_0000, 4)] {
        f.extend_from_slice(b"EMiL");
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&start.to_le_bytes());
        f.extend_from_slice(&(start + 0xFFF).to_le_bytes());
        f.extend_from_slice(&[0u8; 8]);
        f.extend(std::iter::repeat_n(fill, 0x1000));
    }
    let m = open(&write(dir.path(), "mem.lime", &f)).unwrap();
    assert_eq!(m.kind(), ContainerKind::Lime);
    assert_eq!(m.page(0x20_0000).unwrap()[0], 4);
}

#[test]
fn corrupt_crash_header_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = b"PAGE".repeat(0x800);
    h[..8].copy_from_slice(b"PAGEDU64");
    h[0xF98..0xF9C].copy_from_slice(&1u32.to_le_bytes());
    h[0x88..0x8C].copy_from_slice(&0x4547_4150u32.to_le_bytes()); // run count left as "PAGE"
    assert!(matches!(
        open(&write(dir.path(), "c.dmp", &h)),
        Err(PhysmemError::CountTooLarge { .. })
    ));
    assert!(matches!(
        open(&write(dir.path(), "short.dmp", &h[..0x800])),
        Err(PhysmemError::Truncated { .. })
    ));
}

#[test]
fn vmem_with_vmss_beside_it_uses_the_region_table() {
    let dir = tempfile::tempdir().unwrap();
    // vmss with two regions: pages 0-1 at guest 0, page 2 at guest 4 GiB.
    let mut vmss = Vec::new();
    vmss.extend_from_slice(&0xbed2_bed2u32.to_le_bytes());
    vmss.extend_from_slice(&0u32.to_le_bytes());
    vmss.extend_from_slice(&1u32.to_le_bytes());
    let group_at = vmss.len();
    vmss.resize(group_at + 80, 0);
    vmss[group_at..group_at + 6].copy_from_slice(b"memory");
    let tags_at = vmss.len() as u64;
    vmss[group_at + 64..group_at + 72].copy_from_slice(&tags_at.to_le_bytes());
    let mut tag = |name: &str, index: Option<u32>, v: u32| {
        vmss.push(4 | if index.is_some() { 0x40 } else { 0 });
        vmss.push(name.len() as u8);
        vmss.extend_from_slice(name.as_bytes());
        if let Some(i) = index {
            vmss.extend_from_slice(&i.to_le_bytes());
        }
        vmss.extend_from_slice(&v.to_le_bytes());
    };
    tag("regionsCount", None, 2);
    for (i, (ppn, page, size)) in [(0u32, 0u32, 2u32), (0x10_0000, 2, 1)]
        .into_iter()
        .enumerate()
    {
        tag("regionPPN", Some(i as u32), ppn);
        tag("regionPageNum", Some(i as u32), page);
        tag("regionSize", Some(i as u32), size);
    }
    vmss.extend_from_slice(&[0, 0]);
    let mut vmem = vec![0u8; 0x3000];
    vmem[0x2000] = 0x77;
    let vmem_path = write(dir.path(), "guest.vmem", &vmem);
    // Without the state file: raw.
    assert_eq!(open(&vmem_path).unwrap().kind(), ContainerKind::Raw);
    write(dir.path(), "guest.vmss", &vmss);
    let m = open(&vmem_path).unwrap();
    assert_eq!(m.kind(), ContainerKind::VmwareVmem);
    assert_eq!(
        m.ranges(),
        &[
            Range {
                start: 0,
                end: 0x2000
            },
            Range {
                start: 0x1_0000_0000,
                end: 0x1_0000_1000
            }
        ]
    );
    assert_eq!(m.page(0x1_0000_0000).unwrap()[0], 0x77);
    // Opening the state file opens the memory beside it.
    assert_eq!(
        open(&dir.path().join("guest.vmss")).unwrap().kind(),
        ContainerKind::VmwareVmem
    );
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        open(&write(dir.path(), "e.raw", &[])),
        Err(PhysmemError::Empty)
    ));
}
