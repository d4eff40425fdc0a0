//! Event history through the real binary: process creations from real Security and Sysmon
//! logs, counted against `evtxexport` (libevtx, an independent reader), the boot chain
//! rebuilt from them, and the history rules quiet on genuine boots and loud on the real
//! smss.exe → cmd.exe case. Prefetch and Amcache as execution records.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn csv(args: &[&str], path: &Path) -> Vec<HashMap<String, String>> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1
}

/// How many events of `id` from `provider` the independent reader sees in `log`.
fn evtxexport_count(log: &Path, provider: &str, id: u32) -> usize {
    let out = Command::new("evtxexport")
        .args(["-f", "xml"])
        .arg(log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("<Event ")
        .filter(|e| {
            e.contains(&format!("Name=\"{provider}\""))
                && e.contains(&format!("<EventID>{id}</EventID>"))
        })
        .count()
}

#[test]
fn process_creations_match_evtxexport_on_every_sample() {
    let Some(dir) = triage_testkit::sample_dir("evtx") else {
        return;
    };
    if triage_testkit::tool("evtxexport").is_none() {
        return;
    }
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    let mut total = 0;
    for log in logs {
        let rows = csv(&["scan", "--format", "csv", "--records", "processes"], &log);
        let count = |src: &str| rows.iter().filter(|r| r["source"] == src).count();
        assert_eq!(
            count("evtx:security-4688"),
            evtxexport_count(&log, "Microsoft-Windows-Security-Auditing", 4688),
            "{}",
            log.display()
        );
        assert_eq!(
            count("evtx:sysmon-1"),
            evtxexport_count(&log, "Microsoft-Windows-Sysmon", 1),
            "{}",
            log.display()
        );
        total += rows.len();
    }
    assert!(total > 300, "{total}");
}

#[test]
fn the_sysmon_boot_chain_is_rebuilt_and_quiet() {
    let Some(dir) = triage_testkit::sample_dir("evtx") else {
        return;
    };
    let log = dir.join("sbousseaden__EVTX-ATTACK-SAMPLES__privesc_unquoted_svc_sysmon_1_11.evtx");
    let rows = csv(&["scan", "--format", "csv", "--records", "processes"], &log);
    let named = |n: &str| -> Vec<&HashMap<String, String>> {
        rows.iter()
            .filter(|r| r["name"].eq_ignore_ascii_case(n))
            .collect()
    };
    let smss = named("smss.exe");
    let master: Vec<_> = smss.iter().filter(|r| r["ppid"] == "4").collect();
    assert_eq!(master.len(), 1, "one master per boot in this log: {smss:?}");
    let m = master[0];
    let children: Vec<_> = smss.iter().filter(|r| r["ppid"] == m["pid"]).collect();
    assert_eq!(children.len(), 2, "session 0 and session 1 children");
    for r in named("wininit.exe")
        .iter()
        .chain(named("winlogon.exe").iter())
    {
        assert!(children.iter().any(|c| c["pid"] == r["ppid"]), "{r:?}");
    }
    let wininit = named("wininit.exe");
    for r in named("services.exe")
        .iter()
        .chain(named("lsass.exe").iter())
    {
        assert_eq!(r["ppid"], wininit[0]["pid"]);
    }
    // The whole chain is in one boot, the one the master starts.
    let boot = &m["boot"];
    for n in [
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "winlogon.exe",
        "services.exe",
        "lsass.exe",
    ] {
        assert!(named(n).iter().all(|r| &r["boot"] == boot), "{n}");
    }
    let findings = csv(&["scan", "--format", "csv", "--records", "findings"], &log);
    assert!(
        findings
            .iter()
            .all(|f| f["severity"] == "info" || f["severity"] == "low"),
        "{findings:?}"
    );
}

#[test]
fn only_the_bootexecute_case_is_loud() {
    let Some(dir) = triage_testkit::sample_dir("evtx") else {
        return;
    };
    let findings = csv(&["scan", "--format", "csv", "--records", "findings"], &dir);
    let loud: Vec<_> = findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), "medium" | "high" | "critical"))
        .collect();
    assert_eq!(loud.len(), 1, "{loud:?}");
    assert_eq!(loud[0]["rule"], "SMSS-CHILD");
    assert!(loud[0]["input"].contains("smss_child_proc_bootexecute"));
    assert!(loud[0]["subject"].contains("cmd.exe"));
}

#[test]
fn prefetch_and_amcache_give_execution_records() {
    let Some(pf) = triage_testkit::sample_dir("prefetch") else {
        return;
    };
    let rows = csv(&["scan", "--format", "csv", "--records", "executions"], &pf);
    let files = std::fs::read_dir(&pf).unwrap().count();
    // Every prefetch file but the one that is not a prefetch file.
    assert_eq!(rows.len(), files - 1);
    for r in &rows {
        assert_eq!(r["source"], "prefetch");
        assert!(
            !r["program"].is_empty() && !r["last_time"].is_empty(),
            "{r:?}"
        );
        assert!(r["run_count"].parse::<u32>().unwrap() >= 1);
    }
    let hives = triage_testkit::hives_dir().unwrap();
    let am = csv(
        &["scan", "--format", "csv", "--records", "executions"],
        &hives.join("Velocidex__velociraptor__Amcache.hve"),
    );
    for n in [
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "winlogon.exe",
        "services.exe",
        "lsass.exe",
    ] {
        let r = am
            .iter()
            .find(|r| r["program"].eq_ignore_ascii_case(n))
            .unwrap_or_else(|| panic!("{n}"));
        assert_eq!(r["sha1"].len(), 40, "{r:?}");
        assert!(
            r["path"].to_lowercase().contains("\\windows\\system32\\"),
            "{r:?}"
        );
    }
    let findings = csv(
        &["scan", "--format", "csv", "--records", "findings"],
        &hives.join("Velocidex__velociraptor__Amcache.hve"),
    );
    assert!(
        findings.is_empty(),
        "a genuine Server 2019 Amcache is quiet: {findings:?}"
    );
}
