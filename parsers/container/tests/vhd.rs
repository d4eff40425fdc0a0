//! VHD against independent readers: qemu-img (`-f vpc`) converts each image to raw and
//! the whole virtual disk must match byte for byte; vhdiinfo (libvhdi) gives the facts.
//! Hostile images are generated images with one field broken.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_container::{vhd, Container};
use triage_source::{read_lossy, ByteSource, FileSource, LocalSiblings, NoSiblings, Source};

fn gunzip(src: &Path, dst: &Path) {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(src).unwrap())
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
    vhd::open(file(p), &LocalSiblings::of(p)).unwrap()
}

/// The whole disk compared with `raw`, 1 MiB at a time; the first differing offset on
/// failure. Holes fail too (`read_exact_at`).
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

fn qemu_raw(qemu: &Path, img: &Path, fmt: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!(
        "{}.raw",
        img.file_name().unwrap().to_string_lossy()
    ));
    run(Command::new(qemu)
        .args(["convert", "-f", fmt, "-O", "raw"])
        .arg(img)
        .arg(&out));
    out
}

/// `Key : value` lines of vhdiinfo.
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

/// `Media size : 10 MiB (10485760 bytes)` → 10485760.
fn media_bytes(v: &str) -> u64 {
    v.rsplit_once('(')
        .and_then(|(_, b)| b.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn real_samples_match_qemu_and_vhdiinfo() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let (Some(qemu), Some(vi)) = (
        triage_testkit::tool("qemu-img"),
        triage_testkit::tool("vhdiinfo"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fixed = tmp.path().join("fixed.vhd");
    let dynamic = tmp.path().join("dynamic.vhd");
    gunzip(
        &dir.join("fox-it__dissect.hypervisor__fixed.vhd.gz"),
        &fixed,
    );
    gunzip(
        &dir.join("fox-it__dissect.hypervisor__dynamic.vhd.gz"),
        &dynamic,
    );
    for (img, variant) in [
        (fixed, "fixed"),
        (dynamic, "dynamic"),
        (dir.join("image.vhd"), "dynamic"),
    ] {
        let c = open(&img);
        assert_eq!(c.variant, variant, "{}", img.display());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.disk.location(), file(&img).location());
        assert_same_as(&*c.disk, &qemu_raw(&qemu, &img, "vpc", tmp.path()));
        let i = vhdiinfo(&vi, &img);
        assert_eq!(media_bytes(info(&i, "Media size")), c.disk.len());
        assert_eq!(info(&i, "Disk type").to_ascii_lowercase(), variant);
        assert_eq!(info(&i, "Identifier"), fact(&c, "disk_id"));
    }
}

/// Sector `s` holds its own number (so a misplaced sector shows), with zero runs so
/// that dynamic images leave blocks unallocated.
fn pattern(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    for (s, sec) in v.chunks_mut(512).enumerate() {
        if (s / 2048) % 3 == 1 {
            continue; // 1 MiB of zeros in every 3
        }
        for (j, w) in sec.chunks_mut(8).enumerate() {
            w.copy_from_slice(&((s as u64) << 8 | j as u64).to_le_bytes());
        }
    }
    v
}

#[test]
fn generated_fixed_and_dynamic_match_qemu() {
    let Some(qemu) = triage_testkit::tool("qemu-img") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("pattern.raw");
    std::fs::write(&raw, pattern(24 << 20)).unwrap();
    for sub in ["dynamic", "fixed"] {
        let img = tmp.path().join(format!("{sub}.vhd"));
        run(Command::new(&qemu)
            .args(["convert", "-f", "raw", "-O", "vpc", "-o"])
            .arg(format!("subformat={sub}"))
            .arg(&raw)
            .arg(&img));
        let c = open(&img);
        assert_eq!(c.variant, sub);
        assert_same_as(&*c.disk, &qemu_raw(&qemu, &img, "vpc", tmp.path()));
    }
}

/// A differencing VHD written by hand (qemu-img cannot create one) over a qemu dynamic
/// parent. The expected disk is qemu's raw conversion of the parent with the sectors
/// the test wrote into the child laid over it. (vhdimount 20210425 returns the parent's
/// data even for the child's fully-mapped block, so libvhdi is not the oracle here.)
#[test]
fn handmade_differencing_matches_parent_plus_child_writes() {
    let Some(qemu) = triage_testkit::tool("qemu-img") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("pattern.raw");
    std::fs::write(&raw, pattern(8 << 20)).unwrap();
    let parent = tmp.path().join("Base Disk.vhd");
    run(Command::new(&qemu)
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            "subformat=dynamic",
        ])
        .arg(&raw)
        .arg(&parent));
    let pbytes = std::fs::read(&parent).unwrap();
    let child = tmp.path().join("child.vhd");
    std::fs::write(
        &child,
        differencing_child(&pbytes, r"C:\Somewhere\Else\Base Disk.vhd"),
    )
    .unwrap();

    let c = open(&child);
    assert_eq!(c.variant, "differencing");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.files.len(), 2);
    assert_eq!(fact(&c, "parent"), "Base Disk.vhd");

    let mut want = std::fs::read(qemu_raw(&qemu, &parent, "vpc", tmp.path())).unwrap();
    for s in (3..10).chain(1000..1003) {
        want[s * 512..(s + 1) * 512].fill(0xC1);
    }
    let block = 2 << 20; // qemu's default VHD block size, asserted by the child writer
    want[2 * block..3 * block].fill(0xC2);
    let expect = tmp.path().join("expect.raw");
    std::fs::write(&expect, &want).unwrap();
    assert_same_as(&*c.disk, &expect);

    // Without the parent: the child's own sectors still read, the parent's are holes.
    let alone = vhd::open(file(&child), &NoSiblings).unwrap();
    assert!(
        alone
            .warnings
            .iter()
            .any(|w| w.contains("parent Base Disk.vhd not found")),
        "{:?}",
        alone.warnings
    );
    let mut b = vec![0u8; want.len()];
    let holes = read_lossy(&*alone.disk, 0, &mut b);
    assert_eq!(
        holes.first().map(|h| (h.offset, h.len)),
        Some((0, 3 * 512)),
        "{holes:?}"
    );
    assert!(holes[0].why.contains("not found"));
    assert_eq!(b[3 * 512..10 * 512], want[3 * 512..10 * 512]);
    assert_eq!(b[2 * block..3 * block], want[2 * block..3 * block]);
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn vhd_checksum(b: &mut [u8], field: usize) {
    b[field..field + 4].fill(0);
    let sum = b.iter().fold(0u32, |s, &x| s.wrapping_add(u32::from(x)));
    b[field..field + 4].copy_from_slice(&(!sum).to_be_bytes());
}

/// A differencing child of the dynamic VHD `parent`: block 0 holds sectors 3..10 and
/// 1000..1003 (0xC1), block 2 all its sectors (0xC2), every other sector the parent's.
fn differencing_child(parent: &[u8], parent_path: &str) -> Vec<u8> {
    let pfooter = &parent[parent.len() - 512..];
    let mut footer = pfooter.to_vec();
    footer[60..64].copy_from_slice(&4u32.to_be_bytes());
    footer[68..84].copy_from_slice(&[0x5A; 16]); // the child's own id
    footer[16..24].copy_from_slice(&512u64.to_be_bytes());
    vhd_checksum(&mut footer, 64);
    let pdyn = &parent[512..1536];
    let block_size = be32(pdyn, 32) as usize;
    assert_eq!(block_size, 2 << 20);
    let entries = be32(pdyn, 28) as usize;
    let mut dynh = pdyn.to_vec();
    let bat_off = 1536u64;
    let bat_len = (entries * 4).next_multiple_of(512);
    let loc_off = bat_off as usize + bat_len;
    let path16: Vec<u8> = parent_path
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let rel16: Vec<u8> = r".\Base Disk.vhd"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    dynh[16..24].copy_from_slice(&bat_off.to_be_bytes());
    dynh[40..56].copy_from_slice(&pfooter[68..84]); // parent id
    let name16: Vec<u8> = "Base Disk.vhd"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    dynh[64..576].fill(0);
    dynh[64..64 + name16.len()].copy_from_slice(&name16);
    dynh[576..768].fill(0);
    for (i, (code, data, off)) in [
        (b"W2ku", &path16, loc_off),
        (b"W2ru", &rel16, loc_off + 512),
    ]
    .iter()
    .enumerate()
    {
        let e = 576 + 24 * i;
        dynh[e..e + 4].copy_from_slice(*code);
        dynh[e + 4..e + 8].copy_from_slice(&512u32.to_be_bytes());
        dynh[e + 8..e + 12].copy_from_slice(&(data.len() as u32).to_be_bytes());
        dynh[e + 16..e + 24].copy_from_slice(&(*off as u64).to_be_bytes());
    }
    vhd_checksum(&mut dynh, 36);
    let mut out = footer.clone();
    out.extend_from_slice(&dynh);
    let mut bat = vec![0xFFu8; bat_len];
    let bitmap_len = (block_size / 512 / 8).next_multiple_of(512);
    let first_block = loc_off + 1024;
    let block_bytes = bitmap_len + block_size;
    bat[0..4].copy_from_slice(&((first_block / 512) as u32).to_be_bytes());
    bat[8..12].copy_from_slice(&(((first_block + block_bytes) / 512) as u32).to_be_bytes());
    out.extend_from_slice(&bat);
    let mut locs = vec![0u8; 1024];
    locs[..path16.len()].copy_from_slice(&path16);
    locs[512..512 + rel16.len()].copy_from_slice(&rel16);
    out.extend_from_slice(&locs);
    // Block 0: a few sectors of its own.
    let mut b0 = vec![0u8; block_bytes];
    for s in (3..10).chain(1000..1003) {
        b0[s / 8] |= 0x80 >> (s % 8);
        b0[bitmap_len + s * 512..bitmap_len + (s + 1) * 512].fill(0xC1);
    }
    // Sector 20 has data but bit 0: it must come from the parent.
    b0[bitmap_len + 20 * 512..bitmap_len + 21 * 512].fill(0xEE);
    out.extend_from_slice(&b0);
    let mut b2 = vec![0xC2u8; block_bytes];
    b2[..bitmap_len].fill(0xFF);
    out.extend_from_slice(&b2);
    out.extend_from_slice(&footer);
    out
}

/// A generated dynamic VHD and the offsets of its BAT and of its first block.
fn dynamic_image(dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let qemu = triage_testkit::tool("qemu-img")?;
    let raw = dir.join("p.raw");
    std::fs::write(&raw, pattern(6 << 20)).unwrap();
    let img = dir.join("d.vhd");
    run(Command::new(&qemu)
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            "subformat=dynamic",
        ])
        .arg(&raw)
        .arg(&img));
    let bytes = std::fs::read(&img).unwrap();
    Some((img, bytes))
}

/// Read the whole disk tolerantly: it must not panic, and holes must lie inside it.
fn read_all_lossy(c: &Container) -> Vec<triage_source::Hole> {
    let mut b = vec![0u8; c.disk.len().min(64 << 20) as usize];
    let holes = read_lossy(&*c.disk, 0, &mut b);
    for h in &holes {
        assert!(h.offset + h.len <= c.disk.len());
    }
    holes
}

#[test]
fn hostile_bat_entry_past_the_end_is_a_hole() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, mut b)) = dynamic_image(tmp.path()) else {
        return;
    };
    let bat = u64::from_be_bytes(b[512 + 16..512 + 24].try_into().unwrap()) as usize;
    b[bat..bat + 4].copy_from_slice(&0x00FF_FFF0u32.to_be_bytes());
    std::fs::write(&img, &b).unwrap();
    let c = open(&img);
    let holes = read_all_lossy(&c);
    assert_eq!(holes.first().map(|h| h.offset), Some(0), "{holes:?}");
    assert!(holes[0].why.contains("past the end"), "{holes:?}");
}

#[test]
fn hostile_truncated_zeroed_and_oversized_images_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, b)) = dynamic_image(tmp.path()) else {
        return;
    };
    // Truncated mid-data: the footer copy at 0 opens it; blocks past the end are holes.
    for cut in [b.len() / 2, 1536, 700, 100, 0] {
        std::fs::write(&img, &b[..cut]).unwrap();
        if let Ok(c) = vhd::open(file(&img), &NoSiblings) {
            assert!(!c.warnings.is_empty());
            read_all_lossy(&c);
        }
    }
    // Both footers zeroed: an error, not a panic.
    let mut z = b.clone();
    z[..512].fill(0);
    let n = z.len();
    z[n - 512..].fill(0);
    std::fs::write(&img, &z).unwrap();
    assert!(vhd::open(file(&img), &NoSiblings).is_err());
    // A BAT bigger than the file: refused.
    let mut big = b.clone();
    for at in [48usize, n - 512 + 48] {
        big[at..at + 8].copy_from_slice(&(1u64 << 45).to_be_bytes());
    }
    big[512 + 28..512 + 32].copy_from_slice(&u32::MAX.to_be_bytes());
    std::fs::write(&img, &big).unwrap();
    let e = vhd::open(file(&img), &NoSiblings).err().expect("refused");
    assert!(e.to_string().contains("past the end"), "{e}");
}

#[test]
fn hostile_parent_pointing_to_itself_is_a_loop_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((img, b)) = dynamic_image(tmp.path()) else {
        return;
    };
    // Make the disk differencing with its own name and id as the parent.
    let mut me = differencing_child(&b, r"C:\x\d.vhd");
    let n = me.len();
    let id: [u8; 16] = me[68..84].try_into().unwrap();
    let mut dynh = me[512..1536].to_vec();
    dynh[40..56].copy_from_slice(&id);
    for i in 0..2 {
        dynh[576 + 24 * i..576 + 24 * i + 4].copy_from_slice(b"W2ku");
    }
    vhd_checksum(&mut dynh, 36);
    me[512..1536].copy_from_slice(&dynh);
    let _ = n;
    std::fs::write(&img, &me).unwrap();
    let c = open(&img);
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

/// A few hundred seeded mutations of a generated dynamic VHD's footer, header and BAT
/// (half of them made differencing): errors or holes, never a panic.
#[test]
fn mutated_images_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((_, good)) = dynamic_image(tmp.path()) else {
        return;
    };
    let n = good.len();
    let spots = [
        (n - 512, 100usize),
        (0, 100),
        (512, 64),
        (512 + 576, 192),
        (1536, 64),
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
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
        if next() % 2 == 0 {
            b[n - 512 + 63] = 4; // differencing: the parent is the image itself
        }
        for _ in 0..1 + next() % 6 {
            let (at, len) = spots[(next() % spots.len() as u64) as usize];
            b[at + (next() % len as u64) as usize] = next() as u8;
        }
        let src: Source = Arc::new(triage_source::MemorySource::new(
            triage_source::Location::new("m"),
            b,
        ));
        if let Ok(c) = vhd::open(src.clone(), &Same(src)) {
            opened += 1;
            for off in [0, c.disk.len() / 2, c.disk.len().saturating_sub(4096)] {
                let _ = read_lossy(&*c.disk, off, &mut buf);
            }
        }
    }
    eprintln!("{opened} of 300 mutated images opened");
    assert!(opened > 50, "the mutations reach past the first checks");
}

/// A chain that never ends (every parent is the same differencing disk, with no ids to
/// notice it by) stops at 16 files with a warning.
#[test]
fn hostile_endless_parent_chain_stops_at_16() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((_, b)) = dynamic_image(tmp.path()) else {
        return;
    };
    let mut me = differencing_child(&b, r"C:\x\next.vhd");
    let n = me.len();
    for footer in [0, n - 512] {
        me[footer + 68..footer + 84].fill(0);
        vhd_checksum(&mut me[footer..footer + 512], 64);
    }
    me[512 + 40..512 + 56].fill(0);
    vhd_checksum(&mut me[512..1536], 36);
    let src: Source = Arc::new(triage_source::MemorySource::new(
        triage_source::Location::new("m"),
        me,
    ));
    let c = vhd::open(src.clone(), &Same(src)).unwrap();
    assert_eq!(c.files.len(), 16);
    assert!(
        c.warnings.iter().any(|w| w.contains("deeper than 16")),
        "{:?}",
        c.warnings
    );
    let holes = read_all_lossy(&c);
    assert!(
        holes.iter().all(|h| h.why.contains("deeper than 16")),
        "{holes:?}"
    );
    assert!(!holes.is_empty());
}
