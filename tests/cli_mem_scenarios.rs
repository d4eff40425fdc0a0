//! The smss.exe scenarios of the memory issue, generated from real kernel layouts for three
//! builds in raw and crash-dump containers, run through the real binary. The generator is
//! checked against Volatility 3 (tools/memgen/tests), so these expectations rest on an
//! independent reader, and each scenario states which rule it must raise — and that nothing
//! else above `info` is raised.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use common::scenarios::scenarios;
use common::{parse_csv, shared_dir};
use triage_memgen::{write_image, Format, Scenario};

const BUILDS: [u32; 3] = [17763, 19041, 22000];
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
