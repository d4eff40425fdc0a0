//! The host view: a memory dump and the disk image of the same host in one batch. The dump
//! (memgen's masquerade scenario, taken from the image with sleuthkit's `icat`) runs a fake
//! `\Users\Public\smss.exe` and a `smsss.exe` that is not on the disk; the disk (tools/
//! diskgen) holds Microsoft's genuine boot chain in System32 and the fake where the dump
//! says it ran. Each boot-chain process gets its image's facts; the fake raises
//! PROC-IMAGE-MISMATCH, the missing one PROC-IMAGE-MISSING, the genuine ones nothing.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};
use triage_diskgen::{build_windows_like, Options};

#[test]
fn dump_processes_are_resolved_on_the_hosts_disk() {
    for t in [
        "mkntfs",
        "wimlib-imagex",
        "ntfscp",
        "sgdisk",
        "hivexregedit",
        "x86_64-w64-mingw32-gcc",
        "fls",
        "icat",
    ] {
        if triage_testkit::tool(t).is_none() {
            return;
        }
    }
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diskgen-cli");
    let built = build_windows_like(
        &cache,
        &Options::with_shared(&triage_testkit::samples_dir(), &shared),
    )
    .unwrap();
    // Take the dump out of the image with an independent reader.
    let off = (triage_diskgen::PARTITION_OFFSET / 512).to_string();
    let fls = Command::new("fls")
        .args(["-r", "-p", "-o", &off])
        .arg(&built.raw_disk)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&fls.stdout).to_string();
    let line = listing
        .lines()
        .find(|l| l.ends_with("\tWindows/MEMORY.DMP"))
        .expect("MEMORY.DMP on the image");
    let inode = line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .split('-')
        .next()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("host-memory.dmp");
    let bytes = Command::new("icat")
        .args(["-o", &off])
        .arg(&built.raw_disk)
        .arg(&inode)
        .output()
        .unwrap()
        .stdout;
    assert!(bytes.starts_with(b"PAGEDU64"), "a crash dump");
    std::fs::write(&dump, bytes).unwrap();

    let run = |kind: &str| -> Vec<HashMap<String, String>> {
        let out = Command::cargo_bin("smss-triage")
            .unwrap()
            .args(["scan", "--format", "csv", "--records", kind])
            .arg(&dump)
            .arg(&built.raw_disk)
            .output()
            .unwrap();
        common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1
    };
    let procs: Vec<_> = run("processes")
        .into_iter()
        .filter(|p| p["source"] == "memory" && p["input"].ends_with("host-memory.dmp"))
        .collect();
    let findings: Vec<_> = run("findings")
        .into_iter()
        .filter(|f| f["input"].ends_with("host-memory.dmp"))
        .collect();
    let genuine_smss =
        std::fs::read(shared.join("samples/pe/genuine-win11-22621/smss.exe")).unwrap();
    let genuine_sha = format!("{:x}", Sha256::digest(&genuine_smss));
    let by_pid = |pid: &str| {
        procs
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid}"))
    };
    // The master smss (pid 388) runs the genuine System32 file: its facts are the file's.
    let master = by_pid("388");
    assert_eq!(master["image_sha256"], genuine_sha, "{master:?}");
    assert!(
        master["image_location"].ends_with("\\Windows\\System32\\smss.exe"),
        "{master:?}"
    );
    assert!(!master["image_fn_created"].is_empty());
    let on = |pid: &str, rule: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["subject"].starts_with(&format!("pid {pid} ")))
    };
    assert!(
        on("7312", "PROC-IMAGE-MISMATCH"),
        "the fake \\Users\\Public\\smss.exe: {findings:?}"
    );
    assert!(
        on("7588", "PROC-IMAGE-MISSING"),
        "smsss.exe is not on the disk: {findings:?}"
    );
    for pid in ["388", "488", "572", "712", "732"] {
        assert!(
            !on(pid, "PROC-IMAGE-MISMATCH") && !on(pid, "PROC-IMAGE-MISSING"),
            "genuine pid {pid}: {findings:?}"
        );
    }
}
