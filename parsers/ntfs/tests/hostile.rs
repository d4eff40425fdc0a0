//! Hostile input: synthetic `$MFT`s in memory and mutated generated volumes. Each must
//! give errors or warnings with offsets, never a panic, a hang or unbounded memory.
mod common;

use std::sync::Arc;

use triage_ntfs::{Mft, Ntfs};
use triage_source::{Location, MemorySource, Source};

use common::synthetic::{file_name, record, resident, RS};

fn dir(parent: u64, name: &str) -> Vec<u8> {
    record(1, 3, 0, &[file_name(parent, 1, name)])
}

fn mft(records: Vec<Vec<u8>>) -> Mft {
    let bytes: Vec<u8> = records.concat();
    let src: Source = Arc::new(MemorySource::new(Location::new("synthetic $MFT"), bytes));
    Mft::from_source(src, RS as u32).unwrap()
}

/// Records 0..16 with 5 the root (parent itself), the others unused.
fn base_records() -> Vec<Vec<u8>> {
    (0..16u64)
        .map(|i| if i == 5 { dir(5, ".") } else { vec![0u8; RS] })
        .collect()
}

fn entries(m: &Mft) -> Vec<triage_ntfs::Entry> {
    let mut v = Vec::new();
    m.for_each_entry(|b| v.extend_from_slice(b)).unwrap();
    v
}

#[test]
fn a_directory_chain_100000_deep_does_not_recurse() {
    let mut r = base_records();
    let depth = 100_000u64;
    for i in 0..depth {
        let parent = if i == 0 { 5 } else { 16 + i - 1 };
        r.push(dir(parent, &format!("d{i}")));
    }
    let m = mft(r);
    let mut last = None;
    let mut first_path = None;
    m.for_each_entry(|b| {
        for e in b {
            if e.entry == 16 {
                first_path = Some(e.path.clone());
            }
            if e.entry == 16 + depth - 1 {
                last = Some(e.path.clone());
            }
        }
    })
    .unwrap();
    assert_eq!(first_path.as_deref(), Some("\\d0"));
    let last = last.unwrap();
    assert!(last.starts_with("\\$Truncated\\"), "{}", &last[..40]);
    assert_eq!(
        last.matches('\\').count(),
        triage_ntfs::paths::MAX_DEPTH + 1
    );
    assert!(last.ends_with(&format!("\\d{}", depth - 1)));
    // One entry by itself: the ancestors are walked record by record, bounded as well.
    let e = m.entry(16 + depth - 1).unwrap();
    assert!(e.path.starts_with("\\$Truncated\\"));
}

#[test]
fn parent_cycles_and_reused_parents_are_marked() {
    let mut r = base_records();
    r.push(dir(18, "a")); // 16 → 18
    r.push(dir(16, "b")); // 17 → 16
    r.push(dir(17, "c")); // 18 → 17: 16, 17, 18 loop
    r.push(record(1, 1, 0, &[file_name(17, 1, "child.txt")])); // 19 under the loop
    r.push(record(1, 1, 0, &[file_name(5, 7, "stale.txt")])); // 20: root's sequence is 1
    r.push(record(1, 1, 0, &[file_name(900_000, 1, "far.txt")])); // 21: parent out of range
    r.push(record(1, 1, 0, &[file_name(21, 1, "under-a-file.txt")])); // 22: parent is a file
    let m = mft(r);
    let all = entries(&m);
    let path = |n: u64| all.iter().find(|e| e.entry == n).unwrap().path.clone();
    for n in 16..=18 {
        assert!(path(n).starts_with("\\$Cycle\\"), "{n}: {}", path(n));
    }
    assert!(
        path(19).starts_with("\\$Cycle\\") && path(19).ends_with("\\child.txt"),
        "{}",
        path(19)
    );
    assert_eq!(path(20), "\\$Orphan\\stale.txt");
    assert_eq!(path(21), "\\$Orphan\\far.txt");
    assert_eq!(path(22), "\\$Orphan\\under-a-file.txt");
    // The single-entry walk agrees on the markers.
    assert!(m.entry(19).unwrap().path.starts_with("\\$Cycle\\"));
    assert_eq!(m.entry(20).unwrap().path, "\\$Orphan\\stale.txt");
}

#[test]
fn bad_attributes_and_torn_sectors_are_warnings_with_offsets() {
    let mut r = base_records();
    // 16: an attribute claiming length 0 after a good name.
    let mut rec = record(
        1,
        1,
        0,
        &[
            file_name(5, 1, "zero.txt"),
            vec![
                0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ],
    );
    rec[0x18..0x1C].copy_from_slice(&(RS as u32 - 8).to_le_bytes());
    r.push(rec);
    // 17: a torn sector (the last two bytes are not the USN).
    let mut torn = record(1, 1, 0, &[file_name(5, 1, "torn.txt")]);
    torn[RS - 2] = 0xEE;
    r.push(torn);
    // 18: garbage.
    r.push(vec![0xABu8; RS]);
    // 19: an attribute list naming itself and a record that is not its extension.
    let mut al = Vec::new();
    for (ty, rf) in [(0x30u32, 19u64 | 1 << 48), (0x80, 16 | 1 << 48)] {
        let mut e = vec![0u8; 0x20];
        e[0..4].copy_from_slice(&ty.to_le_bytes());
        e[4..6].copy_from_slice(&0x20u16.to_le_bytes());
        e[0x10..0x18].copy_from_slice(&rf.to_le_bytes());
        al.extend_from_slice(&e);
    }
    r.push(record(
        1,
        1,
        0,
        &[resident(0x20, &al), file_name(5, 1, "selfref.txt")],
    ));
    let m = mft(r);
    let mut stats = None;
    let mut all = Vec::new();
    stats.replace(m.for_each_entry(|b| all.extend_from_slice(b)).unwrap());
    let stats = stats.unwrap();
    let get = |n: u64| all.iter().find(|e| e.entry == n).unwrap();
    let z = get(16);
    assert_eq!(z.path, "\\zero.txt");
    assert!(
        z.warnings.iter().any(|w| w.contains("$MFT entry 16")
            && w.contains("claims length 0")
            && w.contains("0x")),
        "{:?}",
        z.warnings
    );
    let t = get(17);
    assert_eq!(t.path, "\\torn.txt");
    assert!(
        t.warnings.iter().any(|w| w.contains("torn")),
        "{:?}",
        t.warnings
    );
    assert_eq!(stats.bad, 1);
    assert!(
        stats
            .errors
            .iter()
            .any(|e| e.contains("$MFT entry 18") && e.contains("offset 0x2400")),
        "{:?}",
        stats.errors
    );
    let s = get(19);
    assert_eq!(s.path, "\\selfref.txt");
    assert!(
        s.warnings.iter().any(|w| w.contains("record 16")),
        "{:?}",
        s.warnings
    );
}

/// A small generated volume (100 files in the root: an $INDEX_ALLOCATION).
fn small_volume() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    for t in ["mkntfs", "wimlib-imagex"] {
        triage_testkit::tool(t)?;
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..100 {
        std::fs::write(
            src.join(format!("f{i:03}.txt")),
            vec![b'a' + (i % 26) as u8; 5000],
        )
        .unwrap();
    }
    let img = d.path().join("v.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let ok = |c: &mut std::process::Command| assert!(c.output().unwrap().status.success());
    ok(std::process::Command::new("mkntfs")
        .args(["-F", "-T", "-q"])
        .arg(&img));
    ok(std::process::Command::new("wimlib-imagex")
        .arg("capture")
        .arg(&src)
        .arg(d.path().join("x.wim"))
        .arg("--compress=none"));
    ok(std::process::Command::new("wimlib-imagex")
        .arg("apply")
        .arg(d.path().join("x.wim"))
        .arg("1")
        .arg(&img));
    Some((d, img))
}

fn attr_offset(rec: &[u8], ty: u32) -> usize {
    let mut off = u16::from_le_bytes([rec[0x14], rec[0x15]]) as usize;
    loop {
        let t = u32::from_le_bytes(rec[off..off + 4].try_into().unwrap());
        assert_ne!(t, 0xFFFF_FFFF, "attribute {ty:#x} not found");
        if t == ty {
            return off;
        }
        off += u32::from_le_bytes(rec[off + 4..off + 8].try_into().unwrap()) as usize;
    }
}

#[test]
fn mutated_volumes_report_and_go_on() {
    let Some((_d, img)) = small_volume() else {
        return;
    };
    let base = std::fs::read(&img).unwrap();
    let ntfs = common::open(&img, 0);
    let info = ntfs.info().clone();
    let rs = info.record_size as usize;
    let mft_off = info.mft_offset as usize;
    let victim = ntfs.lookup("\\f050.txt").unwrap().unwrap();
    let vol = |b: Vec<u8>| -> Result<Ntfs, triage_source::SourceError> {
        Ntfs::open(Arc::new(MemorySource::new(Location::new("mutated"), b)))
    };

    // 1. The $MFT's $DATA claims 2^40 records: clamped to what its runs map, with a warning.
    let mut b = base.clone();
    let a = mft_off + attr_offset(&base[mft_off..mft_off + rs], 0x80);
    b[a + 0x30..a + 0x38].copy_from_slice(&((1u64 << 40) * rs as u64).to_le_bytes());
    let n = vol(b).unwrap();
    assert!(n.info().record_count < 1 << 20, "{}", n.info().record_count);
    assert!(
        n.info().warnings.iter().any(|w| w.contains("claims")),
        "{:?}",
        n.info().warnings
    );
    assert!(n.for_each_entry(|_| {}).unwrap().in_use > 100);

    // 2. A file's runlist points into the $MFT (into its own record): reported.
    let mut b = base.clone();
    let r = mft_off + victim as usize * rs;
    let a = r + attr_offset(&base[r..r + rs], 0x80);
    let runs = a + u16::from_le_bytes([base[a + 0x20], base[a + 0x21]]) as usize;
    let mft_lcn = (info.mft_offset / info.cluster_size as u64) as u32;
    let lcn = mft_lcn.to_le_bytes();
    b[runs..runs + 6].copy_from_slice(&[0x31, 0x02, lcn[0], lcn[1], lcn[2], 0x00]);
    let n = vol(b).unwrap();
    let d = n.open_stream(victim, "").unwrap();
    assert!(
        d.warnings().iter().any(|w| w.contains("overlaps the $MFT")),
        "{:?}",
        d.warnings()
    );

    // 3. A runlist that points past the end of the volume: an error, not a read.
    let mut b = base.clone();
    b[runs..runs + 6].copy_from_slice(&[0x31, 0x02, 0xFF, 0xFF, 0x7F, 0x00]);
    let err = vol(b)
        .unwrap()
        .open_stream(victim, "")
        .unwrap_err()
        .to_string();
    assert!(err.contains("past the end of the volume"), "{err}");

    // 4. Attribute length 0 in the file's record: a warning naming entry and offset.
    let mut b = base.clone();
    b[a + 4..a + 8].copy_from_slice(&0u32.to_le_bytes());
    let e = vol(b).unwrap().entry(victim).unwrap();
    let want = format!(
        "$MFT entry {victim}: attribute 0x80 at {:#x} claims length 0",
        a - r
    );
    assert!(e.warnings.contains(&want), "{:?} vs {want}", e.warnings);

    // 5. EFS: the encrypted attribute on the file → reading it is an error saying so.
    let mut b = base.clone();
    let si = r + attr_offset(&base[r..r + rs], 0x10);
    let v = si + u16::from_le_bytes([base[si + 0x14], base[si + 0x15]]) as usize;
    let fa = u32::from_le_bytes(b[v + 32..v + 36].try_into().unwrap()) | 0x4000;
    b[v + 32..v + 36].copy_from_slice(&fa.to_le_bytes());
    let n = vol(b).unwrap();
    assert!(n.entry(victim).unwrap().flags.encrypted);
    let err = n.open_stream(victim, "").unwrap_err().to_string();
    assert!(err.contains("encrypted"), "{err}");

    // 6. The root's index block with a bad fixup: lookups through it fail with the
    //    offset, listing goes on with a warning.
    let mut b = base.clone();
    let indx = (0..b.len() / 4096)
        .map(|i| i * 4096)
        .find(|&o| &b[o..o + 4] == b"INDX")
        .unwrap();
    b[indx + 510] ^= 0xFF;
    let n = vol(b).unwrap();
    let err = (0..100)
        .find_map(|i| n.lookup(&format!("\\f{i:03}.txt")).err())
        .expect("a lookup crosses the torn block")
        .to_string();
    assert!(err.contains("index block") && err.contains("torn"), "{err}");
    assert!(
        n.for_each_entry(|_| {}).unwrap().in_use > 100,
        "the MFT scan does not need the index"
    );
}

#[test]
fn garbage_never_panics() {
    // Boot sectors and records of random-ish bytes.
    let mut x = 0x1234_5678u32;
    for round in 0..200 {
        let mut v = vec![0u8; 64 << 10];
        for b in v.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        v[3..11].copy_from_slice(b"NTFS    ");
        v[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
        v[0x0D] = 1 << (round % 4);
        v[0x30..0x38].copy_from_slice(&((round % 16) as u64).to_le_bytes());
        v[0x40] = 0xF6; // 1 KiB records
        if round % 2 == 0 {
            let at = (round % 16) * 512 * (1 << (round % 4));
            if at + 4 <= v.len() {
                v[at..at + 4].copy_from_slice(b"FILE");
            }
        }
        if let Ok(n) = Ntfs::open(Arc::new(MemorySource::new(
            Location::new("garbage"),
            v.clone(),
        ))) {
            let _ = n.for_each_entry(|_| {});
            let _ = n.lookup("\\a\\b");
            let _ = n.open_stream(0, "");
        }
        let m = Mft::from_source(Arc::new(MemorySource::new(Location::new("g"), v)), 1024).unwrap();
        let _ = m.for_each_entry(|_| {});
    }
}
