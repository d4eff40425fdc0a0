//! Transaction-log replay on the real dirty SYSTEM_B with its .LOG1/.LOG2.
mod common;
use sha2::{Digest, Sha256};
use std::process::Command;
use triage_regf::{replay, Hive, HiveBuf, LogFormat, RegfError};

struct SystemB {
    primary: Vec<u8>,
    log1: Vec<u8>,
    log2: Vec<u8>,
}

fn system_b() -> Option<SystemB> {
    Some(SystemB {
        primary: common::read_hive("regipy__SYSTEM_B")?,
        log1: common::read_hive("regipy__SYSTEM_B.LOG1")?,
        log2: common::read_hive("regipy__SYSTEM_B.LOG2")?,
    })
}

#[test]
fn dirty_states_match_the_shared_readme() {
    let Some(dir) = common::hives_dir() else {
        return;
    };
    for (name, dirty) in [
        ("regipy__SYSTEM", false),
        ("regipy__SYSTEM_2", true),
        ("regipy__SYSTEM_B", true),
        ("regipy__SECURITY", true),
        ("regipy__UsrClass.dat", true),
        ("regipy__amcache.hve", true),
        ("regipy__SAM", false),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let state = Hive::from_bytes(&bytes).unwrap().dirty_state();
        assert_eq!(state.sequence_mismatch, dirty, "{name}: {state:?}");
    }
}

#[test]
fn system_b_replays_log1_then_log2_in_sequence() {
    let Some(b) = system_b() else { return };
    let logs: [(&str, &[u8]); 2] = [("SYSTEM.LOG1", &b.log1), ("SYSTEM.LOG2", &b.log2)];
    let buf = HiveBuf::open(&b.primary, &logs).unwrap();
    assert!(buf.is_replayed());
    let r = &buf.replays;
    assert_eq!(r.len(), 2, "{r:?}");
    // Sequence ranges read independently with a hex viewer: LOG1 holds 2107..=2110, LOG2 2111..=2130.
    assert_eq!(
        (r[0].log.as_str(), r[0].format, r[0].from_seq, r[0].to_seq),
        ("SYSTEM.LOG1", LogFormat::New, 2107, 2110)
    );
    assert_eq!(
        (
            r[1].log.as_str(),
            r[1].from_seq,
            r[1].to_seq,
            r[1].entries_applied
        ),
        ("SYSTEM.LOG2", 2111, 2130, 20)
    );
    let hive = buf.hive().unwrap();
    let state = hive.dirty_state();
    assert!(!state.is_dirty(), "replayed image is consistent: {state:?}");
    assert_eq!(state.primary_sequence, 2130);
    // The evidence bytes are untouched.
    assert!(Hive::from_bytes(&b.primary).unwrap().is_dirty());

    // Order of the logs as given does not matter: sequence numbers decide.
    let reversed: [(&str, &[u8]); 2] = [("SYSTEM.LOG2", &b.log2), ("SYSTEM.LOG1", &b.log1)];
    let (image2, _) = replay(&b.primary, &reversed).unwrap();
    assert_eq!(buf.bytes(), &image2[..]);
}

#[test]
fn corrupt_entry_stops_the_chain_there() {
    let Some(b) = system_b() else { return };
    let mut log2 = b.log2.clone();
    // Entry seq 2113 starts at 0x55000 in LOG2; damage one page byte so Hash-1 no longer matches.
    log2[0x55000 + 0x100] ^= 0xFF;
    let logs: [(&str, &[u8]); 2] = [("LOG1", &b.log1), ("LOG2", &log2)];
    let (_, reports) = replay(&b.primary, &logs).unwrap();
    let last = reports.last().unwrap();
    assert_eq!((last.from_seq, last.to_seq), (2111, 2112));
    assert!(
        last.stopped.as_deref().unwrap_or("").contains("0x55018"),
        "{last:?}"
    );
}

#[test]
fn clean_hive_is_borrowed_and_logless_dirty_hive_errors() {
    let Some(b) = system_b() else { return };
    let Some(clean) = common::read_hive("regipy__SYSTEM") else {
        return;
    };
    let buf = HiveBuf::open(&clean, &[("x", &b.log1)]).unwrap();
    assert!(!buf.is_replayed() && buf.replays.is_empty());
    assert!(matches!(
        replay(&b.primary, &[]),
        Err(RegfError::NoUsableLog { sequence: 1621 })
    ));
    assert!(matches!(
        replay(&b.primary, &[("junk", &[0u8; 100])]),
        Err(RegfError::NoUsableLog { .. })
    ));
}

/// regipy applies the logs, python-registry walks the result: same pages, same bytes, same counts.
#[test]
fn replay_matches_regipy() {
    let Some(b) = system_b() else { return };
    let Some(py) = std::env::var_os("SMSS_PY") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SMSS_PY (python with regipy and python-registry) is required in CI"
        );
        eprintln!("note: SMSS_PY not set; skipping the regipy comparison");
        return;
    };
    let dir = common::hives_dir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regipy_replay.py");
    let out = Command::new(py)
        .arg(script)
        .args(
            [
                "regipy__SYSTEM_B",
                "regipy__SYSTEM_B.LOG1",
                "regipy__SYSTEM_B.LOG2",
            ]
            .map(|n| dir.join(n)),
        )
        .arg(tmp.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("json from the script");

    let logs: [(&str, &[u8]); 2] = [("LOG1", &b.log1), ("LOG2", &b.log2)];
    let (image, reports) = replay(&b.primary, &logs).unwrap();
    let pages: u64 = reports.iter().map(|r| r.pages as u64).sum();
    assert_eq!(pages, theirs["pages"].as_u64().unwrap());
    assert_eq!(image.len() as u64, theirs["len"].as_u64().unwrap());
    let sha = format!("{:x}", Sha256::digest(&image[4096..]));
    assert_eq!(sha, theirs["bins_sha256"].as_str().unwrap());
    let walk = Hive::from_bytes(&image).unwrap().walk();
    assert!(walk.errors.is_empty());
    assert_eq!(walk.keys, theirs["keys"].as_u64().unwrap());
    assert_eq!(walk.values, theirs["values"].as_u64().unwrap());
}

/// Builds an old-format (DIRT) log for regipy__BCD that rewrites one REG_SZ value's text, as the
/// format documentation lays it out: base-block sector (file type 1, equal sequence numbers),
/// "DIRT" + one bit per 512-byte page, then the dirty pages from the next sector on.
fn dirt_log_for(primary: &[u8], target: &[u8]) -> (Vec<u8>, u32) {
    let hbins = u32::from_le_bytes(primary[0x28..0x2C].try_into().unwrap()) as usize;
    let bits = hbins / 512;
    let mut log = primary[..512].to_vec();
    let seq = u32::from_le_bytes(primary[4..8].try_into().unwrap()) + 1;
    log[4..8].copy_from_slice(&seq.to_le_bytes());
    log[8..12].copy_from_slice(&seq.to_le_bytes());
    log[0x1C..0x20].copy_from_slice(&1u32.to_le_bytes());
    let checksum = triage_regf::base_block_checksum(&log);
    log[0x1FC..0x200].copy_from_slice(&checksum.to_le_bytes());
    let mut bitmap = vec![0u8; bits.div_ceil(8)];
    let mut pages = Vec::new();
    for page in 0..bits {
        let at = 4096 + page * 512;
        if primary[at..at + 512] != target[at..at + 512] {
            bitmap[page / 8] |= 1 << (page % 8);
            pages.extend_from_slice(&target[at..at + 512]);
        }
    }
    log.extend_from_slice(b"DIRT");
    log.extend_from_slice(&bitmap);
    log.resize(log.len().div_ceil(512) * 512, 0);
    log.extend_from_slice(&pages);
    (log, (pages.len() / 512) as u32)
}

#[test]
fn old_format_log_rewrites_pages_like_regipy() {
    let Some(primary) = common::read_hive("regipy__BCD") else {
        return;
    };
    let hive = Hive::from_bytes(&primary).unwrap();
    // The first REG_SZ value of at least 8 bytes below Objects gets new text of the same length.
    let mut found = None;
    let objects = hive.open_key("Objects").unwrap();
    'outer: for obj in objects.subkeys().flatten() {
        let Ok(Some(elements)) = obj.subkey("Elements") else {
            continue;
        };
        for el in elements.subkeys().flatten() {
            for v in el.values().flatten() {
                if let Ok(triage_regf::ValueData::Sz(s)) = v.data() {
                    let raw = v.raw_data().unwrap();
                    if s.len() >= 4 && !v.is_resident() {
                        let at = raw.as_ptr() as usize - primary.as_ptr() as usize;
                        found = Some((
                            format!("Objects\\{}\\Elements\\{}", obj.name(), el.name()),
                            v.name().into_owned(),
                            at,
                            s.len(),
                        ));
                        break 'outer;
                    }
                }
            }
        }
    }
    let (key, value, at, chars) = found.expect("a REG_SZ element in BCD");
    let mut target = primary.clone();
    for i in 0..chars {
        target[at + 2 * i..at + 2 * i + 2].copy_from_slice(&(b'Z' as u16).to_le_bytes());
    }
    let (log, dirty_pages) = dirt_log_for(&primary, &target);
    assert!(dirty_pages >= 1);

    let (image, reports) = replay(&primary, &[("BCD.LOG", &log)]).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (reports[0].format, reports[0].pages),
        (LogFormat::Old, dirty_pages)
    );
    assert_eq!(&image[4096..], &target[4096..]);
    let replayed = Hive::from_bytes(&image).unwrap();
    assert!(!replayed.is_dirty());
    let text = replayed
        .open_key(&key)
        .unwrap()
        .value(&value)
        .unwrap()
        .unwrap()
        .data()
        .unwrap();
    assert_eq!(text, triage_regf::ValueData::Sz("Z".repeat(chars)));

    // A log from another write (different timestamp in its base block) does not apply.
    let mut stale = log.clone();
    stale[0x0C] ^= 1;
    assert!(replay(&primary, &[("stale", &stale)]).is_err());

    let Some(py) = std::env::var_os("SMSS_PY") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SMSS_PY is required in CI"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("BCD"), &primary).unwrap();
    std::fs::write(tmp.path().join("BCD.LOG"), &log).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regipy_replay.py");
    let out = Command::new(py)
        .arg(script)
        .arg("--single")
        .args([
            tmp.path().join("BCD"),
            tmp.path().join("BCD.LOG"),
            tmp.path().to_path_buf(),
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["pages"].as_u64(), Some(dirty_pages as u64));
    assert_eq!(
        format!("{:x}", Sha256::digest(&image[4096..])),
        theirs["bins_sha256"].as_str().unwrap()
    );
}
