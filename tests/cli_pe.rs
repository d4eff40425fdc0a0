//! The real binary over real PE files: exit codes, CSV columns, findings.

mod common;

use assert_cmd::Command;
use common::{parse_csv, shared_dir};

fn bin() -> Command {
    Command::cargo_bin("smss-triage").expect("binary built")
}

#[test]
fn pe_csv_over_real_samples() {
    let Some(shared) = shared_dir() else { return };
    let out = bin()
        .args(["pe", "--format", "csv", "-q"])
        .arg(shared.join("samples/pe"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (headers, rows) = parse_csv(&String::from_utf8(out).unwrap());
    for col in [
        "input",
        "sha256",
        "file_name",
        "machine",
        "subsystem",
        "imports",
        "original_filename",
        "digest",
        "chain",
    ] {
        assert!(
            headers.iter().any(|h| h == col),
            "missing column {col}: {headers:?}"
        );
    }
    let by_name = |n: &str| {
        rows.iter()
            .find(|r| r["file_name"] == n)
            .unwrap_or_else(|| panic!("{n} not reported"))
    };
    let acpi = by_name("saferwall__acpi.sys");
    assert_eq!(acpi["subsystem"], "native");
    assert_eq!(acpi["digest"], "match");
    assert_eq!(acpi["microsoft_root"], "true");
    assert!(
        acpi["signer"].contains("Microsoft Windows"),
        "{}",
        acpi["signer"]
    );
    assert_eq!(acpi["chain"], "not verified");
    assert_eq!(
        by_name("saferwall__putty_modified.exe")["digest"],
        "mismatch"
    );
    assert_eq!(by_name("saferwall__putty.exe")["digest"], "match");
    // The 7-Zip signer is issued by a self-signed private root carried in the file.
    let sevenzip = by_name("signify__7z1900-x64_signed.exe");
    assert_eq!(sevenzip["private_root"], "true");
    assert_eq!(sevenzip["microsoft_root"], "false");
    assert_eq!(acpi["private_root"], "false");
    assert_eq!(by_name("wine__cng.sys")["subsystem"], "windows_cui");
    assert_eq!(
        by_name("pypi-distlib-0.4.4__t64-arm.exe")["machine"],
        "ARM64"
    );
    // every row carries a sha256 of 64 hex digits
    assert!(rows.iter().all(|r| r["sha256"].len() == 64));
}

#[test]
fn findings_and_fail_on() {
    let Some(shared) = shared_dir() else { return };
    let pe = shared.join("samples/pe");
    let out = bin()
        .args([
            "pe",
            "--format",
            "csv",
            "--records",
            "findings",
            "-q",
            "--fail-on",
            "high",
        ])
        .arg(&pe)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let (_, rows) = parse_csv(&String::from_utf8(out).unwrap());
    assert!(rows.iter().any(|r| r["rule"] == "SIG-DIGEST-MISMATCH"
        && r["subject"].ends_with("saferwall__putty_modified.exe")));
    // Nothing above the threshold: exit 0.
    bin()
        .args(["pe", "-q", "--format", "csv", "--fail-on", "critical"])
        .arg(&pe)
        .assert()
        .code(0);
}

#[test]
fn broken_input_is_reported_and_the_rest_go_on() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(shared.join("samples/pe/saferwall__acpi.sys")).unwrap();
    std::fs::write(dir.path().join("good.sys"), &good).unwrap();
    // MZ + PE offset pointing past the end: recognised as PE, cannot be analysed.
    let mut bad = good[..0x40].to_vec();
    bad[0x3c..0x40].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    std::fs::write(dir.path().join("bad.exe"), &bad).unwrap();
    let out = bin()
        .args(["pe", "--format", "csv", "--records", "inputs", "-q"])
        .arg(dir.path())
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let (_, rows) = parse_csv(&String::from_utf8(out).unwrap());
    assert_eq!(rows.len(), 2);
    let bad = rows
        .iter()
        .find(|r| r["input"].ends_with("bad.exe"))
        .unwrap();
    assert_eq!(bad["status"], "error");
    assert!(
        bad["detail"].contains("0x"),
        "error names an offset: {}",
        bad["detail"]
    );
    let good = rows
        .iter()
        .find(|r| r["input"].ends_with("good.sys"))
        .unwrap();
    assert_eq!(good["status"], "analysed");
}

#[test]
fn out_dir_gets_one_file_per_record_kind_with_headers() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(["pe", "-q", "--hash", "--out"])
        .arg(dir.path())
        .arg(shared.join("samples/pe/saferwall__acpi.sys"))
        .assert()
        .success();
    for kind in ["inputs", "files", "processes", "registry", "findings"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{kind}.csv"))).unwrap();
        let header = text.lines().next().unwrap_or("");
        assert!(
            header.starts_with("input,"),
            "{kind}.csv header: {header:?}"
        );
    }
    let inputs = std::fs::read_to_string(dir.path().join("inputs.csv")).unwrap();
    let (_, rows) = parse_csv(&inputs);
    assert_eq!(
        rows[0]["sha256"].len(),
        64,
        "--hash fills the input's sha256"
    );
}

#[test]
fn jsonl_lines_are_json() {
    let Some(shared) = shared_dir() else { return };
    let out = bin()
        .args(["pe", "-q", "--format", "jsonl"])
        .arg(shared.join("samples/pe/saferwall__kernel32.dll"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["machine"], "AMD64");
    assert_eq!(v["export_name"], "KERNEL32.dll");
}

#[test]
fn usage_errors_exit_2() {
    bin().args(["pe"]).assert().code(2);
    bin()
        .args(["pe", "--fail-on", "severe", "x"])
        .assert()
        .code(2);
    bin().args(["frobnicate"]).assert().code(2);
}

#[test]
fn missing_path_is_an_input_error() {
    bin()
        .args(["scan", "-q", "/nonexistent/evidence.E01"])
        .assert()
        .code(3);
}

#[test]
fn evidence_is_not_modified() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.exe");
    std::fs::copy(shared.join("samples/pe/saferwall__putty.exe"), &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    bin()
        .args(["scan", "-q", "--hash", "--format", "csv"])
        .arg(&p)
        .assert()
        .success();
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
}

#[test]
fn scan_lists_every_disk_sample_with_its_format_and_a_reason() {
    let Some(shared) = shared_dir() else { return };
    let out = bin()
        .args(["scan", "-q", "--format", "csv", "--records", "inputs"])
        .arg(shared.join("samples/disk"))
        .assert()
        .get_output()
        .stdout
        .clone();
    let (_, rows) = parse_csv(&String::from_utf8(out).unwrap());
    // Properties per file, not a count of the set: every file in the folder is listed.
    let files = std::fs::read_dir(shared.join("samples/disk"))
        .unwrap()
        .count();
    assert_eq!(rows.len(), files, "every disk sample is listed");
    let e01 = rows
        .iter()
        .find(|r| r["input"].ends_with("/image.E01"))
        .unwrap();
    assert_eq!(e01["format"], "ewf");
    // An ext2 volume is opened, named and not analysed further.
    assert_eq!(e01["analyser"], "disk");
    assert!(e01["detail"].contains("ext2"), "{e01:?}");
    let qcow = rows
        .iter()
        .find(|r| r["input"].ends_with("vsstest.qcow2"))
        .unwrap();
    assert_eq!(qcow["format"], "qcow2");
    assert_eq!(qcow["status"], "analysed", "{qcow:?}");
    assert!(qcow["detail"].contains("NTFS"), "{qcow:?}");
    let vhd = rows
        .iter()
        .find(|r| r["input"].ends_with("/image.vhd"))
        .unwrap();
    assert_eq!(vhd["format"], "vhd");
    for r in &rows {
        assert!(
            !r["status"].is_empty() && !r["detail"].is_empty() || r["status"] == "analysed",
            "{r:?}"
        );
    }
}
