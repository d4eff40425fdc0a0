//! The real binary over generated memory images (tools/memgen), which the oracle test
//! checks against Volatility 3: agreeing with the generator's truth is agreeing with it.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::shared_dir;
use triage_memgen::{write_image, Format, Scenario, Truth};

const BUILDS: [u32; 3] = [17763, 19041, 22000];

fn image(dir: &Path, symbols: &Path, build: u32, format: Format) -> (PathBuf, Truth) {
    let mut sc = Scenario::clean_boot(build);
    sc.memory_size = 64 << 20;
    sc.seed = u64::from(build);
    let isf = triage_memgen::resolve_isf(&sc, symbols).expect("ISF for build");
    let path = dir.join(format!("b{build}.{}", format.name()));
    let truth = write_image(&sc, &isf, &path, format).expect("generate");
    (path, truth)
}

#[test]
fn mem_info_matches_the_generator() {
    let Some(shared) = shared_dir() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    for build in BUILDS {
        for format in [Format::Raw, Format::CrashDump64, Format::ElfCore] {
            let (path, truth) = image(dir.path(), &symbols, build, format);
            let out = Command::cargo_bin("smss-triage")
                .unwrap()
                .args(["mem", "info", "--format", "jsonl"])
                .arg(&path)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let ctx = format!("build {build} {}", format.name());
            // The documented mem_info record: addresses as `0x…` strings (jq-safe).
            let hex = |n: u64| serde_json::Value::String(format!("{n:#x}"));
            assert_eq!(v["dtb"], hex(truth.dtb), "{ctx}: dtb");
            assert_eq!(
                v["kernel_base"],
                hex(truth.kernel_base),
                "{ctx}: kernel base"
            );
            assert_eq!(v["pdb_guid"], truth.pdb_guid.to_uppercase(), "{ctx}: guid");
            assert_eq!(v["pdb_age"], truth.pdb_age.to_string(), "{ctx}: age");
            assert_eq!(v["build"], truth.build.to_string(), "{ctx}: build");
            assert_eq!(
                v["ps_active_process_head"],
                hex(truth.ps_active_process_head),
                "{ctx}: PsActiveProcessHead"
            );
            assert_eq!(
                v["dump_time"],
                smss_triage::time::filetime(truth.system_time),
                "{ctx}: dump time"
            );
        }
    }
}

#[test]
fn scan_routes_dumps_and_reports_a_broken_one_beside_good_ones() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (good, truth) = image(
        dir.path(),
        &shared.join("symbols"),
        19041,
        Format::CrashDump64,
    );
    // A crash dump header in front of garbage: recognised, cannot be analysed.
    let mut bad = std::fs::read(&good).unwrap();
    bad.truncate(0x2000 + 4096);
    for b in &mut bad[0x2000..] {
        *b = 0x5a;
    }
    std::fs::write(dir.path().join("broken.dmp"), &bad).unwrap();
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["scan", "-q", "--format", "csv", "--records", "inputs"])
        .arg(dir.path())
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let (_, rows) = common::parse_csv(&String::from_utf8(out).unwrap());
    let good_row = rows
        .iter()
        .find(|r| r["input"].ends_with("b19041.crashdump"))
        .unwrap();
    assert_eq!(good_row["format"], "crashdump64");
    assert!(
        good_row["detail"].contains(&format!("build {}", truth.build)),
        "{good_row:?}"
    );
    let bad_row = rows
        .iter()
        .find(|r| r["input"].ends_with("broken.dmp"))
        .unwrap();
    assert_eq!(bad_row["status"], "error", "{bad_row:?}");
}

#[test]
fn symbols_dir_is_used_before_the_builtin_table() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = image(dir.path(), &shared.join("symbols"), 22000, Format::Raw);
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "info", "--format", "csv", "--symbols"])
        .arg(shared.join("symbols"))
        .arg(&img)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (_, rows) = common::parse_csv(&String::from_utf8(out).unwrap());
    assert!(
        rows[0]["layout_source"].starts_with("symbols: "),
        "{:?}",
        rows[0]["layout_source"]
    );
    // Without --symbols: the built-in table, matched by GUID and age.
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "info", "--format", "csv"])
        .arg(&img)
        .output()
        .unwrap();
    let (_, rows) = common::parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert!(
        rows[0]["layout_source"].starts_with("built-in, matched by GuidAge"),
        "{:?}",
        rows[0]["layout_source"]
    );
}

#[test]
fn smss_view_and_tree() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (img, truth) = image(dir.path(), &shared.join("symbols"), 19041, Format::Raw);
    // mem smss: only the boot chain (System, smss, csrss, wininit, winlogon, services, lsass).
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "smss", "-q", "--format", "csv"])
        .arg(&img)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (_, rows) = common::parse_csv(&String::from_utf8(out).unwrap());
    let names: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["name"].as_str()).collect();
    let want: std::collections::BTreeSet<&str> = [
        "System",
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "winlogon.exe",
        "services.exe",
        "lsass.exe",
    ]
    .into();
    assert_eq!(names, want);
    let boot_chain = truth
        .processes
        .iter()
        .filter(|p| want.contains(p.name.as_str()))
        .count();
    assert_eq!(rows.len(), boot_chain);
    // mem ps --tree: csrss of session 0 sits under the exited session-0 smss.
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "--tree"])
        .arg(&img)
        .output()
        .unwrap();
    let tree = String::from_utf8(out.stdout).unwrap();
    let smss0 = tree
        .lines()
        .position(|l| l.contains("smss.exe  session 0"))
        .expect("session 0 smss in tree");
    let csrss0 = tree
        .lines()
        .position(|l| l.contains("csrss.exe  session 0"))
        .expect("session 0 csrss in tree");
    assert!(csrss0 > smss0, "{tree}");
    let indent = |l: &str| l.find(|c: char| c.is_ascii_digit()).unwrap();
    let lines: Vec<&str> = tree.lines().collect();
    assert!(
        indent(lines[csrss0]) > indent(lines[smss0]),
        "csrss is a child of the session smss:\n{tree}"
    );
}

#[test]
fn busy_kernel_pool_and_many_processes() {
    // The benchmark images' knobs: a share of memory mapped as pool (noise with decoy tags)
    // and many processes. Every process must still be found once, by list and scan.
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 128 << 20;
    sc.kernel_pool_fraction = 0.33;
    let svc = sc
        .processes
        .iter()
        .find(|p| p.name == "svchost.exe")
        .unwrap()
        .clone();
    for i in 0..60u64 {
        let mut p = svc.clone();
        p.pid = 20_000 + 4 * i;
        sc.processes.push(p);
    }
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let img = dir.path().join("busy.raw");
    let truth = write_image(&sc, &isf, &img, Format::Raw).unwrap();
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "-q", "--format", "csv"])
        .arg(&img)
        .output()
        .unwrap();
    let (_, rows) = common::parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(rows.len(), truth.processes.len());
    let linked = truth
        .processes
        .iter()
        .filter(|p| p.linked_in_active_list)
        .count();
    assert_eq!(
        rows.iter().filter(|r| r["found_by"] == "both").count(),
        linked
    );
}
