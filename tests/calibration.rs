//! The name and location rules calibrated against ~58,000 paths of genuine Windows and
//! enterprise-software files (`../shared/samples/names/genuine-windows-paths.tsv`, with
//! its sources): as files found on a volume, none may raise a file finding at medium or
//! above. Every planted look-alike in the other tests still does.

use smss_triage::model::{FileRecord, Severity};
use smss_triage::rules;

#[test]
fn genuine_windows_paths_raise_nothing_at_medium_or_above() {
    let Some(names) = triage_testkit::sample_dir("names") else {
        return;
    };
    let text = std::fs::read_to_string(names.join("genuine-windows-paths.tsv")).unwrap();
    let mut checked = 0usize;
    let mut loud = Vec::new();
    for line in text.lines().skip(1) {
        let path = line.split('\t').next().unwrap_or("");
        // `C:\...` as found on the system volume: the path inside the volume.
        let in_volume = path
            .get(2..)
            .filter(|_| path.as_bytes().get(1) == Some(&b':'))
            .unwrap_or(path);
        let name = in_volume.rsplit('\\').next().unwrap_or("");
        if name.is_empty() {
            continue;
        }
        let rec = FileRecord {
            input: "genuine.E01".into(),
            file_name: name.into(),
            path: in_volume.into(),
            volume: "genuine.E01 › p2 NTFS".into(),
            ..Default::default()
        };
        for f in rules::file::check(&rec) {
            if f.severity >= Severity::Medium {
                loud.push(format!("{} {} {}", f.rule, f.severity, in_volume));
            }
        }
        checked += 1;
    }
    assert!(checked > 50_000, "only {checked} paths read");
    assert!(
        loud.is_empty(),
        "{} of {checked} genuine paths raise findings, first: {:#?}",
        loud.len(),
        &loud[..loud.len().min(40)]
    );
}

#[test]
fn the_planted_lookalikes_still_raise() {
    for (path, rule) in [
        (r"\ProgramData\srnss.exe", "FILE-LOOKALIKE"),
        ("\\ProgramData\\\u{0455}mss.exe", "FILE-LOOKALIKE"),
        (r"\Users\Public\smss.exe", "FILE-PROTECTED-PATH"),
        (
            r"\Users\Public\Windows\System32\smss.exe",
            "FILE-PROTECTED-PATH",
        ),
        (r"\Windows\smss.exe", "FILE-PROTECTED-PATH"),
        (r"\Windows\Temp\lsass.exe", "FILE-PROTECTED-PATH"),
        (
            r"\ProgramData\Docker\windowsfilter\x\Users\smss.exe",
            "FILE-PROTECTED-PATH",
        ),
    ] {
        let rec = FileRecord {
            input: "t.E01".into(),
            file_name: path.rsplit('\\').next().unwrap().into(),
            path: path.into(),
            volume: "t.E01 › p2 NTFS".into(),
            ..Default::default()
        };
        let got: Vec<_> = rules::file::check(&rec)
            .into_iter()
            .map(|f| f.rule)
            .collect();
        assert!(got.contains(&rule), "{path}: {got:?}");
    }
    // And the genuine places stay quiet.
    for path in [
        r"\Windows\System32\smss.exe",
        r"\Windows\SysWOW64\svchost.exe",
        r"\Windows\WinSxS\amd64_microsoft-windows-smss_31bf3856ad364e35_10.0.22621.1_none_x\smss.exe",
        r"\Windows.old\Windows\System32\lsass.exe",
        r"\$WINDOWS.~BT\NewOS\Windows\System32\csrss.exe",
        r"\Windows\servicing\LCU\Package_for_RollupFix\amd64_x\f\smss.exe",
    ] {
        let rec = FileRecord {
            input: "t.E01".into(),
            file_name: path.rsplit('\\').next().unwrap().into(),
            path: path.into(),
            volume: "t.E01 › p2 NTFS".into(),
            ..Default::default()
        };
        let loud: Vec<_> = rules::file::check(&rec)
            .into_iter()
            .filter(|f| f.severity >= Severity::Medium)
            .map(|f| f.rule)
            .collect();
        assert!(loud.is_empty(), "{path}: {loud:?}");
    }
}
