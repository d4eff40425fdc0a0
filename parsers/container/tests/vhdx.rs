//! VHDX against independent readers: qemu-img converts fixed and dynamic images to raw
//! and the whole virtual disk must match byte for byte; vhdiinfo (libvhdi) gives the
//! facts; vhdimount (libvhdi, FUSE) reads the real differencing image over a parent
//! that qemu made (for the parent's sectors: see that test for the child's). Hostile images are generated images with one field broken.

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_container::{vhdx, Container};
use triage_source::{read_lossy, ByteSource, FileSource, LocalSiblings, NoSiblings, Source};

const PARENT: &str = "Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx";
const PARENT_ID: &str = "ff34003b-11ed-4cf8-a166-b2be05e20b80";

fn gunzip(src: &Path, dst: &Path) {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(src).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    std::fs::write(dst, out).unwrap();
}

/// The one deflated member of a zip file (the Velociraptor sample), through its local
/// header: no zip crate needed for one file.
fn unzip_single(src: &Path, dst: &Path) {
    let z = std::fs::read(src).unwrap();
    assert_eq!(&z[..4], b"PK\x03\x04");
    let u16_at = |o: usize| u16::from_le_bytes([z[o], z[o + 1]]) as usize;
    assert_eq!(u16_at(8), 8, "deflate");
    let start = 30 + u16_at(26) + u16_at(28);
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(&z[start..])
        .read_to_end(&mut out)
        .unwrap();
    std::fs::write(dst, out).unwrap();
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn file(p: &Path) -> Source {
    Arc::new(FileSource::open(p).unwrap())
}

fn open(p: &Path) -> Container {
    vhdx::open(file(p), &LocalSiblings::of(p)).unwrap()
}

/// The whole disk compared with `raw`; the first differing offset on failure.
fn assert_same_as(disk: &dyn ByteSource, raw: &Path) {
    let want = std::fs::read(raw).unwrap();
    assert_eq!(
        disk.len(),
        want.len() as u64,
        "virtual size vs {}",
        raw.display()
    );
    let mut got = vec![0u8; want.len()];
    for (i, chunk) in got.chunks_mut(1 << 20).enumerate() {
        triage_source::read_exact_at(disk, (i as u64) << 20, chunk).unwrap();
    }
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
        panic!("differs from {} first at offset {at:#x}", raw.display());
    }
    assert_eq!(Sha256::digest(&got), Sha256::digest(&want));
}

fn qemu_raw(qemu: &Path, img: &Path, dir: &Path) -> PathBuf {
    let out = dir.join(format!(
        "{}.raw",
        img.file_name().unwrap().to_string_lossy()
    ));
    run(Command::new(qemu)
        .args(["convert", "-f", "vhdx", "-O", "raw"])
        .arg(img)
        .arg(&out));
    out
}

fn vhdiinfo(tool: &Path, img: &Path) -> Vec<(String, String)> {
    run(Command::new(tool).arg(img))
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn info<'a>(i: &'a [(String, String)], key: &str) -> &'a str {
    i.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn fact<'a>(c: &'a Container, key: &str) -> &'a str {
    c.facts
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn media_bytes(v: &str) -> u64 {
    v.rsplit_once('(')
        .and_then(|(_, b)| b.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The samples, decompressed into `dir`: (path, variant).
fn samples(dir: &Path) -> Option<Vec<(PathBuf, &'static str)>> {
    let src = triage_testkit::sample_dir("disk")?;
    let mut v = Vec::new();
    for (name, variant) in [
        ("fixed.vhdx", "fixed"),
        ("dynamic.vhdx", "dynamic"),
        ("differencing.avhdx", "differencing"),
    ] {
        let p = dir.join(name);
        gunzip(
            &src.join(format!("fox-it__dissect.hypervisor__{name}.gz")),
            &p,
        );
        v.push((p, variant));
    }
    let p = dir.join("test.vhdx");
    unzip_single(&src.join("Velocidex__velociraptor__test.vhdx.zip"), &p);
    v.push((p, "dynamic"));
    Some(v)
}

#[test]
fn real_samples_match_qemu_and_vhdiinfo() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(samples) = samples(tmp.path()) else {
        return;
    };
    let (Some(qemu), Some(vi)) = (
        triage_testkit::tool("qemu-img"),
        triage_testkit::tool("vhdiinfo"),
    ) else {
        return;
    };
    for (img, variant) in &samples {
        let c = open(img);
        assert_eq!(c.variant, *variant, "{}", img.display());
        let i = vhdiinfo(&vi, img);
        assert_eq!(media_bytes(info(&i, "Media size")), c.disk.len());
        assert_eq!(
            info(&i, "Bytes per sector"),
            format!("{} bytes", fact(&c, "logical_sector_size"))
        );
        assert_eq!(info(&i, "Identifier"), fact(&c, "data_write_guid"));
        let ty = info(&i, "Disk type").to_ascii_lowercase();
        assert_eq!(ty.replace("differential", "differencing"), *variant);
        if *variant == "differencing" {
            continue; // qemu cannot read it: see the vhdimount test
        }
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.disk.location(), file(img).location());
        assert_same_as(&*c.disk, &qemu_raw(&qemu, img, tmp.path()));
    }
}

/// The differencing sample's parent is an 8 GiB disk that is not among the samples
/// (none of their data-write GUIDs is its `parent_linkage`). Alone, it opens with a
/// warning, its own blocks read and the parent's sectors are holes.
#[test]
fn real_differencing_alone_names_its_missing_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(samples) = samples(tmp.path()) else {
        return;
    };
    let Some(vi) = triage_testkit::tool("vhdiinfo") else {
        return;
    };
    let child = &samples[2].0;
    let i = vhdiinfo(&vi, child);
    let c = open(child);
    assert_eq!(fact(&c, "parent_id"), info(&i, "Parent identifier"));
    assert_eq!(fact(&c, "parent_id"), PARENT_ID);
    let want_name = info(&i, "Parent filename")
        .rsplit('\\')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(fact(&c, "parent"), want_name);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains(&format!("parent {want_name} not found"))),
        "{:?}",
        c.warnings
    );
    for (other, _) in &samples {
        if other != child {
            assert_ne!(fact(&open(other), "data_write_guid"), PARENT_ID);
        }
    }
    let mut b = vec![0u8; 1 << 20];
    let holes = read_lossy(&*c.disk, 0, &mut b);
    assert!(
        holes.iter().all(|h| h.why.contains("not found")),
        "{holes:?}"
    );
}

// ---- the real differencing image over a parent qemu made, against vhdimount ----

const CRC32C_POLY: u32 = 0x82F6_3B78;

fn crc32c(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ CRC32C_POLY
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Rewrite a field of both VHDX headers and their CRC-32C.
fn patch_headers(img: &mut [u8], field: usize, value: &[u8]) {
    for off in [0x10000usize, 0x20000] {
        let h = &mut img[off..off + 4096];
        h[field..field + value.len()].copy_from_slice(value);
        h[4..8].fill(0);
        let crc = crc32c(h);
        h[4..8].copy_from_slice(&crc.to_le_bytes());
    }
}

fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .split('-')
        .flat_map(|p| {
            (0..p.len())
                .step_by(2)
                .map(move |i| u8::from_str_radix(&p[i..i + 2], 16).unwrap())
        })
        .collect();
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&[hex[3], hex[2], hex[1], hex[0]]);
    g[4..6].copy_from_slice(&[hex[5], hex[4]]);
    g[6..8].copy_from_slice(&[hex[7], hex[6]]);
    g[8..].copy_from_slice(&hex[8..16]);
    g
}

/// vhdimount's FUSE mount, unmounted on drop; `None` where FUSE is unavailable.
struct Mounted(PathBuf);
impl Mounted {
    fn new(tool: &Path, img: &Path, mnt: &Path) -> Option<Mounted> {
        let out = Command::new(tool).arg(img).arg(mnt).output().unwrap();
        if !out.status.success() || !mnt.join("vhdi1").exists() {
            eprintln!(
                "note: vhdimount could not mount (no FUSE?): {}; test skipped",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        Some(Mounted(mnt.to_path_buf()))
    }
}
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("fusermount").arg("-u").arg(&self.0).status();
    }
}

#[test]
fn real_differencing_over_a_made_parent_matches_vhdimount() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(src) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let (Some(qemu), Some(qio), Some(mount)) = (
        triage_testkit::tool("qemu-img"),
        triage_testkit::tool("qemu-io"),
        triage_testkit::tool("vhdimount"),
    ) else {
        return;
    };
    let child = tmp.path().join("differencing.avhdx");
    gunzip(
        &src.join("fox-it__dissect.hypervisor__differencing.avhdx.gz"),
        &child,
    );
    // The parent, named as the child's locator says, with data where the child has
    // none and where it has some, and the data-write GUID the child links to.
    let parent = tmp.path().join(PARENT);
    run(Command::new(&qemu)
        .args([
            "create",
            "-f",
            "vhdx",
            "-o",
            "subformat=dynamic,block_size=8M",
        ])
        .arg(&parent)
        .arg("8G"));
    run(Command::new(&qio)
        .args([
            "-f",
            "vhdx",
            "-c",
            "write -P 0x5a 0 40M",
            "-c",
            "write -P 0xa5 1G 3M",
            "-c",
            "write -P 0x3c 8184M 8M",
        ])
        .arg(&parent));
    let mut p = std::fs::read(&parent).unwrap();
    patch_headers(&mut p, 32, &guid_bytes(PARENT_ID));
    std::fs::write(&parent, &p).unwrap();

    let c = open(&child);
    assert_eq!(c.variant, "differencing");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.files.len(), 2);
    assert!(c.files[1].ends_with(PARENT), "{:?}", c.files);

    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(_m) = Mounted::new(&mount, &child, &mnt) else {
        return;
    };
    let oracle = std::fs::File::open(mnt.join("vhdi1")).unwrap();
    assert_eq!(oracle.metadata().unwrap().len(), c.disk.len());
    // vhdimount 20210425 returns the parent's data even for sectors the child's bitmap
    // marks present, so the expectation is vhdimount's disk with those sectors (found
    // by a direct reading of the spec below) taken from the child file.
    let child_bytes = std::fs::read(&child).unwrap();
    let present = child_present_sectors(&child_bytes);
    let w = 1u64 << 20;
    let mut by_window: std::collections::BTreeMap<u64, Vec<(u64, u64, u64)>> = Default::default();
    for &(at, len, from) in &present {
        by_window.entry(at / w).or_default().push((at, len, from));
    }
    // Reading all 8 GiB through FUSE takes a minute: compare every window the child
    // writes, the parent's written ranges, and every 64th window whatever it holds.
    let mut ours = vec![0u8; w as usize];
    let mut want = vec![0u8; w as usize];
    let mut compared = 0;
    for i in 0..c.disk.len() / w {
        let parent_data = i < 40 || (1024..1027).contains(&i) || i >= 8184;
        let mine = by_window.get(&i);
        if !(mine.is_some() || parent_data || i % 64 == 0) {
            continue;
        }
        triage_source::read_exact_at(&*c.disk, i * w, &mut ours).unwrap();
        oracle.read_exact_at(&mut want, i * w).unwrap();
        for &(at, len, from) in mine.into_iter().flatten() {
            let o = (at - i * w) as usize;
            want[o..o + len as usize]
                .copy_from_slice(&child_bytes[from as usize..(from + len) as usize]);
        }
        if ours != want {
            let at = ours
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!("differs first at offset {:#x}", i * w + at as u64);
        }
        compared += 1;
    }
    eprintln!(
        "compared {compared} MiB windows, {} with the child's own sectors",
        by_window.len()
    );
    assert!(
        by_window.len() >= 32 && present.len() > 1000,
        "{} sectors",
        present.len()
    );
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// `(disk offset, length, file offset)` of every sector a VHDX holds itself: fully
/// present blocks whole, partially present ones sector by sector from their bitmap.
fn child_present_sectors(img: &[u8]) -> Vec<(u64, u64, u64)> {
    let bs = le_u64(
        img,
        metadata_item(img, "caa16737-fa36-4d43-b3b6-33f0aa44e76b"),
    ) & 0xFFFF_FFFF;
    let ss = le_u64(
        img,
        metadata_item(img, "8141bf1d-a96f-4709-ba47-f233a8faab5f"),
    ) & 0xFFFF_FFFF;
    let size = le_u64(
        img,
        metadata_item(img, "2fa54224-cd1b-4876-b211-5dbed83bf4b8"),
    );
    let r = find(
        &img[0x30000..0x40000],
        &guid_bytes("2dc27766-f623-4200-9d64-115e9bfd4a08"),
    ) + 0x30000;
    let bat = le_u64(img, r + 16) as usize;
    let entry = |i: u64| le_u64(img, bat + 8 * i as usize);
    let cr = (1u64 << 23) * ss / bs;
    let mut out = Vec::new();
    for blk in 0..size.div_ceil(bs) {
        let e = entry(blk + blk / cr);
        let data = e >> 20 << 20;
        match e & 7 {
            6 => out.push((blk * bs, bs, data)),
            7 => {
                let sb = entry(blk / cr * (cr + 1) + cr);
                assert_eq!(sb & 7, 6, "sector bitmap present");
                let bm = (sb >> 20 << 20) + (blk % cr) * (bs / ss / 8);
                for s in 0..bs / ss {
                    if img[(bm + s / 8) as usize] >> (s % 8) & 1 == 1 {
                        out.push((blk * bs + s * ss, ss, data + s * ss));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

// ---- generated images ----

/// Sector `s` holds its own number, with a 1 MiB run of zeros in every 3 MiB so that
/// dynamic images leave blocks unallocated.
fn pattern(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    for (s, sec) in v.chunks_mut(512).enumerate() {
        if (s / 2048) % 3 == 1 {
            continue;
        }
        for (j, w) in sec.chunks_mut(8).enumerate() {
            w.copy_from_slice(&((s as u64) << 8 | j as u64).to_le_bytes());
        }
    }
    v
}

fn generated(dir: &Path, opts: &str, mib: usize) -> Option<(PathBuf, PathBuf)> {
    let qemu = triage_testkit::tool("qemu-img")?;
    let raw = dir.join(format!("pattern{mib}.raw"));
    if !raw.exists() {
        std::fs::write(&raw, pattern(mib << 20)).unwrap();
    }
    let img = dir.join(format!("{}.vhdx", opts.replace([',', '='], "_")));
    run(Command::new(&qemu)
        .args(["convert", "-f", "raw", "-O", "vhdx", "-o", opts])
        .arg(&raw)
        .arg(&img));
    Some((img, raw))
}

#[test]
fn generated_fixed_and_dynamic_match_qemu() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(qemu) = triage_testkit::tool("qemu-img") else {
        return;
    };
    for (opts, variant, bs) in [
        ("subformat=dynamic,block_size=1M", "dynamic", 1 << 20),
        ("subformat=dynamic", "dynamic", 0),
        ("subformat=fixed,block_size=2M", "fixed", 2 << 20),
    ] {
        let (img, raw) = generated(tmp.path(), opts, 21).unwrap();
        let c = open(&img);
        assert_eq!(c.variant, variant, "{opts}");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        if bs != 0 {
            assert_eq!(fact(&c, "block_size"), bs.to_string());
        }
        assert_same_as(&*c.disk, &qemu_raw(&qemu, &img, tmp.path()));
        assert_same_as(&*c.disk, &raw);
    }
}

/// The offset of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// The file offset of the metadata item `id` in a qemu VHDX.
fn metadata_item(img: &[u8], id: &str) -> usize {
    let meta = guid_bytes("8b7ca206-4790-4b9a-b8fe-575f050f886e");
    let r = find(&img[0x30000..0x40000], &meta) + 0x30000;
    let meta_off = u64::from_le_bytes(img[r + 16..r + 24].try_into().unwrap()) as usize;
    let e = find(&img[meta_off..meta_off + 0x10000], &guid_bytes(id)) + meta_off;
    meta_off + u32::from_le_bytes(img[e + 16..e + 20].try_into().unwrap()) as usize
}

fn read_all_lossy(c: &Container) -> Vec<triage_source::Hole> {
    let mut b = vec![0u8; c.disk.len().min(64 << 20) as usize];
    let holes = read_lossy(&*c.disk, 0, &mut b);
    for h in &holes {
        assert!(h.offset + h.len <= c.disk.len());
    }
    holes
}

#[test]
fn hostile_bat_larger_than_the_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, _)) = generated(tmp.path(), "subformat=dynamic,block_size=1M", 6) else {
        return;
    };
    let mut b = std::fs::read(&img).unwrap();
    let size = metadata_item(&b, "2fa54224-cd1b-4876-b211-5dbed83bf4b8");
    for v in [64u64 << 40, u64::MAX] {
        b[size..size + 8].copy_from_slice(&v.to_le_bytes());
        std::fs::write(&img, &b).unwrap();
        let e = vhdx::open(file(&img), &NoSiblings).err().expect("refused");
        assert!(
            e.to_string().contains("BAT") || e.to_string().contains("64 TiB"),
            "{e}"
        );
    }
}

#[test]
fn hostile_headers_truncation_and_bat_entries_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, raw)) = generated(tmp.path(), "subformat=dynamic,block_size=1M", 6) else {
        return;
    };
    let good = std::fs::read(&img).unwrap();
    // One header zeroed: a warning, the other is used and the disk still reads right.
    let mut b = good.clone();
    b[0x10000..0x11000].fill(0);
    std::fs::write(&img, &b).unwrap();
    let c = open(&img);
    assert!(
        c.warnings.iter().any(|w| w.contains("header")),
        "{:?}",
        c.warnings
    );
    assert_same_as(&*c.disk, &raw);
    // Both zeroed: an error.
    b[0x20000..0x21000].fill(0);
    std::fs::write(&img, &b).unwrap();
    assert!(vhdx::open(file(&img), &NoSiblings).is_err());
    // A log GUID: a dirty image, opened with a warning.
    let mut b = good.clone();
    patch_headers(&mut b, 48, &[7; 16]);
    std::fs::write(&img, &b).unwrap();
    let c = open(&img);
    assert!(
        c.warnings.iter().any(|w| w.contains("not replayed")),
        "{:?}",
        c.warnings
    );
    // Truncated anywhere: an error or holes, never a panic.
    for cut in [
        good.len() - 700_000,
        5 << 20,
        0x41000,
        0x30010,
        0x10100,
        8,
        0,
    ] {
        std::fs::write(&img, &good[..cut]).unwrap();
        if let Ok(c) = vhdx::open(file(&img), &NoSiblings) {
            let holes = read_all_lossy(&c);
            assert!(!holes.is_empty(), "cut at {cut:#x}");
        }
    }
    // BAT entries pointing past the end, with bad states, partially present without a
    // bitmap: holes.
    let bat_id = guid_bytes("2dc27766-f623-4200-9d64-115e9bfd4a08");
    let r = find(&good[0x30000..0x40000], &bat_id) + 0x30000;
    let bat = u64::from_le_bytes(good[r + 16..r + 24].try_into().unwrap()) as usize;
    let mut b = good.clone();
    b[bat..bat + 8].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
    b[bat + 16..bat + 24].copy_from_slice(&((3u64 << 20) | 5).to_le_bytes());
    b[bat + 32..bat + 40].copy_from_slice(&((3u64 << 20) | 7).to_le_bytes());
    std::fs::write(&img, &b).unwrap();
    let holes = read_all_lossy(&open(&img));
    let at: Vec<u64> = holes.iter().map(|h| h.offset).collect();
    assert_eq!(at, [0, 2 << 20, 4 << 20], "{holes:?}");
}

#[test]
fn hostile_differencing_disk_that_is_its_own_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(src) = triage_testkit::sample_dir("disk") else {
        return;
    };
    // The real child under its parent's name: its locator names itself.
    let me = tmp.path().join(PARENT);
    gunzip(
        &src.join("fox-it__dissect.hypervisor__differencing.avhdx.gz"),
        &me,
    );
    let c = open(&me);
    assert!(
        c.warnings.iter().any(|w| w.contains("loops back")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.files.len(), 1);
    let holes = read_all_lossy(&c);
    assert!(
        holes.iter().any(|h| h.why.contains("loops back")),
        "{holes:?}"
    );
}

/// Read speed of a 384 MiB dynamic VHDX (run with `--release -- --ignored`): not a timed
/// test, a measurement to report.
#[test]
#[ignore]
fn read_speed() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, _)) = generated(tmp.path(), "subformat=dynamic", 384) else {
        return;
    };
    let c = open(&img);
    let mut buf = vec![0u8; 1 << 20];
    for pass in 0..3 {
        let t = std::time::Instant::now();
        let mut off = 0;
        while off < c.disk.len() {
            off += c.disk.read_at(off, &mut buf).unwrap() as u64;
        }
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "pass {pass}: {:.0} MiB/s ({} MiB in {s:.3} s)",
            c.disk.len() as f64 / s / 1048576.0,
            c.disk.len() >> 20
        );
    }
}

/// Many threads reading odd-sized, unaligned pieces at once see the same bytes as qemu
/// wrote (reads cross block and sector boundaries; bitmaps and caches are shared).
#[test]
fn parallel_unaligned_reads_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, raw)) = generated(tmp.path(), "subformat=dynamic,block_size=1M", 9) else {
        return;
    };
    let want = std::fs::read(&raw).unwrap();
    let c = open(&img);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (disk, want) = (&c.disk, &want);
            s.spawn(move || {
                let mut off = 37 * t + 1;
                let mut buf = vec![0u8; 70_001];
                while off < disk.len() {
                    let n = disk.read_at(off, &mut buf).unwrap();
                    assert!(n > 0);
                    assert_eq!(
                        buf[..n],
                        want[off as usize..off as usize + n],
                        "at {off:#x}"
                    );
                    off += n as u64 + 4093 * (t + 1);
                }
            });
        }
    });
}

/// Siblings that hand back the same image for every name (a parent chain that loops).
struct Same(Source);
impl triage_source::Siblings for Same {
    fn open(&self, _name: &str) -> triage_source::Result<Option<Source>> {
        Ok(Some(self.0.clone()))
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A few hundred seeded mutations of a generated image's structures (header, region
/// table, metadata, BAT): open and reads must return errors or holes, never panic.
#[test]
fn mutated_images_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, _)) = generated(tmp.path(), "subformat=dynamic,block_size=1M", 3) else {
        return;
    };
    let good = std::fs::read(&img).unwrap();
    let bat_id = guid_bytes("2dc27766-f623-4200-9d64-115e9bfd4a08");
    let r = find(&good[0x30000..0x40000], &bat_id) + 0x30000;
    let bat = le_u64(&good, r + 16) as usize;
    let meta = metadata_item(&good, "caa16737-fa36-4d43-b3b6-33f0aa44e76b") & !0xFFFF;
    let spots = [
        (0usize, 16usize),
        (0x10000, 80),
        (0x30000, 80),
        (meta, 0x100),
        (meta + 0x10000, 64),
        (bat, 64),
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut opened = 0;
    for _ in 0..300 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 6 {
            let (at, len) = spots[(next() % spots.len() as u64) as usize];
            b[at + (next() % len as u64) as usize] = next() as u8;
        }
        if next() % 2 == 0 {
            // Keep the header valid so the mutation reaches what lies behind it.
            let h = &mut b[0x10000..0x11000];
            h[4..8].fill(0);
            let crc = crc32c(h);
            h[4..8].copy_from_slice(&crc.to_le_bytes());
        }
        let src: Source = Arc::new(triage_source::MemorySource::new(
            triage_source::Location::new("m"),
            b,
        ));
        if let Ok(c) = vhdx::open(src.clone(), &Same(src)) {
            opened += 1;
            for off in [0, c.disk.len() / 2, c.disk.len().saturating_sub(4096)] {
                let _ = read_lossy(&*c.disk, off, &mut buf);
            }
        }
    }
    eprintln!("{opened} of 300 mutated images opened");
    assert!(opened > 50, "the mutations reach past the first checks");
}
