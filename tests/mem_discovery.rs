//! Layout discovery on builds no table knows (issue #13 §1, §2, §6b): images generated
//! from every real Windows 10/11 ISF in shared/symbols, then disguised (PDB GUID and
//! NtBuildNumber rewritten) so that neither the built-in table nor `--symbols` matches.
//! Oracles: the generator's truth, the ISF itself (every discovered offset must be the
//! ISF's), and MemProcFS on the same images (run in the test when SMSS_MEMPROCFS is set).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use common::scenarios::scenarios;
use common::{parse_csv, repo_dir, shared_dir};
use serde_json::Value;
use triage_isf::Isf;
use triage_memgen::{write_disguised_image, Format, Scenario, Truth};

const SIZE: u64 = 64 << 20;

/// Every Windows 10/11 ntkrnlmp ISF in the symbol directory, with its build.
fn isfs(symbols: &Path) -> Vec<(u32, Isf)> {
    triage_memgen::kernel_isfs(symbols, 10240).expect("every ISF loads")
}

fn run(img: &Path, args: &[&str]) -> Vec<HashMap<String, String>> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem"])
        .args(args)
        .arg(img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        img.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_csv(&String::from_utf8(out.stdout).unwrap()).1
}

fn records(img: &Path, kind: &str) -> Vec<HashMap<String, String>> {
    run(img, &["ps", "-q", "--format", "csv", "--records", kind])
}

/// Integrity level name of a mandatory label SID, as the `integrity` column spells it.
fn integrity_name(sid: &str) -> &'static str {
    match sid {
        "S-1-16-0" => "Untrusted",
        "S-1-16-4096" => "Low",
        "S-1-16-8192" => "Medium",
        "S-1-16-12288" => "High",
        "S-1-16-16384" => "System",
        _ => "?",
    }
}

fn privilege_names(mask: u64) -> BTreeSet<String> {
    triage_winproc::privileges_from_bitmasks(mask, 0, 0)
        .iter()
        .map(|p| {
            triage_winproc::privilege_name(p.luid)
                .map(String::from)
                .unwrap_or_else(|| p.luid.to_string())
        })
        .collect()
}

fn split(s: &str) -> BTreeSet<String> {
    s.split(';')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Every process of the truth, with its parent, path, session, user, integrity and
/// privileges, as the table-driven tests require.
fn check_processes(ctx: &str, truth: &Truth, procs: &[HashMap<String, String>]) {
    assert_eq!(procs.len(), truth.processes.len(), "{ctx}: process count");
    for t in &truth.processes {
        let p = procs
            .iter()
            .find(|p| p["pid"] == t.pid.to_string())
            .unwrap_or_else(|| panic!("{ctx}: pid {} missing", t.pid));
        let c = format!("{ctx}: pid {}", t.pid);
        assert_eq!(p["ppid"], t.ppid.to_string(), "{c} ppid");
        assert_eq!(p["name"], t.image_file_name, "{c} name");
        assert_eq!(p["image_path"], t.image_path, "{c} path");
        assert_eq!(
            p["session"],
            t.session_id.map(|s| s.to_string()).unwrap_or_default(),
            "{c} session"
        );
        assert_eq!(
            p["create_time"][..19],
            t.create_time_iso[..19],
            "{c} create"
        );
        assert_eq!(p["exit_time"].is_empty(), t.exit_time.is_none(), "{c} exit");
        assert_eq!(p["user_sid"], t.user_sid, "{c} user");
        assert_eq!(
            p["integrity"],
            integrity_name(&t.integrity_sid),
            "{c} integrity"
        );
        assert_eq!(
            split(&p["privileges_present"]),
            privilege_names(t.privileges_present),
            "{c} privileges"
        );
        let mut groups: BTreeSet<String> = t.sids.iter().skip(1).cloned().collect();
        groups.remove(&t.integrity_sid);
        let mut ours = split(&p["groups"]);
        ours.remove(&t.integrity_sid);
        assert_eq!(ours, groups, "{c} groups");
        assert_eq!(p["logon_id"], format!("{:#x}", t.logon_id), "{c} logon id");
        assert_eq!(p["token_type"], "primary", "{c} token type");
        if !t.peb_paged_out && t.peb_va != 0 {
            assert_eq!(p["command_line"], t.command_line, "{c} command line");
            assert_eq!(p["peb_image_path"], t.peb_image_path, "{c} PEB path");
        }
        let found = if t.linked_in_active_list {
            "both"
        } else {
            "scan"
        };
        assert_eq!(p["found_by"], found, "{c} found_by");
    }
}

fn info_json(img: &Path) -> Value {
    let info = triage_winmem::mem_info_path(img, None).unwrap();
    serde_json::to_value(&info).unwrap()
}

/// Every discovered offset is the ISF's, and the fields the processes need were found.
fn check_layout(ctx: &str, img: &Path, isf: &Isf) {
    let info = triage_winmem::mem_info_path(img, None).unwrap();
    assert_eq!(
        info.layout_source,
        Some(triage_winmem::LayoutSource::Discovered),
        "{ctx}: no table may match a disguised image"
    );
    let disc = info.discovery.as_ref().expect("discovery ran");
    let real = serde_json::to_value(triage_winmem::Layout::from_isf(isf)).unwrap();
    for p in &disc.proofs {
        assert_eq!(
            real[p.field],
            Value::from(p.offset),
            "{ctx}: {} discovered at {:#x} ({})",
            p.field,
            p.offset,
            p.how
        );
    }
    let found: BTreeSet<&str> = disc.proofs.iter().map(|p| p.field).collect();
    for need in [
        "eprocess_unique_process_id",
        "eprocess_active_process_links",
        "eprocess_inherited_from_unique_process_id",
        "eprocess_image_file_name",
        "eprocess_directory_table_base",
        "eprocess_peb",
        "eprocess_token",
        "eprocess_create_time",
        "eprocess_exit_time",
        "eprocess_se_audit_process_creation_info",
        "eprocess_session",
        "eprocess_vad_root",
        "token_user_and_groups",
        "token_user_and_group_count",
        "token_privileges",
        "token_integrity_level_index",
        "token_session_id",
        "token_authentication_id",
        "token_token_type",
        "params_image_path_name",
        "params_command_line",
    ] {
        assert!(
            found.contains(need),
            "{ctx}: {need} not discovered: {:?}",
            disc.not_found
        );
    }
}

#[test]
fn disguised_images_equal_the_truth_and_raise_their_rules() {
    let Some(shared) = shared_dir() else { return };
    let all = isfs(&shared.join("symbols"));
    assert!(all.len() >= 4, "Windows 10/11 ISFs in shared/symbols");
    let dir = tempfile::tempdir().unwrap();
    for (i, (build, isf)) in all.iter().enumerate() {
        let guid = &isf.pdb().unwrap().guid;
        // Every scenario on two kernels, the clean boot (raw and crash dump) on all.
        let every = i == 0 || i + 1 == all.len();
        for (name, mutate, want) in scenarios() {
            if !every && name != "clean" {
                continue;
            }
            // Its exited smss children are unlinked from the list, and ExitTime is found
            // only from an exited process on the list (docs/memory.md): with no table the
            // field stays empty there by design, which check_layout would report.
            if name == "exited_children_scan_only" {
                continue;
            }
            let formats: &[Format] = if name == "clean" {
                &[Format::Raw, Format::CrashDump64]
            } else {
                &[Format::Raw]
            };
            for &format in formats {
                let mut sc = Scenario::clean_boot(*build);
                sc.memory_size = SIZE;
                sc.seed = u64::from(*build) * 13 + 5;
                mutate(&mut sc);
                let img = dir.path().join(format!("{name}-{guid}.{}", format.name()));
                let truth = write_disguised_image(&sc, isf, &img, format).unwrap();
                let ctx = format!("{name} {build} ({guid}) {}", format.name());
                assert_ne!(truth.build, *build, "{ctx}: disguised");
                check_layout(&ctx, &img, isf);
                let info = info_json(&img);
                assert_eq!(
                    info["build"], truth.build,
                    "{ctx}: the disguised build is read"
                );

                let findings = records(&img, "findings");
                let got: BTreeSet<&str> = findings
                    .iter()
                    .filter(|f| f["severity"] != "info")
                    .map(|f| f["rule"].as_str())
                    .collect();
                let want: BTreeSet<&str> = want.iter().copied().collect();
                assert_eq!(got, want, "{ctx}: {findings:#?}");
                check_processes(&ctx, &truth, &records(&img, "processes"));
                std::fs::remove_file(&img).ok();
            }
        }
    }
}

/// §6b: a table entry with EPROCESS offsets but no TOKEN offsets is completed by
/// discovery, and the TOKEN offsets found are the ISF's.
#[test]
fn token_offsets_complete_a_partial_entry() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (build, isf) in isfs(&shared.join("symbols")) {
        let mut sc = Scenario::clean_boot(build);
        sc.memory_size = SIZE;
        let img = dir.path().join(format!("{build}.raw"));
        let truth = write_disguised_image(&sc, &isf, &img, Format::Raw).unwrap();
        let full = triage_winmem::Layout::from_isf(&isf);
        let mut seed = full.clone();
        seed.token_user_and_groups = None;
        seed.token_user_and_group_count = None;
        seed.token_privileges = None;
        seed.token_integrity_level_index = None;
        seed.token_session_id = None;
        seed.token_authentication_id = None;
        seed.token_token_type = None;
        let phys = triage_physmem::open(&img).unwrap();
        let vm =
            triage_winmem::VirtualMemory::new(phys.as_ref(), triage_winmem::Arch::X64, truth.dtb);
        let disc = triage_winmem::discover(&vm, truth.ps_initial_system_process, &seed)
            .expect("discovery");
        let l = &disc.layout;
        let ctx = format!("build {build}");
        assert_eq!(l.token_user_and_groups, full.token_user_and_groups, "{ctx}");
        assert_eq!(
            l.token_user_and_group_count, full.token_user_and_group_count,
            "{ctx}"
        );
        assert_eq!(l.token_privileges, full.token_privileges, "{ctx}");
        assert_eq!(
            l.token_integrity_level_index, full.token_integrity_level_index,
            "{ctx}"
        );
        assert_eq!(l.token_session_id, full.token_session_id, "{ctx}");
        assert_eq!(
            l.token_authentication_id, full.token_authentication_id,
            "{ctx}"
        );
        assert_eq!(l.token_token_type, full.token_token_type, "{ctx}");
        // The seed's own fields are kept, not re-discovered.
        assert_eq!(l.eprocess_token, full.eprocess_token, "{ctx}");
        assert!(
            disc.proofs.iter().all(|p| p.field.starts_with("token_")),
            "{ctx}: only the missing part is discovered: {:?}",
            disc.proofs
        );
    }
}

/// The venv python with memprocfs, only when `$SMSS_MEMPROCFS` is set.
fn memprocfs_python() -> Option<PathBuf> {
    std::env::var_os("SMSS_MEMPROCFS")?;
    let p = std::env::var_os("SMSS_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".venv/bin/python"));
    let ok = Std::new(&p)
        .args(["-c", "import memprocfs"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "SMSS_MEMPROCFS is set: {} needs memprocfs", p.display());
    Some(p)
}

/// MemProcFS's integrity numbers (VMM_PROCESS_INTEGRITY_LEVEL_*).
fn memprocfs_integrity(n: i64) -> &'static str {
    match n {
        1 => "Untrusted",
        2 => "Low",
        3 => "Medium",
        5 => "High",
        6 => "System",
        _ => "",
    }
}

#[test]
fn we_find_what_memprocfs_finds_on_disguised_images() {
    let Some(shared) = shared_dir() else { return };
    let Some(py) = memprocfs_python() else {
        eprintln!("note: SMSS_MEMPROCFS not set; MemProcFS comparison skipped");
        return;
    };
    let script = repo_dir().join("tools/oracle/run_memprocfs.py");
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for (build, isf) in isfs(&shared.join("symbols")) {
        let mut sc = Scenario::smss_masquerades(build);
        sc.memory_size = SIZE;
        let img = dir.path().join(format!("m{build}.raw"));
        let truth = write_disguised_image(&sc, &isf, &img, Format::Raw).unwrap();
        let ctx = format!("build {build} disguised as {}", truth.build);
        let mpfs = |img: &Path| {
            let run = Std::new(&py).arg(&script).arg(img).output().unwrap();
            serde_json::from_slice::<Value>(&run.stdout).unwrap_or(Value::Null)
        };
        let v = mpfs(&img);
        if v["ok"] != true {
            // MemProcFS finds nothing here (its heuristics do not cover every build it
            // has no info.db entry for): nothing to match.
            eprintln!("note: {ctx}: MemProcFS does not open the disguised image: {v}");
            continue;
        }
        compared += 1;
        assert_eq!(
            v["kernel"]["build"], truth.build,
            "{ctx}: MemProcFS reads the disguise"
        );
        let ours = records(&img, "processes");
        let rows = v["processes"].as_array().unwrap();
        assert!(!rows.is_empty(), "{ctx}: MemProcFS lists processes");
        for r in rows {
            let pid = r["pid"].to_string();
            let c = format!("{ctx}: pid {pid}");
            let o = ours
                .iter()
                .find(|o| o["pid"] == pid)
                .unwrap_or_else(|| panic!("{c}: MemProcFS lists it, we do not"));
            assert_eq!(o["ppid"], r["ppid"].to_string(), "{c} ppid");
            assert_eq!(o["name"], r["name"].as_str().unwrap_or(""), "{c} name");
            if let Some(sid) = r["sid"].as_str() {
                assert_eq!(o["user_sid"], sid, "{c} sid");
            }
            if let Some(n) = r["integrity"].as_i64() {
                let want = memprocfs_integrity(n);
                if !want.is_empty() {
                    assert_eq!(o["integrity"], want, "{c} integrity");
                }
            }
            // MemProcFS says 0 for processes without a session.
            let session = if o["session"].is_empty() {
                "0"
            } else {
                &o["session"]
            };
            assert_eq!(session, r["session"].to_string(), "{c} session");
            if let Some(path) = r["pathkernel"].as_str().filter(|p| p.starts_with('\\')) {
                assert_eq!(o["image_path"], path, "{c} kernel path");
            }
            if let Some(cmd) = r["cmdline"].as_str() {
                assert_eq!(o["command_line"], cmd, "{c} command line");
            }
        }
        // And the tokens of the processes MemProcFS does not list (exited, unlinked).
        let listed: BTreeSet<String> = rows.iter().map(|r| r["pid"].to_string()).collect();
        for t in truth
            .processes
            .iter()
            .filter(|t| !listed.contains(&t.pid.to_string()))
        {
            let o = ours
                .iter()
                .find(|o| o["pid"] == t.pid.to_string())
                .unwrap_or_else(|| panic!("{ctx}: pid {} missing", t.pid));
            assert_eq!(o["user_sid"], t.user_sid, "{ctx}: pid {} token", t.pid);
            assert_eq!(
                o["integrity"],
                integrity_name(&t.integrity_sid),
                "{ctx}: pid {} integrity",
                t.pid
            );
        }
    }
    assert!(
        compared >= 3,
        "MemProcFS opened only {compared} disguised images"
    );
}
