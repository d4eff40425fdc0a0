//! VMDK reader against qemu-img (the independent reader) and libvmdk's vmdkinfo.
//!
//! Real samples first (`image.vmdk`, dissect's `sesparse.vmdk`), then every subformat
//! qemu-img writes from a raw file of varied data, snapshot chains written with qemu-io,
//! and hostile edits of those files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_container::{vmdk, Container};
use triage_source::{read_exact_at, read_lossy, ByteSource, FileSource, LocalSiblings, Source};

fn run(cmd: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run tool");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        cmd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn src(p: &Path) -> Source {
    Arc::new(FileSource::open(p).expect("open file"))
}

fn open(p: &Path) -> triage_source::Result<Container> {
    vmdk::open(src(p), &LocalSiblings::of(p))
}

/// Varied data: random, zero, text-like and partly-filled 64 KiB blocks.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let mut x = seed | 1;
    for (i, blk) in v.chunks_mut(65536).enumerate() {
        match i % 5 {
            1 => {}
            2 => {
                let t = format!("block {i} of the test pattern; ");
                for (j, b) in blk.iter_mut().enumerate() {
                    *b = t.as_bytes()[j % t.len()];
                }
            }
            4 => {
                for b in blk.iter_mut().take(4096) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
            }
            _ => {
                for b in blk.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = (x >> 24) as u8;
                }
            }
        }
    }
    v
}

/// Compare the whole virtual disk with `want` chunk by chunk (the first differing
/// offset on failure) and, for disks up to 64 MiB, by sha256.
fn assert_disk_eq(disk: &dyn ByteSource, want: &[u8], what: &str) {
    assert_eq!(disk.len(), want.len() as u64, "{what}: size");
    let mut h = Sha256::new();
    let small = want.len() <= 64 << 20;
    let mut buf = vec![0u8; 4 << 20];
    let mut off = 0u64;
    while off < disk.len() {
        let n = buf.len().min((disk.len() - off) as usize);
        read_exact_at(disk, off, &mut buf[..n])
            .unwrap_or_else(|e| panic!("{what}: read at {off:#x}: {e}"));
        let w = &want[off as usize..off as usize + n];
        if buf[..n] != *w {
            let i = buf[..n]
                .iter()
                .zip(w)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!("{what}: first difference at offset {:#x}", off + i as u64);
        }
        if small {
            h.update(&buf[..n]);
        }
        off += n as u64;
    }
    if small {
        assert_eq!(h.finalize()[..], Sha256::digest(want)[..], "{what}: sha256");
    }
}

/// libvmdk's view: media size and disk type (as a createType name).
fn vmdkinfo(path: &Path) -> Option<(u64, String)> {
    let tool = triage_testkit::tool("vmdkinfo")?;
    let out = Command::new(tool).arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        let l = text.lines().find(|l| l.contains(k))?;
        Some(l.split_once(':')?.1.trim().to_string())
    };
    let size = field("Media size")?
        .split('(')
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let ty = match field("Disk type")?.as_str() {
        "Monolithic sparse" => "monolithicSparse",
        "Stream optimized" => "streamOptimized",
        "2GB extent sparse" => "twoGbMaxExtentSparse",
        "2GB extent flat" => "twoGbMaxExtentFlat",
        "Monolithic flat" => "monolithicFlat",
        other => panic!("vmdkinfo disk type {other}"),
    };
    Some((size, ty.to_string()))
}

fn qemu() -> Option<PathBuf> {
    triage_testkit::tool("qemu-img")
}

/// `qemu-img info`'s cluster size (the VMDK grain / qcow2 cluster) of `p`.
fn qemu_cluster_size(q: &Path, p: &Path) -> u64 {
    let out = run(
        q,
        &["info", "--output=json", p.to_str().unwrap()],
        Path::new("/"),
    );
    let at = out.find("\"cluster-size\":").expect("cluster-size");
    out[at + 15..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn real_monolithic_sparse_matches_qemu_and_vmdkinfo() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    let p = dir.join("image.vmdk");
    let raw = t.path().join("image.raw");
    run(
        &q,
        &[
            "convert",
            "-O",
            "raw",
            p.to_str().unwrap(),
            raw.to_str().unwrap(),
        ],
        t.path(),
    );
    let c = open(&p).unwrap();
    assert_eq!(c.variant, "monolithicSparse");
    assert_eq!(
        fact(&c, "grain_size"),
        Some(qemu_cluster_size(&q, &p).to_string().as_str())
    );
    assert_disk_eq(c.disk.as_ref(), &std::fs::read(&raw).unwrap(), "image.vmdk");
    assert_eq!(c.disk.location(), &triage_source::Location::file(&p));
    if let Some((size, ty)) = vmdkinfo(&p) {
        assert_eq!(size, c.disk.len());
        assert_eq!(ty, c.variant);
    }
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        vmdk::secondary_of(&src(&p), "image.vmdk", &LocalSiblings::of(&p)),
        None
    );
}

#[test]
fn real_sesparse_matches_qemu() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    let gz = std::fs::read(dir.join("fox-it__dissect.hypervisor__sesparse.vmdk.gz")).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut bytes).unwrap();
    let ses = t.path().join("ses.vmdk");
    std::fs::write(&ses, &bytes).unwrap();
    // A descriptor so qemu-img reads the bare extent.
    let desc = t.path().join("desc.vmdk");
    std::fs::write(
        &desc,
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"seSparse\"\n\nRW 1048576 SESPARSE \"ses.vmdk\"\n",
    )
    .unwrap();
    let raw = t.path().join("ses.raw");
    run(
        &q,
        &["convert", "-O", "raw", "desc.vmdk", "ses.raw"],
        t.path(),
    );
    let raw = FileSource::open(&raw).unwrap();
    // qemu 10 lists a seSparse extent twice (its info shows two 512 MiB extents over
    // the one file, and the halves of its output are equal); the disk is the first copy.
    let want = &raw.bytes()[..512 << 20];
    assert!(
        want == &raw.bytes()[512 << 20..],
        "qemu's two copies differ"
    );
    let c = open(&ses).unwrap();
    assert_eq!(c.variant, "seSparse");
    assert_disk_eq(c.disk.as_ref(), want, "bare sesparse");
    let c = open(&desc).unwrap();
    assert_eq!(c.variant, "seSparse");
    assert_disk_eq(c.disk.as_ref(), want, "sesparse via descriptor");
    assert_eq!(
        vmdk::secondary_of(&src(&ses), "ses.vmdk", &LocalSiblings::of(&ses)).as_deref(),
        Some("extent of desc.vmdk")
    );
}

/// Write `raw` as a VMDK of `subformat` with qemu-img and open it.
fn generated(subformat: &str, raw: &[u8]) -> Option<(tempfile::TempDir, PathBuf)> {
    let q = qemu()?;
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("src.raw"), raw).unwrap();
    let opt = format!("subformat={subformat}");
    run(
        &q,
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            &opt,
            "src.raw",
            "disk.vmdk",
        ],
        t.path(),
    );
    let p = t.path().join("disk.vmdk");
    Some((t, p))
}

#[test]
fn every_subformat_reads_as_the_raw_original() {
    let raw = pattern(6 << 20 | 12345 & !511, 7);
    for (sub, variant) in [
        ("monolithicSparse", "monolithicSparse"),
        ("streamOptimized", "streamOptimized"),
        ("twoGbMaxExtentSparse", "twoGbMaxExtentSparse"),
        ("twoGbMaxExtentFlat", "twoGbMaxExtentFlat"),
        ("monolithicFlat", "monolithicFlat"),
    ] {
        let Some((t, p)) = generated(sub, &raw) else {
            return;
        };
        let c = open(&p).unwrap_or_else(|e| panic!("{sub}: {e}"));
        assert_eq!(c.variant, variant);
        assert!(c.warnings.is_empty(), "{sub}: {:?}", c.warnings);
        assert_disk_eq(c.disk.as_ref(), &raw, sub);
        if let Some((size, ty)) = vmdkinfo(&p) {
            assert_eq!(size, c.disk.len(), "{sub}: vmdkinfo media size");
            assert_eq!(ty, c.variant, "{sub}: vmdkinfo disk type");
        }
        // Extent files are inputs of the descriptor, not disks of their own.
        let sib = LocalSiblings::of(&p);
        for name in triage_source::Siblings::names(&sib) {
            let f = t.path().join(&name);
            let sec = vmdk::secondary_of(&src(&f), &name, &sib);
            match name.as_str() {
                "disk.vmdk" | "src.raw" => assert_eq!(sec, None, "{sub}: {name}"),
                _ => assert_eq!(sec.as_deref(), Some("extent of disk.vmdk"), "{sub}: {name}"),
            }
        }
        assert!(!c.files.is_empty());
    }
}

#[test]
fn split_extents_across_two_gib() {
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    // A sparse 4.5 GiB raw file with data around each 2 GiB extent boundary.
    let size: u64 = (4 << 30) + (512 << 20);
    let f = std::fs::File::create(t.path().join("big.raw")).unwrap();
    f.set_len(size).unwrap();
    let spots: Vec<(u64, Vec<u8>)> = [0u64, (2 << 30) - 70000, (4 << 30) - 4096, size - 65536]
        .iter()
        .enumerate()
        .map(|(i, &o)| (o, pattern(140000.min((size - o) as usize), i as u64 + 3)))
        .collect();
    for (o, d) in &spots {
        std::os::unix::fs::FileExt::write_all_at(&f, d, *o).unwrap();
    }
    drop(f);
    for sub in ["twoGbMaxExtentSparse", "twoGbMaxExtentFlat"] {
        let opt = format!("subformat={sub}");
        let name = format!("{sub}.vmdk");
        run(
            &q,
            &[
                "convert", "-f", "raw", "-O", "vmdk", "-o", &opt, "big.raw", &name,
            ],
            t.path(),
        );
        let c = open(&t.path().join(&name)).unwrap();
        assert_eq!(c.disk.len(), size, "{sub}");
        assert!(c.files.len() >= 4, "{sub}: {:?}", c.files);
        for (o, d) in &spots {
            let mut b = vec![0u8; d.len() + 4096];
            let n = b.len().min((size - o) as usize);
            read_exact_at(c.disk.as_ref(), *o, &mut b[..n]).unwrap();
            assert!(b[..d.len()] == d[..], "{sub}: data at {o:#x}");
            assert!(
                b[d.len()..n].iter().all(|&x| x == 0),
                "{sub}: zeros after {o:#x}"
            );
        }
        let mut z = vec![1u8; 1 << 20];
        read_exact_at(c.disk.as_ref(), 3 << 30, &mut z).unwrap();
        assert!(z.iter().all(|&x| x == 0));
        for e in &c.files[1..] {
            let p = PathBuf::from(e);
            let n = p.file_name().unwrap().to_str().unwrap();
            assert_eq!(
                vmdk::secondary_of(&src(&p), n, &LocalSiblings::of(&p)),
                Some(format!("extent of {name}"))
            );
        }
    }
}

#[test]
fn snapshot_chain_reads_like_qemu_and_survives_a_missing_parent() {
    let Some(q) = qemu() else { return };
    let Some(qio) = triage_testkit::tool("qemu-io") else {
        return;
    };
    let raw = pattern(4 << 20, 11);
    let Some((t, _base)) = generated("monolithicSparse", &raw) else {
        return;
    };
    let d = t.path();
    run(
        &q,
        &[
            "create",
            "-f",
            "vmdk",
            "-b",
            "disk.vmdk",
            "-F",
            "vmdk",
            "snap1.vmdk",
        ],
        d,
    );
    run(
        &qio,
        &["-f", "vmdk", "-c", "write -P 0xab 1M 192k", "snap1.vmdk"],
        d,
    );
    run(
        &q,
        &[
            "create",
            "-f",
            "vmdk",
            "-o",
            "zeroed_grain=on",
            "-b",
            "snap1.vmdk",
            "-F",
            "vmdk",
            "snap2.vmdk",
        ],
        d,
    );
    run(
        &qio,
        &[
            "-f",
            "vmdk",
            "-c",
            "write -P 0xcd 1100k 64k",
            "-c",
            // Zero grains (GTE 1) over the parent's data: they read as zeros.
            "write -z 2M 128k",
            "snap2.vmdk",
        ],
        d,
    );
    run(&q, &["convert", "-O", "raw", "snap2.vmdk", "snap2.raw"], d);
    let c = open(&d.join("snap2.vmdk")).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(
        c.facts.contains(&("chain_depth", "3".to_string())),
        "{:?}",
        c.facts
    );
    assert_eq!(c.files.len(), 3);
    assert_disk_eq(
        c.disk.as_ref(),
        &std::fs::read(d.join("snap2.raw")).unwrap(),
        "snapshot chain",
    );

    // The delta alone: its own grains read, the parent's are holes, with a warning.
    let lone = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("snap2.vmdk"), lone.path().join("snap2.vmdk")).unwrap();
    let c = open(&lone.path().join("snap2.vmdk")).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("snap1.vmdk")),
        "{:?}",
        c.warnings
    );
    let mut b = vec![0u8; 4096];
    read_exact_at(c.disk.as_ref(), 1100 << 10, &mut b).unwrap();
    assert!(b.iter().all(|&x| x == 0xcd));
    assert!(c.disk.read_at(0, &mut b).unwrap_err().is_hole());
}

#[test]
fn parent_cycle_is_cut() {
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    run(
        &q,
        &[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=monolithicFlat",
            "a.vmdk",
            "1M",
        ],
        t.path(),
    );
    // A descriptor whose parent is itself.
    let p = t.path().join("a.vmdk");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replace(
        "parentCID=ffffffff",
        "parentCID=12345678\nparentFileNameHint=\"a.vmdk\"",
    );
    std::fs::write(&p, text).unwrap();
    let c = open(&p).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("loops")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn extent_names_cannot_leave_the_directory() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("evil.vmdk");
    std::fs::write(
        &p,
        "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"../../etc/passwd\" 0\nRW  8\tFLAT  \"/etc/passwd\"  0\n",
    )
    .unwrap();
    let c = open(&p).unwrap();
    assert_eq!(c.disk.len(), 8192);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    let mut b = vec![0u8; 8192];
    let holes = read_lossy(c.disk.as_ref(), 0, &mut b);
    assert_eq!(holes.len(), 1);
    assert_eq!((holes[0].offset, holes[0].len), (0, 8192));
    assert!(b.iter().all(|&x| x == 0));
}

/// Offsets of the first grain directory and its first grain table of a monolithic sparse file.
fn gd_of(bytes: &[u8]) -> (usize, usize) {
    let gd = u64::from_le_bytes(bytes[56..64].try_into().unwrap()) as usize * 512;
    let gt = u32::from_le_bytes(bytes[gd..gd + 4].try_into().unwrap()) as usize * 512;
    (gd, gt)
}

type Edit = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn hostile_grain_directories_give_holes_not_panics() {
    let raw = pattern(2 << 20, 5);
    let Some((t, p)) = generated("monolithicSparse", &raw) else {
        return;
    };
    let orig = std::fs::read(&p).unwrap();
    let (gd, gt) = gd_of(&orig);
    let rgd = u64::from_le_bytes(orig[48..56].try_into().unwrap()) as usize * 512;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "GD points at itself",
            Box::new(move |b: &mut Vec<u8>| {
                let s = (gd / 512) as u32;
                b[gd..gd + 4].copy_from_slice(&s.to_le_bytes());
            }),
        ),
        (
            "GD and RGD past the end",
            Box::new(move |b: &mut Vec<u8>| {
                b[gd..gd + 4].copy_from_slice(&u32::MAX.to_le_bytes());
                b[rgd..rgd + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            }),
        ),
        (
            "GT entries point at the GT and past the end",
            Box::new(move |b: &mut Vec<u8>| {
                let s = (gt / 512) as u32;
                b[gt..gt + 4].copy_from_slice(&s.to_le_bytes());
                b[gt + 4..gt + 8].copy_from_slice(&u32::MAX.to_le_bytes());
            }),
        ),
        (
            "huge grain size",
            Box::new(|b: &mut Vec<u8>| b[20..28].copy_from_slice(&u64::MAX.to_le_bytes())),
        ),
        (
            "huge capacity",
            Box::new(|b: &mut Vec<u8>| b[12..20].copy_from_slice(&(u64::MAX / 2).to_le_bytes())),
        ),
        (
            "truncated",
            Box::new(|b: &mut Vec<u8>| b.truncate(b.len() / 3)),
        ),
    ];
    for (what, edit) in edits {
        let mut b = orig.clone();
        edit(&mut b);
        let f = t.path().join("hostile.vmdk");
        std::fs::write(&f, &b).unwrap();
        if let Ok(c) = open(&f) {
            let len = c.disk.len().min(8 << 20) as usize;
            let mut out = vec![0u8; len];
            let _ = read_lossy(c.disk.as_ref(), 0, &mut out);
        }
        let _ = what;
    }
    // The redundant directory rescues a primary directory that points past the end.
    let mut b = orig.clone();
    b[gd..gd + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let f = t.path().join("rgd.vmdk");
    std::fs::write(&f, &b).unwrap();
    let c = open(&f).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("redundant")),
        "{:?}",
        c.warnings
    );
    assert_disk_eq(c.disk.as_ref(), &raw, "rescued by the RGD");
}

#[test]
fn corrupt_stream_grain_is_a_hole_at_its_offset() {
    let raw = pattern(3 << 20, 9);
    let Some((t, p)) = generated("streamOptimized", &raw) else {
        return;
    };
    let mut b = std::fs::read(&p).unwrap();
    // Find the grain marker of LBA 256 (the text grain at 128 KiB) and garble its data.
    let want_lba = 256u64;
    let pos = (0..b.len() / 512)
        .map(|s| s * 512)
        .find(|&o| {
            o + 12 <= b.len()
                && u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) == want_lba
                && (1..65536).contains(&u32::from_le_bytes(b[o + 8..o + 12].try_into().unwrap()))
        })
        .expect("grain marker");
    for x in &mut b[pos + 14..pos + 64] {
        *x ^= 0x5a;
    }
    let f = t.path().join("bad.vmdk");
    std::fs::write(&f, &b).unwrap();
    let c = open(&f).unwrap();
    let mut out = vec![0u8; raw.len()];
    let holes = read_lossy(c.disk.as_ref(), 0, &mut out);
    assert_eq!(holes.len(), 1, "{holes:?}");
    assert_eq!((holes[0].offset, holes[0].len), (131072, 65536));
    assert_eq!(&out[..131072], &raw[..131072]);
    assert_eq!(&out[196608..], &raw[196608..]);
}

#[test]
fn garbage_never_panics() {
    let t = tempfile::tempdir().unwrap();
    let mut x = 99u64;
    for n in [0usize, 3, 511, 512, 513, 4096, 70000] {
        for head in [
            &b"KDMV"[..],
            b"COWD",
            &0xcafe_babeu64.to_le_bytes(),
            b"# Disk DescriptorFile\nRW 9 SPARSE \"x\"\n",
        ] {
            let mut b: Vec<u8> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let k = head.len().min(b.len());
            b[..k].copy_from_slice(&head[..k]);
            let p = t.path().join("g.vmdk");
            std::fs::write(&p, &b).unwrap();
            if let Ok(c) = open(&p) {
                let mut out = vec![0u8; c.disk.len().min(1 << 20) as usize];
                let _ = read_lossy(c.disk.as_ref(), 0, &mut out);
            }
            let _ = vmdk::secondary_of(&src(&p), "g.vmdk", &LocalSiblings::of(&p));
        }
    }
}

#[test]
fn parallel_reads_agree() {
    let raw = pattern(4 << 20, 21);
    let Some((_t, p)) = generated("streamOptimized", &raw) else {
        return;
    };
    let c = open(&p).unwrap();
    std::thread::scope(|s| {
        for th in 0..4u64 {
            let disk = c.disk.clone();
            let raw = &raw;
            s.spawn(move || {
                let mut x = th + 1;
                for _ in 0..200 {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let off = (x >> 20) % (raw.len() as u64 - 9000);
                    let mut b = vec![0u8; 9000];
                    read_exact_at(disk.as_ref(), off, &mut b).unwrap();
                    assert!(b[..] == raw[off as usize..off as usize + 9000]);
                }
            });
        }
    });
}

/// `cargo test --release -p triage-container --test vmdk -- --ignored --nocapture speed`
#[test]
#[ignore]
fn speed_stream_optimized() {
    let raw = words(384 << 20);
    let Some((_t, p)) = generated("streamOptimized", &raw) else {
        return;
    };
    let c = open(&p).unwrap();
    let (t0, cpu0) = (std::time::Instant::now(), cpu_ns());
    let mut b = vec![0u8; 1 << 20];
    let mut off = 0;
    while off < c.disk.len() {
        read_exact_at(c.disk.as_ref(), off, &mut b).unwrap();
        off += b.len() as u64;
    }
    let s = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ns() - cpu0) as f64 / 1e9;
    eprintln!(
        "streamOptimized: {} MiB in {s:.2} s = {:.0} MiB/s",
        off >> 20,
        (off >> 20) as f64 / s
    );
    eprintln!(
        "  on-CPU {cpu:.2} s = {:.0} MiB/s of CPU time (the machine is shared)",
        (off >> 20) as f64 / cpu
    );
}

/// Compressible but not trivial data (words picked at random, about 3:1 in deflate), so
/// every cluster is stored compressed and the measure is the inflate path.
fn words(len: usize) -> Vec<u8> {
    const W: [&str; 16] = [
        "smss ",
        "csrss ",
        "wininit ",
        "\\Windows\\System32\\ ",
        "0x7ffe0000 ",
        "NTFS ",
        "$MFT ",
        "registry ",
        "Session Manager ",
        "BootExecute ",
        "autocheck ",
        "lsass ",
        "services ",
        "\r\n",
        "\0\0\0\0",
        "kernel32.dll ",
    ];
    let mut v = Vec::with_capacity(len + 64);
    let mut x = 88172645463325252u64;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(W[(x % 16) as usize].as_bytes());
        if x.is_multiple_of(7) {
            v.push((x >> 32) as u8);
        }
    }
    v.truncate(len);
    v
}

/// This thread's time on a CPU (ns), from the scheduler's own account.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn fact<'a>(c: &'a Container, k: &str) -> Option<&'a str> {
    c.facts
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.as_str())
}
