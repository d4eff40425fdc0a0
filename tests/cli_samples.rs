//! The project's own samples: each was built to show one trick (samples/pe/make.sh);
//! the tool must name exactly that trick and stay quiet on the genuine-shaped ones.

mod common;

use std::collections::{BTreeSet, HashMap};

use assert_cmd::Command;
use common::{parse_csv, samples_dir};

fn findings_by_file() -> HashMap<String, BTreeSet<String>> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args([
            "scan",
            "-q",
            "--format",
            "csv",
            "--records",
            "findings",
            "--fail-on",
            "high",
        ])
        .arg(samples_dir().join("pe"))
        .assert()
        .code(1) // the samples hold high and critical findings
        .get_output()
        .stdout
        .clone();
    let (_, rows) = parse_csv(&String::from_utf8(out).unwrap());
    let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in rows {
        if r["severity"] == "info" {
            continue;
        }
        let rel = r["subject"]
            .split("samples/pe/")
            .nth(1)
            .unwrap_or(&r["subject"])
            .to_string();
        map.entry(rel).or_default().insert(r["rule"].clone());
    }
    map
}

#[test]
fn each_sample_shows_its_trick() {
    let got = findings_by_file();
    let expect: &[(&str, &[&str])] = &[
        (
            "fake/smss.exe",
            &["SMSS-FILE-IMPORTS", "SMSS-FILE-NOT-NATIVE"],
        ),
        ("renamed/updater.exe", &["FILE-RENAMED"]),
        ("signed/fake_microsoft.exe", &["SIG-FAKE-MICROSOFT"]),
        ("signed/tool_signed_altered.exe", &["SIG-DIGEST-MISMATCH"]),
        ("lookalike/srnss.exe", &["FILE-LOOKALIKE"]),
        ("lookalike/smss .exe", &["FILE-LOOKALIKE"]),
        ("lookalike/smss.txt.exe", &["FILE-LOOKALIKE"]),
        ("lookalike/\u{0455}mss.exe", &["FILE-LOOKALIKE"]),
        ("lookalike/s\u{202E}exe.ssm", &["FILE-LOOKALIKE"]),
    ];
    for (file, rules) in expect {
        let want: BTreeSet<String> = rules.iter().map(|s| s.to_string()).collect();
        assert_eq!(got.get(*file), Some(&want), "{file}: all findings {got:#?}");
    }
    // Genuine-shaped files: nothing above info.
    for clean in ["good/smss.exe", "signed/tool_signed.exe"] {
        assert!(
            !got.contains_key(clean),
            "{clean} should be clean: {:?}",
            got.get(clean)
        );
    }
}

#[test]
fn good_smss_has_the_genuine_shape() {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["pe", "-q", "--format", "csv"])
        .arg(samples_dir().join("pe/good/smss.exe"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let (_, rows) = parse_csv(&String::from_utf8(out).unwrap());
    assert_eq!(rows[0]["subsystem"], "native");
    assert_eq!(rows[0]["imports"], "ntdll.dll");
    assert_eq!(rows[0]["original_filename"], "smss.exe");
    assert_eq!(rows[0]["signed"], "false");
}
