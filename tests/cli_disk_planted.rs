//! The disk triage end to end: a Windows-like GPT/NTFS disk built at test time by
//! `tools/diskgen` with the real tools (mkntfs, wimlib, ntfscp, sgdisk, hivexregedit),
//! holding Microsoft's genuine Windows 11 boot chain, planted masquerades, a timestomp, an
//! injected Session Manager value and a memory dump; wrapped in every container. Each
//! planted item must raise its rule, each genuine one must stay below medium, and every
//! container must give the same findings.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
use triage_diskgen::{build_windows_like, wrap, Built, Format, Options};

const TOOLS: &[&str] = &[
    "mkntfs",
    "wimlib-imagex",
    "ntfscp",
    "sgdisk",
    "hivexregedit",
    "qemu-img",
    "ewfacquire",
    "x86_64-w64-mingw32-gcc",
];

fn built() -> Option<&'static Built> {
    static B: OnceLock<Option<Built>> = OnceLock::new();
    B.get_or_init(|| {
        if !TOOLS.iter().all(|t| triage_testkit::tool(t).is_some()) {
            return None;
        }
        let shared = triage_testkit::shared_dir()?;
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diskgen-cli");
        Some(
            build_windows_like(
                &cache,
                &Options::with_shared(&triage_testkit::samples_dir(), &shared),
            )
            .expect("build the Windows-like disk"),
        )
    })
    .as_ref()
}

fn findings(image: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["scan", "--format", "csv", "--records", "findings"])
        .arg(image)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}: exit {:?}: {}",
        image.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1
}

/// The path a finding is about, inside the volume (`\Users\Public\smss.exe`).
fn volume_path(f: &std::collections::HashMap<String, String>) -> String {
    f["location"].rsplit(" › ").next().unwrap_or("").to_string()
}

#[test]
fn planted_items_raise_their_rules_and_genuine_ones_stay_quiet() {
    let Some(b) = built() else { return };
    let rows = findings(&b.raw_disk);
    // File findings judge the planted files; the processes of the memory dump on the
    // volume are checked below.
    let loud = |r: &&std::collections::HashMap<String, String>| {
        r["subject_kind"] == "file"
            && matches!(r["severity"].as_str(), "medium" | "high" | "critical")
    };
    for p in &b.planted {
        let on_it: BTreeSet<&str> = rows
            .iter()
            .filter(|r| {
                volume_path(r).eq_ignore_ascii_case(&p.path)
                    || r["subject"].eq_ignore_ascii_case(&p.path)
            })
            .filter(loud)
            .map(|r| r["rule"].as_str())
            .collect();
        match p.expect_rule {
            Some(rule) if rule.starts_with("REG-") => {
                assert!(
                    rows.iter().any(|r| r["rule"] == rule),
                    "{rule} not raised for {}: {rows:?}",
                    p.path
                );
            }
            Some(rule) => {
                assert!(
                    on_it.contains(rule),
                    "{}: expected {rule}, got {on_it:?}",
                    p.path
                );
                let unexpected: Vec<_> = on_it
                    .iter()
                    .filter(|r| **r != rule && !p.also.contains(r))
                    .collect();
                assert!(
                    unexpected.is_empty(),
                    "{}: unexpected {unexpected:?}",
                    p.path
                );
            }
            None => assert!(on_it.is_empty(), "genuine {} raised {on_it:?}", p.path),
        }
    }
    for g in &b.genuine {
        let bad: Vec<_> = rows
            .iter()
            .filter(loud)
            .filter(|r| volume_path(r).eq_ignore_ascii_case(g))
            .map(|r| r["rule"].clone())
            .collect();
        assert!(bad.is_empty(), "genuine {g} raised {bad:?}");
    }
    // The memory dump on the volume is analysed from the image: its masquerades show.
    assert!(
        rows.iter()
            .any(|r| r["rule"] == "SMSS-PATH" && r["location"].contains("MEMORY.DMP")),
        "the memory image on the volume was not analysed: {rows:?}"
    );
}

#[test]
fn every_container_gives_the_same_findings() {
    let Some(b) = built() else { return };
    let key = |rows: Vec<std::collections::HashMap<String, String>>| -> BTreeSet<(String, String, String)> {
        rows.into_iter()
            .map(|r| {
                // The location starts with the input's own path: compare what is inside.
                let inside = r["location"].split_once(" › ").map(|(_, x)| x.to_string()).unwrap_or_default();
                (r["rule"].clone(), r["subject"].clone(), inside)
            })
            .collect()
    };
    let want = key(findings(&b.raw_disk));
    assert!(!want.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    for f in Format::ALL {
        let out = wrap(&b.raw_disk, f, &tmp.path().join(format!("disk-{f:?}"))).unwrap();
        assert_eq!(
            key(findings(&out)),
            want,
            "{f:?} ({}) differs from the raw disk",
            out.display()
        );
    }
}
