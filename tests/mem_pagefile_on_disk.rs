//! A pagefile.sys that is not given but found (issue #13 §5): on the disk image of the
//! same host in a `scan` batch, and beside a hiberfil.sys on the volume it is read from.
//! The paged-out command lines and PEB image paths must come back and equal the
//! generator's truth; the same dump scanned alone must still say `paged out` (so the
//! test cannot pass by reading them some other way). The volumes are made by mkntfs and
//! filled by ntfs-3g's ntfscp, an independent writer.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::shared_dir;
use triage_memgen::{write_image_paged, Format, Scenario, Truth};

fn scenario(paged: &[&str]) -> Scenario {
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    for p in &mut sc.processes {
        if paged.contains(&p.name.as_str()) {
            p.peb_paged_out = true;
            p.params_paged_out = true;
            p.pagefile_number = 0;
        }
    }
    sc
}

/// An NTFS volume of `size` bytes holding `files` (name in the root, local path).
fn volume(dir: &Path, size: u64, files: &[(&str, &Path)]) -> Option<PathBuf> {
    let mkntfs = triage_testkit::tool("mkntfs")?;
    let ntfscp = triage_testkit::tool("ntfscp")?;
    let vol = dir.join("vol.raw");
    std::fs::File::create(&vol).unwrap().set_len(size).unwrap();
    let ok = std::process::Command::new(mkntfs)
        .args(["-F", "-Q", "-q"])
        .arg(&vol)
        .status()
        .unwrap();
    assert!(ok.success(), "mkntfs");
    for (name, local) in files {
        let ok = std::process::Command::new(&ntfscp)
            .arg("-f")
            .arg(&vol)
            .arg(local)
            .arg(format!("/{name}"))
            .status()
            .unwrap();
        assert!(ok.success(), "ntfscp {name}");
    }
    Some(vol)
}

/// `scan` of `inputs`: the process records as (input, location, pid, peb path, cmdline),
/// and the inputs' details.
fn scan(inputs: &[&Path]) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let run = |kind: &str| -> Vec<serde_json::Value> {
        let out = Command::cargo_bin("smss-triage")
            .unwrap()
            .args(["scan", "-q", "--format", "jsonl", "--records", kind])
            .args(inputs)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (run("processes"), run("inputs"))
}

/// Every paged-out process of `truth` among `procs` (those whose `input` ends with
/// `from`): its strings as `want` says (`true`: the truth's, `false`: `paged out`).
fn check(procs: &[serde_json::Value], from: &str, truth: &Truth, paged: &[&str], read: bool) {
    let mut seen = 0;
    for t in truth
        .processes
        .iter()
        .filter(|t| paged.contains(&t.name.as_str()))
    {
        let r = procs
            .iter()
            .find(|r| {
                r["pid"].as_u64() == Some(t.pid)
                    && (r["input"].as_str().unwrap_or("").ends_with(from)
                        || r["location"].as_str().unwrap_or("").ends_with(from))
            })
            .unwrap_or_else(|| panic!("pid {} not found in {from}", t.pid));
        let (cmd, peb) = (r["command_line"].as_str(), r["peb_image_path"].as_str());
        if read {
            assert_eq!(cmd, Some(t.command_line.as_str()), "pid {}", t.pid);
            assert_eq!(peb, Some(t.peb_image_path.as_str()), "pid {}", t.pid);
        } else {
            assert_eq!(
                (cmd, peb),
                (Some("paged out"), Some("paged out")),
                "pid {}",
                t.pid
            );
        }
        seen += 1;
    }
    assert_eq!(seen, paged.len());
}

const PAGED: [&str; 2] = ["winlogon.exe", "lsass.exe"];

#[test]
fn a_dump_reads_the_pagefile_on_the_disk_image_of_its_host() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&PAGED);
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let img = dir.path().join("mem.raw");
    let pf = dir.path().join("pagefile.bin");
    let truth = write_image_paged(&sc, &isf, &img, Format::Raw, Some(&pf)).unwrap();
    let Some(vol) = volume(dir.path(), 64 << 20, &[("pagefile.sys", &pf)]) else {
        return;
    };
    // Alone: paged out.
    let (procs, _) = scan(&[&img]);
    check(&procs, "mem.raw", &truth, &PAGED, false);
    // With the one disk image of its host beside it: read through that pagefile.sys.
    let (procs, inputs) = scan(&[&img, &vol]);
    check(&procs, "mem.raw", &truth, &PAGED, true);
    let detail = inputs
        .iter()
        .find(|i| i["input"].as_str().unwrap_or("").ends_with("mem.raw"))
        .map(|i| i["detail"].as_str().unwrap_or("").to_string())
        .unwrap();
    assert!(
        detail.contains("paging file ") && detail.contains("pagefile.sys"),
        "{detail}"
    );
}

#[test]
fn a_hiberfil_reads_the_pagefile_beside_it() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&PAGED);
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let hiber = dir.path().join("hiber.bin");
    let pf = dir.path().join("pagefile.bin");
    let truth = write_image_paged(&sc, &isf, &hiber, Format::Hiberfil, Some(&pf)).unwrap();
    // The hiberfil without its pagefile: paged out.
    let Some(vol) = volume(dir.path(), 192 << 20, &[("hiberfil.sys", &hiber)]) else {
        return;
    };
    let (procs, _) = scan(&[&vol]);
    check(&procs, "hiberfil.sys", &truth, &PAGED, false);
    std::fs::remove_file(&vol).unwrap();
    let vol = volume(
        dir.path(),
        192 << 20,
        // ntfs-3g will not mount a volume whose hiberfil.sys is valid: it goes last.
        &[("pagefile.sys", &pf), ("hiberfil.sys", &hiber)],
    )
    .unwrap();
    let (procs, _) = scan(&[&vol]);
    check(&procs, "hiberfil.sys", &truth, &PAGED, true);
}
