//! Every process the generator placed (whose output agrees with Volatility 3's pslist,
//! psscan, getsids and cmdline) must come back with the same facts, for three real
//! kernel builds and two containers.

mod common;
mod scenarios;

use triage_memgen::{Format, ProcessTruth, Scenario, Truth};
use triage_winproc::{
    processes, FoundBy, MemString, ProcOptions, ProcessFacts, ProcessList, TokenType,
};

const BUILDS: [u32; 3] = [17763, 19041, 22000];
const FORMATS: [Format; 2] = [Format::Raw, Format::CrashDump64];

fn run(sc: &Scenario, format: Format, opts: &ProcOptions) -> Option<(ProcessList, Truth)> {
    let tmp = tempfile::tempdir().unwrap();
    let (path, truth) = common::generate_image(sc, format, tmp.path(), "img")?;
    let phys = triage_physmem::open(&path).unwrap();
    let info = triage_winmem::mem_info(phys.as_ref(), None);
    let list = processes(phys.as_ref(), &info, opts).expect("processes");
    Some((list, truth))
}

fn expect_string(got: &MemString, want: &str, t: &ProcessTruth, what: &str) {
    if t.peb_paged_out {
        assert!(
            matches!(got, MemString::Unavailable { what: "PEB", .. }),
            "pid {} {what}: {got:?}",
            t.pid
        );
    } else if t.peb_va == 0 {
        assert_eq!(got, &MemString::Absent, "pid {} {what}", t.pid);
    } else {
        assert_eq!(got.value(), Some(want), "pid {} {what}", t.pid);
    }
}

fn check_process(p: &ProcessFacts, t: &ProcessTruth, scanned: bool) {
    let ctx = format!("pid {} ({})", t.pid, t.name);
    assert_eq!((p.pid, p.ppid), (t.pid, t.ppid), "{ctx}");
    let name = t.name.as_bytes();
    assert_eq!(p.image_file_name_raw, &name[..name.len().min(15)], "{ctx}");
    assert_eq!(p.image_file_name, t.image_file_name, "{ctx}");
    let image_path = (!t.image_path.is_empty()).then(|| t.image_path.clone());
    assert_eq!(p.image_path, image_path, "{ctx}");
    expect_string(&p.peb_image_path, &t.peb_image_path, t, "PEB image path");
    expect_string(&p.command_line, &t.command_line, t, "command line");
    assert_eq!(p.session_id, t.session_id, "{ctx}");
    assert_eq!(p.create_time.filetime, t.create_time, "{ctx}");
    assert_eq!(p.create_time.iso, t.create_time_iso, "{ctx}");
    assert_eq!(
        p.exit_time.as_ref().map(|x| x.filetime),
        t.exit_time,
        "{ctx}"
    );
    assert_eq!(
        p.exit_time.as_ref().map(|x| x.iso.clone()),
        t.exit_time_iso,
        "{ctx}"
    );
    assert_eq!(p.wow64, t.wow64, "{ctx}");
    assert_eq!(p.eprocess_pa, Some(t.eprocess_pa), "{ctx}");
    assert_eq!(p.eprocess_va, Some(t.eprocess_va), "{ctx}");
    assert_eq!(p.dtb, t.dtb & !0xFFF, "{ctx}");
    let tok = p
        .token
        .as_ref()
        .unwrap_or_else(|| panic!("{ctx}: no token"));
    assert_eq!(tok.address, t.token_va, "{ctx}");
    assert_eq!(
        tok.user.as_ref().map(|u| u.sid.as_str()),
        Some(t.user_sid.as_str()),
        "{ctx}"
    );
    let sids: Vec<&str> = tok
        .user
        .iter()
        .chain(&tok.groups)
        .map(|g| g.sid.as_str())
        .collect();
    assert_eq!(
        sids,
        t.sids.iter().map(String::as_str).collect::<Vec<_>>(),
        "{ctx}"
    );
    assert_eq!(
        tok.integrity_sid.as_deref(),
        Some(t.integrity_sid.as_str()),
        "{ctx}"
    );
    assert_eq!(tok.logon_id, Some(t.logon_id), "{ctx}");
    assert_eq!(tok.token_type, Some(TokenType::Primary), "{ctx}");
    assert_eq!(tok.privileges_present, Some(t.privileges_present), "{ctx}");
    assert_eq!(tok.privileges_enabled, Some(t.privileges_enabled), "{ctx}");
    assert_eq!(
        tok.privileges.len() as u32,
        t.privileges_present.count_ones(),
        "{ctx}"
    );
    for pr in &tok.privileges {
        assert_eq!(
            pr.enabled,
            t.privileges_enabled >> pr.luid & 1 == 1,
            "{ctx} privilege {}",
            pr.luid
        );
    }
    let found_by = match (t.linked_in_active_list, scanned) {
        (true, true) => FoundBy::Both,
        (true, false) => FoundBy::List,
        (false, _) => FoundBy::Scan,
    };
    assert_eq!(p.found_by, found_by, "{ctx}");
    assert_eq!(
        p.hiding_candidate,
        !t.linked_in_active_list && t.exit_time.is_none(),
        "{ctx}"
    );
    assert!(p.warnings.is_empty(), "{ctx}: {:?}", p.warnings);
}

fn check_all(list: &ProcessList, truth: &Truth, scanned: bool) {
    let expected: Vec<&ProcessTruth> = truth
        .processes
        .iter()
        .filter(|t| scanned || t.linked_in_active_list)
        .collect();
    assert_eq!(
        list.processes.len(),
        expected.len(),
        "process count; warnings {:?}",
        list.warnings
    );
    for t in expected {
        let p = list
            .processes
            .iter()
            .find(|p| p.eprocess_pa == Some(t.eprocess_pa))
            .unwrap_or_else(|| panic!("pid {} ({}) not found", t.pid, t.name));
        check_process(p, t, scanned);
    }
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    assert!(list.stats.list_complete);
    assert_eq!(
        list.stats.list_count,
        truth
            .processes
            .iter()
            .filter(|t| t.linked_in_active_list)
            .count()
    );
    if scanned {
        assert_eq!(
            list.stats.process_type_index,
            Some(truth.process_type_index),
            "process type index"
        );
        assert_eq!(
            list.stats.type_key,
            Some(truth.process_type_index ^ truth.ob_header_cookie)
        );
        assert_eq!(
            list.stats.scan_hits,
            truth.processes.len(),
            "no decoy accepted"
        );
        // A raw image stores the firmware holes as zeros; the other containers leave them out.
        let ram: u64 = truth.runs.iter().map(|r| r.1 - r.0).sum();
        let searched = if truth.format == "raw" {
            truth.memory_size
        } else {
            ram
        };
        assert!(
            list.stats.scan.bytes >= searched && list.stats.scan.bytes <= truth.memory_size,
            "scan bytes {}",
            list.stats.scan.bytes
        );
    }
}

#[test]
fn clean_boot_matches_truth_on_three_builds_raw_and_crashdump() {
    for build in BUILDS {
        for format in FORMATS {
            let Some((list, truth)) =
                run(&scenarios::clean(build), format, &ProcOptions::default())
            else {
                return;
            };
            assert_eq!(truth.build, build);
            check_all(&list, &truth, true);
        }
    }
}

#[test]
fn masquerades_match_truth_on_three_builds_raw_and_crashdump() {
    for build in BUILDS {
        for format in FORMATS {
            let Some((list, truth)) = run(
                &scenarios::masquerades(build),
                format,
                &ProcOptions::default(),
            ) else {
                return;
            };
            check_all(&list, &truth, true);
            eprintln!(
                "build {build} {format:?}: {} processes, {} scan-only",
                list.processes.len(),
                list.stats.found_by_scan_only
            );
            // The unlinked live smss is the one hiding candidate; exited children are not.
            let hiding: Vec<u64> = list
                .processes
                .iter()
                .filter(|p| p.hiding_candidate)
                .map(|p| p.pid)
                .collect();
            assert_eq!(hiding, vec![6024], "build {build} {format:?}");
            let cyrillic = list.processes.iter().find(|p| p.pid == 6020).unwrap();
            assert_eq!(cyrillic.image_file_name, "\u{0455}mss.exe");
            assert_ne!(cyrillic.image_file_name_raw, b"smss.exe");
            let user_smss = list.processes.iter().find(|p| p.pid == 6008).unwrap();
            let tok = user_smss.token.as_ref().unwrap();
            assert_eq!(tok.integrity, Some(triage_winproc::IntegrityLevel::Medium));
            assert_eq!(
                tok.user.as_ref().unwrap().name,
                None,
                "a user SID has no well-known name"
            );
            let master = list.processes.iter().find(|p| p.pid == 388).unwrap();
            assert_eq!(
                master.token.as_ref().unwrap().user.as_ref().unwrap().name,
                Some("Local System")
            );
            assert!(master
                .token
                .as_ref()
                .unwrap()
                .privileges
                .iter()
                .any(|p| p.name == Some("SeDebugPrivilege") && p.enabled));
        }
    }
}

#[test]
fn list_walk_alone_finds_only_linked_processes() {
    let opts = ProcOptions {
        scan: false,
        ..ProcOptions::default()
    };
    let Some((list, truth)) = run(&scenarios::masquerades(19041), Format::Raw, &opts) else {
        return;
    };
    check_all(&list, &truth, false);
    assert!(!list.stats.scan_ran);
    assert_eq!(list.stats.scan.bytes, 0);
}

#[test]
fn elf_core_container_too() {
    let Some((list, truth)) = run(
        &scenarios::masquerades(22000),
        Format::ElfCore,
        &ProcOptions::default(),
    ) else {
        return;
    };
    check_all(&list, &truth, true);
}
