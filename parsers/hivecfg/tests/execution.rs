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
                && o.1
                    .iter()
                    .zip(&t.1)
                    .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() <= SLACK_US)
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
    let mut t = vec![(
        "key_last_written".to_string(),
        j["timestamp"].as_i64().unwrap(),
    )];
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
    let Some(dir) = common::hives_dir() else {
        return;
    };
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
    for exe in [
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "winlogon.exe",
        "services.exe",
        "lsass.exe",
    ] {
        let e = facts
            .entries
            .iter()
            .find(|e| e.name == exe && e.path.starts_with("c:\\windows\\system32\\"))
            .unwrap_or_else(|| panic!("{exe} missing"));
        let h = e.sha1.as_deref().unwrap();
        assert!(
            h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()),
            "{exe}: {h}"
        );
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
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(p).unwrap(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let refs: Vec<(&str, &[u8])> = log_bytes
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let buf = HiveBuf::open(&primary, &refs).unwrap();
    assert_eq!(buf.is_replayed(), logs, "{name}");
    let facts = f(&buf.hive().unwrap());
    let theirs = regipy(
        py,
        plugin,
        &dir.join(name),
        logs.then_some((l1.as_path(), l2.as_path())),
    );
    (facts, theirs)
}

/// Clean samples read without errors; the corrupted one lists its bad cells (with offsets).
fn check_errors(name: &str, facts: &ExecutionFacts) {
    if name.contains("corrupted") {
        eprintln!(
            "{name}: {} errors listed: {:?}",
            facts.errors.len(),
            facts.errors
        );
        for e in &facts.errors {
            assert!(e.to_string().contains("offset 0x"), "{e}");
        }
    } else {
        assert!(facts.errors.is_empty(), "{name}: {:?}", facts.errors);
    }
}

/// regipy reads only ControlSet001 and ControlSet002.
fn in_regipy_sets(e: &ExecutionEntry) -> bool {
    matches!(
        e.control_set.as_deref(),
        Some("ControlSet001" | "ControlSet002")
    )
}

#[test]
fn shimcache_matches_regipy() {
    let Some(dir) = common::hives_dir() else {
        return;
    };
    let Some(py) = python() else { return };
    for name in SYSTEM_SAMPLES {
        let (facts, theirs) = system_pair(&dir, &py, name, shimcache, "shimcache");
        check_errors(name, &facts);
        let mut sets: Vec<_> = facts.entries.iter().map(|e| e.key.as_str()).collect();
        sets.dedup();
        eprintln!(
            "{name}: {} ShimCache entries from {sets:?}",
            facts.entries.len()
        );
        let Some(theirs) = theirs.as_array() else {
            // regipy gives up when ControlSet001 has no AppCompatCache key (the corrupted hive).
            assert!(
                s(&theirs, "error").contains("No subkey AppCompatCache"),
                "{name}: {theirs}"
            );
            assert!(
                !facts
                    .entries
                    .iter()
                    .any(|e| e.control_set.as_deref() == Some("ControlSet001")),
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
                let path = if e.path.is_empty() {
                    "None".to_string()
                } else {
                    e.path.clone()
                };
                let exec = e.executed.map(|x| if x { "True" } else { "False" });
                let t = vec![(
                    "last_modified".to_string(),
                    us(e.time("last_modified").unwrap_or(0)),
                )];
                (vec![path, opt(&exec), opt(&e.size)], t)
            })
            .collect();
        let theirs: Vec<Row> = theirs
            .iter()
            .map(|j| {
                let t = vec![(
                    "last_modified".to_string(),
                    j["last_mod_date"].as_i64().unwrap(),
                )];
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
    let Some(dir) = common::hives_dir() else {
        return;
    };
    let Some(py) = python() else { return };
    let mut total = 0;
    for name in SYSTEM_SAMPLES {
        let (facts, theirs) = system_pair(&dir, &py, name, bam, "bam");
        check_errors(name, &facts);
        let ours: Vec<Row> = facts
            .entries
            .iter()
            .filter(|e| e.source == "bam" && in_regipy_sets(e))
            .map(|e| {
                let t = vec![(
                    "last_executed".to_string(),
                    us(e.time("last_executed").unwrap_or(0)),
                )];
                (
                    vec![opt(&e.user_sid), e.key.to_lowercase(), e.path.clone()],
                    t,
                )
            })
            .collect();
        let theirs: Vec<Row> = theirs
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {theirs}"))
            .iter()
            .map(|j| {
                let key = s(j, "key_path").trim_start_matches('\\').to_lowercase();
                let t = vec![(
                    "last_executed".to_string(),
                    j["timestamp"].as_i64().unwrap(),
                )];
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
        let f = parse_appcompatcache(
            v,
            "ControlSet001\\Control\\Session Manager\\AppCompatCache",
            "ControlSet001",
        );
        assert!(
            !f.errors.is_empty(),
            "case {i} ({} bytes): no error listed",
            v.len()
        );
        let msg = f.errors[0].to_string();
        assert!(
            msg.contains("AppCompatCache") && msg.contains("offset 0x"),
            "{msg}"
        );
    }
}

/// Hostile values merged into a copy of regipy__SYSTEM with hivexregedit: a BAM value shorter
/// than a FILETIME, and AppCompatCache values whose counts are 0xFFFFFFFF.
#[test]
fn hostile_values_in_a_real_hive() {
    let Some(dir) = common::hives_dir() else {
        return;
    };
    if Command::new("hivexregedit").arg("--help").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "hivexregedit (libwin-hivex-perl) is required in CI"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hive_file = tmp.path().join("hostile.hive");
    std::fs::copy(dir.join("regipy__SYSTEM"), &hive_file).unwrap();
    let mut perm = std::fs::metadata(&hive_file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&hive_file, perm).unwrap();
    let ft: u64 = 0x01D4_1234_5678_9ABC;
    let ft_hex: Vec<String> = ft
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let reg = format!(
        "Windows Registry Editor Version 5.00\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam]\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State]\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings]\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\dam]\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\dam\\UserSettings]\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings\\S-1-5-21-1-2-3-1001]\r\n\
         \"\\\\Device\\\\HarddiskVolume3\\\\Windows\\\\System32\\\\smss.exe\"=hex:01,02,03\r\n\
         \"\\\\Device\\\\HarddiskVolume3\\\\Temp\\\\csrss.exe\"=hex:{},00,00,00,00,00,00,00,00\r\n\
         \"Version\"=dword:00000001\r\n\
         \"SequenceNumber\"=dword:00000002\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\dam\\UserSettings\\S-1-5-18]\r\n\
         \"\\\\Device\\\\HarddiskVolume3\\\\Windows\\\\lsass.exe\"=hex:{}\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager\\AppCompatCache]\r\n\
         \"AppCompatCache\"=hex:ee,0f,dc,ba,ff,ff,ff,ff,ff,ff,ff,ff\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager\\AppCompatibility]\r\n\
         \"AppCompatCache\"=hex:ef,be,ad,de,ff,ff,ff,ff,ff,ff,ff,ff\r\n",
        ft_hex.join(","),
        ft_hex.join(",")
    );
    let reg_file = tmp.path().join("hostile.reg");
    std::fs::write(&reg_file, reg).unwrap();
    let out = Command::new("hivexregedit")
        .args(["--merge", "--prefix", "HKEY_LOCAL_MACHINE\\SYSTEM"])
        .arg(&hive_file)
        .arg(&reg_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&hive_file).unwrap();
    let hive = Hive::from_bytes(&bytes).unwrap();

    let b = bam(&hive);
    let bam_key = "ControlSet001\\Services\\bam\\State\\UserSettings\\S-1-5-21-1-2-3-1001";
    assert_eq!(b.entries.len(), 2, "{:#?}", b.entries);
    let csrss = &b.entries.iter().find(|e| e.source == "bam").unwrap();
    assert_eq!(csrss.path, "\\Device\\HarddiskVolume3\\Temp\\csrss.exe");
    assert_eq!(csrss.name, "csrss.exe");
    assert_eq!(csrss.time("last_executed"), Some(ft));
    assert_eq!(csrss.user_sid.as_deref(), Some("S-1-5-21-1-2-3-1001"));
    assert_eq!(csrss.control_set.as_deref(), Some("ControlSet001"));
    assert_eq!(csrss.key, bam_key);
    let lsass = b.entries.iter().find(|e| e.source == "dam").unwrap();
    assert_eq!(lsass.user_sid.as_deref(), Some("S-1-5-18"));
    assert_eq!(lsass.time("last_executed"), Some(ft));
    assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
    let msg = b.errors[0].to_string();
    assert!(
        msg.contains(&format!("{bam_key}\\\\Device")) && msg.contains("smss.exe"),
        "{msg}"
    );
    assert!(msg.contains("found 3 bytes"), "{msg}");

    let s = shimcache(&hive);
    let bad: Vec<String> = s.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad.iter()
            .any(|m| m.contains("AppCompatCache\\AppCompatCache")
                && m.contains("4294967295 entries declared")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|m| m.contains("AppCompatibility\\AppCompatCache")),
        "{bad:?}"
    );
    // The other control sets' caches are still read.
    assert!(s
        .entries
        .iter()
        .any(|e| e.control_set.as_deref() != Some("ControlSet001")));
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

const PATHS: [&str; 3] = [
    "C:\\Windows\\System32\\smss.exe",
    "\\??\\C:\\Temp\\csrss.exe",
    "SYSVOL\\Windows\\System32\\lsass.exe",
];

fn ft(i: usize) -> u64 {
    0x01D0_0000_0000_0000 + (i as u64 + 1) * 0x1_2345_6789
}

/// XP: 0x190 header, 0x228-byte entries with the path inline.
fn xp_value() -> Vec<u8> {
    let mut v = vec![0u8; 0x190];
    v[..4].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    v[8..12].copy_from_slice(&(PATHS.len() as u32).to_le_bytes());
    for (i, p) in PATHS.iter().enumerate() {
        let mut e = utf16le(p);
        e.resize(528, 0);
        e.extend_from_slice(&ft(i).to_le_bytes());
        e.extend_from_slice(&(1000 * (i as u64 + 1)).to_le_bytes());
        e.extend_from_slice(&ft(i + 10).to_le_bytes());
        v.extend_from_slice(&e);
    }
    v
}

/// 2003/Vista (`nt52`) or 7 (`!nt52`), 32- or 64-bit; `word(i)` is the DWORD after the FILETIME
/// (2003: file size; Vista/7: insert flags).
fn fixed_value(nt52: bool, is64: bool, word: impl Fn(usize) -> u32) -> Vec<u8> {
    let (magic, header) = if nt52 {
        (0xBADC_0FFEu32, 8)
    } else {
        (0xBADC_0FEE, 0x80)
    };
    let stride = match (nt52, is64) {
        (true, false) => 0x18,
        (true, true) => 0x20,
        (false, false) => 0x20,
        (false, true) => 0x30,
    };
    let mut v = vec![0u8; header];
    v[..4].copy_from_slice(&magic.to_le_bytes());
    v[4..8].copy_from_slice(&(PATHS.len() as u32).to_le_bytes());
    let mut strings = Vec::new();
    let base = header + stride * PATHS.len();
    for (i, p) in PATHS.iter().enumerate() {
        let s = utf16le(p);
        let off = (base + strings.len()) as u64;
        let mut e = Vec::new();
        e.extend_from_slice(&(s.len() as u16).to_le_bytes());
        e.extend_from_slice(&(s.len() as u16 + 2).to_le_bytes());
        if is64 {
            e.extend_from_slice(&[0; 4]);
            e.extend_from_slice(&off.to_le_bytes());
        } else {
            e.extend_from_slice(&(off as u32).to_le_bytes());
        }
        e.extend_from_slice(&ft(i).to_le_bytes());
        e.extend_from_slice(&word(i).to_le_bytes());
        e.resize(stride, 0);
        v.extend_from_slice(&e);
        strings.extend_from_slice(&s);
        strings.extend_from_slice(&[0, 0]);
    }
    v.extend_from_slice(&strings);
    v
}

/// 8/8.1 (`win8`, first DWORD `first`, 0x80 header) or 10/11 (header `first` = 0x30/0x34).
fn tagged_value(win8: bool, first: u32, tag: &[u8; 4]) -> Vec<u8> {
    let header = if win8 { 0x80 } else { first as usize };
    let mut v = vec![0u8; header];
    v[..4].copy_from_slice(&first.to_le_bytes());
    for (i, p) in PATHS
        .iter()
        .chain(&["Microsoft.App_8wekyb3d8bbwe"])
        .enumerate()
    {
        let s = utf16le(p);
        let mut b = (s.len() as u16).to_le_bytes().to_vec();
        b.extend_from_slice(&s);
        if win8 {
            let pkg = utf16le("pkg");
            b.extend_from_slice(&(pkg.len() as u16).to_le_bytes());
            b.extend_from_slice(&pkg);
            b.extend_from_slice(&(if i & 1 == 0 { 2u32 } else { 0 }).to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
        }
        // The last Windows 10 entry has no timestamp (a packaged app), which regipy skips.
        let t = if !win8 && i == PATHS.len() { 0 } else { ft(i) };
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&[1, 2, 3, 4]);
        v.extend_from_slice(tag);
        v.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        v.extend_from_slice(&(b.len() as u32).to_le_bytes());
        v.extend_from_slice(&b);
    }
    v
}

/// Every ShimCache layout, built here and read by both us and regipy's ShimCacheParser.
#[test]
fn every_shimcache_layout_matches_regipy() {
    let Some(py) = python() else { return };
    let flags = |i: usize| if i & 1 == 0 { 2 } else { 0 };
    let sizes = |i: usize| 4096 * (i as u32 + 1);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("xp", xp_value()),
        ("2003 32-bit", fixed_value(true, false, sizes)),
        ("2003 64-bit", fixed_value(true, true, sizes)),
        ("vista 32-bit", fixed_value(true, false, flags)),
        ("vista 64-bit", fixed_value(true, true, flags)),
        ("7 32-bit", fixed_value(false, false, flags)),
        ("7 64-bit", fixed_value(false, true, flags)),
        ("8", tagged_value(true, 0x80, b"00ts")),
        ("8.1", tagged_value(true, 0, b"10ts")),
        ("10", tagged_value(false, 0x30, b"10ts")),
        ("10 1703+", tagged_value(false, 0x34, b"10ts")),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (what, v) in cases {
        let f = parse_appcompatcache(&v, "k", "ControlSet001");
        assert!(f.errors.is_empty(), "{what}: {:?}", f.errors);
        let file = tmp.path().join("value.bin");
        std::fs::write(&file, &v).unwrap();
        let theirs = regipy(&py, "shimcache-raw", &file, None);
        let theirs: Vec<Row> = theirs
            .as_array()
            .unwrap_or_else(|| panic!("{what}: {theirs}"))
            .iter()
            .map(|j| {
                let mut t = Vec::new();
                for (k, m) in [
                    ("last_mod_date", "last_modified"),
                    ("last_mod_time", "last_modified"),
                    ("exec_time", "last_update"),
                ] {
                    if let Some(x) = j.get(k).and_then(Json::as_i64) {
                        t.push((m.to_string(), x));
                    }
                }
                let size = s(j, "file_size").replace("N/A", "");
                (vec![s(j, "path"), s(j, "exec_flag"), size], sorted_times(t))
            })
            .collect();
        let ours: Vec<Row> = f
            .entries
            .iter()
            .filter(|e| e.time("last_modified").is_some())
            .map(|e| {
                let exec = e.executed.map(|x| if x { "True" } else { "False" });
                let t = e.times.iter().map(|(m, ft)| (m.to_string(), us(*ft)));
                (
                    vec![e.path.clone(), opt(&exec), opt(&e.size)],
                    sorted_times(t.collect()),
                )
            })
            .collect();
        assert!(
            theirs.len() >= PATHS.len(),
            "{what}: regipy rows {theirs:?}"
        );
        assert_same(what, ours, theirs);
        assert!(f
            .entries
            .iter()
            .all(|e| e.control_set.as_deref() == Some("ControlSet001")));
    }
}
