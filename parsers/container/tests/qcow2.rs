//! qcow2 reader against qemu-img / qemu-io (the independent reader and writer) and
//! libqcow's qcowinfo: the real Windows-made sample, v2 and v3 images, compressed
//! clusters, zero clusters, backing chains, internal snapshots, and hostile edits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_container::{qcow2, Container};
use triage_source::{
    read_exact_at, read_lossy, ByteSource, FileSource, LocalSiblings, Source, SourceError,
};

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
    qcow2::open(src(p), &LocalSiblings::of(p))
}

fn qemu() -> Option<PathBuf> {
    triage_testkit::tool("qemu-img")
}

/// Varied data: random, zero, text-like and partly-filled 64 KiB blocks.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 24) as u8
    };
    for (i, blk) in v.chunks_mut(65536).enumerate() {
        match i % 5 {
            1 => {}
            2 => {
                let t = format!("cluster {i} of the qcow2 pattern; ");
                for (j, b) in blk.iter_mut().enumerate() {
                    *b = t.as_bytes()[j % t.len()];
                }
            }
            4 => blk.iter_mut().take(4096).for_each(|b| *b = next()),
            _ => blk.iter_mut().for_each(|b| *b = next()),
        }
    }
    v
}

/// Compare the whole virtual disk with the raw file `want` chunk by chunk (the first
/// differing offset on failure), and their sha256.
fn assert_disk_eq_file(disk: &dyn ByteSource, want: &Path, what: &str) {
    let w = FileSource::open(want).unwrap();
    let want = w.bytes();
    assert_eq!(disk.len(), want.len() as u64, "{what}: size");
    let (mut h1, mut h2) = (Sha256::new(), Sha256::new());
    let mut buf = vec![0u8; 4 << 20];
    let mut off = 0u64;
    while off < disk.len() {
        let n = buf.len().min((disk.len() - off) as usize);
        read_exact_at(disk, off, &mut buf[..n])
            .unwrap_or_else(|e| panic!("{what}: read at {off:#x}: {e}"));
        let w = &want[off as usize..off as usize + n];
        if &buf[..n] != w {
            let i = buf[..n]
                .iter()
                .zip(w)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!("{what}: first difference at offset {:#x}", off + i as u64);
        }
        // Hash both streams only for small disks (the chunk compare is exact anyway).
        if disk.len() <= 64 << 20 {
            h1.update(&buf[..n]);
            h2.update(w);
        }
        off += n as u64;
    }
    assert_eq!(h1.finalize(), h2.finalize(), "{what}: sha256");
}

fn qcowinfo(path: &Path) -> Option<(u32, u64, u32)> {
    let tool = triage_testkit::tool("qcowinfo")?;
    let out = Command::new(tool).arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |k: &str| {
        text.lines()
            .find(|l| l.contains(k))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
    };
    let version = field("Format version")?.parse().ok()?;
    let size = field("Media size")?
        .split('(')
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let snaps = field("Number of snapshots")?.parse().ok()?;
    Some((version, size, snaps))
}

fn fact<'a>(c: &'a Container, k: &str) -> Option<&'a str> {
    c.facts
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.as_str())
}

fn check_qcowinfo(c: &Container, p: &Path) {
    if let Some((version, size, snaps)) = qcowinfo(p) {
        assert_eq!(c.variant, format!("qcow2 v{version}"));
        assert_eq!(c.disk.len(), size);
        assert_eq!(fact(c, "snapshots"), Some(snaps.to_string().as_str()));
    }
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
fn real_windows_sample_matches_qemu_and_qcowinfo() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    let p = dir.join("vsstest.qcow2");
    run(
        &q,
        &["convert", "-O", "raw", p.to_str().unwrap(), "v.raw"],
        t.path(),
    );
    let c = open(&p).unwrap();
    assert_eq!(c.variant, "qcow2 v2");
    assert_eq!(
        fact(&c, "cluster_size"),
        Some(qemu_cluster_size(&q, &p).to_string().as_str())
    );
    assert_eq!(c.disk.location(), &triage_source::Location::file(&p));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    check_qcowinfo(&c, &p);
    assert_disk_eq_file(c.disk.as_ref(), &t.path().join("v.raw"), "vsstest.qcow2");
}

/// `raw` written as qcow2 by qemu-img with `opts` (and `-c` when `compress`).
fn generated(raw: &[u8], opts: &str, compress: bool) -> Option<(tempfile::TempDir, PathBuf)> {
    let q = qemu()?;
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("src.raw"), raw).unwrap();
    let mut args = vec!["convert", "-f", "raw", "-O", "qcow2", "-o", opts];
    if compress {
        args.push("-c");
    }
    args.extend(["src.raw", "img.qcow2"]);
    run(&q, &args, t.path());
    let p = t.path().join("img.qcow2");
    Some((t, p))
}

#[test]
fn v2_v3_plain_and_compressed_read_as_the_raw_original() {
    let raw = pattern((5 << 20) + 4096, 3);
    for (opts, compress, variant) in [
        ("compat=0.10", false, "qcow2 v2"),
        ("compat=1.1", false, "qcow2 v3"),
        ("compat=0.10", true, "qcow2 v2"),
        ("compat=1.1", true, "qcow2 v3"),
        ("compat=1.1,cluster_size=4096", true, "qcow2 v3"),
        ("compat=1.1,cluster_size=2M", false, "qcow2 v3"),
        ("compat=1.1,cluster_size=512", true, "qcow2 v3"),
        ("compat=1.1,compression_type=zstd", true, "qcow2 v3"),
        (
            "compat=1.1,compression_type=zstd,cluster_size=2M",
            true,
            "qcow2 v3",
        ),
    ] {
        let Some((t, p)) = generated(&raw, opts, compress) else {
            return;
        };
        let c = open(&p).unwrap_or_else(|e| panic!("{opts}: {e}"));
        assert_eq!(c.variant, variant, "{opts}");
        let comp = if opts.contains("zstd") {
            "zstd"
        } else {
            "zlib"
        };
        assert_eq!(fact(&c, "compression"), Some(comp), "{opts}");
        assert!(c.warnings.is_empty(), "{opts}: {:?}", c.warnings);
        check_qcowinfo(&c, &p);
        assert_disk_eq_file(c.disk.as_ref(), &t.path().join("src.raw"), opts);
    }
}

#[test]
fn zero_clusters_and_a_backing_chain_read_like_qemu() {
    let Some(q) = qemu() else { return };
    let Some(qio) = triage_testkit::tool("qemu-io") else {
        return;
    };
    let raw = pattern(4 << 20, 17);
    let Some((t, _)) = generated(&raw, "compat=1.1", true) else {
        return;
    };
    let d = t.path();
    run(
        &q,
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "img.qcow2",
            "-F",
            "qcow2",
            "mid.qcow2",
        ],
        d,
    );
    run(
        &qio,
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x5a 1M 192k",
            "-c",
            "write -z 0 128k",
            "mid.qcow2",
        ],
        d,
    );
    run(
        &q,
        &[
            "create",
            "-f",
            "qcow2",
            "-o",
            "compat=0.10",
            "-b",
            "mid.qcow2",
            "-F",
            "qcow2",
            "top.qcow2",
        ],
        d,
    );
    run(
        &qio,
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0xc3 1100k 8k",
            "-c",
            "write -z 3M 64k",
            "top.qcow2",
        ],
        d,
    );
    run(&q, &["convert", "-O", "raw", "top.qcow2", "top.raw"], d);
    let c = open(&d.join("top.qcow2")).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(fact(&c, "chain_depth"), Some("3"));
    assert_eq!(fact(&c, "backing_file"), Some("mid.qcow2"));
    assert_eq!(c.files.len(), 3);
    assert_disk_eq_file(c.disk.as_ref(), &d.join("top.raw"), "backing chain");

    // A raw backing file.
    run(
        &q,
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "src.raw",
            "-F",
            "raw",
            "overraw.qcow2",
        ],
        d,
    );
    run(
        &qio,
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x11 64k 64k",
            "overraw.qcow2",
        ],
        d,
    );
    run(
        &q,
        &["convert", "-O", "raw", "overraw.qcow2", "overraw.raw"],
        d,
    );
    let c = open(&d.join("overraw.qcow2")).unwrap();
    assert_disk_eq_file(c.disk.as_ref(), &d.join("overraw.raw"), "raw backing");

    // The top alone: its own clusters read, the rest are holes, with a warning.
    let lone = tempfile::tempdir().unwrap();
    std::fs::copy(d.join("top.qcow2"), lone.path().join("top.qcow2")).unwrap();
    let c = open(&lone.path().join("top.qcow2")).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("mid.qcow2")),
        "{:?}",
        c.warnings
    );
    let mut b = vec![0u8; 8192];
    read_exact_at(c.disk.as_ref(), 1100 << 10, &mut b).unwrap();
    assert!(b.iter().all(|&x| x == 0xc3));
    assert!(c.disk.read_at(0, &mut b).unwrap_err().is_hole());
    // The v2 top has no zero flag: qemu wrote real zeros or a zero cluster... either way
    // what qemu reads there is what we read there.
}

#[test]
fn internal_snapshots_are_listed() {
    let Some(q) = qemu() else { return };
    let raw = pattern(1 << 20, 5);
    let Some((t, p)) = generated(&raw, "compat=1.1", false) else {
        return;
    };
    run(&q, &["snapshot", "-c", "before", "img.qcow2"], t.path());
    run(
        &q,
        &["snapshot", "-c", "after update", "img.qcow2"],
        t.path(),
    );
    let list = run(&q, &["snapshot", "-l", "img.qcow2"], t.path());
    let c = open(&p).unwrap();
    check_qcowinfo(&c, &p);
    assert_eq!(fact(&c, "snapshots"), Some("2"));
    let names = fact(&c, "snapshot_names").unwrap();
    for n in names.split(", ") {
        assert!(list.contains(n), "{n} not in {list}");
    }
    assert!(names.contains("before") && names.contains("after update"));
    assert_disk_eq_file(c.disk.as_ref(), &t.path().join("src.raw"), "active image");
}

fn unsupported_what(e: SourceError) -> String {
    match e {
        SourceError::Unsupported { what, .. } => what,
        other => panic!("expected Unsupported, got {other}"),
    }
}

#[test]
fn refused_features_are_named() {
    let Some(q) = qemu() else { return };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "create",
                "-f",
                "qcow2",
                "-o",
                "data_file=data.raw",
                "z.qcow2",
                "1M",
            ],
            "external data file",
        ),
        (
            &[
                "create",
                "-f",
                "qcow2",
                "-o",
                "extended_l2=on",
                "z.qcow2",
                "1M",
            ],
            "extended L2",
        ),
        (
            &[
                "create",
                "--object",
                "secret,id=s0,data=pw",
                "-f",
                "qcow2",
                "-o",
                "encrypt.format=aes,encrypt.key-secret=s0",
                "z.qcow2",
                "1M",
            ],
            "encryption",
        ),
    ];
    for (args, word) in cases {
        let _ = std::fs::remove_file(d.join("z.qcow2"));
        run(&q, args, d);
        let what = unsupported_what(open(&d.join("z.qcow2")).err().expect("refused"));
        assert!(what.contains(word), "{what} should name {word}");
    }
    // Version 1.
    let mut b = std::fs::read(d.join("z.qcow2")).unwrap();
    b[4..8].copy_from_slice(&1u32.to_be_bytes());
    std::fs::write(d.join("v1.qcow2"), &b).unwrap();
    assert!(unsupported_what(open(&d.join("v1.qcow2")).err().unwrap()).contains("version 1"));
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn hostile_tables_are_errors_or_holes() {
    let raw = pattern(2 << 20, 9);
    let Some((t, p)) = generated(&raw, "compat=1.1", true) else {
        return;
    };
    let orig = std::fs::read(&p).unwrap();
    let write = |name: &str, b: &[u8]| {
        let f = t.path().join(name);
        std::fs::write(&f, b).unwrap();
        f
    };
    // L1 size 2^30.
    let mut b = orig.clone();
    b[36..40].copy_from_slice(&(1u32 << 30).to_be_bytes());
    assert!(open(&write("l1.qcow2", &b)).is_err());

    // The L2 table offset past the end: that L1 entry's span is a hole.
    let l1 = be64(&orig, 40) as usize;
    let mut b = orig.clone();
    b[l1..l1 + 8].copy_from_slice(&((1u64 << 63) | (1u64 << 40)).to_be_bytes());
    let c = open(&write("l2.qcow2", &b)).unwrap();
    let mut out = vec![0u8; raw.len()];
    let holes = read_lossy(c.disk.as_ref(), 0, &mut out);
    assert_eq!(holes.len(), 1);
    assert_eq!((holes[0].offset, holes[0].len), (0, raw.len() as u64));

    // A compressed cluster that inflates past the cluster size: a hole of one cluster.
    let l2 = (be64(&orig, l1) & 0x00ff_ffff_ffff_fe00) as usize;
    let e = be64(&orig, l2 + 16); // cluster 2: text, compressed by qemu
    assert!(e & (1 << 62) != 0, "cluster 2 is compressed");
    let x = 62 - (16 - 8);
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut z, &vec![7u8; 3 << 16]).unwrap();
    let big = z.finish().unwrap();
    let mut b = orig.clone();
    b.resize(b.len().div_ceil(512) * 512, 0);
    let off = b.len();
    b.extend_from_slice(&big);
    b.resize(b.len().div_ceil(512) * 512, 0);
    let sectors = (big.len().div_ceil(512) - 1) as u64;
    b[l2 + 16..l2 + 24]
        .copy_from_slice(&((1u64 << 62) | (sectors << x) | off as u64).to_be_bytes());
    let c = open(&write("big.qcow2", &b)).unwrap();
    let holes = read_lossy(c.disk.as_ref(), 0, &mut out);
    assert_eq!(holes.len(), 1, "{holes:?}");
    assert_eq!((holes[0].offset, holes[0].len), (131072, 65536));
    assert_eq!(&out[..131072], &raw[..131072]);
    assert_eq!(&out[196608..], &raw[196608..]);

    // A backing file that names itself.
    let Some(q) = qemu() else { return };
    run(
        &q,
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "src.raw",
            "-F",
            "raw",
            "self.qcow2",
        ],
        t.path(),
    );
    let mut b = std::fs::read(t.path().join("self.qcow2")).unwrap();
    let (bo, bl) = (
        be64(&b, 8) as usize,
        u32::from_be_bytes(b[16..20].try_into().unwrap()) as usize,
    );
    assert_eq!(&b[bo..bo + bl], b"src.raw");
    b[bo..bo + 10].copy_from_slice(b"self.qcow2");
    b[16..20].copy_from_slice(&10u32.to_be_bytes());
    let c = open(&write("self.qcow2", &b)).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("loops")),
        "{:?}",
        c.warnings
    );
    assert!(c.disk.read_at(0, &mut out[..512]).unwrap_err().is_hole());

    // Truncations and garbage: errors or holes, never panics.
    for cut in [0, 7, 71, 104, 200, 4096, 65536, 65536 * 3, orig.len() - 1] {
        let f = write("cut.qcow2", &orig[..cut.min(orig.len())]);
        if let Ok(c) = open(&f) {
            let _ = read_lossy(c.disk.as_ref(), 0, &mut out);
        }
    }
    let mut x = 1u64;
    for round in 0..64 {
        let mut b = orig[..orig.len().min(300_000)].to_vec();
        for _ in 0..16 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = ((x >> 33) as usize) % if round % 2 == 0 { 512 } else { b.len() };
            b[i] = (x >> 13) as u8;
        }
        if let Ok(c) = open(&write("fuzz.qcow2", &b)) {
            let n = c.disk.len().min(4 << 20) as usize;
            let mut o = vec![0u8; n];
            let _ = read_lossy(c.disk.as_ref(), 0, &mut o);
        }
    }
}

#[test]
fn corrupt_zstd_cluster_is_a_hole() {
    let raw = pattern(1 << 20, 4);
    let Some((t, p)) = generated(&raw, "compat=1.1,compression_type=zstd", true) else {
        return;
    };
    let mut b = std::fs::read(&p).unwrap();
    let l1 = be64(&b, 40) as usize;
    let l2 = (be64(&b, l1) & 0x00ff_ffff_ffff_fe00) as usize;
    let e = be64(&b, l2 + 16); // cluster 2: text
    assert!(e & (1 << 62) != 0, "cluster 2 is compressed");
    let off = (e & ((1u64 << 54) - 1)) as usize;
    // Keep the frame magic, garble the frame header and the first block.
    for x in &mut b[off + 4..off + 16] {
        *x ^= 0xa5;
    }
    let f = t.path().join("bad.qcow2");
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
fn parallel_reads_agree() {
    let raw = pattern(4 << 20, 21);
    let Some((_t, p)) = generated(&raw, "compat=1.1", true) else {
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

/// `cargo test --release -p triage-container --test qcow2 -- --ignored --nocapture speed`
#[test]
#[ignore]
fn speed_compressed() {
    let raw = words(384 << 20);
    for opts in ["compat=1.1", "compat=1.1,compression_type=zstd"] {
        let Some((_t, p)) = generated(&raw, opts, true) else {
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
        let mib = (off >> 20) as f64;
        eprintln!(
            "compressed qcow2 ({opts}): {mib} MiB in {s:.2} s = {:.0} MiB/s; on-CPU {cpu:.2} s = {:.0} MiB/s",
            mib / s,
            mib / cpu
        );
    }
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
