//! Execution history read from a disk image: real prefetch files, a real Amcache hive (and
//! real event logs) placed where Windows keeps them on a generated Windows-like volume
//! must give the same `executions` records, located in the image, as the same files given
//! loose. (Each parser is checked against its own oracle — sccainfo, pyscca, regipy — in
//! its crate's tests; this checks the disk path: finding, reading and locating them.)

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use triage_diskgen::{build_plan, Content, Entry, Options, Plan, PlantKind};

fn csv(args: &[&str], path: &Path) -> Vec<std::collections::HashMap<String, String>> {
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

fn key(
    r: &std::collections::HashMap<String, String>,
) -> (String, String, String, String, String, String) {
    (
        r["source"].clone(),
        r["program"].clone(),
        r["path"].clone(),
        r["last_time"].clone(),
        r["run_count"].clone(),
        r["sha1"].clone(),
    )
}

#[test]
fn prefetch_and_amcache_on_the_image_equal_the_loose_files() {
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
    let prefetch_dir = shared.join("samples/prefetch");
    // (copies in a temporary directory only, for the loose side of the comparison)
    let amcache = shared.join("samples/hives/Velocidex__velociraptor__Amcache.hve");
    let mut opts = Options::with_shared(&triage_testkit::samples_dir(), &shared);
    opts.memory = None;
    let mut plan = Plan::windows_like(&opts);
    let mut pf: Vec<PathBuf> = std::fs::read_dir(&prefetch_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pf"))
        .collect();
    pf.sort();
    let mut names = BTreeSet::new();
    // The files placed, also laid out loose for the comparison.
    let loose = tempfile::tempdir().unwrap();
    for p in &pf {
        // Windows names them PROGRAM.EXE-HASH.pf: keep the part after the source prefix
        // (two samples are the same XP file under two sources' names: placed once).
        let name = p.file_name().unwrap().to_string_lossy();
        let short = name
            .rsplit("--")
            .next()
            .unwrap()
            .rsplit("__")
            .next()
            .unwrap()
            .to_string();
        if !names.insert(short.to_ascii_uppercase()) {
            continue;
        }
        std::fs::copy(p, loose.path().join(&short)).unwrap();
        plan.entries.push(Entry {
            path: format!("\\Windows\\Prefetch\\{short}"),
            content: Content::File(p.clone()),
            kind: PlantKind::Filler,
            expect_rule: None,
            also: &[],
        });
    }
    plan.entries.push(Entry {
        path: "\\Windows\\AppCompat\\Programs\\Amcache.hve".into(),
        content: Content::File(amcache.clone()),
        kind: PlantKind::Filler,
        expect_rule: None,
        also: &[],
    });
    let evtx = shared.join("samples/evtx");
    let security = evtx.join("Velocidex__velociraptor__RDPAuth_Security.evtx");
    let sysmon = evtx.join(
        "sbousseaden__EVTX-ATTACK-SAMPLES__sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx",
    );
    for (name, file) in [
        ("Security.evtx", &security),
        ("Microsoft-Windows-Sysmon%4Operational.evtx", &sysmon),
    ] {
        plan.entries.push(Entry {
            path: format!("\\Windows\\System32\\winevt\\Logs\\{name}"),
            content: Content::File(file.clone()),
            kind: PlantKind::Filler,
            expect_rule: None,
            also: &[],
        });
    }
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diskgen-history");
    let built = build_plan(&cache, &plan, &opts).expect("build the disk");

    let on_disk = csv(
        &["scan", "--format", "csv", "--records", "executions"],
        &built.raw_disk,
    );
    let loose_pf = csv(
        &["scan", "--format", "csv", "--records", "executions"],
        loose.path(),
    );
    let loose_am = csv(
        &["scan", "--format", "csv", "--records", "executions"],
        &amcache,
    );

    let disk_pf: BTreeSet<_> = on_disk
        .iter()
        .filter(|r| r["source"] == "prefetch")
        .map(key)
        .collect();
    let want_pf: BTreeSet<_> = loose_pf.iter().map(key).collect();
    assert!(want_pf.len() >= 10, "{}", want_pf.len());
    assert_eq!(disk_pf, want_pf);
    let disk_am: BTreeSet<_> = on_disk
        .iter()
        .filter(|r| r["source"].starts_with("amcache"))
        .map(key)
        .collect();
    let want_am: BTreeSet<_> = loose_am.iter().map(key).collect();
    assert!(want_am.len() > 50);
    assert_eq!(disk_am, want_am);
    // Each is located in the image.
    for r in on_disk.iter().filter(|r| r["source"] == "prefetch") {
        assert!(r["location"].contains("› \\Windows\\Prefetch\\"), "{r:?}");
    }
    for r in on_disk
        .iter()
        .filter(|r| r["source"].starts_with("amcache"))
    {
        assert!(
            r["location"].ends_with("\\Windows\\AppCompat\\Programs\\Amcache.hve"),
            "{r:?}"
        );
    }
    // Event logs: the same process creations as the loose logs, located in the image, and
    // the smss.exe → cmd.exe of the attack sample raised there.
    let procs = |rows: Vec<std::collections::HashMap<String, String>>| -> BTreeSet<(String, String, String, String, String)> {
        rows.into_iter()
            .filter(|r| r["source"].starts_with("evtx:"))
            .map(|r| (r["source"].clone(), r["record_id"].clone(), r["pid"].clone(), r["image_path"].clone(), r["boot"].clone()))
            .collect()
    };
    let disk_procs = procs(csv(
        &["scan", "--format", "csv", "--records", "processes"],
        &built.raw_disk,
    ));
    let mut want_procs = procs(csv(
        &["scan", "--format", "csv", "--records", "processes"],
        &security,
    ));
    want_procs.extend(procs(csv(
        &["scan", "--format", "csv", "--records", "processes"],
        &sysmon,
    )));
    assert!(want_procs.len() > 100);
    assert_eq!(disk_procs, want_procs);
    let findings = csv(
        &["scan", "--format", "csv", "--records", "findings"],
        &built.raw_disk,
    );
    let child: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "SMSS-CHILD")
        .collect();
    assert_eq!(child.len(), 1, "{findings:?}");
    assert!(
        child[0]["location"]
            .ends_with("\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational.evtx"),
        "{:?}",
        child[0]
    );
    // The Velociraptor Amcache lists the genuine Server 2019 boot chain with SHA-1s: quiet.
    let boot: Vec<_> = on_disk
        .iter()
        .filter(|r| r["source"] == "amcache:file" && r["program"].eq_ignore_ascii_case("smss.exe"))
        .collect();
    assert!(
        !boot.is_empty() && boot.iter().all(|r| r["sha1"].len() == 40),
        "{boot:?}"
    );
}
