//! The signed and recomputed Authenticode digests, primary and nested,
//! against `osslsigncode verify` for every signed sample.

mod common;

use std::path::Path;
use std::process::Command;

use triage_pe::{analyze, Options};

/// (signed, calculated) digests per signature index, from osslsigncode's
/// "Current message digest" / "Calculated message digest" lines.
fn osslsigncode_digests(path: &Path) -> Vec<(String, String)> {
    let out = Command::new("osslsigncode")
        .arg("verify")
        .arg("-in")
        .arg(path)
        .output()
        .expect("run osslsigncode");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |line: &str| {
        line.split(':')
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let current: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("Current message digest"))
        .map(value)
        .collect();
    let calculated: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("Calculated message digest"))
        .map(value)
        .collect();
    assert_eq!(
        current.len(),
        calculated.len(),
        "{}: unexpected osslsigncode output\n{text}",
        path.display()
    );
    current.into_iter().zip(calculated).collect()
}

#[test]
fn digests_agree_with_osslsigncode() {
    if !common::tool_available("osslsigncode") {
        eprintln!("note: osslsigncode not installed, test skipped");
        return;
    }
    let Some(shared) = common::shared_pe_dir() else {
        return;
    };
    let mut files = common::files_under(&shared);
    files.extend(common::repo_pe_files());
    let mut signed = 0;
    let mut mismatches = 0;
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let facts = analyze(&data, &Options::default()).unwrap();
        let Some(a) = facts.authenticode else {
            continue;
        };
        let reference = osslsigncode_digests(&path);
        assert!(
            !reference.is_empty(),
            "{}: osslsigncode found no signature",
            path.display()
        );
        let (want_signed, want_calculated) = &reference[0];
        assert_eq!(
            &a.signed_digest,
            want_signed,
            "{}: signed digest",
            path.display()
        );
        assert_eq!(
            a.computed_digest.as_ref(),
            Some(want_calculated),
            "{}: computed digest",
            path.display()
        );
        assert_eq!(
            a.digest_matches,
            want_signed == want_calculated,
            "{}",
            path.display()
        );
        assert_eq!(
            a.nested_signatures.len(),
            reference.len() - 1,
            "{}: nested count",
            path.display()
        );
        for (n, (s, c)) in a.nested_signatures.iter().zip(&reference[1..]) {
            assert_eq!(
                &n.signed_digest,
                s,
                "{}: nested signed digest",
                path.display()
            );
            assert_eq!(
                n.digest_matches,
                Some(s == c),
                "{}: nested match",
                path.display()
            );
        }
        signed += 1;
        mismatches += usize::from(!a.digest_matches);
    }
    // 10 signed shared samples + 3 signed repo samples; two are altered.
    assert!(signed >= 13, "only {signed} signed files compared");
    assert_eq!(
        mismatches, 2,
        "putty_modified.exe and tool_signed_altered.exe"
    );
}

/// The digest of an unsigned file of any length is the one signing it puts in its
/// signature: osslsigncode pads the file to a multiple of 8 before the certificate table.
#[test]
fn unsigned_digest_is_what_signing_signs_at_any_length() {
    if !common::tool_available("osslsigncode") {
        eprintln!("note: osslsigncode not installed, test skipped");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/pe");
    let Ok(base) = std::fs::read(repo.join("good/smss.exe")) else {
        return;
    };
    let keys = repo.join("keys");
    let tmp = tempfile::tempdir().unwrap();
    for extra in 0..8usize {
        let mut data = base.clone();
        data.extend(std::iter::repeat_n(0xA5u8, extra));
        let facts = analyze(&data, &Options::default()).unwrap();
        assert!(facts.authenticode.is_none());
        let unsigned = tmp.path().join(format!("odd{extra}.exe"));
        let signed = tmp.path().join(format!("odd{extra}-signed.exe"));
        std::fs::write(&unsigned, &data).unwrap();
        let st = Command::new("osslsigncode")
            .arg("sign")
            .arg("-certs")
            .arg(keys.join("TEST-ONLY-codesign.crt"))
            .arg("-key")
            .arg(keys.join("TEST-ONLY-codesign.key"))
            .args(["-h", "sha256", "-in"])
            .arg(&unsigned)
            .arg("-out")
            .arg(&signed)
            .output()
            .expect("run osslsigncode sign");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let reference = osslsigncode_digests(&signed);
        assert!(!reference.is_empty());
        assert_eq!(
            facts.authenticode_sha256,
            reference[0].0,
            "length {} (+{extra})",
            data.len()
        );
    }
}
