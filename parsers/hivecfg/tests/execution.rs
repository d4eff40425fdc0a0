//! Amcache / ShimCache / BAM facts against regipy's plugins (tests/regipy_execution.py), compared
//! as multisets; plus hostile values.
mod common;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;
use triage_hivecfg::{amcache, bam, hive_is_amcache, parse_appcompatcache, shimcache};
use triage_hivecfg::{ExecutionEntry, ExecutionFacts};
use triage_regf::{Hive, HiveBuf};

/// regipy computes datetimes through a float (FILETIME / 10 exceeds 2^53): a few µs of slack.
const SLACK_US: i64 = 3;

fn python() -> Option<PathBuf> {
    match std::env::var_os("SMSS_PY") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SMSS_PY (python with regipy[cli]; tools/oracle/setup.sh) is required in CI"
            );
            eprintln!("note: SMSS_PY not set; skipping the regipy comparison");
            None
        }
    }
}

/// regipy's entries for `plugin` on `hive` (logs applied by regipy when given).
fn regipy(py: &Path, plugin: &str, hive: &Path, logs: Option<(&Path, &Path)>) -> Json {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regipy_execution.py");
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(py);
    cmd.arg(script).arg(plugin).arg(hive);
    if let Some((l1, l2)) = logs {
        cmd.arg(l1).arg(l2).arg(tmp.path());
    }
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "{plugin} {}: {}",
        hive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("regipy JSON")
}

/// A comparable record: identity fields, then (meaning, µs since 1601) times.
type Row = (Vec<String>, Vec<(String, i64)>);

fn us(ft: u64) -> i64 {
    (ft / 10) as i64
}

fn s(j: &Json, k: &str) -> String {
    match j.get(k) {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(x)) => x.clone(),
        Some(x) => x.to_string(),
    }
}

fn opt<T: ToString>(x: &Option<T>) -> String {
    x.as_ref().map(T::to_string).unwrap_or_default()
}

/// Matches every regipy row with one of ours (same identity, times within the slack); returns
/// the unmatched rows of each side.
fn diff(ours: Vec<Row>, theirs: Vec<Row>) -> (Vec<Row>, Vec<Row>) {
    let mut ours = ours;
    let mut missing = Vec::new();
    for t in theirs {
        let hit = ours.iter().position(|o| {
            o.0 == t.0
                && o.1.len() == t.1.len()
                && o.1.iter().zip(&t.1).all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() <= SLACK_US)
        });
        match hit {
            Some(i) => {
                ours.swap_remove(i);
            }
            None => missing.push(t),
        }
    }
    (ours, missing)
}

fn assert_same(what: &str, ours: Vec<Row>, theirs: Vec<Row>) -> usize {
    let n = theirs.len();
    let (extra, missing) = diff(ours, theirs);
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: {} only ours {:#?}\n{} only regipy {:#?}",
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    n
}

fn sorted_times(mut t: Vec<(String, i64)>) -> Vec<(String, i64)> {
    t.sort();
    t
}

fn amcache_row(e: &ExecutionEntry) -> Row {
    let id = vec![
        e.source.to_string(),
        e.path.clone(),
        opt(&e.sha1),
        opt(&e.product_name),
        opt(&e.publisher),
        opt(&e.bin_file_version),
        opt(&e.original_file_name),
        opt(&e.size),
    ];
    let t = e.times.iter().map(|(m, ft)| (m.to_string(), us(*ft)));
    (id, sorted_times(t.collect()))
}

fn regipy_amcache_row(j: &Json) -> Row {
    let new = j.get("lower_case_long_path").is_some() || j.get("file_id").is_some();
    let mut t = vec![("key_last_written".to_string(), j["timestamp"].as_i64().unwrap())];
    let id = if new {
        if let Some(ld) = j.get("link_date_us").and_then(Json::as_i64) {
            t.push(("link_date".into(), ld));
        }
        vec![
            "amcache:file".into(),
            s(j, "lower_case_long_path"),
            s(j, "sha1"),
            s(j, "product_name"),
            s(j, "publisher"),
            s(j, "bin_file_version"),
            s(j, "original_file_name"),
            s(j, "size"),
        ]
    } else {
        for (k, m) in [
            ("last_modified_timestamp", "file_modified"),
            ("created_timestamp", "file_created"),
            ("last_modified_timestamp_2", "file_modified_2"),
        ] {
            if let Some(v) = j.get(k).and_then(Json::as_i64) {
                t.push((m.into(), v));
            }
        }
        vec![
            "amcache:file-old".into(),
            s(j, "full_path"),
            s(j, "sha1"),
            s(j, "product_name"),
            s(j, "company_name"),
            s(j, "file_version"),
            String::new(),
            s(j, "file_size"),
        ]
    };
    (id, sorted_times(t))
}

fn hive_path(name: &str) -> Option<PathBuf> {
    common::hives_dir().map(|d| d.join(name))
}

const AMCACHE_SAMPLES: [&str; 5] = [
    "Velocidex__velociraptor__Amcache.hve",
    "fox-it__dissect.target__amcache-new.hve",
    "fox-it__dissect.target__amcache-old.hve",
    "plaso__win10-Amcache.hve",
    "regipy__amcache.hve",
];

#[test]
fn amcache_matches_regipy() {
    let Some(dir) = common::hives_dir() else { return };
    let Some(py) = python() else { return };
    for name in AMCACHE_SAMPLES {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let hive = Hive::from_bytes(&bytes).unwrap();
        assert!(hive_is_amcache(&hive), "{name}");
        let facts = amcache(&hive);
        assert!(facts.errors.is_empty(), "{name}: {:?}", facts.errors);
        let theirs = regipy(&py, "amcache", &dir.join(name), None);
        let theirs: Vec<Row> = theirs
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {theirs}"))
            .iter()
            .map(regipy_amcache_row)
            .collect();
        assert!(!theirs.is_empty(), "{name}: regipy found nothing");
        let ours = facts.entries.iter().map(amcache_row).collect();
        let n = assert_same(name, ours, theirs);
        eprintln!("{name}: {n} Amcache entries agree with regipy");
    }
}

/// The Server 2019 sample records every boot-chain binary with its SHA-1 (regipy agrees above;
/// here the lead's use case is pinned: names and 40-hex-digit hashes present).
#[test]
fn amcache_has_boot_chain_hashes() {
    let Some(p) = hive_path("Velocidex__velociraptor__Amcache.hve") else {
        return;
    };
    let bytes = std::fs::read(p).unwrap();
    let facts = amcache(&Hive::from_bytes(&bytes).unwrap());
    for exe in ["smss.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "services.exe", "lsass.exe"] {
        let e = facts
            .entries
            .iter()
            .find(|e| e.name == exe && e.path.starts_with("c:\\windows\\system32\\"))
            .unwrap_or_else(|| panic!("{exe} missing"));
        let h = e.sha1.as_deref().unwrap();
        assert!(h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()), "{exe}: {h}");
    }
}

const SYSTEM_SAMPLES: [&str; 4] = [
    "regipy__SYSTEM",
    "regipy__SYSTEM_2",
    "regipy__SYSTEM_B",
    "regipy__corrupted_system_hive",
];

/// Our facts for a SYSTEM sample (logs replayed for the dirty one) and regipy's for the same.
fn system_pair(
    dir: &Path,
    py: &Path,
    name: &str,
    f: fn(&Hive<'_>) -> ExecutionFacts,
    plugin: &str,
) -> (ExecutionFacts, Json) {
    let primary = std::fs::read(dir.join(name)).unwrap();
    let l1 = dir.join(format!("{name}.LOG1"));
    let l2 = dir.join(format!("{name}.LOG2"));
    let logs = l1.exists() && l2.exists();
    let log_bytes: Vec<(String, Vec<u8>)> = if logs {
        [&l1, &l2]
            .iter()
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(p).unwrap()))
            .collect()
    } else {
        Vec::new()
    };
    let refs: Vec<(&str, &[u8])> = log_bytes.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let buf = HiveBuf::open(&primary, &refs).unwrap();
    assert_eq!(buf.is_replayed(), logs, "{name}");
    let facts = f(&buf.hive().unwrap());
    let theirs = regipy(py, plugin, &dir.join(name), logs.then_some((l1.as_path(), l2.as_path())));
    (facts, theirs)
}

/// regipy reads only ControlSet001 and ControlSet002.
fn in_regipy_sets(e: &ExecutionEntry) -> bool {
    matches!(e.control_set.as_deref(), Some("ControlSet001" | "ControlSet002"))
}

#[test]
fn shimcache_matches_regipy() {
    let Some(dir) = common::hives_dir() else { return };
    let Some(py) = python() else { return };
    for name in SYSTEM_SAMPLES {
        let (facts, theirs) = system_pair(&dir, &py, name, shimcache, "shimcache");
        assert!(facts.errors.is_empty(), "{name}: {:?}", facts.errors);
        let Some(theirs) = theirs.as_array() else {
            // regipy gives up when ControlSet001 has no AppCompatCache key (the corrupted hive).
            assert!(s(&theirs, "error").contains("No subkey AppCompatCache"), "{name}: {theirs}");
            assert!(
                !facts.entries.iter().any(|e| e.control_set.as_deref() == Some("ControlSet001")),
                "{name}"
            );
            eprintln!("{name}: no AppCompatCache in ControlSet001, as regipy says");
            continue;
        };
        // regipy reads `Session Manager\AppCompatCache` only and drops Windows 10 entries
        // without a timestamp.
        let ours: Vec<Row> = facts
            .entries
            .iter()
            .filter(|e| in_regipy_sets(e) && e.key.ends_with("\\AppCompatCache"))
            .filter(|e| e.time("last_modified").is_some() || e.executed.is_some())
            .map(|e| {
                let path = if e.path.is_empty() { "None".to_string() } else { e.path.clone() };
                let exec = e.executed.map(|x| if x { "True" } else { "False" });
                let t = vec![("last_modified".to_string(), us(e.time("last_modified").unwrap_or(0)))];
                (vec![path, opt(&exec), opt(&e.size)], t)
            })
            .collect();
        let theirs: Vec<Row> = theirs
            .iter()
            .map(|j| {
                let t = vec![("last_modified".to_string(), j["last_mod_date"].as_i64().unwrap())];
                (vec![s(j, "path"), s(j, "exec_flag"), s(j, "file_size")], t)
            })
            .collect();
        assert!(!theirs.is_empty(), "{name}");
        let n = assert_same(name, ours, theirs);
        eprintln!("{name}: {n} ShimCache entries agree with regipy");
    }
}

#[test]
fn bam_matches_regipy() {
    let Some(dir) = common::hives_dir() else { return };
    let Some(py) = python() else { return };
    let mut total = 0;
    for name in SYSTEM_SAMPLES {
        let (facts, theirs) = system_pair(&dir, &py, name, bam, "bam");
        assert!(facts.errors.is_empty(), "{name}: {:?}", facts.errors);
        let ours: Vec<Row> = facts
            .entries
            .iter()
            .filter(|e| e.source == "bam" && in_regipy_sets(e))
            .map(|e| {
                let t = vec![("last_executed".to_string(), us(e.time("last_executed").unwrap_or(0)))];
                (vec![opt(&e.user_sid), e.key.to_lowercase(), e.path.clone()], t)
            })
            .collect();
        let theirs: Vec<Row> = theirs
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {theirs}"))
            .iter()
            .map(|j| {
                let key = s(j, "key_path").trim_start_matches('\\').to_lowercase();
                let t = vec![("last_executed".to_string(), j["timestamp"].as_i64().unwrap())];
                (vec![s(j, "sid"), key, s(j, "executable")], t)
            })
            .collect();
        total += assert_same(name, ours, theirs);
    }
    assert!(total > 0, "no BAM entries in any sample");
}

#[test]
fn hostile_appcompatcache_values() {
    let ff = [0xFFu8; 4];
    let mut cases: Vec<Vec<u8>> = vec![Vec::new(), vec![0xEE], vec![1, 2, 3, 4, 5, 6, 7, 8]];
    for magic in [0xDEAD_BEEFu32, 0xBADC_0FFE, 0xBADC_0FEE] {
        // Counts of 0xFFFFFFFF at both count positions, entries pointing anywhere.
        let mut v = magic.to_le_bytes().to_vec();
        v.extend_from_slice(&ff);
        v.extend_from_slice(&ff);
        v.resize(0x200, 0xFF);
        cases.push(v);
    }
    for header in [0x30u32, 0x34, 0x80] {
        let mut v = header.to_le_bytes().to_vec();
        v.resize(header as usize, 0);
        v.extend_from_slice(if header == 0x80 { b"00ts" } else { b"10ts" });
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&ff); // entry length 0xFFFFFFFF
        v.extend_from_slice(&[0xFF; 16]);
        cases.push(v.clone());
        // A plausible entry whose path length runs past its body.
        v.truncate(header as usize + 8);
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&[0xFF, 0xFF, 0, 0]);
        cases.push(v);
    }
    for (i, v) in cases.iter().enumerate() {
        let f = parse_appcompatcache(v, "ControlSet001\\Control\\Session Manager\\AppCompatCache", "ControlSet001");
        assert!(!f.errors.is_empty(), "case {i} ({} bytes): no error listed", v.len());
        let msg = f.errors[0].to_string();
        assert!(msg.contains("AppCompatCache") && msg.contains("offset 0x"), "{msg}");
    }
}
