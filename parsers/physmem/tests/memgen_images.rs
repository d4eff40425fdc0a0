//! Containers written by triage-memgen (from the real ISFs in shared/symbols): every
//! format must expose the same physical bytes where RAM is, and holes where it is not.

mod common;

use std::io::BufWriter;

use triage_memgen::{generate, resolve_isf, Format, Scenario};
use triage_physmem::{open, ContainerKind, PhysicalMemory, ReadOutcome};

#[test]
fn raw_crash_and_elf_agree_page_for_page() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sc = Scenario::clean_boot(19041);
    let isf = resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let mut images = Vec::new();
    for format in [Format::Raw, Format::CrashDump64, Format::ElfCore] {
        let path = tmp.path().join(format.name());
        let truth = generate(
            &sc,
            &isf,
            &mut BufWriter::new(std::fs::File::create(&path).unwrap()),
            format,
        )
        .unwrap();
        images.push((open(&path).unwrap(), truth));
    }
    let kinds: Vec<ContainerKind> = images.iter().map(|(m, _)| m.kind()).collect();
    assert_eq!(
        kinds,
        [
            ContainerKind::Raw,
            ContainerKind::CrashDump64,
            ContainerKind::ElfCore
        ]
    );
    let truth = &images[0].1;
    let (raw, crash, elf) = (&images[0].0, &images[1].0, &images[2].0);
    // The crash dump header carries the generator's facts.
    let h = crash.crash_header().unwrap();
    assert_eq!(
        (h.directory_table_base, h.minor_version, h.system_time),
        (truth.dtb, truth.build, truth.system_time)
    );
    assert_eq!(h.ps_active_process_head, truth.ps_active_process_head);
    // The kernel image starts with MZ at its physical base in every container.
    for m in [raw, crash, elf] {
        assert_eq!(&m.page(truth.kernel_base_pa).unwrap()[..2], b"MZ");
    }
    // Every RAM page reads the same in all three; page 0 is a hole in the crash dump.
    for &(s, e) in &truth.runs {
        for pa in (s..e).step_by(0x1000 * 97) {
            let want = raw.page(pa).unwrap();
            assert_eq!(crash.page(pa).unwrap(), want, "crash {pa:#x}");
            assert_eq!(elf.page(pa).unwrap(), want, "elf {pa:#x}");
        }
    }
    let mut b = [0u8; 8];
    assert_eq!(crash.read(0, &mut b), ReadOutcome::Absent);
    assert_eq!(crash.read(0xA0000, &mut b), ReadOutcome::Absent);
    assert_eq!(
        raw.read(0xA0000, &mut b),
        ReadOutcome::Full,
        "a raw image has no holes"
    );
}
