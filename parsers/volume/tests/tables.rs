//! Partition tables against sleuthkit's `mmls` (and `sgdisk`/`sfdisk` as the makers).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use triage_source::{FileSource, Source};
use triage_volume::{read_table, FileSystem, Scheme};

fn src(p: &Path) -> Source {
    Arc::new(FileSource::open(p).unwrap())
}

/// A row of `mmls`: (start, length, description), in the units it prints.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Row(u64, u64, String);

/// `mmls` rows: allocated partitions (`NNN:NNN` slots) and, with `meta`, the extended
/// partitions' own rows (`DOS Extended`).
fn mmls(img: &Path, sector: u32, meta: bool) -> Option<Vec<Row>> {
    let tool = triage_testkit::tool("mmls")?;
    let out = Command::new(tool)
        .args(["-b", &sector.to_string()])
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || !f[0].ends_with(':') {
            continue;
        }
        let desc = f[5..].join(" ");
        // DOS slots are `000:000`, GPT slots `000`.
        let alloc = f[1].bytes().all(|b| b.is_ascii_digit() || b == b':');
        let ext = f[1] == "Meta" && desc.starts_with("DOS Extended");
        if alloc || (meta && ext) {
            rows.push(Row(f[2].parse().unwrap(), f[4].parse().unwrap(), desc));
        }
    }
    Some(rows)
}

fn ours(img: &Path, meta: bool) -> (triage_volume::PartitionTable, Vec<Row>) {
    let t = read_table(&*src(img)).unwrap();
    let ss = u64::from(t.sector_size);
    let rows = t
        .partitions
        .iter()
        .filter(|p| meta || !p.is_extended())
        .map(|p| {
            let desc = if p.scheme == Scheme::Gpt {
                p.name.clone()
            } else {
                p.type_name.clone()
            };
            Row(p.offset / ss, p.size / ss, desc)
        })
        .collect();
    (t, rows)
}

#[test]
fn tsk_volume_system_matches_mmls() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let img = dir.join("tsk_volume_system.raw");
    let Some(want) = mmls(&img, 512, false) else {
        return;
    };
    let (t, got) = ours(&img, false);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(got, want);
    assert_extended_matches(&img, &t);
    let logical: Vec<u32> = t
        .partitions
        .iter()
        .filter(|p| p.logical)
        .map(|p| p.index)
        .collect();
    assert_eq!(logical, vec![5]);
}

/// Our extended partition is one of mmls's "DOS Extended" rows (mmls also lists each
/// EBR's link entry that way).
fn assert_extended_matches(img: &Path, t: &triage_volume::PartitionTable) {
    let Some(meta) = mmls(img, 512, true) else {
        return;
    };
    let ext = t
        .partitions
        .iter()
        .find(|p| p.is_extended())
        .expect("an extended partition");
    let row = Row(
        ext.offset / 512,
        ext.size / 512,
        format!("DOS {}", ext.type_name),
    );
    assert!(meta.contains(&row), "{row:?} not in {meta:?}");
}

fn sparse(dir: &Path, name: &str, len: u64) -> std::path::PathBuf {
    let p = dir.join(name);
    File::create(&p).unwrap().set_len(len).unwrap();
    p
}

fn run(tool: &Path, args: &[&str], stdin: Option<&str>) {
    let mut c = Command::new(tool);
    c.args(args);
    if stdin.is_some() {
        c.stdin(std::process::Stdio::piped());
    }
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut ch = c.spawn().unwrap();
    if let Some(s) = stdin {
        ch.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = ch.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{tool:?} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn patch(p: &Path, at: u64, f: impl FnOnce(&mut [u8]), len: usize) {
    let mut b = vec![0u8; len];
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .unwrap();
    file.seek(SeekFrom::Start(at)).unwrap();
    std::io::Read::read_exact(&mut file, &mut b).unwrap();
    f(&mut b);
    file.seek(SeekFrom::Start(at)).unwrap();
    file.write_all(&b).unwrap();
}

#[test]
fn sgdisk_gpt_matches_mmls_and_the_backup_is_used_when_the_primary_is_bad() {
    let Some(sgdisk) = triage_testkit::tool("sgdisk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = sparse(dir.path(), "gpt.img", 64 << 20);
    let i = img.to_str().unwrap();
    run(
        &sgdisk,
        &[
            "-n",
            "1:2048:+8M",
            "-t",
            "1:ef00",
            "-c",
            "1:EFI system partition",
            i,
        ],
        None,
    );
    run(
        &sgdisk,
        &[
            "-n",
            "2:0:+16M",
            "-t",
            "2:0700",
            "-c",
            "2:Basic data part",
            i,
        ],
        None,
    );
    run(
        &sgdisk,
        &["-n", "4:0:+4M", "-t", "4:8300", "-c", "4:linux wurzel ä", i],
        None,
    );
    let Some(want) = mmls(&img, 512, false) else {
        return;
    };
    let (t, got) = ours(&img, false);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.sector_size, 512);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(got, want);
    let idx: Vec<u32> = t.partitions.iter().map(|p| p.index).collect();
    assert_eq!(idx, vec![1, 2, 4]);
    assert_eq!(t.partitions[0].type_name, "EFI system");
    assert_eq!(t.partitions[1].type_name, "Microsoft basic data");
    assert_eq!(t.partitions[2].name, "linux wurzel ä");
    // GUIDs as sgdisk prints them.
    let out = Command::new(&sgdisk).args(["-i", "2", i]).output().unwrap();
    let info = String::from_utf8(out.stdout).unwrap();
    let unique = info
        .lines()
        .find_map(|l| l.strip_prefix("Partition unique GUID: "))
        .unwrap();
    assert_eq!(t.partitions[1].gpt_guid.as_deref(), Some(unique.trim()));
    assert!(info.contains(t.partitions[1].gpt_type.as_deref().unwrap()));

    // Damage the primary header (a byte of the disk GUID): its CRC fails.
    patch(&img, 512 + 60, |b| b[0] ^= 0xFF, 1);
    let (t2, got2) = ours(&img, false);
    assert_eq!(got2, want);
    assert!(
        t2.warnings
            .iter()
            .any(|w| w == "primary GPT header CRC bad: backup used"),
        "{:?}",
        t2.warnings
    );
    // Damage the primary entry array instead.
    patch(&img, 512 + 60, |b| b[0] ^= 0xFF, 1);
    patch(&img, 1024 + 130, |b| b[0] ^= 0xFF, 1);
    let (t3, got3) = ours(&img, false);
    assert_eq!(got3, want);
    assert!(
        t3.warnings
            .iter()
            .any(|w| w.contains("entries CRC bad: backup used")),
        "{:?}",
        t3.warnings
    );
}

fn guid_bytes(s: &str) -> [u8; 16] {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&[b[3], b[2], b[1], b[0]]);
    g[4..6].copy_from_slice(&[b[5], b[4]]);
    g[6..8].copy_from_slice(&[b[7], b[6]]);
    g[8..].copy_from_slice(&b[8..]);
    g
}

/// A GPT for `ss`-byte sectors built by the UEFI specification (protective MBR, header at
/// LBA 1, 128 entries at LBA 2, the backup entries and header at the end).
fn build_gpt(ss: u64, sectors: u64, parts: &[(&str, u64, u64, &str)]) -> Vec<u8> {
    let mut d = vec![0u8; (ss * sectors) as usize];
    // protective MBR
    d[446 + 4] = 0xEE;
    d[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    d[446 + 12..446 + 16].copy_from_slice(&((sectors - 1).min(0xFFFF_FFFF) as u32).to_le_bytes());
    d[510] = 0x55;
    d[511] = 0xAA;
    let mut arr = vec![0u8; 128 * 128];
    for (k, (ty, first, last, name)) in parts.iter().enumerate() {
        let e = &mut arr[k * 128..(k + 1) * 128];
        e[..16].copy_from_slice(&guid_bytes(ty));
        e[16..32].copy_from_slice(&guid_bytes(&format!(
            "1234567{k}-AAAA-BBBB-CCCC-DDDDEEEEFFFF"
        )));
        e[32..40].copy_from_slice(&first.to_le_bytes());
        e[40..48].copy_from_slice(&last.to_le_bytes());
        for (j, u) in name.encode_utf16().enumerate() {
            e[56 + 2 * j..58 + 2 * j].copy_from_slice(&u.to_le_bytes());
        }
    }
    let arr_lbas = (arr.len() as u64).div_ceil(ss);
    let last = sectors - 1;
    let header = |me: u64, alt: u64, entries: u64| {
        let mut h = vec![0u8; 92];
        h[..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&me.to_le_bytes());
        h[32..40].copy_from_slice(&alt.to_le_bytes());
        h[40..48].copy_from_slice(&(2 + arr_lbas).to_le_bytes());
        h[48..56].copy_from_slice(&(last - 1 - arr_lbas).to_le_bytes());
        h[56..72].copy_from_slice(&guid_bytes("0DDBA11D-0000-4000-8000-123456789ABC"));
        h[72..80].copy_from_slice(&entries.to_le_bytes());
        h[80..84].copy_from_slice(&128u32.to_le_bytes());
        h[84..88].copy_from_slice(&128u32.to_le_bytes());
        h[88..92].copy_from_slice(&crc32fast::hash(&arr).to_le_bytes());
        let c = crc32fast::hash(&h);
        h[16..20].copy_from_slice(&c.to_le_bytes());
        h
    };
    let put = |d: &mut Vec<u8>, lba: u64, b: &[u8]| {
        let o = (lba * ss) as usize;
        d[o..o + b.len()].copy_from_slice(b);
    };
    put(&mut d, 1, &header(1, last, 2));
    put(&mut d, 2, &arr);
    put(&mut d, last - arr_lbas, &arr);
    put(&mut d, last, &header(last, 1, last - arr_lbas));
    d
}

#[test]
fn gpt_with_4096_byte_sectors_matches_mmls() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("4k.img");
    let d = build_gpt(
        4096,
        2048,
        &[
            (
                "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
                256,
                1023,
                "data one",
            ),
            ("0FC63DAF-8483-4772-8E79-3D69D8477DE4", 1024, 2000, "zwei"),
        ],
    );
    std::fs::write(&img, &d).unwrap();
    let Some(want) = mmls(&img, 4096, false) else {
        return;
    };
    let (t, got) = ours(&img, false);
    assert_eq!(t.sector_size, 4096);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(
        t.disk_guid.as_deref(),
        Some("0DDBA11D-0000-4000-8000-123456789ABC")
    );
    assert_eq!(got, want);
    assert_eq!(want.len(), 2);
}

/// An MBR with three logical partitions, written by `sfdisk`.
fn sfdisk_disk(dir: &Path) -> Option<std::path::PathBuf> {
    let sfdisk = triage_testkit::tool("sfdisk")?;
    let img = sparse(dir, "mbr.img", 64 << 20);
    let script = "label: dos\n\
        start=2048, size=8192, type=83, bootable\n\
        start=10240, size=100000, type=5\n\
        mbr.img5 : size=8192, type=7\n\
        mbr.img6 : size=16384, type=b\n\
        mbr.img7 : size=8192, type=83\n";
    run(
        &sfdisk,
        &[
            "--no-reread",
            "--no-tell-kernel",
            "-q",
            img.to_str().unwrap(),
        ],
        Some(script),
    );
    Some(img)
}

#[test]
fn sfdisk_logical_partitions_match_mmls() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = sfdisk_disk(dir.path()) else {
        return;
    };
    let Some(want) = mmls(&img, 512, false) else {
        return;
    };
    let (t, got) = ours(&img, false);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    // mmls names some types its own way ("Win95 FAT32"): compare offsets and lengths.
    let ol = |v: &[Row]| v.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>();
    assert_eq!(ol(&got), ol(&want));
    assert_eq!(got.len(), 4);
    assert_extended_matches(&img, &t);
    let idx: Vec<(u32, bool)> = t.partitions.iter().map(|p| (p.index, p.logical)).collect();
    assert_eq!(
        idx,
        vec![(1, false), (2, false), (5, true), (6, true), (7, true)]
    );
    assert!(t.partitions[0].bootable);
    assert_eq!(t.partitions[2].type_name, "NTFS/exFAT (0x07)");
}

#[test]
fn looping_ebr_chain_stops_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = sfdisk_disk(dir.path()) else {
        return;
    };
    let t = read_table(&*src(&img)).unwrap();
    // The last logical's EBR sits one sector... find it: the EBR of the last logical is
    // the sector its relative start counts from; point its link back to the first EBR.
    let last = t.partitions.last().unwrap();
    let ext = t.partitions.iter().find(|p| p.is_extended()).unwrap();
    // sfdisk leaves 2048 sectors before each logical: read the link at each candidate.
    let bytes = std::fs::read(&img).unwrap();
    let ebr = (ext.offset / 512..last.offset / 512)
        .rev()
        .find(|&s| {
            let o = s as usize * 512;
            bytes[o + 510] == 0x55 && bytes[o + 511] == 0xAA
        })
        .unwrap();
    patch(
        &img,
        ebr * 512 + 446 + 16,
        |e| {
            e[4] = 0x05;
            e[8..12].copy_from_slice(&0u32.to_le_bytes()); // next EBR = the extended start
            e[12..16].copy_from_slice(&100u32.to_le_bytes());
        },
        16,
    );
    let t2 = read_table(&*src(&img)).unwrap();
    assert!(
        t2.warnings.iter().any(|w| w.contains("EBR chain loops")),
        "{:?}",
        t2.warnings
    );
    assert_eq!(t2.partitions.len(), t.partitions.len());
}

#[test]
fn hostile_tables_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A GPT claiming 2^32-1 entries of 4096 bytes, entries past the end, end < start.
    let mut d = build_gpt(
        512,
        4096,
        &[("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", 100, 50, "bad")],
    );
    d[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    d[512 + 84..512 + 88].copy_from_slice(&4096u32.to_le_bytes());
    let p = dir.path().join("h.img");
    std::fs::write(&p, &d).unwrap();
    let t = read_table(&*src(&p)).unwrap();
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(!t.warnings.is_empty());
    // An MBR whose entries point past the end.
    let mut m = vec![0u8; 4096];
    m[446 + 4] = 0x07;
    m[446 + 8..446 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    m[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    m[510] = 0x55;
    m[511] = 0xAA;
    std::fs::write(&p, &m).unwrap();
    let t = read_table(&*src(&p)).unwrap();
    assert_eq!(t.scheme, Scheme::Mbr);
    assert_eq!(t.partitions[0].fs, FileSystem::Unknown);
    assert!(!t.warnings.is_empty());
    // Tiny and empty disks.
    std::fs::write(&p, [0u8; 10]).unwrap();
    assert_eq!(read_table(&*src(&p)).unwrap().scheme, Scheme::None);
    std::fs::write(&p, []).unwrap();
    assert!(read_table(&*src(&p)).unwrap().partitions.is_empty());
}
