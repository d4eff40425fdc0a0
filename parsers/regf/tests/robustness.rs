//! Bad input never panics: truncations and byte flips of small real hives, a corrupted hive.
mod common;
use triage_regf::{replay, Hive, ValueData};

/// Everything a caller might do with a hive: walk, look up, decode.
fn exercise(bytes: &[u8]) {
    let Ok(hive) = Hive::from_bytes(bytes) else {
        return;
    };
    let report = hive.walk();
    for e in &report.errors {
        let _ = e.error.to_string();
    }
    if let Ok(root) = hive.root() {
        let _ = root.class_name();
        let _ = root.security_descriptor();
        for k in root.subkeys().take(50).flatten() {
            for v in k.values().flatten() {
                if let Ok(ValueData::MultiSz(v)) = v.data() {
                    assert!(v.len() < bytes.len());
                }
            }
        }
    }
    let _ = hive.open_key("Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}");
    for bin in hive.hbins().flatten() {
        for _ in bin.cells(&hive.cells()) {}
    }
}

#[test]
fn every_truncation_of_small_hives_is_handled() {
    for name in ["regipy__BCD", "regipy__SECURITY"] {
        let Some(bytes) = common::read_hive(name) else {
            return;
        };
        // Every length through the base block and first bin, then every 8 bytes (cell granularity).
        let lengths = (0..0x1100).chain((0x1100..=bytes.len()).step_by(8));
        for len in lengths {
            exercise(&bytes[..len]);
        }
        let full = Hive::from_bytes(&bytes).unwrap().walk();
        let cut = Hive::from_bytes(&bytes[..bytes.len() / 2]).unwrap().walk();
        assert!(
            cut.keys < full.keys && !cut.errors.is_empty(),
            "{name}: a half hive reports what is missing"
        );
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let Some(bytes) = common::read_hive("regipy__BCD") else {
        return;
    };
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut m = bytes.clone();
        for _ in 0..(next() % 16 + 1) {
            let at = 0x1000 + (next() as usize % (m.len() - 0x1000));
            m[at] = next() as u8;
        }
        exercise(&m);
    }
}

#[test]
fn corrupted_hive_yields_readable_parts_and_offsets() {
    let Some(bytes) = common::read_hive("regipy__corrupted_system_hive") else {
        return;
    };
    let hive = Hive::from_bytes(&bytes).unwrap();
    let report = hive.walk();
    assert!(report.keys >= 501 && report.values >= 1383, "{report:?}");
    assert!(!report.errors.is_empty());
    for e in &report.errors {
        let msg = e.error.to_string();
        assert!(msg.starts_with("offset 0x"), "error names an offset: {msg}");
        assert!(e.key_path.starts_with("$$$PROTO.HIV"), "{}", e.key_path);
    }
    // The Select key sits before the damage; python-registry reads it too.
    assert!(hive
        .open_key("Select")
        .unwrap()
        .value("Current")
        .unwrap()
        .is_some());
}

#[test]
fn truncated_and_flipped_logs_never_panic() {
    let (Some(primary), Some(log1)) = (
        common::read_hive("regipy__SYSTEM_B"),
        common::read_hive("regipy__SYSTEM_B.LOG1"),
    ) else {
        return;
    };
    let used = 0xE000; // LOG1's entries end here
    for len in (0..used).step_by(509) {
        let _ = replay(&primary, &[("LOG1", &log1[..len])]);
    }
    for at in (0x200..used).step_by(1021) {
        let mut l = log1[..used].to_vec();
        l[at] ^= 0x5A;
        let _ = replay(&primary, &[("LOG1", &l)]);
    }
}
