//! Named hostile input (issue #14 §2, decompression bombs): an EWF chunk whose zlib
//! stream expands far past the chunk size. Made by libewf's `ewfacquire`, then one
//! stored chunk's slot is overwritten with a zlib stream of 16 MiB of zeros and its table
//! entries (table and table2) marked compressed. The chunk must be a hole at its own
//! offset, found quickly and without inflating the whole bomb; its neighbours read as
//! the original data.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use triage_container::ewf;
use triage_source::{read_lossy, ByteSource, FileSource, LocalSiblings, Source, SourceError};

const CHUNK: usize = 32768;

/// Noise (stored uncompressed by ewfacquire) in every chunk.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect()
}

/// (file offset of the entries, count, base offset) of each `kind` section.
fn tables(seg: &[u8], kind: &str) -> Vec<(usize, usize, u64)> {
    let le64 = |o: usize| u64::from_le_bytes(seg[o..o + 8].try_into().unwrap());
    let mut off = 13usize;
    let mut v = Vec::new();
    while off + 76 <= seg.len() {
        let name = String::from_utf8_lossy(&seg[off..off + 16])
            .trim_end_matches('\0')
            .to_string();
        if name == kind {
            let d = off + 76;
            let count = u32::from_le_bytes(seg[d..d + 4].try_into().unwrap()) as usize;
            v.push((d + 24, count, le64(d + 8)));
        }
        let next = le64(off + 16) as usize;
        if next <= off {
            break;
        }
        off = next;
    }
    v
}

fn entry(seg: &[u8], at: usize, i: usize) -> u32 {
    u32::from_le_bytes(seg[at + 4 * i..at + 4 * i + 4].try_into().unwrap())
}

#[test]
fn ewf_zlib_chunk_that_expands_past_the_chunk_size_is_a_hole() {
    let Some(tool) = triage_testkit::tool("ewfacquire") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = noise(16 * CHUNK);
    let raw = dir.path().join("d.raw");
    std::fs::write(&raw, &data).unwrap();
    let out = Command::new(tool)
        .args(["-u", "-q", "-c", "deflate:fast", "-t"])
        .arg(dir.path().join("img"))
        .arg(&raw)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e01 = dir.path().join("img.E01");
    let mut seg = std::fs::read(&e01).unwrap();

    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 16 << 20]).unwrap();
    let bomb = z.finish().unwrap();
    let victim = 5usize;
    let (at, count, base) = tables(&seg, "table")[0];
    assert!(count > victim + 1);
    let e = entry(&seg, at, victim);
    assert_eq!(e >> 31, 0, "noise is stored uncompressed");
    let start = (base + u64::from(e & 0x7fff_ffff)) as usize;
    let slot = (entry(&seg, at, victim + 1) & 0x7fff_ffff) as usize - (e & 0x7fff_ffff) as usize;
    assert!(bomb.len() <= slot, "bomb {} > slot {slot}", bomb.len());
    seg[start..start + bomb.len()].copy_from_slice(&bomb);
    for kind in ["table", "table2"] {
        for (at, _, _) in tables(&seg, kind) {
            let o = at + 4 * victim;
            seg[o..o + 4].copy_from_slice(&(e | 0x8000_0000).to_le_bytes());
        }
    }
    std::fs::write(&e01, &seg).unwrap();

    let f: Source = Arc::new(FileSource::open(&e01).unwrap());
    let c = ewf::open(f, &LocalSiblings::of(Path::new(&e01))).unwrap();
    let started = Instant::now();
    let mut b = [0u8; 512];
    match c.disk.read_at((victim * CHUNK + 100) as u64, &mut b) {
        Err(SourceError::Hole { offset, why, .. }) => {
            assert_eq!(offset, (victim * CHUNK) as u64);
            assert!(why.contains("chunk"), "{why}");
        }
        other => panic!("expected a hole, got {other:?}"),
    }
    let mut all = vec![0u8; data.len()];
    let holes = read_lossy(c.disk.as_ref(), 0, &mut all);
    assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    assert_eq!(holes.len(), 1, "{holes:?}");
    assert_eq!(
        (holes[0].offset, holes[0].len),
        ((victim * CHUNK) as u64, CHUNK as u64)
    );
    for (i, (a, b)) in all.chunks(CHUNK).zip(data.chunks(CHUNK)).enumerate() {
        if i != victim {
            assert!(a == b, "chunk {i} differs");
        }
    }
}

/// Named hostile input (issue #14 §2): a VMDK grain directory that loops back onto
/// itself (GD entry 0 names the GD's own sector) and a grain table whose first entry
/// names the grain table. The two levels are never walked recursively, so the damage
/// stays inside the span those entries map: reads end quickly, and the grains of the
/// second grain table (past 32 MiB) still read as the original.
#[test]
fn vmdk_grain_directory_loop_stays_inside_its_span() {
    let Some(q) = triage_testkit::tool("qemu-img") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    // 40 MiB: two grain tables (512 grains of 64 KiB each); data in both spans.
    let mut raw = vec![0u8; 40 << 20];
    let marks = noise(4 * CHUNK);
    for (i, at) in [0usize, 1 << 20, 33 << 20, 39 << 20].iter().enumerate() {
        raw[*at..*at + CHUNK].copy_from_slice(&marks[i * CHUNK..(i + 1) * CHUNK]);
    }
    std::fs::write(t.path().join("src.raw"), &raw).unwrap();
    let st = Command::new(q)
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=monolithicSparse",
        ])
        .arg(t.path().join("src.raw"))
        .arg(t.path().join("disk.vmdk"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut b = std::fs::read(t.path().join("disk.vmdk")).unwrap();
    let le64 = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let le32 = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    // The grain directory and its redundant copy: entry 0 points at the directory itself.
    for gd_field in [56usize, 48] {
        let gd = le64(&b, gd_field) as usize * 512;
        let gd_sector = (gd / 512) as u32;
        b[gd..gd + 4].copy_from_slice(&gd_sector.to_le_bytes());
    }
    // The second grain table's first entry points at that grain table.
    let gd = le64(&b, 56) as usize * 512;
    let gt1 = le32(&b, gd + 4) as usize * 512;
    let gt1_sector = (gt1 / 512) as u32;
    let keep = le32(&b, gt1 + 4 * 16); // grain 16 of GT 1 (at 33 MiB) stays
    assert_ne!(keep, 0, "the 33 MiB mark is allocated");
    b[gt1..gt1 + 4].copy_from_slice(&gt1_sector.to_le_bytes());
    let f = t.path().join("loop.vmdk");
    std::fs::write(&f, &b).unwrap();

    let started = Instant::now();
    let src: Source = Arc::new(FileSource::open(&f).unwrap());
    let c = triage_container::vmdk::open(src, &LocalSiblings::of(&f)).unwrap();
    let mut all = vec![0u8; raw.len()];
    let _holes = read_lossy(c.disk.as_ref(), 0, &mut all);
    assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    // Outside the damaged spans (GD entry 0: 0–32 MiB; GT 1 entry 0: 32 MiB + 64 KiB).
    let clean = (32 << 20) + (64 << 10);
    assert!(
        all[clean..] == raw[clean..],
        "the second table's grains are intact"
    );
}
