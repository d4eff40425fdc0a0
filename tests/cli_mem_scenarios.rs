//! The smss.exe scenarios of the memory issue, generated from real kernel layouts for three
//! builds in raw and crash-dump containers, run through the real binary. The generator is
//! checked against Volatility 3 (tools/memgen/tests), so these expectations rest on an
//! independent reader, and each scenario states which rule it must raise — and that nothing
//! else above `info` is raised.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use common::{parse_csv, shared_dir};
use triage_memgen::{write_image, Format, ProcessSpec, Scenario, TICKS};

const BUILDS: [u32; 3] = [17763, 19041, 22000];
const VOL: &str = r"\Device\HarddiskVolume3";

fn find(sc: &mut Scenario, pid: u64) -> &mut ProcessSpec {
    sc.processes
        .iter_mut()
        .find(|p| p.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} in clean_boot"))
}

fn master(sc: &Scenario) -> u64 {
    sc.processes
        .iter()
        .find(|p| p.name == "smss.exe" && p.ppid == 4)
        .expect("master smss")
        .pid
}

fn explorer(sc: &Scenario) -> ProcessSpec {
    sc.processes
        .iter()
        .find(|p| p.name == "explorer.exe")
        .expect("explorer")
        .clone()
}

fn boot_time(sc: &Scenario) -> u64 {
    sc.processes
        .iter()
        .find(|p| p.pid == 4)
        .unwrap()
        .create_time
}

/// A user process started by explorer, with `name` at `path` (below the volume).
fn user_process(sc: &Scenario, pid: u64, name: &str, path: &str) -> ProcessSpec {
    let mut p = explorer(sc);
    p.pid = pid;
    p.ppid = explorer(sc).pid;
    p.name = name.into();
    p.image_path = format!("{VOL}{path}");
    p.peb_image_path = None;
    p.command_line = format!("C:{path}");
    p.create_time = explorer(sc).create_time + 5 * TICKS;
    p
}

type Mutate = fn(&mut Scenario);

fn scenarios() -> Vec<(&'static str, Mutate, &'static [&'static str])> {
    vec![
        ("clean", |_| {}, &[]),
        (
            "smss_users_public",
            |sc| {
                let m = master(sc);
                find(sc, m).image_path = format!(r"{VOL}\Users\Public\smss.exe");
            },
            &["SMSS-PATH"],
        ),
        (
            "second_master",
            |sc| {
                let m = master(sc);
                let mut p = find(sc, m).clone();
                p.pid = 3000;
                p.create_time += 20 * TICKS;
                sc.processes.push(p);
            },
            &["SMSS-INSTANCES"],
        ),
        (
            "smss_user_token",
            |sc| {
                let m = master(sc);
                find(sc, m).user_sid = "S-1-5-21-1111111111-2222222222-3333333333-1001".into();
                // The token keeps SYSTEM's enabled privileges: SeDebugPrivilege on a user token
                // is its own finding.
            },
            &["SEDEBUG", "SMSS-USER"],
        ),
        (
            "lookalike_names",
            |sc| {
                let a = user_process(sc, 7100, "smss .exe", r"\Users\alice\smss .exe");
                let b = user_process(sc, 7104, "srnss.exe", r"\Users\alice\srnss.exe");
                let c = user_process(
                    sc,
                    7108,
                    "\u{0455}mss.exe",
                    "\\Users\\alice\\\u{0455}mss.exe",
                );
                sc.processes.extend([a, b, c]);
            },
            &["NAME-LOOKALIKE"],
        ),
        (
            "smss_unlinked",
            |sc| {
                let m = master(sc);
                let child = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "smss.exe" && p.ppid == m)
                    .unwrap()
                    .clone();
                let mut p = child;
                p.pid = 2000;
                p.session_id = Some(2);
                p.exit_time = None;
                p.threads = 2;
                p.linked_in_active_list = false;
                p.create_time = boot_time(sc) + 100 * TICKS;
                sc.processes.push(p);
            },
            &["HIDDEN", "SMSS-INSTANCES"], // alive an hour after it started: it lingers too
        ),
        (
            "csrss_parent_explorer",
            |sc| {
                let e = explorer(sc);
                let mut p = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "csrss.exe")
                    .unwrap()
                    .clone();
                p.pid = 7200;
                p.ppid = e.pid;
                p.session_id = Some(1);
                p.create_time = e.create_time + 10 * TICKS;
                sc.processes.push(p);
            },
            &["CHILD-PARENT"],
        ),
        (
            "peb_masquerade",
            |sc| {
                let svc = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "svchost.exe")
                    .unwrap()
                    .pid;
                find(sc, svc).peb_image_path = Some(r"C:\Windows\explorer.exe".into());
            },
            &["PEB-MASQ"],
        ),
        (
            "exited_children_scan_only",
            |sc| {
                let m = master(sc);
                for p in sc
                    .processes
                    .iter_mut()
                    .filter(|p| p.name == "smss.exe" && p.ppid == m)
                {
                    p.linked_in_active_list = false;
                }
            },
            &[],
        ),
    ]
}

fn run(img: &Path, kind: &str) -> Vec<std::collections::HashMap<String, String>> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "-q", "--format", "csv", "--records", kind])
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

#[test]
fn every_scenario_raises_exactly_its_rule() {
    let Some(shared) = shared_dir() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    for build in BUILDS {
        for format in [Format::Raw, Format::CrashDump64] {
            for (name, mutate, want) in scenarios() {
                let mut sc = Scenario::clean_boot(build);
                sc.memory_size = 64 << 20;
                sc.seed = u64::from(build) * 7 + 1;
                mutate(&mut sc);
                let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
                let img = dir.path().join(format!("{name}-{build}.{}", format.name()));
                let truth = write_image(&sc, &isf, &img, format).unwrap();
                let ctx = format!("{name} build {build} {}", format.name());

                let findings = run(&img, "findings");
                let got: BTreeSet<&str> = findings
                    .iter()
                    .filter(|f| f["severity"] != "info")
                    .map(|f| f["rule"].as_str())
                    .collect();
                let want: BTreeSet<&str> = want.iter().copied().collect();
                assert_eq!(got, want, "{ctx}: {findings:#?}");

                // Every process of the truth is reported, with its facts.
                let procs = run(&img, "processes");
                assert_eq!(procs.len(), truth.processes.len(), "{ctx}: process count");
                for t in &truth.processes {
                    let p = procs
                        .iter()
                        .find(|p| p["pid"] == t.pid.to_string())
                        .unwrap_or_else(|| panic!("{ctx}: pid {} missing", t.pid));
                    assert_eq!(p["ppid"], t.ppid.to_string(), "{ctx}: pid {} ppid", t.pid);
                    assert_eq!(
                        p["create_time"][..19],
                        t.create_time_iso[..19],
                        "{ctx}: pid {} create time",
                        t.pid
                    );
                    assert_eq!(
                        p["session"],
                        t.session_id.map(|s| s.to_string()).unwrap_or_default(),
                        "{ctx}: pid {} session",
                        t.pid
                    );
                    assert_eq!(p["image_path"], t.image_path, "{ctx}: pid {} path", t.pid);
                    assert_eq!(p["user_sid"], t.user_sid, "{ctx}: pid {} sid", t.pid);
                    assert_eq!(
                        p["exit_time"].is_empty(),
                        t.exit_time.is_none(),
                        "{ctx}: pid {} exit",
                        t.pid
                    );
                    let expect_found = if t.linked_in_active_list {
                        "both"
                    } else {
                        "scan"
                    };
                    assert_eq!(p["found_by"], expect_found, "{ctx}: pid {} found_by", t.pid);
                }
                std::fs::remove_file(&img).ok();
            }
        }
    }
}
