//! Scenario hives derived from shared hives by samples/hives/derive.sh (hivexregedit): each
//! scenario's facts show the injected values and the clean hive's do not.
mod common;
use std::path::{Path, PathBuf};
use std::process::Command;
use triage_hivecfg::{
    hive_type, software_config, system_config, HiveType, RenameOperation, SessionManagerConfig,
    SystemConfig,
};
use triage_regf::Hive;

fn derive() -> Option<(tempfile::TempDir, PathBuf)> {
    let shared = common::shared_dir()?;
    if Command::new("hivexregedit").arg("--help").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "hivexregedit (libwin-hivex-perl) is required in CI"
        );
        eprintln!("note: hivexregedit not installed; skipping derived-hive tests");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/hives/derive.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(tmp.path())
        .env("SMSS_SHARED", shared)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "derive.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().to_path_buf();
    Some((tmp, dir))
}

fn with_system<T>(path: &Path, f: impl FnOnce(&SystemConfig, &SessionManagerConfig) -> T) -> T {
    let bytes = std::fs::read(path).unwrap();
    let hive = Hive::from_bytes(&bytes).unwrap();
    assert_eq!(hive_type(&hive), HiveType::System);
    let cfg = system_config(&hive);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    let current = cfg
        .session_managers
        .iter()
        .find(|s| s.is_current)
        .expect("current set");
    assert_eq!(current.control_set, "ControlSet001");
    f(&cfg, current)
}

fn differs(cfg: &SystemConfig, setting: &str) -> bool {
    cfg.differences.iter().any(|d| d.setting == setting)
}

#[test]
fn system_scenarios_show_their_injected_values() {
    let Some((_tmp, dir)) = derive() else { return };
    let clean = common::hives_dir().unwrap().join("regipy__SYSTEM");
    let clean_known = with_system(&clean, |cfg, sm| {
        assert_eq!(
            sm.boot_execute.as_ref().unwrap().strings(),
            ["autocheck autochk *"]
        );
        assert!(
            sm.execute.is_none()
                && sm.pending_file_rename_operations.is_none()
                && sm.app_cert_dlls.is_none()
        );
        assert!(!sm
            .known_dlls
            .as_ref()
            .unwrap()
            .dlls
            .contains_key("evilhook"));
        assert!(!differs(cfg, "Session Manager\\BootExecute"));
        sm.known_dlls.as_ref().unwrap().dlls.len()
    });
    let p = |s: &str| dir.join(format!("{s}.hive"));

    with_system(&p("bootexecute_extra"), |cfg, sm| {
        assert_eq!(
            sm.boot_execute.as_ref().unwrap().strings(),
            ["autocheck autochk *", "evil.exe"]
        );
        assert_eq!(sm.boot_execute.as_ref().unwrap().value_type, "REG_MULTI_SZ");
        // Only ControlSet001 was edited.
        assert!(differs(cfg, "Session Manager\\BootExecute"));
        let other = cfg.session_managers.iter().find(|s| !s.is_current).unwrap();
        assert_eq!(
            other.boot_execute.as_ref().unwrap().strings(),
            ["autocheck autochk *"]
        );
    });
    with_system(&p("setupexecute"), |_, sm| {
        assert_eq!(
            sm.setup_execute.as_ref().unwrap().strings(),
            [r"\??\C:\Users\Public\stage.exe"]
        );
    });
    with_system(&p("execute"), |_, sm| {
        assert_eq!(
            sm.execute.as_ref().unwrap().strings(),
            [r"C:\ProgramData\run.exe"]
        );
    });
    with_system(&p("subsystems_bad_csrss"), |cfg, sm| {
        let s = sm.subsystems.as_ref().unwrap();
        assert_eq!(s.windows.as_ref().unwrap().value_type, "REG_EXPAND_SZ");
        assert_eq!(
            s.windows_command.as_ref().unwrap().executable,
            r"C:\Users\Public\csrss.exe"
        );
        assert!(differs(cfg, "SubSystems\\Windows"));
    });
    with_system(&p("subsystems_extra_serverdll"), |_, sm| {
        let cmd = sm
            .subsystems
            .as_ref()
            .unwrap()
            .windows_command
            .clone()
            .unwrap();
        let names: Vec<_> = cmd
            .server_dlls
            .iter()
            .map(|d| (d.name.as_str(), d.index))
            .collect();
        assert_eq!(
            names,
            [
                ("basesrv", Some(1)),
                ("winsrv", Some(3)),
                ("winsrv", Some(2)),
                ("sxssrv", Some(4)),
                ("evilsrv", Some(5))
            ]
        );
    });
    with_system(&p("knowndlls_added"), |cfg, sm| {
        let kd = sm.known_dlls.as_ref().unwrap();
        assert_eq!(kd.dlls["evilhook"].as_text(), Some("evilhook.dll"));
        assert_eq!(kd.dlls.len(), clean_known + 1);
        assert!(differs(cfg, "KnownDLLs\\evilhook"));
    });
    with_system(&p("pending_rename_smss"), |_, sm| {
        let ops = &sm
            .pending_file_rename_operations
            .as_ref()
            .unwrap()
            .operations;
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].source, r"\??\C:\Users\Public\smss.exe");
        assert_eq!(ops[0].destination, r"!\??\C:\Windows\System32\smss.exe");
        assert_eq!(ops[0].operation, RenameOperation::Replace);
        assert_eq!(
            (ops[1].source.as_str(), ops[1].operation),
            (
                r"\??\C:\Windows\System32\csrss.exe",
                RenameOperation::Delete
            )
        );
    });
    with_system(&p("kmode_not_win32k"), |_, sm| {
        let k = sm.subsystems.as_ref().unwrap().kmode.as_ref().unwrap();
        assert_eq!(k.as_text(), Some(r"\SystemRoot\System32\drivers\evilk.sys"));
    });
    with_system(&p("appcertdlls_added"), |_, sm| {
        let a = sm.app_cert_dlls.as_ref().unwrap();
        assert_eq!(a.dlls.len(), 1);
        assert_eq!(
            (a.dlls[0].name.as_str(), a.dlls[0].as_text()),
            ("certhook", Some(r"C:\ProgramData\certhook.dll"))
        );
    });
}

#[test]
fn software_scenarios_show_ifeo_and_silent_process_exit() {
    let Some((_tmp, dir)) = derive() else { return };
    let clean_bytes = common::read_hive("regipy__ntuser_software_partial").unwrap();
    let clean = software_config(&Hive::from_bytes(&clean_bytes).unwrap());
    assert!(clean.errors.is_empty());
    assert!(
        clean.ifeo.iter().all(|e| e.debugger.is_none()) && clean.silent_process_exit.is_empty()
    );

    let bytes = std::fs::read(dir.join("ifeo_debugger_lsass.hive")).unwrap();
    let hive = Hive::from_bytes(&bytes).unwrap();
    assert_eq!(hive_type(&hive), HiveType::Software);
    let cfg = software_config(&hive);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    let lsass = cfg
        .ifeo
        .iter()
        .find(|e| e.image == "lsass.exe")
        .expect("lsass.exe IFEO entry");
    assert!(!lsass.wow64);
    assert_eq!(
        lsass.debugger.as_ref().unwrap().as_text(),
        Some(r"C:\Users\Public\dbg.exe")
    );
    assert_eq!(lsass.global_flag.as_ref().unwrap().as_number(), Some(0x200));
    assert!(lsass.key_last_written > 0 && cfg.ifeo_key_last_written.is_some());

    let bytes = std::fs::read(dir.join("silentprocessexit_winlogon.hive")).unwrap();
    let cfg = software_config(&Hive::from_bytes(&bytes).unwrap());
    let spe = cfg
        .silent_process_exit
        .iter()
        .find(|e| e.image == "winlogon.exe")
        .expect("SilentProcessExit entry");
    assert_eq!(
        spe.monitor_process.as_ref().unwrap().as_text(),
        Some(r"C:\Users\Public\mon.exe")
    );
    assert_eq!(spe.reporting_mode.as_ref().unwrap().as_number(), Some(1));
    let ifeo = cfg.ifeo.iter().find(|e| e.image == "winlogon.exe").unwrap();
    assert_eq!(ifeo.global_flag.as_ref().unwrap().as_number(), Some(0x200));
}
