//! EWF reader against libewf (`ewfacquire` makes the images, `ewfexport`/`ewfverify`
//! read them back) and the real samples.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use md5::{Digest, Md5};
use triage_container::{ewf, Container};
use triage_source::{read_lossy, ByteSource, FileSource, LocalSiblings, Source, SourceError};

/// Mixed content in 32 KiB runs (one chunk each): zeros, text (compresses), noise
/// (stored uncompressed); half of it noise, so segments fill.
fn mixed(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = Vec::with_capacity(len + 32768);
    while v.len() < len {
        let end = v.len() + 32768;
        match rnd() % 4 {
            0 => v.resize(end, 0),
            1 | 2 => (0..4096).for_each(|_| v.extend(rnd().to_le_bytes())),
            _ => {
                while v.len() < end {
                    v.extend(format!("line {} of the quick brown fox\n", rnd() % 1000).as_bytes());
                }
                v.truncate(end);
            }
        }
    }
    v.truncate(len);
    v
}

fn acquire(dir: &Path, data: &[u8], extra: &[&str]) -> Option<PathBuf> {
    let tool = triage_testkit::tool("ewfacquire")?;
    let raw = dir.join("d.raw");
    std::fs::write(&raw, data).unwrap();
    let out = Command::new(tool)
        .args([
            "-u",
            "-q",
            "-c",
            "deflate:fast",
            "-C",
            "case-7",
            "-e",
            "examiner-x",
            "-t",
        ])
        .arg(dir.join("img"))
        .args(extra)
        .arg(&raw)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir.join("img.E01"))
}

fn open_path(p: &Path) -> Container {
    let f: Source = Arc::new(FileSource::open(p).unwrap());
    ewf::open(f, &LocalSiblings::of(p)).unwrap()
}

fn read_whole(src: &dyn ByteSource) -> Vec<u8> {
    let mut v = vec![0u8; src.len() as usize];
    let holes = read_lossy(src, 0, &mut v);
    assert!(holes.is_empty(), "{holes:?}");
    v
}

/// `ewfexport` to a raw file: libewf's own reading of the image.
fn export(e01: &Path, dir: &Path) -> Option<Vec<u8>> {
    let tool = triage_testkit::tool("ewfexport")?;
    let target = dir.join("exported");
    let out = Command::new(tool)
        .args(["-u", "-q", "-f", "raw", "-t"])
        .arg(&target)
        .arg(e01)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(dir.join("exported.raw")).unwrap())
}

fn fact<'a>(c: &'a Container, k: &str) -> Option<&'a str> {
    c.facts
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.as_str())
}

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn multi_segment_image_reads_like_libewf() {
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(6 * 1024 * 1024 + 3 * 512, 7);
    let Some(e01) = acquire(dir.path(), &data, &["-S", "1048576"]) else {
        return;
    };
    let c = open_path(&e01);
    assert!(c.files.len() >= 3, "{:?}", c.files);
    assert_eq!(c.variant, "EWF-E01");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.disk.len(), data.len() as u64);
    let got = read_whole(&*c.disk);
    assert!(got == data, "content differs from the acquired data");
    let Some(exported) = export(&e01, dir.path()) else {
        return;
    };
    assert!(got == exported, "content differs from ewfexport's");
    assert_eq!(fact(&c, "stored_md5"), Some(md5_hex(&data).as_str()));
    assert_eq!(fact(&c, "case_number"), Some("case-7"));
    assert_eq!(fact(&c, "examiner"), Some("examiner-x"));
    assert_eq!(fact(&c, "chunk_size"), Some("32768"));
    assert_eq!(fact(&c, "bytes_per_sector"), Some("512"));
    // Small reads across chunk edges go through the cache and agree too.
    for off in [0u64, 32767, 32768 * 5 - 3, data.len() as u64 - 700] {
        let mut b = [0u8; 1000];
        let n = c.disk.read_at(off, &mut b).unwrap();
        assert!(n > 0);
        assert_eq!(&b[..n], &data[off as usize..off as usize + n]);
    }
    // Later segments are secondary; the first is not.
    let e02 = dir.path().join("img.E02");
    let f2: Source = Arc::new(FileSource::open(&e02).unwrap());
    let sib = LocalSiblings::of(&e02);
    assert_eq!(
        ewf::secondary_of(&f2, "img.E02", &sib).as_deref(),
        Some("segment 2 of img.E01")
    );
    let f1: Source = Arc::new(FileSource::open(&e01).unwrap());
    assert_eq!(ewf::secondary_of(&f1, "img.E01", &sib), None);
}

/// Every format `ewfacquire` writes, stored and compressed, an odd size (the last chunk
/// short): the same bytes back.
#[test]
fn every_libewf_format_reads_back() {
    let Some(tool) = triage_testkit::tool("ewfacquire") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(1024 * 1024 + 5 * 512, 3);
    let raw = dir.path().join("d.raw");
    std::fs::write(&raw, &data).unwrap();
    let formats = [
        "ewf", "smart", "ftk", "encase2", "encase3", "encase4", "encase5", "encase6", "encase7",
        "linen5", "linen6", "linen7", "ewfx",
    ];
    for f in formats {
        for c in ["none", "deflate:best"] {
            let sub = dir.path().join(format!("{f}-{}", &c[..4]));
            std::fs::create_dir(&sub).unwrap();
            let st = Command::new(&tool)
                .args(["-u", "-q", "-f", f, "-c", c, "-t"])
                .arg(sub.join("img"))
                .arg(&raw)
                .output()
                .unwrap();
            assert!(st.status.success(), "{f} {c}");
            let first = std::fs::read_dir(&sub)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let img = open_path(&first);
            assert!(img.warnings.is_empty(), "{f} {c}: {:?}", img.warnings);
            assert!(read_whole(&*img.disk) == data, "{f} {c}: content differs");
        }
    }
}

/// Early and late formats split into segments (`.s01`, `.s02` … for SMART).
#[test]
fn segmented_early_formats_read_back() {
    let Some(tool) = triage_testkit::tool("ewfacquire") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(3 * 1024 * 1024, 17);
    let raw = dir.path().join("d.raw");
    std::fs::write(&raw, &data).unwrap();
    for f in ["ewf", "smart", "encase2", "ftk", "linen5"] {
        let sub = dir.path().join(f);
        std::fs::create_dir(&sub).unwrap();
        let st = Command::new(&tool)
            .args([
                "-u",
                "-q",
                "-f",
                f,
                "-c",
                "deflate:fast",
                "-S",
                "1048576",
                "-t",
            ])
            .arg(sub.join("img"))
            .arg(&raw)
            .output()
            .unwrap();
        assert!(st.status.success(), "{f}");
        let mut names: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert!(names.len() >= 2, "{f}: {names:?}");
        let img = open_path(&names[0]);
        assert_eq!(img.files.len(), names.len(), "{f}");
        assert!(img.warnings.is_empty(), "{f}: {:?}", img.warnings);
        assert!(read_whole(&*img.disk) == data, "{f}: content differs");
    }
}

/// A table section of a segment file: where its entries start, how many, its base.
struct TableAt {
    entries_at: u64,
    count: u32,
    base: u64,
}

fn tables(seg: &[u8], kind: &str) -> Vec<TableAt> {
    let le64 = |o: usize| u64::from_le_bytes(seg[o..o + 8].try_into().unwrap());
    let mut off = 13usize;
    let mut v = Vec::new();
    while off + 76 <= seg.len() {
        let name = String::from_utf8_lossy(&seg[off..off + 16])
            .trim_end_matches('\0')
            .to_string();
        if name == kind {
            let d = off + 76;
            v.push(TableAt {
                entries_at: d as u64 + 24,
                count: u32::from_le_bytes(seg[d..d + 4].try_into().unwrap()),
                base: le64(d + 8),
            });
        }
        let next = le64(off + 16) as usize;
        if next <= off {
            break;
        }
        off = next;
    }
    v
}

fn entry(seg: &[u8], t: &TableAt, i: usize) -> u32 {
    let o = t.entries_at as usize + 4 * i;
    u32::from_le_bytes(seg[o..o + 4].try_into().unwrap())
}

fn expect_hole(src: &dyn ByteSource, off: u64, chunk: u64) {
    let mut b = [0u8; 512];
    match src.read_at(off, &mut b) {
        Err(SourceError::Hole { offset, .. }) => assert_eq!(offset, chunk),
        other => panic!("expected a hole at {chunk:#x}, got {other:?}"),
    }
}

#[test]
fn corrupt_chunks_are_holes_and_neighbours_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(2 * 1024 * 1024, 11);
    let Some(e01) = acquire(dir.path(), &data, &[]) else {
        return;
    };
    let mut seg = std::fs::read(&e01).unwrap();
    let t = &tables(&seg, "table")[0];
    assert!(t.count > 8);
    // One compressed and one stored chunk, not the last of the table.
    let comp = (0..t.count as usize - 1)
        .find(|&i| entry(&seg, t, i) >> 31 == 1)
        .unwrap();
    let stored = (0..t.count as usize - 1)
        .find(|&i| entry(&seg, t, i) >> 31 == 0)
        .unwrap();
    for i in [comp, stored] {
        let at = t.base + u64::from(entry(&seg, t, i) & 0x7fff_ffff);
        seg[at as usize + 20] ^= 0x40;
    }
    std::fs::write(&e01, &seg).unwrap();
    let c = open_path(&e01);
    for i in [comp, stored] {
        let chunk = i as u64 * 32768;
        expect_hole(&*c.disk, chunk + 100, chunk);
    }
    let mut all = vec![0u8; data.len()];
    let holes = read_lossy(&*c.disk, 0, &mut all);
    // read_lossy merges neighbouring holes: compare the chunks they cover.
    let mut want = vec![comp as u64, stored as u64];
    want.sort();
    let covered: Vec<u64> = holes
        .iter()
        .flat_map(|h| h.offset / 32768..(h.offset + h.len) / 32768)
        .collect();
    assert_eq!(covered, want);
    for (i, (a, b)) in all.chunks(32768).zip(data.chunks(32768)).enumerate() {
        if i != comp && i != stored {
            assert!(a == b, "chunk {i} differs");
        }
    }
}

#[test]
fn table_entry_past_the_end_is_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(1024 * 1024, 5);
    let Some(e01) = acquire(dir.path(), &data, &[]) else {
        return;
    };
    let mut seg = std::fs::read(&e01).unwrap();
    // Both the table and its table2 mirror point chunk 3 far past the end of the file.
    for kind in ["table", "table2"] {
        let t = &tables(&seg, kind)[0];
        let o = t.entries_at as usize + 12;
        let e = u32::from_le_bytes(seg[o..o + 4].try_into().unwrap());
        seg[o..o + 4].copy_from_slice(&((e & 0x8000_0000) | 0x7fff_0000).to_le_bytes());
    }
    std::fs::write(&e01, &seg).unwrap();
    let c = open_path(&e01);
    expect_hole(&*c.disk, 3 * 32768 + 7, 3 * 32768);
    let mut b = vec![0u8; 32768];
    c.disk.read_at(4 * 32768, &mut b).unwrap();
    assert!(b[..] == data[4 * 32768..5 * 32768]);
}

/// A 3+ segment image with segment 2 removed or segment 1 cut: the chunks that were
/// there are holes; those of the later segments are still at their right offsets.
#[test]
fn missing_and_truncated_segments_leave_holes_not_an_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = mixed(6 * 1024 * 1024, 13);
    let Some(e01) = acquire(dir.path(), &data, &["-S", "1048576"]) else {
        return;
    };
    let last = {
        let c = open_path(&e01);
        assert!(c.files.len() >= 3);
        c.files.len()
    };
    let check = |c: &Container, tag: &str| {
        assert_eq!(c.disk.len(), data.len() as u64);
        let mut all = vec![0u8; data.len()];
        let holes = read_lossy(&*c.disk, 0, &mut all);
        assert!(!holes.is_empty(), "{tag}: no hole");
        assert!(!c.warnings.is_empty(), "{tag}: no warning");
        let h = &holes[0];
        let end = (h.offset + h.len) as usize;
        assert!(
            all[..h.offset as usize] == data[..h.offset as usize],
            "{tag}: before the hole"
        );
        assert!(all[end..] == data[end..], "{tag}: after the hole");
        assert!(end < data.len(), "{tag}: the image ended at the hole");
    };
    let e02 = dir.path().join("img.E02");
    let saved = std::fs::read(&e02).unwrap();
    std::fs::remove_file(&e02).unwrap();
    check(&open_path(&e01), "missing E02");
    std::fs::write(&e02, &saved).unwrap();
    // Segment 2 cut in half.
    std::fs::write(&e02, &saved[..saved.len() / 2]).unwrap();
    check(&open_path(&e01), "truncated E02");
    std::fs::write(&e02, &saved).unwrap();
    // The first segment missing: later segments repeat the volume section (`data`), so
    // the image still opens from E02, its start a hole.
    let e01_bytes = std::fs::read(&e01).unwrap();
    std::fs::remove_file(&e01).unwrap();
    check(&open_path(&e02), "missing E01");
    let f2: Source = Arc::new(FileSource::open(&e02).unwrap());
    assert_eq!(
        ewf::secondary_of(&f2, "img.E02", &LocalSiblings::of(&e02)),
        None
    );
    std::fs::write(&e01, &e01_bytes).unwrap();
    // The last segment missing: the image keeps its length, its end is a hole.
    let lastp = dir.path().join(format!("img.E{last:02}"));
    std::fs::remove_file(&lastp).unwrap();
    let c = open_path(&e01);
    assert_eq!(c.disk.len(), data.len() as u64);
    let mut b = [0u8; 16];
    assert!(c
        .disk
        .read_at(data.len() as u64 - 16, &mut b)
        .unwrap_err()
        .is_hole());
}

/// The real samples: the MD5 the image stores, the MD5 `ewfexport` reads and the MD5
/// of what we read are one.
#[test]
fn real_samples_match_stored_and_libewf_md5() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    for name in [
        "Velocidex__velociraptor__test.ntfs.dd.E01",
        "Velocidex__velociraptor__partition_image.E01",
        "image.E01",
    ] {
        let p = dir.join(name);
        let c = open_path(&p);
        let ours = md5_hex(&read_whole(&*c.disk));
        let tmp = tempfile::tempdir().unwrap();
        // ewfexport wants the segment set by name beside it: a symlink keeps the sample
        // where it is.
        let link = tmp.path().join("s.E01");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let Some(exported) = export(&link, tmp.path()) else {
            return;
        };
        assert_eq!(ours, md5_hex(&exported), "{name}: ewfexport");
        if let Some(stored) = fact(&c, "stored_md5") {
            assert_eq!(ours, stored, "{name}: stored");
        }
        if let Some(verify) = triage_testkit::tool("ewfverify") {
            let out = Command::new(verify).arg("-q").arg(&link).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let calc = text
                .lines()
                .find_map(|l| l.strip_prefix("MD5 hash calculated over data:"))
                .map(str::trim);
            assert_eq!(calc, Some(ours.as_str()), "{name}: ewfverify");
            if let Some(st) = text
                .lines()
                .find_map(|l| l.strip_prefix("MD5 hash stored in file:"))
            {
                assert_eq!(
                    fact(&c, "stored_md5"),
                    Some(st.trim()),
                    "{name}: stored per ewfverify"
                );
            }
        }
        assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
    }
}

/// Random damage to a real E01 (every byte of the small sample is a candidate): open
/// returns Ok or Err, reads return data or holes, nothing panics or hangs.
#[test]
fn mutated_sample_never_panics() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let orig = std::fs::read(dir.join("image.E01")).unwrap();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut buf = vec![0u8; 1 << 16];
    for round in 0..3000 {
        let mut m = orig.clone();
        for _ in 0..1 + rnd() % 8 {
            let i = (rnd() % m.len() as u64) as usize;
            m[i] = rnd() as u8;
        }
        if round % 10 == 0 {
            m.truncate((rnd() % m.len() as u64) as usize);
        }
        let f: Source = Arc::new(triage_source::MemorySource::new(
            triage_source::Location::new("m.E01"),
            m,
        ));
        if let Ok(c) = ewf::open(f, &triage_source::NoSiblings) {
            let len = c.disk.len();
            for off in [0, len / 2, len.saturating_sub(5000)] {
                let _ = read_lossy(&*c.disk, off, &mut buf);
            }
        }
    }
}
