//! The calendar conversion checked against an independent one: CPython's `datetime`
//! (proleptic Gregorian, UTC), over fixed edge cases and a spread of pseudo-random
//! FILETIMEs from 1601 to 9999.
use std::process::Command;
use triage_bytes::FileTime;

#[test]
fn filetime_iso_equals_python_datetime() {
    let mut fts: Vec<u64> = vec![0, 1, 9_999_999, 10_000_000, 116_444_736_000_000_000];
    // Leap days and century years: 1700-03-01, 2000-02-29, 2100-02-28 23:59:59.9999999.
    fts.extend([
        31_241_376_000_000_000,
        125_963_712_000_000_000,
        157_520_159_999_999_999,
    ]);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        fts.push(x % 2_650_467_743_999_999_999); // below year 10000, Python's limit
    }
    let script = r#"
import sys, datetime
base = datetime.datetime(1601, 1, 1)
for line in sys.stdin:
    ft = int(line)
    t = base + datetime.timedelta(seconds=ft // 10**7)
    print(t.strftime('%Y-%m-%dT%H:%M:%S') + '.%07dZ' % (ft % 10**7))
"#;
    let python = std::env::var("SMSS_PY").unwrap_or_else(|_| "python3".into());
    let mut child = match Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_some() => panic!("{python}: {e}"),
        Err(_) => return,
    };
    let input: String = fts.iter().map(|f| format!("{f}\n")).collect();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs.len(), fts.len());
    for (ft, t) in fts.iter().zip(theirs) {
        assert_eq!(FileTime(*ft).iso(), t, "FILETIME {ft}");
    }
}
