//! The disk triage calibrated on a volume: the ~58,000 paths of genuine Windows and
//! enterprise-software files in `../shared/samples/names/genuine-windows-paths.tsv`,
//! placed on a generated NTFS volume (Microsoft's genuine Windows 11 boot-chain binaries
//! where their names occur, small placeholders elsewhere), raise nothing at medium or
//! above.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use triage_diskgen::{build_plan, Content, Entry, Options, Plan, PlantKind};

#[test]
fn genuine_windows_paths_on_a_volume_stay_quiet() {
    for t in [
        "mkntfs",
        "wimlib-imagex",
        "ntfscp",
        "sgdisk",
        "hivexregedit",
        "x86_64-w64-mingw32-gcc",
    ] {
        if triage_testkit::tool(t).is_none() {
            return;
        }
    }
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let genuine = shared.join("samples/pe/genuine-win11-22621");
    let text =
        std::fs::read_to_string(shared.join("samples/names/genuine-windows-paths.tsv")).unwrap();
    // Volume paths, without NTFS's own metafiles, deduplicated case-insensitively, and
    // without paths that are also a directory of another path.
    let mut paths: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter_map(|p| p.get(2..).filter(|_| p.as_bytes().get(1) == Some(&b':')))
        .filter(|p| {
            p.len() > 1
                && !p.starts_with("\\$Extend")
                && !p.contains(['<', '>', '"', '|', '?', '*'])
        })
        .map(String::from)
        .collect();
    let dirs: BTreeSet<String> = paths
        .iter()
        .flat_map(|p| {
            let lower = p.to_lowercase();
            let parts: Vec<&str> = lower.split('\\').collect();
            (2..parts.len())
                .map(move |i| parts[..i].join("\\"))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut seen = BTreeSet::new();
    paths.retain(|p| {
        let lower = p.to_lowercase();
        let top = lower.split('\\').nth(1).unwrap_or("");
        !dirs.contains(&lower)
            && seen.insert(lower.clone())
            && !matches!(
                top,
                "$mft"
                    | "$mftmirr"
                    | "$logfile"
                    | "$volume"
                    | "$attrdef"
                    | "$bitmap"
                    | "$boot"
                    | "$badclus"
                    | "$secure"
                    | "$upcase"
            )
    });
    assert!(paths.len() > 40_000, "{}", paths.len());
    let mut opts = Options::project_only(&triage_testkit::samples_dir());
    opts.disk_size = 1 << 30;
    let mut plan = Plan {
        entries: Vec::new(),
    };
    for p in &paths {
        let name = p.rsplit('\\').next().unwrap().to_lowercase();
        let content = if genuine.join(&name).is_file() {
            Content::File(genuine.join(&name))
        } else {
            Content::Bytes(format!("placeholder for {p}\r\n").into_bytes())
        };
        plan.entries.push(Entry {
            path: p.clone(),
            content,
            kind: PlantKind::Filler,
            expect_rule: None,
            also: &[],
        });
    }
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diskgen-calibration");
    let built = build_plan(&cache, &plan, &opts).expect("build the calibration volume");
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["scan", "--format", "csv", "--records", "findings"])
        .arg(&built.raw_disk)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1;
    let loud: Vec<String> = rows
        .iter()
        .filter(|r| matches!(r["severity"].as_str(), "medium" | "high" | "critical"))
        .map(|r| format!("{} {} {}", r["rule"], r["severity"], r["subject"]))
        .collect();
    assert!(
        loud.is_empty(),
        "{} loud findings, first: {:#?}",
        loud.len(),
        &loud[..loud.len().min(30)]
    );
    // The boot-chain binaries were on it and were judged.
    let inputs = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["scan", "--format", "csv", "--records", "files"])
        .arg(&built.raw_disk)
        .output()
        .unwrap();
    let files = common::parse_csv(&String::from_utf8_lossy(&inputs.stdout)).1;
    assert!(
        files
            .iter()
            .filter(|f| f["file_name"].eq_ignore_ascii_case("smss.exe"))
            .count()
            >= 3,
        "{}",
        files.len()
    );
}
