//! KnownDLLs and csrss ServerDlls per Windows release, through the real binary, on real
//! hives: no `REG-KNOWNDLLS` / `REG-SUBSYSTEM-SERVERDLL` on any genuine SYSTEM hive
//! (their KnownDLLs checked against python-registry's reading in
//! `EXPECTED.python-registry.json`, so the test cannot pass by reading nothing), none
//! for the names Windows XP itself listed (planted with hivex, the independent writer,
//! into a copy of a genuine hive), and still raised for a planted DLL no Windows lists.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::parse_csv;

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

fn records(kind: &str, hive: &Path) -> Vec<HashMap<String, String>> {
    let out = bin()
        .args(["hive", "-q", "--format", "csv", "--records", kind])
        .arg(hive)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}: {:?}",
        hive.display(),
        out.status
    );
    parse_csv(&String::from_utf8(out.stdout).unwrap()).1
}

fn hives() -> Option<PathBuf> {
    triage_testkit::sample_dir("hives").filter(|d| d.join("regipy__SYSTEM").is_file())
}

#[test]
fn genuine_system_hives_raise_no_knowndlls_finding() {
    let Some(dir) = hives() else { return };
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("EXPECTED.python-registry.json")).unwrap(),
    )
    .unwrap();
    for name in [
        "regipy__SYSTEM",
        "regipy__SYSTEM_2",
        "regipy__SYSTEM_B",
        "regipy__corrupted_system_hive",
    ] {
        let hive = dir.join(name);
        let findings = records("findings", &hive);
        for f in &findings {
            assert!(
                f["rule"] != "REG-KNOWNDLLS" && f["rule"] != "REG-SUBSYSTEM-SERVERDLL",
                "{name}: {f:?}"
            );
        }
        // The oracle's KnownDLLs are all among what we read (current control set).
        let Some(known) = expected[name]["KnownDLLs"].as_object() else {
            continue;
        };
        let reg = records("registry", &hive);
        for (value, data) in known {
            let ours = reg.iter().find(|r| {
                r["key"].ends_with("KnownDLLs") && r["value"].eq_ignore_ascii_case(value)
            });
            let ours = ours.unwrap_or_else(|| panic!("{name}: KnownDLLs\\{value} not read"));
            assert_eq!(ours["data"], data.as_str().unwrap(), "{name} {value}");
        }
    }
}

/// A copy of the genuine Windows 7 hive with `reg` merged by hivex.
fn planted(dir: &Path, reg: &str) -> Option<PathBuf> {
    let hivexregedit = triage_testkit::tool("hivexregedit")?;
    let src = hives()?.join("regipy__SYSTEM");
    let hive = dir.join("SYSTEM");
    std::fs::copy(src, &hive).unwrap();
    let regfile = dir.join("plant.reg");
    std::fs::write(&regfile, reg).unwrap();
    let st = std::process::Command::new(hivexregedit)
        .args(["--merge", "--prefix", r"HKEY_LOCAL_MACHINE\SYSTEM"])
        .arg(&hive)
        .arg(&regfile)
        .status()
        .unwrap();
    assert!(st.success(), "hivexregedit --merge");
    Some(hive)
}

fn knowndlls_reg(values: &[(&str, &str)]) -> String {
    let mut s = String::from("Windows Registry Editor Version 5.00\n\n");
    for cs in ["ControlSet001", "ControlSet002"] {
        s.push_str(&format!(
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\{cs}\\Control\\Session Manager\\KnownDLLs]\n"
        ));
        for (v, d) in values {
            s.push_str(&format!("\"{v}\"=\"{d}\"\n"));
        }
        s.push('\n');
    }
    s
}

#[test]
fn windows_xp_names_are_genuine_and_a_planted_dll_is_not() {
    let dir = tempfile::tempdir().unwrap();
    // The seven that Windows 2000/XP/2003 list and Vista dropped.
    let xp = [
        ("lz32", "lz32.dll"),
        ("olecli32", "olecli32.dll"),
        ("olecnv32", "olecnv32.dll"),
        ("olesvr32", "olesvr32.dll"),
        ("olethk32", "olethk32.dll"),
        ("url", "url.dll"),
        ("version", "version.dll"),
    ];
    let Some(hive) = planted(dir.path(), &knowndlls_reg(&xp)) else {
        return;
    };
    // hivex wrote them where we read them: the values are there...
    let reg = records("registry", &hive);
    for (v, _) in xp {
        assert!(
            reg.iter()
                .any(|r| r["key"].ends_with("KnownDLLs") && r["value"] == v),
            "{v} not planted"
        );
    }
    // ...and, the release being unknown (no SOFTWARE hive), none is a finding.
    let f = records("findings", &hive);
    assert!(
        !f.iter().any(|f| f["rule"] == "REG-KNOWNDLLS"),
        "{:?}",
        f.iter()
            .filter(|f| f["rule"] == "REG-KNOWNDLLS")
            .collect::<Vec<_>>()
    );

    let dir = tempfile::tempdir().unwrap();
    let Some(hive) = planted(
        dir.path(),
        &knowndlls_reg(&[("evilhook", "evilhook.dll"), ("version", "version.dll")]),
    ) else {
        return;
    };
    let f = records("findings", &hive);
    let hits: Vec<_> = f.iter().filter(|f| f["rule"] == "REG-KNOWNDLLS").collect();
    // One per control set, each naming the DLL and saying no release lists it.
    assert!(!hits.is_empty());
    for h in &hits {
        assert!(h["evidence"].contains("evilhook"), "{h:?}");
        assert_eq!(h["severity"], "medium");
        assert!(
            h["explanation"].contains("no Windows from XP to 11 lists it"),
            "{h:?}"
        );
    }
    assert!(hits.iter().all(|h| !h["evidence"].contains("version.dll")));
}

/// A SOFTWARE hive saying `version` (and `build`), written by hivex into a copy of a
/// genuine hive, beside the SYSTEM hive in `dir` (as `System32\config` holds them).
fn software_beside(dir: &Path, version: &str, build: &str) -> Option<()> {
    let hivexregedit = triage_testkit::tool("hivexregedit")?;
    let hive = dir.join("SOFTWARE");
    std::fs::copy(hives()?.join("regipy__SAM"), &hive).unwrap();
    let reg = format!(
        "Windows Registry Editor Version 5.00\n\n\
         [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n\n\
         [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]\n\n\
         [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n\
         \"CurrentVersion\"=\"{version}\"\n\"CurrentBuildNumber\"=\"{build}\"\n\n"
    );
    let regfile = dir.join("software.reg");
    std::fs::write(&regfile, reg).unwrap();
    let st = std::process::Command::new(hivexregedit)
        .args(["--merge", "--prefix", r"HKEY_LOCAL_MACHINE\SOFTWARE"])
        .arg(&hive)
        .arg(&regfile)
        .status()
        .unwrap();
    assert!(st.success(), "hivexregedit --merge");
    Some(())
}

#[test]
fn the_release_comes_from_the_software_hive_beside() {
    let xp_only = [("olethk32", "olethk32.dll"), ("lz32", "lz32.dll")];
    // Windows 7's SYSTEM hive with XP's KnownDLLs, and a SOFTWARE hive saying 7 SP1:
    // names only XP listed are a low finding naming XP.
    let dir = tempfile::tempdir().unwrap();
    let Some(hive) = planted(dir.path(), &knowndlls_reg(&xp_only)) else {
        return;
    };
    let Some(()) = software_beside(dir.path(), "6.1", "7601") else {
        return;
    };
    let inputs = records("inputs", &hive);
    assert!(
        inputs[0]["detail"].contains("Windows 7/2008 R2 (from ")
            && inputs[0]["detail"].contains("SOFTWARE)"),
        "{:?}",
        inputs[0]["detail"]
    );
    let f = records("findings", &hive);
    let hits: Vec<_> = f.iter().filter(|f| f["rule"] == "REG-KNOWNDLLS").collect();
    for (v, _) in xp_only {
        assert!(
            hits.iter().any(|h| h["evidence"].contains(v)),
            "{v}: {hits:?}"
        );
    }
    for h in &hits {
        assert_eq!(h["severity"], "low", "{h:?}");
        assert!(
            h["explanation"].contains("on Windows 7/2008 R2")
                && h["explanation"].contains("only Windows 2000/XP/2003"),
            "{h:?}"
        );
    }
    // The genuine Windows 7 hive beside a SOFTWARE hive saying 7 SP1: nothing; beside
    // one saying Windows 10, the names only Vista and 7 listed (LPK, USP10) are low.
    for (version, build, expect_lpk) in [("6.1", "7601", false), ("6.3", "19045", true)] {
        let dir = tempfile::tempdir().unwrap();
        let hive = dir.path().join("SYSTEM");
        std::fs::copy(hives().unwrap().join("regipy__SYSTEM"), &hive).unwrap();
        software_beside(dir.path(), version, build).unwrap();
        let f = records("findings", &hive);
        let hits: Vec<_> = f.iter().filter(|f| f["rule"] == "REG-KNOWNDLLS").collect();
        if !expect_lpk {
            assert!(hits.is_empty(), "{version}: {hits:?}");
            continue;
        }
        for dll in ["LPK", "USP10"] {
            let h = hits
                .iter()
                .find(|h| h["subject"].ends_with(&format!("KnownDLLs\\{dll}")))
                .unwrap_or_else(|| panic!("{dll}: {hits:?}"));
            assert_eq!(h["severity"], "low");
            assert!(
                h["explanation"].contains("on Windows 10/2016/2019")
                    && h["explanation"].contains("Windows 7/2008 R2"),
                "{h:?}"
            );
        }
    }
}
