//! Fixtures and oracles for the sample tests: samples are unpacked into a tempdir at test
//! time; `vshadowinfo` and `vshadowmount` (libvshadow) and sleuthkit are the independent
//! readers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use triage_source::{read_exact_at, ByteSource, FileSource, Location, SliceSource, Source};

/// `vsstest.qcow2` converted to raw (the image is the NTFS volume itself, no partition
/// table: `mmls` finds none).
pub fn vsstest() -> Option<(tempfile::TempDir, PathBuf)> {
    let qcow = triage_testkit::sample_dir("disk")?.join("vsstest.qcow2");
    let qemu = triage_testkit::tool("qemu-img")?;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("vsstest.raw");
    let st = Command::new(qemu)
        .args(["convert", "-O", "raw"])
        .arg(&qcow)
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    Some((dir, raw))
}

/// One of dfir_ntfs's sparse GNU tars (`vss_1_vol`, …) extracted into `dir`.
pub fn dfir_tar(name: &str, dir: &Path) -> Option<PathBuf> {
    let tar =
        triage_testkit::sample_dir("disk")?.join(format!("msuhanov__dfir_ntfs__{name}.tar.gz"));
    let st = Command::new("tar")
        .arg("-xzSf")
        .arg(&tar)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
    Some(dir.join(format!("{name}.raw")))
}

/// The partition at `start` sectors (`len` sectors) of a raw disk, as `mmls` shows it.
pub fn volume(disk: &Path, start: u64, len: u64) -> Source {
    let f: Source = Arc::new(FileSource::open(disk).unwrap());
    Arc::new(SliceSource::new(
        f,
        start * 512,
        len * 512,
        Location::file(disk).child(format!("p@{start}")),
    ))
}

/// Partition starts and lengths (sectors) from `mmls`, in its order.
pub fn mmls(disk: &Path) -> Vec<(u64, u64)> {
    let out = Command::new(triage_testkit::tool("mmls").unwrap())
        .arg(disk)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("NTFS") || l.contains("Basic data"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

/// One store as `vshadowinfo` prints it.
#[derive(Debug, Default)]
pub struct OracleStore {
    pub id: String,
    pub set_id: String,
    pub copy_id: String,
    pub created: String,
    pub volume_size: u64,
    pub flags: Option<u32>,
    pub outside: bool,
}

pub fn vshadowinfo(disk: &Path, offset: u64) -> Option<Vec<OracleStore>> {
    let tool = triage_testkit::tool("vshadowinfo")?;
    let out = Command::new(tool)
        .arg("-o")
        .arg(offset.to_string())
        .arg(disk)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stores: Vec<OracleStore> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim();
        if line.starts_with("Store: ") {
            stores.push(OracleStore::default());
            continue;
        }
        let Some(s) = stores.last_mut() else { continue };
        if line == "Data stored outside volume." {
            s.outside = true;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Identifier" => s.id = v.into(),
            "Shadow copy set ID" => s.set_id = v.into(),
            "Shadow copy ID" => s.copy_id = v.into(),
            "Creation time" => s.created = v.into(),
            "Volume size" => {
                let b = v.split('(').nth(1).unwrap().split(' ').next().unwrap();
                s.volume_size = b.parse().unwrap();
            }
            "Attribute flags" => {
                s.flags = Some(u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap())
            }
            _ => {}
        }
    }
    Some(stores)
}

/// A FILETIME the way libvshadow prints it: `Dec 03, 2013 06:35:09.736378700 UTC`.
pub fn filetime_text(ft: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = (ft / 10_000_000) as i64 - 11_644_473_600;
    let frac = ft % 10_000_000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {d:02}, {y} {:02}:{:02}:{:02}.{frac:07}00 UTC",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `vshadowmount` of the volume at `offset`; unmounted on drop. `None` when FUSE does not
/// work here (no `/dev/fuse`, or no permission): callers then use the sleuthkit path.
pub struct Mount {
    pub dir: tempfile::TempDir,
}

impl Mount {
    pub fn new(disk: &Path, offset: u64) -> Option<Mount> {
        let tool = triage_testkit::tool("vshadowmount")?;
        if !Path::new("/dev/fuse").exists() {
            eprintln!("note: no /dev/fuse: vshadowmount comparison skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new(tool)
            .arg("-o")
            .arg(offset.to_string())
            .arg(disk)
            .arg(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        // vshadowmount daemonizes once mounted; wait for the files to appear.
        for _ in 0..if ok { 100 } else { 0 } {
            if dir.path().join("vss1").exists() {
                return Some(Mount { dir });
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        eprintln!("note: vshadowmount did not mount (FUSE unusable here): comparison skipped");
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(dir.path())
            .status();
        None
    }

    pub fn snapshot(&self, i: usize) -> Source {
        let p = self.dir.path().join(format!("vss{}", i + 1));
        Arc::new(FileSource::open(&p).unwrap())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(self.dir.path())
            .status();
    }
}

/// Compare two sources 1 MiB at a time; `stride` > 1 compares only every `stride`-th
/// MiB, 0 none (and then lengths may differ); then the listed `extra` offsets (each a
/// 16 KiB block).
pub fn assert_same(ours: &dyn ByteSource, theirs: &dyn ByteSource, stride: u64, extra: &[u64]) {
    if stride > 0 {
        assert_eq!(ours.len(), theirs.len(), "length");
    }
    const MIB: u64 = 1 << 20;
    let mut a = vec![0u8; MIB as usize];
    let mut b = vec![0u8; MIB as usize];
    let mut at = 0;
    while stride > 0 && at < ours.len() {
        let n = MIB.min(ours.len() - at) as usize;
        read_exact_at(ours, at, &mut a[..n]).unwrap();
        read_exact_at(theirs, at, &mut b[..n]).unwrap();
        if a[..n] != b[..n] {
            let i = (0..n).find(|&i| a[i] != b[i]).unwrap();
            panic!(
                "{}: first difference at {:#x}",
                ours.location(),
                at + i as u64
            );
        }
        at += MIB * stride;
    }
    for &off in extra {
        let off = off & !0x3fff;
        // libvshadow's view is as long as the volume it was given (here maybe another).
        if off + 0x4000 > ours.len().min(theirs.len()) {
            continue;
        }
        read_exact_at(ours, off, &mut a[..0x4000]).unwrap();
        read_exact_at(theirs, off, &mut b[..0x4000]).unwrap();
        assert!(
            a[..0x4000] == b[..0x4000],
            "{}: block {off:#x} differs",
            ours.location()
        );
    }
}

/// Every original offset `vshadowinfo -a` lists: the blocks a store can change.
pub fn listed_blocks(disk: &Path, offset: u64) -> Vec<u64> {
    let out = Command::new(triage_testkit::tool("vshadowinfo").unwrap())
        .args(["-a", "-o", &offset.to_string()])
        .arg(disk)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Original offset"))
        .filter_map(|v| {
            u64::from_str_radix(
                v.trim_start_matches([' ', '\t', ':'])
                    .trim_start_matches("0x"),
                16,
            )
            .ok()
        })
        .collect()
}

/// The catalog's used entries (types 2 and 3, 128 bytes each) of the volume at `vol` in
/// `disk`, in catalog order, and the offsets of the catalog blocks (relative to `vol`).
pub fn catalog_entries(disk: &Path, vol: u64) -> (Vec<Vec<u8>>, Vec<u64>) {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(disk).unwrap();
    let mut h = [0u8; 64];
    f.seek(SeekFrom::Start(vol + 0x1e00)).unwrap();
    f.read_exact(&mut h).unwrap();
    let mut at = u64::from_le_bytes(h[48..56].try_into().unwrap());
    let (mut entries, mut blocks) = (Vec::new(), Vec::new());
    while at != 0 && blocks.len() < 64 {
        let mut b = vec![0u8; 0x4000];
        f.seek(SeekFrom::Start(vol + at)).unwrap();
        f.read_exact(&mut b).unwrap();
        blocks.push(at);
        for e in b.chunks(128).skip(1) {
            if matches!(e[0], 2 | 3) {
                entries.push(e.to_vec());
            }
        }
        at = u64::from_le_bytes(b[40..48].try_into().unwrap());
    }
    (entries, blocks)
}

/// Rewrite the catalog of the volume at `vol` to hold exactly `entries` (in the first
/// block; the other blocks emptied). libvshadow pairs each type-3 entry with the type-2
/// entry before it rather than by store GUID, so the tests lay the catalog out the way
/// it reads correctly.
pub fn rewrite_catalog(disk: &Path, vol: u64, entries: &[Vec<u8>]) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let (_, blocks) = catalog_entries(disk, vol);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(disk)
        .unwrap();
    for (n, &at) in blocks.iter().enumerate() {
        let mut b = vec![0u8; 0x4000];
        f.seek(SeekFrom::Start(vol + at)).unwrap();
        f.read_exact(&mut b).unwrap();
        b[128..].fill(0);
        if n == 0 {
            for (i, e) in entries.iter().enumerate() {
                b[128 * (i + 1)..128 * (i + 2)].copy_from_slice(e);
            }
        }
        f.seek(SeekFrom::Start(vol + at)).unwrap();
        f.write_all(&b).unwrap();
    }
}

/// The store GUID field of a catalog entry (same place in types 2 and 3).
pub fn entry_store(e: &[u8]) -> &[u8] {
    &e[16..32]
}

/// The extents of `disk` that hold data (not holes), from `qemu-img map`, as (start, len).
pub fn data_extents(disk: &Path) -> Option<Vec<(u64, u64)>> {
    let qemu = triage_testkit::tool("qemu-img")?;
    let out = Command::new(qemu)
        .args(["map", "--output=json"])
        .arg(disk)
        .output()
        .unwrap();
    assert!(out.status.success());
    let num = |l: &str, key: &str| -> u64 {
        let v = l.split(&format!("\"{key}\": ")).nth(1).unwrap();
        v.split([',', '}']).next().unwrap().trim().parse().unwrap()
    };
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("\"data\": true"))
            .map(|l| (num(l, "start"), num(l, "length")))
            .collect(),
    )
}

/// Write `snap` to a sparse raw file, copying only the regions that can hold anything
/// but zeros: where the live volume (at `vol_off` of `disk`) has data, and the blocks the
/// stores hold (`blocks`, from `vshadowinfo -a`). Everything else of the snapshot is the
/// live volume's holes. Lets sleuthkit read a 5 GiB snapshot in a second.
pub fn write_sparse(snap: &dyn ByteSource, disk: &Path, vol_off: u64, blocks: &[u64], out: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut regions: Vec<(u64, u64)> = data_extents(disk)
        .unwrap()
        .into_iter()
        .filter_map(|(s, l)| {
            let (s, e) = (s.max(vol_off), (s + l).min(vol_off + snap.len()));
            (s < e).then(|| (s - vol_off, e - vol_off))
        })
        .collect();
    regions.extend(
        blocks
            .iter()
            .map(|&b| (b & !0x3fff, (b & !0x3fff) + 0x4000)),
    );
    let mut f = std::fs::File::create(out).unwrap();
    f.set_len(snap.len()).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for (s, e) in regions {
        let e = e.min(snap.len());
        let mut at = s;
        while at < e {
            let n = (buf.len() as u64).min(e - at) as usize;
            read_exact_at(snap, at, &mut buf[..n]).unwrap();
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&buf[..n]).unwrap();
            at += n as u64;
        }
    }
}

/// `icat` of the file named `name` in the root of an NTFS image (at sector `sector`).
pub fn icat_root_file(image: &Path, sector: u64, name: &str) -> Vec<u8> {
    let fls = Command::new(triage_testkit::tool("fls").unwrap())
        .args(["-o", &sector.to_string()])
        .arg(image)
        .output()
        .unwrap();
    assert!(
        fls.status.success(),
        "fls: {}",
        String::from_utf8_lossy(&fls.stderr)
    );
    let list = String::from_utf8_lossy(&fls.stdout);
    let line = list
        .lines()
        .find(|l| l.ends_with(&format!("\t{name}")))
        .unwrap_or_else(|| panic!("{name} not in {list}"));
    let inode = line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':');
    let out = Command::new(triage_testkit::tool("icat").unwrap())
        .args(["-o", &sector.to_string()])
        .arg(image)
        .arg(inode)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The names in the root directory of an NTFS image, from `fls`.
pub fn root_names(image: &Path) -> Vec<String> {
    let out = Command::new(triage_testkit::tool("fls").unwrap())
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fls: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, n)| n.to_string()))
        .collect()
}

/// `gzip -dc` of `data`.
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}
