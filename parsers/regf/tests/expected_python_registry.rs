//! Cross-check against facts recorded by python-registry (an independent parser) in
//! shared/samples/hives/EXPECTED.python-registry.json. Primary files only, no log replay.
mod common;
use serde_json::{json, Value as Json};
use triage_regf::{filetime_to_unix_micros, Hive, Key, ValueData};

fn to_json(d: &ValueData<'_>) -> Json {
    match d {
        ValueData::Sz(s) | ValueData::ExpandSz(s) | ValueData::Link(s) => json!(s),
        ValueData::MultiSz(v) => json!(v),
        ValueData::Dword(n) | ValueData::DwordBigEndian(n) => json!(n),
        ValueData::Qword(n) => json!(n),
        other => json!(format!("{other:?}")),
    }
}

/// Every value recorded for `key` must exist with the same decoded data.
fn assert_values(hive_name: &str, key: &Key<'_>, expected: &Json) {
    let map = expected.as_object().expect("object of values");
    assert!(!map.is_empty());
    for (name, want) in map {
        let lookup = if name == "(default)" {
            ""
        } else {
            name.as_str()
        };
        let v = key
            .value(lookup)
            .unwrap_or_else(|e| panic!("{hive_name}: {name}: {e}"))
            .unwrap_or_else(|| panic!("{hive_name}: value {name} missing"));
        let got = to_json(
            &v.data()
                .unwrap_or_else(|e| panic!("{hive_name}: {name}: {e}")),
        );
        assert_eq!(&got, want, "{hive_name}: value {name}");
    }
}

#[test]
fn walk_counts_root_and_system_values_match_python_registry() {
    let (Some(dir), Some(expected)) = (common::hives_dir(), common::expected()) else {
        return;
    };
    let entries = expected.as_object().expect("top-level object");
    assert!(entries.len() >= 16, "every shared hive is described");
    for (name, facts) in entries {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let hive = Hive::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = hive.walk();
        let (keys, values) = (
            facts["walk"]["keys"].as_u64().unwrap(),
            facts["walk"]["values"].as_u64().unwrap(),
        );
        if facts["walk"]["errors"].as_u64() == Some(0) {
            assert_eq!(
                (report.keys, report.values),
                (keys, values),
                "{name}: walk counts"
            );
            assert!(
                report.errors.is_empty(),
                "{name}: {:?}",
                report.errors.first()
            );
        } else {
            // python-registry gives up on whole subtrees; we must read at least as much and say where it broke.
            assert!(
                report.keys >= keys && report.values >= values,
                "{name}: {} keys, {} values",
                report.keys,
                report.values
            );
            assert!(
                !report.errors.is_empty(),
                "{name}: corruption must be reported"
            );
        }

        let root = hive.root().unwrap();
        assert_eq!(
            root.name(),
            facts["root_key"].as_str().unwrap(),
            "{name}: root name"
        );
        let want = common::iso_to_unix_micros(facts["root_last_written"].as_str().unwrap());
        let got = filetime_to_unix_micros(root.last_written());
        assert!((got - want).abs() <= 1, "{name}: root time {got} vs {want}");

        if let Some(select) = facts.get("select") {
            let sel = hive.open_key("Select").unwrap();
            assert_values(name, &sel, select);
        }
        if let Some(sm) = facts.get("session_manager") {
            let path = facts["session_manager_key"].as_str().unwrap();
            // Also exercise the root-name prefix and case tolerance of open_key.
            let with_root = format!(
                "{}\\{}",
                facts["root_key"].as_str().unwrap(),
                path.to_uppercase()
            );
            let key = hive
                .open_key(&with_root)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_values(name, &key, sm);
            let want =
                common::iso_to_unix_micros(facts["session_manager_last_written"].as_str().unwrap());
            assert!((filetime_to_unix_micros(key.last_written()) - want).abs() <= 1);
            assert_values(
                name,
                &key.subkey("SubSystems").unwrap().unwrap(),
                &facts["SubSystems"],
            );
            assert_values(
                name,
                &key.subkey("KnownDLLs").unwrap().unwrap(),
                &facts["KnownDLLs"],
            );
        }
    }
}

#[test]
fn missing_key_is_an_error_naming_the_component() {
    let Some(bytes) = common::read_hive("regipy__SYSTEM") else {
        return;
    };
    let hive = Hive::from_bytes(&bytes).unwrap();
    match hive.open_key("ControlSet001\\NoSuchKey\\Deeper") {
        Err(triage_regf::RegfError::KeyNotFound { component, .. }) => {
            assert_eq!(component, "NoSuchKey")
        }
        other => panic!("unexpected {other:?}"),
    }
}
