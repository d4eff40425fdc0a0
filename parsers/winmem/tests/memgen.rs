//! mem_info over images written by triage-memgen (raw, crash dump, ELF core) for several
//! builds: every fact must equal the generator's Truth.

mod common;

use std::fs::File;
use std::io::BufWriter;

use triage_memgen::{generate, resolve_isf, Format, Scenario, Truth};
use triage_winmem::{mem_info_path, DtbSource, LayoutSource, MemInfo};

fn image(build: u32, format: Format, dir: &std::path::Path) -> Option<(std::path::PathBuf, Truth)> {
    let symbols = common::symbols_dir()?;
    let sc = Scenario::clean_boot(build);
    let isf = resolve_isf(&sc, &symbols).unwrap();
    let path = dir.join(format!("img-{build}-{}", format.name()));
    let mut out = BufWriter::new(File::create(&path).unwrap());
    let truth = generate(&sc, &isf, &mut out, format).unwrap();
    drop(out);
    Some((path, truth))
}

fn check(info: &MemInfo, t: &Truth) {
    let dtb = info.dtb.expect("dtb");
    assert_eq!(dtb.dtb & !0xFFF, t.dtb & !0xFFF, "dtb");
    assert_eq!(info.kernel_base, Some(t.kernel_base), "kernel base");
    let pdb = info.pdb.as_ref().expect("pdb");
    assert_eq!(
        (pdb.guid.as_str(), pdb.age),
        (t.pdb_guid.as_str(), t.pdb_age)
    );
    assert!(pdb.pdb_name.eq_ignore_ascii_case(&t.pdb_name));
    assert_eq!(info.build, Some(t.build), "build");
    assert_eq!(info.nt_build_number_raw, Some(t.nt_build_number));
    assert_eq!(info.ps_active_process_head, Some(t.ps_active_process_head));
    assert_eq!(info.dump_time, Some(t.system_time));
    let sys = t
        .processes
        .iter()
        .find(|p| p.pid == 4)
        .expect("System in truth");
    assert_eq!(info.system_eprocess, Some(sys.eprocess_va));
    if info.container == triage_physmem::ContainerKind::Raw {
        // A raw image stores the holes too (as zeros): everything up to the top is present.
        assert_eq!(info.present_bytes, info.physical_size);
        assert_eq!(info.physical_size, t.runs.last().unwrap().1);
    } else if info.container == triage_physmem::ContainerKind::CrashDump64 {
        let ranges: Vec<(u64, u64)> = info.ranges.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(ranges, t.runs, "RAM runs");
        assert_eq!(info.hole_count, t.runs.iter().filter(|r| r.0 > 0).count());
    } else {
        // ELF cores split at RAM-block edges (QEMU style), which may be wider than the
        // RAM runs: every RAM byte must be present, and the legacy hole must be absent.
        for &(s, e) in &t.runs {
            assert!(
                info.ranges.iter().any(|r| r.start <= s && e <= r.end),
                "run {s:#x}-{e:#x} not present"
            );
        }
        assert!(info.hole_count >= 1);
    }
}

#[test]
fn mem_info_matches_truth_raw_crash_elf() {
    let tmp = tempfile::tempdir().unwrap();
    for build in [14393u32, 17763, 19041, 22000] {
        for format in [Format::Raw, Format::CrashDump64, Format::ElfCore] {
            let Some((path, truth)) = image(build, format, tmp.path()) else {
                return;
            };
            let info = mem_info_path(&path, None).unwrap();
            check(&info, &truth);
            assert!(
                matches!(info.layout_source, Some(LayoutSource::Builtin { .. })),
                "{:?}",
                info.layout_source
            );
            match format {
                Format::CrashDump64 => {
                    assert_eq!(info.dtb.unwrap().source, DtbSource::CrashDumpHeader);
                    assert_eq!(info.crash_header_build, Some(truth.build));
                    assert_eq!(
                        info.number_processors,
                        Some(Scenario::clean_boot(build).processors)
                    );
                }
                _ => assert_eq!(info.dtb.unwrap().source, DtbSource::LowStub),
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn symbols_dir_layout_and_discovery() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((path, truth)) = image(19041, Format::Raw, tmp.path()) else {
        return;
    };
    let symbols = common::symbols_dir().unwrap();
    let info = mem_info_path(&path, Some(&symbols)).unwrap();
    check(&info, &truth);
    assert!(matches!(
        info.layout_source,
        Some(LayoutSource::SymbolsDir { .. })
    ));
    // Discovery from the image alone must agree with the ISF on what it finds.
    let phys = triage_physmem::open(&path).unwrap();
    let vm = triage_winmem::VirtualMemory::new(phys.as_ref(), triage_winmem::Arch::X64, truth.dtb);
    let found = triage_winmem::discover_x64(&vm, info.system_eprocess.unwrap()).expect("discovery");
    let isf = info.layout.unwrap();
    assert_eq!(
        found.eprocess_unique_process_id,
        isf.eprocess_unique_process_id
    );
    assert_eq!(
        found.eprocess_active_process_links,
        isf.eprocess_active_process_links
    );
    assert_eq!(found.eprocess_image_file_name, isf.eprocess_image_file_name);
    assert_eq!(
        found.eprocess_inherited_from_unique_process_id,
        isf.eprocess_inherited_from_unique_process_id
    );
    for (name, v) in [
        ("token", found.eprocess_token),
        ("audit", found.eprocess_se_audit_process_creation_info),
    ] {
        if v.is_some() {
            let want = if name == "token" {
                isf.eprocess_token
            } else {
                isf.eprocess_se_audit_process_creation_info
            };
            assert_eq!(v, want, "{name}");
        }
    }
}

#[test]
fn self_map_scan_finds_the_dtb_without_low_stub() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((path, truth)) = image(22000, Format::Raw, tmp.path()) else {
        return;
    };
    let phys = triage_physmem::open(&path).unwrap();
    let found = triage_winmem::scan_self_map(phys.as_ref(), 4);
    assert!(
        found.contains(&(truth.dtb & !0xFFF)),
        "{found:x?} vs {:#x}",
        truth.dtb
    );
    let vm = triage_winmem::VirtualMemory::new(phys.as_ref(), triage_winmem::Arch::X64, truth.dtb);
    let k = triage_winmem::scan_page_tables(&vm).expect("kernel by page-table scan");
    assert_eq!(k.base, truth.kernel_base);
}

/// Patches a raw image so the kernel's GUID is unknown (and optionally its build too),
/// forcing the by-build and discovery layout sources.
#[test]
fn unknown_guid_falls_back_to_build_then_discovery() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((path, truth)) = image(19041, Format::Raw, tmp.path()) else {
        return;
    };
    let mut bytes = std::fs::read(&path).unwrap();
    // The RSDS record: "RSDS" then the GUID in its stored (little-endian Data1-3) form.
    let guid_hex = &truth.pdb_guid;
    let mut stored = Vec::new();
    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
    stored.extend_from_slice(&(hex(&guid_hex[0..8]) as u32).to_le_bytes());
    stored.extend_from_slice(&(hex(&guid_hex[8..12]) as u16).to_le_bytes());
    stored.extend_from_slice(&(hex(&guid_hex[12..16]) as u16).to_le_bytes());
    for i in 0..8 {
        stored.push(hex(&guid_hex[16 + 2 * i..18 + 2 * i]) as u8);
    }
    let mut needle = b"RSDS".to_vec();
    needle.extend_from_slice(&stored);
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("RSDS record in the image");
    bytes[at + 4] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();

    let info = mem_info_path(&path, None).unwrap();
    assert_eq!(info.build, Some(19041));
    assert!(matches!(
        info.layout_source,
        Some(LayoutSource::Builtin {
            matched_by: triage_winmem::BuiltinMatch::BuildNumber,
            ..
        })
    ));
    let by_build = info.layout.clone().unwrap();
    assert_eq!(
        by_build.symbols,
        triage_winmem::KernelSymbols::default(),
        "RVAs of another revision are not used"
    );
    let sys = truth.processes.iter().find(|p| p.pid == 4).unwrap();
    assert_eq!(
        info.system_eprocess,
        Some(sys.eprocess_va),
        "PsInitialSystemProcess from the export table"
    );

    // Now make the build unknown too: discovery must find the EPROCESS basics.
    let phys = triage_physmem::open(&path).unwrap();
    let vm = triage_winmem::VirtualMemory::new(phys.as_ref(), triage_winmem::Arch::X64, truth.dtb);
    let kernel = triage_winmem::identify_kernel(
        &vm,
        truth.kernel_base,
        triage_winmem::KernelSource::PageTableScan,
    )
    .unwrap();
    let nt_build = triage_winmem::export_address(&vm, &kernel.pe, "NtBuildNumber").unwrap();
    let pa = vm.resolve(nt_build).unwrap() as usize;
    drop(phys);
    bytes[pa..pa + 4].copy_from_slice(&(0xF000_0000u32 | 12345).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let info = mem_info_path(&path, None).unwrap();
    assert_eq!(info.build, Some(12345));
    assert_eq!(info.layout_source, Some(LayoutSource::Discovered));
    let found = info.layout.unwrap();
    assert_eq!(
        found.eprocess_unique_process_id,
        by_build.eprocess_unique_process_id
    );
    assert_eq!(
        found.eprocess_active_process_links,
        by_build.eprocess_active_process_links
    );
    assert_eq!(
        found.eprocess_image_file_name,
        by_build.eprocess_image_file_name
    );
    assert_eq!(
        found.eprocess_inherited_from_unique_process_id,
        by_build.eprocess_inherited_from_unique_process_id
    );
    assert_eq!(found.eprocess_token, by_build.eprocess_token);
}
