//! The single pass computes md5, sha1, sha256, the Authenticode image digests
//! and the checksum together: each is checked here against an independent
//! tool on every real sample (coreutils `md5sum`/`sha1sum`/`sha256sum`,
//! `osslsigncode verify`), with hashes on and off, so feeding one consumer
//! cannot disturb another.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use triage_pe::{analyze, Options};

fn samples() -> Option<Vec<PathBuf>> {
    let shared = common::shared_pe_dir()?;
    let mut files = common::files_under(&shared);
    files.extend(common::repo_pe_files());
    Some(files)
}

/// The digest `tool` (an `md5sum`-style program) prints for `path`.
fn coreutils(tool: &Path, path: &Path) -> String {
    let out = Command::new(tool)
        .arg(path)
        .output()
        .expect("run the hash tool");
    assert!(
        out.status.success(),
        "{} {}",
        tool.display(),
        path.display()
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let digest = text.split_whitespace().next().unwrap_or("");
    // A file name with a backslash or newline makes coreutils escape the line.
    digest.trim_start_matches('\\').to_string()
}

#[test]
fn file_hashes_equal_coreutils_on_every_sample() {
    let (Some(md5), Some(sha1), Some(sha256)) = (
        triage_testkit::tool("md5sum"),
        triage_testkit::tool("sha1sum"),
        triage_testkit::tool("sha256sum"),
    ) else {
        return;
    };
    let Some(files) = samples() else {
        return;
    };
    let mut compared = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let facts = analyze(&data, &Options { hashes: true }).unwrap();
        let h = facts.hashes.as_ref().expect("hashes asked for");
        assert_eq!(h.md5, coreutils(&md5, path), "{}: md5", path.display());
        assert_eq!(h.sha1, coreutils(&sha1, path), "{}: sha1", path.display());
        assert_eq!(
            h.sha256,
            coreutils(&sha256, path),
            "{}: sha256",
            path.display()
        );
        // Without the file hashes the pass feeds the rest the same bytes.
        let without = analyze(&data, &Options { hashes: false }).unwrap();
        assert!(without.hashes.is_none());
        assert_eq!(
            without.authenticode_sha256,
            facts.authenticode_sha256,
            "{}",
            path.display()
        );
        assert_eq!(without.checksum_computed, facts.checksum_computed);
        assert_eq!(without.authenticode, facts.authenticode);
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} files compared");
}

/// osslsigncode's (signed, calculated) digest of the primary signature.
fn osslsigncode_primary(path: &Path) -> Option<(String, String)> {
    let out = Command::new("osslsigncode")
        .arg("verify")
        .arg("-in")
        .arg(path)
        .output()
        .expect("run osslsigncode");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |prefix: &str| {
        text.lines().find(|l| l.starts_with(prefix)).map(|l| {
            l.split(':')
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        })
    };
    Some((
        value("Current message digest")?,
        value("Calculated message digest")?,
    ))
}

/// Where the signature is SHA-256, osslsigncode's calculated digest is the
/// `authenticode_sha256` column; otherwise it is the recomputed digest of the
/// signature's own algorithm, which the pass computes beside the SHA-256 one.
#[test]
fn authenticode_digests_equal_osslsigncode_with_hashes_on() {
    if !common::tool_available("osslsigncode") {
        eprintln!("note: osslsigncode not installed, test skipped");
        return;
    }
    let Some(files) = samples() else {
        return;
    };
    let (mut sha256_signed, mut other_signed) = (0, 0);
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let facts = analyze(&data, &Options { hashes: true }).unwrap();
        let Some(a) = &facts.authenticode else {
            continue;
        };
        let (signed, calculated) = osslsigncode_primary(path)
            .unwrap_or_else(|| panic!("{}: osslsigncode found no digest", path.display()));
        assert_eq!(a.signed_digest, signed, "{}", path.display());
        assert_eq!(
            a.computed_digest.as_deref(),
            Some(calculated.as_str()),
            "{}",
            path.display()
        );
        if a.digest_algorithm == "sha256" {
            assert_eq!(facts.authenticode_sha256, calculated, "{}", path.display());
            sha256_signed += 1;
        } else {
            assert_ne!(calculated.len(), 64, "{}", path.display());
            other_signed += 1;
        }
    }
    // Both kinds are among the samples (Windows 7-era drivers are SHA-1).
    assert!(
        sha256_signed >= 8,
        "only {sha256_signed} SHA-256 signatures"
    );
    assert!(other_signed >= 2, "only {other_signed} other signatures");
}

/// `file_hashes` (the fused SHA-NI kernel where the CPU has one, else the
/// hash crates) against Python `hashlib` (OpenSSL) on random bytes at every
/// length 0..=300, at each side of the 64-byte block boundaries and of the
/// 56-byte padding limit up to 40 blocks, and at 150 random lengths below
/// 10,000.
#[test]
fn file_hashes_equal_python_hashlib_at_every_padding_case() {
    let Some(python) = common::python_with_pefile() else {
        return;
    };
    let mut lengths: Vec<usize> = (0..=300).collect();
    for k in 1..=40 {
        lengths.extend([64 * k - 9, 64 * k - 8, 64 * k - 1, 64 * k, 64 * k + 1]);
        lengths.extend([64 * k + 55, 64 * k + 56, 64 * k + 57]);
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..150 {
        lengths.push((next() % 10_000) as usize);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut want_ours = Vec::new();
    for (i, &n) in lengths.iter().enumerate() {
        let data: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        std::fs::write(dir.path().join(format!("{i:04}")), &data).unwrap();
        let h = triage_pe::file_hashes(&data);
        want_ours.push(format!("{} {} {}", h.md5, h.sha1, h.sha256));
    }
    let script = "import hashlib, os, sys\n\
        d = sys.argv[1]\n\
        for n in sorted(os.listdir(d)):\n\
        \x20   b = open(os.path.join(d, n), 'rb').read()\n\
        \x20   print(hashlib.md5(b).hexdigest(), hashlib.sha1(b).hexdigest(), hashlib.sha256(b).hexdigest())\n";
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs.len(), lengths.len());
    for ((ours, theirs), n) in want_ours.iter().zip(&theirs).zip(&lengths) {
        assert_eq!(ours, theirs, "{n} bytes");
    }
}
