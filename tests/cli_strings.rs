//! Strings exactly as in the evidence (CSV, JSON) and never raw on a terminal.

mod common;

use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;
use common::{parse_csv, samples_dir, shared_dir};

fn bin() -> String {
    assert_cmd::cargo::cargo_bin("smss-triage")
        .to_string_lossy()
        .into_owned()
}

/// `hex(7)`/`hex(2)` data for a .reg file: UTF-16LE, each string NUL-terminated.
fn reg_hex(strings: &[&str], multi: bool) -> String {
    let mut bytes = Vec::new();
    for s in strings {
        for u in s.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        bytes.extend_from_slice(&[0, 0]);
    }
    if multi {
        bytes.extend_from_slice(&[0, 0]);
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

const EXECUTE: &str = r"\??\C:\ProgramData\Update\svc.exe";
const WINDOWS: &str = r"%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=sxssrv,4 ServerDll=C:\ProgramData\x\evsrv,5 ProfileControl=Off MaxRequestThreads=16";

/// A SYSTEM hive with our values merged in by hivexregedit (an independent writer).
fn derive_hive(dir: &Path) -> Option<std::path::PathBuf> {
    let shared = shared_dir()?;
    let hivex = triage_testkit::tool("hivexregedit")?;
    let base = shared.join("samples/hives/regipy__SYSTEM");
    if !base.exists() {
        return None;
    }
    let hive = dir.join("SYSTEM");
    std::fs::copy(&base, &hive).unwrap();
    let mut perm = std::fs::metadata(&hive).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&hive, perm).unwrap();
    let reg = format!(
        "Windows Registry Editor Version 5.00\n\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]\n\
         \"Execute\"=hex(7):{}\n\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager\\SubSystems]\n\
         \"Windows\"=hex(2):{}\n",
        reg_hex(&[EXECUTE], true),
        reg_hex(&[WINDOWS], false)
    );
    let reg_path = dir.join("values.reg");
    std::fs::write(&reg_path, reg).unwrap();
    let st = Std::new(hivex)
        .args(["--merge", "--prefix", r"HKEY_LOCAL_MACHINE\SYSTEM"])
        .arg(&hive)
        .arg(&reg_path)
        .status()
        .unwrap();
    assert!(st.success());
    Some(hive)
}

fn run(args: &[&str], path: &Path) -> String {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn session_manager_values_round_trip_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hive) = derive_hive(tmp.path()) else {
        return;
    };
    let csv = run(
        &["hive", "-q", "--format", "csv", "--records", "findings"],
        &hive,
    );
    let (_, rows) = parse_csv(&csv);
    let exec = rows
        .iter()
        .find(|r| r["rule"] == "REG-EXECUTE" || r["evidence"].contains("svc.exe"))
        .unwrap_or_else(|| panic!("no Execute finding: {csv}"));
    assert!(
        exec["evidence"].contains(&format!("\"{EXECUTE}\"")),
        "{}",
        exec["evidence"]
    );
    assert!(!csv.contains(r"\\??\\"), "Debug-escaped: {csv}");
    let dll = rows
        .iter()
        .find(|r| r["evidence"].contains("evsrv") || r["explanation"].contains("evsrv"))
        .unwrap_or_else(|| panic!("no ServerDll finding: {csv}"));
    assert!(
        dll["explanation"].contains(r#""C:\ProgramData\x\evsrv""#),
        "{}",
        dll["explanation"]
    );

    // JSON: the decoded string is the value, byte for byte.
    let jsonl = run(
        &["hive", "-q", "--format", "jsonl", "--records", "findings"],
        &hive,
    );
    let ev: Vec<String> = jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["evidence"].as_str().map(String::from))
        .collect();
    assert!(
        ev.iter().any(|e| e.contains(&format!("\"{EXECUTE}\""))),
        "{ev:?}"
    );

    // The registry records carry the data as written by hivexregedit.
    let csv = run(
        &["hive", "-q", "--format", "csv", "--records", "registry"],
        &hive,
    );
    let (_, rows) = parse_csv(&csv);
    let data = |v: &str| {
        rows.iter()
            .filter(|r| r["value"] == v && r["control_set"] == "ControlSet001")
            .map(|r| r["data"].clone())
            .collect::<Vec<_>>()
    };
    assert!(
        data("Execute").iter().any(|d| d == EXECUTE),
        "{:?}",
        data("Execute")
    );
    assert!(
        data("Windows").iter().any(|d| d == WINDOWS),
        "{:?}",
        data("Windows")
    );
}

/// Runs the binary under a pseudo-terminal, as an analyst would see it.
fn through_pty(args: &str) -> Option<String> {
    let script = triage_testkit::tool("script")?;
    let out = Std::new(script)
        .args(["-qec", &format!("{} {args}", bin()), "/dev/null"])
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    let good = samples_dir().join("pe/good/smss.exe");
    if !good.exists() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let names = [
        "sm\u{200B}ss.exe",
        "\u{FF53}\u{FF4D}\u{FF53}\u{FF53}.exe",
        "x\u{1B}]0;pwned\u{7}\u{1B}[31m.exe",
    ];
    for n in names {
        std::fs::copy(&good, tmp.path().join(n)).unwrap();
    }
    let dir = tmp.path().to_string_lossy().into_owned();
    let Some(out) = through_pty(&format!("pe '{dir}'")) else {
        return;
    };
    // No ESC or BEL from a file name: the terminal receives them escaped.
    assert!(!out.contains("\u{1B}]0;pwned"), "{out:?}");
    assert!(!out.contains("\u{7}"), "{out:?}");
    assert!(out.contains(r"\u{1b}]0;pwned\u{7}"), "{out}");
    // The zero-width space is visible.
    assert!(!out.contains('\u{200B}'), "{out:?}");
    assert!(out.contains(r"sm\u{200b}ss.exe"), "{out}");
    // Full-width letters are kept, and the columns after them stay aligned.
    // The progress line (stderr is the same terminal) redraws with `\r` + erase-line; a
    // table row is what follows its last erase.
    let lines: Vec<&str> = out
        .lines()
        .map(|l| l.rsplit("\u{1B}[2K").next().unwrap_or(l))
        .map(|l| l.rsplit('\r').find(|seg| !seg.is_empty()).unwrap_or(l))
        .filter(|l| l.contains("exe"))
        .collect();
    assert!(
        out.contains("\u{FF53}\u{FF4D}\u{FF53}\u{FF53}.exe"),
        "{out}"
    );
    let cols = |l: &str| -> Vec<usize> {
        // Display column of each run of two or more spaces (the column gaps).
        let mut at = Vec::new();
        let mut col = 0;
        let mut prev_space = false;
        for c in l.chars() {
            let space = c == ' ';
            if space && !prev_space {
                at.push(col);
            }
            prev_space = space;
            col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        }
        at
    };
    let fw = lines.iter().find(|l| l.contains('\u{FF53}'));
    let zw = lines.iter().find(|l| l.contains(r"\u{200b}"));
    if let (Some(fw), Some(zw)) = (fw, zw) {
        // The names differ in width; the columns after them (each gap's start after the
        // first) are at the same display columns: padding is by display width.
        let a = cols(fw.trim_end_matches('\r'));
        let b = cols(zw.trim_end_matches('\r'));
        assert!(
            a.len() >= 3 && a.len() == b.len() && a[1..] == b[1..],
            "{fw}\n{zw}\n{a:?} {b:?}"
        );
    }

    // CSV keeps the real characters.
    let csv = run(
        &["pe", "-q", "--format", "csv", "--records", "findings"],
        tmp.path(),
    );
    assert!(csv.contains("sm\u{200B}ss.exe"), "{csv}");
}
