//! Volumes generated at test time with the real tools (mkntfs, wimlib-imagex apply,
//! ntfscp), checked against sleuthkit; WOF files planted with an independent compressor
//! (wimlib's WIM resources have exactly the WofCompressedData layout).
mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use sha1::Digest as _;
use triage_source::{ByteSource, Siblings};

fn run(tool: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Option<()> {
    let t = triage_testkit::tool(tool)?;
    let mut c = Command::new(t);
    for a in args {
        c.arg(a);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(())
}

/// The stored bytes of the WIM resource whose SHA-1 is `sha1` (a non-solid resource:
/// chunk table + chunks) and its uncompressed size.
fn wim_resource(wim: &[u8], sha1: &[u8]) -> (Vec<u8>, u64) {
    assert_eq!(&wim[..8], b"MSWIM\0\0\0");
    let rd = |o: usize| u64::from_le_bytes(wim[o..o + 8].try_into().unwrap());
    let lt_size = (rd(48) & 0x00FF_FFFF_FFFF_FFFF) as usize;
    let lt_off = rd(56) as usize;
    for e in wim[lt_off..lt_off + lt_size].chunks_exact(50) {
        if &e[30..50] == sha1 {
            let size =
                (u64::from_le_bytes(e[0..8].try_into().unwrap()) & 0x00FF_FFFF_FFFF_FFFF) as usize;
            let off = u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize;
            let orig = u64::from_le_bytes(e[16..24].try_into().unwrap());
            assert!(e[7] & 0x04 != 0, "resource is compressed");
            return (wim[off..off + size].to_vec(), orig);
        }
    }
    panic!("resource not in the WIM lookup table");
}

/// WOF reparse data: tag, length 16, WOF_EXTERNAL_INFO {1, provider 2 = file},
/// FILE_PROVIDER_EXTERNAL_INFO_V1 {1, algorithm}.
fn wof_reparse(alg: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x8000_0017u32.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    for x in [1u32, 2, 1, alg] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v
}

struct Gen {
    _dir: tempfile::TempDir,
    img: std::path::PathBuf,
    smss: Vec<u8>,
}

fn build() -> Option<Gen> {
    let pe = triage_testkit::pe_dir()?;
    let smss = std::fs::read(pe.join("genuine-win11-22621/smss.exe")).ok()?;
    for t in ["mkntfs", "wimlib-imagex", "ntfscp", "fls", "icat"] {
        triage_testkit::tool(t)?;
    }
    let dir = tmp();
    let d = dir.path();
    let src = d.join("src");
    // Nested directories, enough files for $INDEX_ALLOCATION, Unicode and long names.
    let mut p = src.clone();
    for lvl in 0..8 {
        p = p.join(format!("level{lvl}"));
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("deep.txt"), b"deep file\n").unwrap();
    let many = src.join("Windows/System32");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..400 {
        std::fs::write(
            many.join(format!("file{i:04}.dll")),
            format!("content {i}\n").repeat(i % 50 + 1),
        )
        .unwrap();
    }
    std::fs::write(many.join("smss.exe"), &smss).unwrap();
    std::fs::write(src.join("Grüße – 日本語.txt"), "unicode name\n").unwrap();
    std::fs::write(src.join("x".repeat(240)), "long name\n").unwrap();
    std::fs::write(src.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    std::fs::hard_link(src.join("big.bin"), src.join("Windows/big-link.bin")).unwrap();
    // 150 hard links: the names overflow the record into extension records, listed in
    // an $ATTRIBUTE_LIST.
    let links = src.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::fs::write(links.join("target.txt"), b"many names\n").unwrap();
    for i in 0..150 {
        std::fs::hard_link(
            links.join("target.txt"),
            links.join(format!("link{i:03}.txt")),
        )
        .unwrap();
    }
    let cfg = src.join("Windows/System32/config");
    std::fs::create_dir_all(&cfg).unwrap();
    for n in ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"] {
        std::fs::write(cfg.join(n), format!("{n} hive bytes\n").repeat(100)).unwrap();
    }
    // Placeholders of the WOF files: zeros of the right size (a naive reader sees these).
    for n in ["wof_xpress4k.exe", "wof_lzx.exe", "wof_bad.exe"] {
        std::fs::write(src.join(n), vec![0u8; smss.len()]).unwrap();
    }
    let wim = d.join("x.wim");
    run(
        "wimlib-imagex",
        &[&"capture", &src, &wim, &"--compress=none"],
    )?;
    let img = d.join("vol.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(96 << 20)
        .unwrap();
    run("mkntfs", &[&"-F", &"-T", &"-q", &img])?;
    run("wimlib-imagex", &[&"apply", &wim, &"1", &img])?;
    // An ADS.
    let ads = d.join("ads.bin");
    std::fs::write(&ads, b"hidden stream content\n".repeat(300)).unwrap();
    run(
        "ntfscp",
        &[
            &"-q",
            &"-N",
            &"secret",
            &img,
            &ads,
            &"/Windows/System32/file0001.dll",
        ],
    )?;
    // WOF: wimlib compresses smss.exe (XPRESS 4 KiB chunks; LZX 32 KiB chunks).
    let sha1 = sha1::Sha1::digest(&smss);
    let plant = |name: &str, compress: &str, chunk: &str, alg: u32, corrupt: bool| -> Option<()> {
        let sd = d.join(format!("w-{name}"));
        std::fs::create_dir_all(&sd).unwrap();
        std::fs::write(sd.join("smss.exe"), &smss).unwrap();
        let w = d.join(format!("{name}.wim"));
        run(
            "wimlib-imagex",
            &[
                &"capture",
                &sd,
                &w,
                &format!("--compress={compress}"),
                &format!("--chunk-size={chunk}"),
            ],
        )?;
        let (mut stored, orig) = wim_resource(&std::fs::read(&w).unwrap(), &sha1);
        assert_eq!(orig, smss.len() as u64);
        if corrupt {
            let n = stored.len();
            for b in &mut stored[n / 2..n / 2 + 64] {
                *b ^= 0x5A;
            }
        }
        let rs = d.join(format!("{name}.res"));
        std::fs::write(&rs, &stored).unwrap();
        let rp = d.join(format!("{name}.rp"));
        std::fs::write(&rp, wof_reparse(alg)).unwrap();
        let target = format!("/{name}");
        run(
            "ntfscp",
            &[&"-q", &"-N", &"WofCompressedData", &img, &rs, &target],
        )?;
        run("ntfscp", &[&"-q", &"-a", &"0xC0", &img, &rp, &target])
    };
    plant("wof_xpress4k.exe", "XPRESS", "4096", 0, false)?;
    plant("wof_lzx.exe", "LZX", "32768", 1, false)?;
    plant("wof_bad.exe", "XPRESS", "4096", 0, true)?;
    Some(Gen {
        _dir: dir,
        img,
        smss,
    })
}

fn hex(b: &[u8]) -> String {
    format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(b))
}

#[test]
fn generated_volume_matches_sleuthkit_and_decodes_wof() {
    let Some(g) = build() else { return };
    let ntfs = open(&g.img, 0);
    let info = ntfs.info();
    assert_eq!(info.cluster_size, 4096);
    assert_eq!(info.record_size, 1024);

    // Everything fls sees, with content for every file (icat).
    let r = compare_with_fls(&g.img, 0, &ntfs, 3).unwrap();
    eprintln!(
        "generated: {} paths, {} time sets, {} contents",
        r.checked_paths, r.checked_times, r.checked_content
    );
    // The WOF placeholders differ on purpose (icat reads the zeros): checked below.
    let real: Vec<&String> = r
        .mismatches
        .iter()
        .filter(|m| !m.contains("\\wof_"))
        .collect();
    assert!(
        real.is_empty(),
        "mismatches with sleuthkit:\n{}",
        real.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(r.checked_content > 130, "{}", r.checked_content);

    // Index lookups agree with fls for every allocated path (and case-insensitively).
    let fls = triage_testkit::tool("fls").unwrap();
    let o = Command::new(fls)
        .args(["-r", "-p"])
        .arg(&g.img)
        .output()
        .unwrap();
    let mut looked = 0;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let Some((meta, path)) = line.split_once(":\t") else {
            continue;
        };
        if meta.contains('*') || path.contains(':') || path.starts_with("$OrphanFiles") {
            continue;
        }
        let n: u64 = meta
            .split_whitespace()
            .last()
            .unwrap()
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let p = format!("\\{}", path.replace('/', "\\"));
        assert_eq!(ntfs.lookup(&p).unwrap(), Some(n), "lookup {p}");
        // One-to-one upper-casing, as NTFS's $UpCase does (ß stays ß).
        let up: String = p
            .chars()
            .map(|c| {
                let mut u = c.to_uppercase();
                match (u.next(), u.next()) {
                    (Some(x), None) => x,
                    _ => c,
                }
            })
            .collect();
        assert_eq!(ntfs.lookup(&up).unwrap(), Some(n), "lookup {up}");
        looked += 1;
    }
    assert!(looked > 400);
    assert_eq!(ntfs.lookup(r"\Windows\System32\nosuch.exe").unwrap(), None);

    // smss.exe by path, content identical to the original.
    let n = ntfs.lookup(r"\windows\SYSTEM32\SMSS.EXE").unwrap().unwrap();
    assert_eq!(
        hex(&triage_source::read_all(&ntfs.open_stream(n, "").unwrap(), 1 << 30).unwrap()),
        hex(&g.smss)
    );

    // WOF: the decoded content is the original file, not the zeros of the unnamed $DATA.
    for name in ["wof_xpress4k.exe", "wof_lzx.exe"] {
        let n = ntfs.lookup(&format!("\\{name}")).unwrap().unwrap();
        let e = ntfs.entry(n).unwrap();
        assert_eq!(e.reparse_tag, Some(0x8000_0017), "{name}");
        assert!(e.streams.contains(&"WofCompressedData".to_string()));
        let d = ntfs.open_stream(n, "").unwrap();
        assert!(d.storage().starts_with("WOF"), "{}", d.storage());
        assert_eq!(d.len(), g.smss.len() as u64);
        assert_eq!(sha(&d).unwrap(), hex(&g.smss), "{name}: WOF content");
    }
    // A corrupt chunk is an error naming WOF and the chunk, never zeros.
    let n = ntfs.lookup(r"\wof_bad.exe").unwrap().unwrap();
    let err = match ntfs.open_stream(n, "") {
        Ok(d) => sha(&d).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("WOF") && err.contains("chunk"), "{err}");

    // Siblings of the config directory: a hive finds its logs.
    let cfg = ntfs.lookup(r"\Windows\System32\config").unwrap().unwrap();
    let sib = ntfs.siblings(cfg);
    assert_eq!(sib.names(), vec!["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"]);
    let log = sib.open("system.log2").unwrap().unwrap();
    assert_eq!(
        triage_source::read_all(&*log, 1 << 20).unwrap().as_ref(),
        "SYSTEM.LOG2 hive bytes\n".repeat(100).as_bytes()
    );
    assert!(sib.open("nosuch").unwrap().is_none());

    // Hard links: both names on one entry.
    let big = ntfs.lookup(r"\big.bin").unwrap().unwrap();
    assert_eq!(ntfs.lookup(r"\Windows\big-link.bin").unwrap(), Some(big));
    let e = ntfs.entry(big).unwrap();
    assert_eq!(e.hard_links, 2);
    assert!(ntfs.bytes_read() > 0);

    // The many-names file: every name merged from the extension records.
    let t = ntfs.lookup(r"\links\target.txt").unwrap().unwrap();
    let e = ntfs.entry(t).unwrap();
    assert_eq!(e.hard_links, 151);
    assert_eq!(
        e.names.iter().filter(|n| n.namespace != 2).count(),
        151,
        "{:?}",
        e.warnings
    );
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    let mut exts = 0;
    ntfs.for_each_entry(|b| exts += b.iter().filter(|x| x.base_record == t).count())
        .unwrap();
    assert!(exts >= 1, "extension records of the many-names file");
    assert_eq!(ntfs.lookup(r"\links\LINK149.TXT").unwrap(), Some(t));
    let _ = Path::new("");
}

/// A fragmented file (written by ntfs-3g into a nearly full volume with one hole) and a
/// sparse file with valid data shorter than its size (ntfstruncate), against icat.
#[test]
fn fragmented_and_sparse_files_match_icat() {
    for t in [
        "mkntfs",
        "ntfscp",
        "ntfstruncate",
        "ntfsinfo",
        "istat",
        "icat",
        "fls",
    ] {
        if triage_testkit::tool(t).is_none() {
            return;
        }
    }
    let dir = tmp();
    let d = dir.path();
    let img = d.join("f.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    run("mkntfs", &[&"-F", &"-T", &"-q", &img]).unwrap();
    let data = |seed: u32, len: usize| -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 11) as u8)
            .collect()
    };
    let put = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        run("ntfscp", &[&"-q", &img, &p, &format!("/{name}")]).unwrap();
    };
    put("a.bin", &data(1, 200_000));
    put("hole.bin", &data(2, 200_000));
    put("c.bin", &data(3, 200_000));
    put("sparse.bin", &data(4, 100_000));
    // Fill all but 20 clusters, then free the 49 clusters of hole.bin.
    let o = Command::new("ntfsinfo")
        .args(["-m"])
        .arg(&img)
        .output()
        .unwrap();
    let free: u64 = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Free Clusters:")
                .map(|r| r.split_whitespace().next().unwrap().parse().unwrap())
        })
        .unwrap();
    put("filler.bin", &data(5, ((free - 20) * 4096) as usize));
    let ntfs = open(&img, 0);
    let hole = ntfs.lookup("\\hole.bin").unwrap().unwrap();
    let sparse = ntfs.lookup("\\sparse.bin").unwrap().unwrap();
    drop(ntfs);
    run("ntfstruncate", &[&"-f", &img, &hole.to_string(), &"0"]).unwrap();
    run(
        "ntfstruncate",
        &[&"-f", &img, &sparse.to_string(), &"5000000"],
    )
    .unwrap();
    let frag = data(6, 60 * 4096);
    put("frag.bin", &frag);

    let ntfs = open(&img, 0);
    let f = ntfs.lookup("\\frag.bin").unwrap().unwrap();
    let istat = Command::new("istat")
        .arg("-r")
        .arg(&img)
        .arg(f.to_string())
        .output()
        .unwrap();
    let runs = String::from_utf8_lossy(&istat.stdout)
        .matches("Starting address")
        .count();
    assert!(
        runs >= 2,
        "the fixture is fragmented (istat -r shows {runs} runs)"
    );
    assert_eq!(sha(&ntfs.open_stream(f, "").unwrap()).unwrap(), hex(&frag));
    let s = ntfs.entry(sparse).unwrap();
    assert!(s.flags.sparse, "{s:?}");
    assert_eq!(s.size, 5_000_000);
    let icat = Command::new("icat")
        .arg(&img)
        .arg(sparse.to_string())
        .output()
        .unwrap();
    assert_eq!(icat.stdout.len(), 5_000_000);
    assert_eq!(
        sha(&ntfs.open_stream(sparse, "").unwrap()).unwrap(),
        hex(&icat.stdout)
    );
    let r = compare_with_fls(&img, 0, &ntfs, 1).unwrap();
    assert!(r.mismatches.is_empty(), "{}", r.mismatches.join("\n"));
}
