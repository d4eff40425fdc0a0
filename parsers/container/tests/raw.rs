//! Raw and split raw images, split with coreutils `split` and checked by sha256.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_container::raw;
use triage_source::{read_exact_at, ByteSource, FileSource, LocalSiblings, Source};

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn open(p: &Path) -> triage_container::Container {
    let f: Source = Arc::new(FileSource::open(p).unwrap());
    raw::open(f, &LocalSiblings::of(p)).unwrap()
}

fn sha(src: &dyn ByteSource) -> Vec<u8> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 300_007]; // not a divisor of the part size: reads straddle parts
    let mut off = 0;
    while off < src.len() {
        let n = src.read_at(off, &mut buf).unwrap();
        assert!(n > 0);
        h.update(&buf[..n]);
        off += n as u64;
    }
    h.finalize().to_vec()
}

fn split(dir: &Path, name: &str, d: &[u8]) -> Option<()> {
    let tool = triage_testkit::tool("split")?;
    let whole = dir.join("whole.bin");
    std::fs::write(&whole, d).unwrap();
    let st = Command::new(tool)
        .args(["-b", "1000000", "-d", "-a", "3", "--numeric-suffixes=1"])
        .arg(&whole)
        .arg(dir.join(format!("{name}.")))
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(&whole).unwrap();
    Some(())
}

#[test]
fn split_parts_concatenate_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3_500_123);
    if split(dir.path(), "disk.raw", &d).is_none() {
        return;
    }
    let c = open(&dir.path().join("disk.raw.001"));
    assert_eq!(c.variant, "split raw (4 parts)");
    assert_eq!(c.files.len(), 4);
    assert_eq!(c.disk.len(), d.len() as u64);
    assert_eq!(sha(&*c.disk), Sha256::digest(&d).to_vec());
    // A read across a part boundary.
    let mut b = vec![0u8; 64];
    read_exact_at(&*c.disk, 999_990, &mut b).unwrap();
    assert_eq!(&b[..], &d[999_990..1_000_054]);
    // .002 is secondary when .001 is beside it; .001 is not.
    let p2 = dir.path().join("disk.raw.002");
    let f2: Source = Arc::new(FileSource::open(&p2).unwrap());
    let sib = LocalSiblings::of(&p2);
    assert_eq!(
        raw::secondary_of(&f2, "disk.raw.002", &sib).as_deref(),
        Some("part 2 of disk.raw.001")
    );
    assert_eq!(raw::secondary_of(&f2, "disk.raw.001", &sib), None);
}

#[test]
fn missing_middle_part_ends_the_image_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3_500_123);
    if split(dir.path(), "x", &d).is_none() {
        return;
    }
    std::fs::remove_file(dir.path().join("x.003")).unwrap();
    let c = open(&dir.path().join("x.001"));
    assert_eq!(c.disk.len(), 2_000_000);
    assert!(
        c.warnings.iter().any(|w| w.contains("x.003")),
        "{:?}",
        c.warnings
    );
    assert_eq!(sha(&*c.disk), Sha256::digest(&d[..2_000_000]).to_vec());
}

#[test]
fn plain_file_is_itself() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("disk.dd");
    let d = data(10_000);
    std::fs::write(&p, &d).unwrap();
    let c = open(&p);
    assert_eq!(c.variant, "raw");
    assert_eq!(sha(&*c.disk), Sha256::digest(&d).to_vec());
    // A lone .001 is a plain image too.
    let p1 = dir.path().join("lone.001");
    std::fs::write(&p1, &d).unwrap();
    assert_eq!(open(&p1).variant, "raw");
}
