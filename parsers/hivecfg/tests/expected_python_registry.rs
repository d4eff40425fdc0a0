//! Session Manager facts against python-registry's record (EXPECTED.python-registry.json).
mod common;
use serde_json::{json, Value as Json};
use triage_hivecfg::{dump, hive_type, system_config, Data, HiveType, RegValue, RenameOperation};
use triage_regf::Hive;

fn data_json(v: &RegValue) -> Json {
    match &v.data {
        Data::Text(s) => json!(s),
        Data::List(l) => json!(l),
        Data::Number(n) => json!(n),
        Data::Bytes(b) => json!(b),
    }
}

fn check(name: &str, what: &str, got: Option<&RegValue>, want: Option<&Json>) {
    match (got, want) {
        (Some(g), Some(w)) => assert_eq!(&data_json(g), w, "{name}: {what}"),
        (None, None) => {}
        // The recording matched names case-sensitively: SYSTEM_2 stores `SETUPEXECUTE`, which
        // Windows (and we) find case-insensitively.
        (Some(g), None) if g.name != what && g.name.eq_ignore_ascii_case(what) => {}
        (g, w) => panic!("{name}: {what}: got {g:?}, expected {w:?}"),
    }
}

#[test]
fn every_system_hive_matches_python_registry() {
    let (Some(dir), Some(expected)) = (common::hives_dir(), common::expected()) else {
        return;
    };
    let mut checked = 0;
    for (name, facts) in expected.as_object().unwrap() {
        let Some(sm_want) = facts.get("session_manager") else {
            continue;
        };
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let hive = Hive::from_bytes(&bytes).unwrap();
        let cfg = system_config(&hive);
        assert!(cfg.errors.is_empty(), "{name}: {:?}", cfg.errors);
        let sel = &facts["select"];
        assert_eq!(
            cfg.select.current,
            sel["Current"].as_u64().map(|x| x as u32),
            "{name}"
        );
        assert_eq!(
            cfg.select.default,
            sel["Default"].as_u64().map(|x| x as u32)
        );
        assert_eq!(cfg.select.failed, sel["Failed"].as_u64().map(|x| x as u32));
        assert_eq!(
            cfg.select.last_known_good,
            sel["LastKnownGood"].as_u64().map(|x| x as u32)
        );

        let want_set = facts["session_manager_key"]
            .as_str()
            .unwrap()
            .split('\\')
            .next()
            .unwrap();
        assert_eq!(cfg.current_control_set.as_deref(), Some(want_set));
        let current: Vec<_> = cfg
            .session_managers
            .iter()
            .filter(|s| s.is_current)
            .collect();
        assert_eq!(current.len(), 1, "{name}: exactly one current control set");
        let sm = current[0];
        assert_eq!(sm.control_set, want_set);
        check(
            name,
            "BootExecute",
            sm.boot_execute.as_ref(),
            sm_want.get("BootExecute"),
        );
        check(
            name,
            "SetupExecute",
            sm.setup_execute.as_ref(),
            sm_want.get("SetupExecute"),
        );
        check(
            name,
            "ExcludeFromKnownDlls",
            sm.exclude_from_known_dlls.as_ref(),
            sm_want.get("ExcludeFromKnownDlls"),
        );
        check(
            name,
            "PendingFileRenameOperations",
            sm.pending_file_rename_operations.as_ref().map(|p| &p.value),
            sm_want.get("PendingFileRenameOperations"),
        );
        if let Some(pfro) = sm_want
            .get("PendingFileRenameOperations")
            .and_then(|v| v.as_array())
        {
            let ops = &sm
                .pending_file_rename_operations
                .as_ref()
                .unwrap()
                .operations;
            assert_eq!(ops.len(), pfro.len() / 2, "{name}: pairs");
            for (op, pair) in ops.iter().zip(pfro.chunks(2)) {
                assert_eq!(op.source, pair[0].as_str().unwrap());
                let dest = pair[1].as_str().unwrap();
                assert_eq!(op.operation == RenameOperation::Delete, dest.is_empty());
            }
        }

        let subs_want = facts["SubSystems"].as_object().unwrap();
        let subs = sm.subsystems.as_ref().expect("SubSystems");
        for (field, got) in [
            ("Windows", &subs.windows),
            ("Required", &subs.required),
            ("Optional", &subs.optional),
            ("Kmode", &subs.kmode),
            ("Debug", &subs.debug),
        ] {
            check(name, field, got.as_ref(), subs_want.get(field));
        }
        for (vname, want) in subs_want.iter().filter(|(k, _)| {
            !["Windows", "Required", "Optional", "Kmode", "Debug"].contains(&k.as_str())
        }) {
            let lookup = if vname == "(default)" {
                ""
            } else {
                vname.as_str()
            };
            let got = subs.other.iter().find(|v| v.name == lookup);
            check(name, vname, got, Some(want));
        }
        assert_eq!(
            subs.other.len(),
            subs_want.len() - 5,
            "{name}: other SubSystems values"
        );
        let windows = subs_want["Windows"].as_str().unwrap();
        let cmd = subs.windows_command.as_ref().unwrap();
        assert!(
            windows.starts_with(&cmd.executable)
                && cmd.executable.to_lowercase().ends_with("csrss.exe")
        );
        assert_eq!(cmd.server_dlls.len(), windows.matches("ServerDll=").count());
        assert_eq!(cmd.switches.len(), windows.split_whitespace().count() - 1);
        assert_eq!(
            (cmd.server_dlls[0].name.as_str(), cmd.server_dlls[0].index),
            ("basesrv", Some(1))
        );

        let kd_want = facts["KnownDLLs"].as_object().unwrap();
        let kd = sm.known_dlls.as_ref().expect("KnownDLLs");
        check(
            name,
            "DllDirectory",
            kd.dll_directory.as_ref(),
            kd_want.get("DllDirectory"),
        );
        check(
            name,
            "DllDirectory32",
            kd.dll_directory32.as_ref(),
            kd_want.get("DllDirectory32"),
        );
        let dll_want: Vec<_> = kd_want
            .iter()
            .filter(|(k, _)| !k.starts_with("DllDirectory"))
            .collect();
        assert_eq!(kd.dlls.len(), dll_want.len(), "{name}: KnownDLLs entries");
        for (k, w) in dll_want {
            check(name, k, kd.dlls.get(k), Some(w));
        }
        checked += 1;
    }
    assert_eq!(checked, 3, "SYSTEM, SYSTEM_2 and SYSTEM_B are recorded");
}

#[test]
fn hive_types_by_content_agree_with_provenance() {
    let Some(dir) = common::hives_dir() else {
        return;
    };
    use HiveType::*;
    for (name, want) in [
        ("plaso__NTUSER-WIN7.DAT", Ntuser),
        ("plaso__NTUSER.DAT", Ntuser),
        ("regipy__NTUSER.DAT", Ntuser),
        ("plaso__SAM", Sam),
        ("regipy__SAM", Sam),
        ("plaso__UsrClass.dat", UsrClass),
        ("regipy__UsrClass.dat", UsrClass),
        ("plaso__win10-Amcache.hve", Amcache),
        ("regipy__amcache.hve", Amcache),
        ("regipy__BCD", Bcd),
        ("regipy__SECURITY", Security),
        ("regipy__SYSTEM", System),
        ("regipy__SYSTEM_2", System),
        ("regipy__SYSTEM_B", System),
        ("regipy__corrupted_system_hive", System),
        // The Software subtree of a user hive has SOFTWARE's shape (vendor keys + Microsoft).
        ("regipy__ntuser_software_partial", Software),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            hive_type(&Hive::from_bytes(&bytes).unwrap()),
            want,
            "{name}"
        );
    }
}

#[test]
fn corrupted_system_hive_gives_partial_facts_and_errors() {
    let Some(bytes) = common::read_hive("regipy__corrupted_system_hive") else {
        return;
    };
    let hive = Hive::from_bytes(&bytes).unwrap();
    let cfg = system_config(&hive);
    assert_eq!(
        (cfg.select.current, cfg.select.last_known_good),
        (Some(1), Some(3))
    );
    // python-registry: "Invalid NK Record ID" under the Session Manager path.
    assert!(!cfg.errors.is_empty());
    assert!(
        cfg.errors
            .iter()
            .any(|e| e.to_string().contains("offset 0x")),
        "{:?}",
        cfg.errors
    );
}

#[test]
fn dump_rows_follow_the_tree() {
    let (Some(bytes), Some(expected)) = (common::read_hive("regipy__SYSTEM"), common::expected())
    else {
        return;
    };
    let hive = Hive::from_bytes(&bytes).unwrap();
    let rows: Vec<_> = dump(&hive, "Select", 0).unwrap().collect();
    let names: Vec<_> = rows.iter().map(|r| r.value_name.clone().unwrap()).collect();
    let want = expected["regipy__SYSTEM"]["select"].as_object().unwrap();
    assert_eq!(names.len(), want.len());
    for r in &rows {
        assert_eq!(r.data, want[r.value_name.as_deref().unwrap()].to_string());
        assert_eq!(
            (r.depth, r.key_path.as_str(), r.value_type.as_deref()),
            (0, "Select", Some("REG_DWORD"))
        );
    }
    let rows: Vec<_> = dump(&hive, "ControlSet001\\Control\\Session Manager", 1)
        .unwrap()
        .collect();
    let kd = rows
        .iter()
        .filter(|r| r.key_path == "Session Manager\\KnownDLLs")
        .count();
    assert_eq!(
        kd,
        expected["regipy__SYSTEM"]["KnownDLLs"]
            .as_object()
            .unwrap()
            .len()
    );
    let od = rows
        .iter()
        .find(|r| r.value_name.as_deref() == Some("ObjectDirectories"))
        .unwrap();
    assert_eq!(od.data, "\\Windows | \\RPC Control");
    assert_eq!(od.data_list, ["\\Windows", "\\RPC Control"]);
    assert!(rows.iter().all(|r| r.depth <= 1 && r.error.is_none()));
    // depth 0 never descends
    assert!(dump(&hive, "ControlSet001\\Control\\Session Manager", 0)
        .unwrap()
        .all(|r| r.depth == 0));
    assert!(dump(&hive, "No\\Such\\Key", 3).is_err());
}
