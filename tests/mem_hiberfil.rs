//! The real binary over a hiberfil.sys that tools/memgen writes from a generated image:
//! `mem ps` on the hibernation file (plain LZXPRESS and LZXPRESS Huffman sets) must equal
//! `mem ps` on the raw image, record for record; a resumed (`WAKE`) file says why it
//! has no memory.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use triage_memgen::{write_image, Format, Scenario};

fn shared_dir() -> Option<PathBuf> {
    triage_testkit::shared_dir()
}

/// `mem ps` records, without the fields that name the input file itself.
fn ps(img: &Path, symbols: &Path) -> Vec<serde_json::Value> {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "-q", "--format", "jsonl", "--symbols"])
        .arg(symbols)
        .arg(img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        img.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                for k in INPUT_FIELDS {
                    o.remove(*k);
                }
            }
            v
        })
        .collect()
}

/// Fields that describe the container rather than the memory in it.
const INPUT_FIELDS: &[&str] = &["input", "sha256"];

#[test]
fn mem_ps_on_a_hiberfil_equals_mem_ps_on_the_raw_image() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    sc.seed = 13;
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let mut outputs = Vec::new();
    for format in [Format::Raw, Format::Hiberfil, Format::HiberfilHuffman] {
        let path = dir.path().join(format!("img.{}", format.name()));
        let truth = write_image(&sc, &isf, &path, format).unwrap();
        let recs = ps(&path, &shared.join("symbols"));
        assert_eq!(
            recs.len(),
            truth.processes.len(),
            "{}: {recs:?}",
            format.name()
        );
        outputs.push((format.name(), recs));
    }
    let (_, raw) = &outputs[0];
    for (name, recs) in &outputs[1..] {
        assert_eq!(recs, raw, "{name}");
    }
}

#[test]
fn a_resumed_hiberfil_is_reported_not_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hiberfil.sys");
    let mut wake = vec![0u8; 1 << 20];
    wake[..4].copy_from_slice(b"WAKE");
    std::fs::write(&p, &wake).unwrap();
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "--format", "jsonl"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("WAKE") && err.contains("resumed"), "{err}");
    assert!(!err.contains("no Windows kernel found"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A hiberfil.sys at the root of an NTFS volume (made by mkntfs, copied in by ntfs-3g's
/// ntfscp) is analysed in place by `scan` of the volume: its processes are the generated
/// image's, located inside the volume, and its masquerades raise their findings.
#[test]
fn a_hiberfil_on_an_ntfs_volume_is_analysed_in_place() {
    let Some(shared) = shared_dir() else { return };
    let (Some(mkntfs), Some(ntfscp)) = (
        triage_testkit::tool("mkntfs"),
        triage_testkit::tool("ntfscp"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sc = Scenario::smss_masquerades(19041);
    sc.memory_size = 64 << 20;
    sc.seed = 17;
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let hiber = dir.path().join("hiber.bin");
    let truth = write_image(&sc, &isf, &hiber, Format::HiberfilHuffman).unwrap();
    let vol = dir.path().join("vol.raw");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(192 << 20)
        .unwrap();
    let ok = std::process::Command::new(mkntfs)
        .args(["-F", "-Q", "-q"])
        .arg(&vol)
        .status()
        .unwrap();
    assert!(ok.success());
    let ok = std::process::Command::new(ntfscp)
        .arg("-f")
        .arg(&vol)
        .arg(&hiber)
        .arg("/hiberfil.sys")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["scan", "-q", "--format", "jsonl", "--records", "processes"])
        .arg(&vol)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<(u64, String)> = recs
        .iter()
        .map(|r| {
            assert!(
                r["location"]
                    .as_str()
                    .unwrap_or("")
                    .contains("hiberfil.sys"),
                "{r}"
            );
            (
                r["pid"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want: Vec<(u64, String)> = truth
        .processes
        .iter()
        // The kernel keeps 15 characters of a name (EPROCESS.ImageFileName).
        .map(|p| (p.pid, p.name.chars().take(15).collect()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{}", String::from_utf8_lossy(&out.stderr));
}
