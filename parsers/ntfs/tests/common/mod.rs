//! Shared oracle helpers: sleuthkit's `fls -m` body file (paths, both time sets, sizes),
//! `icat` (content) and `istat` (full-precision times), compared with our reader.
#![allow(dead_code)]

pub mod synthetic;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use triage_ntfs::{Entry, Ntfs};
use triage_source::{ByteSource, FileSource, SliceSource, Source};

pub fn gunzip(src: &Path, dst: &Path) {
    let f = std::fs::File::open(src).unwrap();
    let mut d = flate2::read::GzDecoder::new(f);
    let mut o = std::fs::File::create(dst).unwrap();
    std::io::copy(&mut d, &mut o).unwrap();
}

/// The sleuthkit test image `7-ntfs-undel.dd` (deleted files and directories), unzipped
/// into `dir`; `None` locally without the samples or `unzip`.
pub fn sleuthkit_7_undel(dir: &Path) -> Option<PathBuf> {
    let disk = triage_testkit::sample_dir("disk")?;
    unzip(
        &disk.join("sleuthkit__sleuthkit_test_data__7-undel-ntfs.zip"),
        dir,
    )?;
    Some(dir.join("7-undel-ntfs/7-ntfs-undel.dd"))
}

pub fn unzip(zip: &Path, dir: &Path) -> Option<()> {
    let unzip = triage_testkit::tool("unzip")?;
    let st = Command::new(unzip)
        .arg("-oq")
        .arg(zip)
        .arg("-d")
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
    Some(())
}

pub fn open(img: &Path, byte_off: u64) -> Ntfs {
    let f: Source = Arc::new(FileSource::open(img).unwrap());
    let v: Source = if byte_off == 0 {
        f
    } else {
        let loc = f.location().child("volume");
        Arc::new(SliceSource::new(f, byte_off, u64::MAX, loc))
    };
    Ntfs::open(v).unwrap()
}

pub fn all_entries(ntfs: &Ntfs) -> HashMap<u64, Entry> {
    let mut m = HashMap::new();
    let stats = ntfs
        .for_each_entry(|b| {
            for e in b {
                m.insert(e.entry, e.clone());
            }
        })
        .unwrap();
    assert!(stats.records > 0);
    m
}

const EPOCH_DIFF: u64 = 116_444_736_000_000_000;
fn unix(ft: u64) -> i64 {
    // TSK subtracts in u64 and keeps 32 bits: times before 1970 wrap the same way.
    ((ft.wrapping_sub(EPOCH_DIFF) / 10_000_000) as u32) as i64
}

pub fn sha(src: &dyn ByteSource) -> Result<String, triage_source::SourceError> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0;
    loop {
        let n = src.read_at(off, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        off += n as u64;
    }
    assert_eq!(off, src.len(), "short read");
    Ok(format!("{:x}", h.finalize()))
}

/// The path of each name of `e` (hard links), from the paths of their parents.
fn name_paths(e: &Entry, all: &HashMap<u64, Entry>) -> Vec<String> {
    let mut v = vec![e.path.clone()];
    for n in &e.names {
        if let Some(p) = all.get(&n.parent.0) {
            let base = if p.path == "\\" {
                String::new()
            } else {
                p.path.clone()
            };
            v.push(format!("{base}\\{}", n.name));
        }
    }
    v
}

pub struct Report {
    pub checked_paths: usize,
    pub checked_times: usize,
    pub checked_content: usize,
    pub checked_deleted: usize,
    pub mismatches: Vec<String>,
}

/// Compare every line of `fls -m / -r -p` with our enumeration: paths, entry numbers,
/// $SI and $FN times (seconds, as TSK prints them), sizes, in-use state; and the content
/// sha256 of every `content_every`-th allocated file against `icat`.
pub fn compare_with_fls(
    img: &Path,
    sector_off: u64,
    ntfs: &Ntfs,
    content_every: usize,
) -> Option<Report> {
    let fls = triage_testkit::tool("fls")?;
    let icat = triage_testkit::tool("icat")?;
    let out = Command::new(&fls)
        .args(["-f", "ntfs", "-m", "/", "-r", "-p", "-o"])
        .arg(sector_off.to_string())
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fls failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = all_entries(ntfs);
    let mut r = Report {
        checked_paths: 0,
        checked_times: 0,
        checked_content: 0,
        checked_deleted: 0,
        mismatches: Vec::new(),
    };
    let mut content_n = 0usize;
    let mut content_done = std::collections::HashSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() != 11 {
            continue;
        }
        let mut name = f[1].to_string();
        let deleted = name.ends_with(" (deleted)");
        if deleted {
            name.truncate(name.len() - " (deleted)".len());
        }
        let is_fn = name.ends_with(" ($FILE_NAME)");
        if is_fn {
            name.truncate(name.len() - " ($FILE_NAME)".len());
        }
        if name == "/$OrphanFiles" || name.contains("(realloc)") {
            continue;
        }
        let mut ino = f[2].split('-');
        let n: u64 = match ino.next().and_then(|x| x.parse().ok()) {
            Some(n) => n,
            None => continue,
        };
        let ty: u32 = ino.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let Some(e) = all.get(&n) else {
            r.mismatches
                .push(format!("entry {n} ({name}): fls lists it, we do not"));
            continue;
        };
        let (file_path, stream) = match name.rsplit_once('/') {
            Some((dir, last)) if last.contains(':') => {
                let (b, s) = last.split_once(':').unwrap();
                (format!("{dir}/{b}"), Some(s.to_string()))
            }
            _ => (name.clone(), None),
        };
        // TSK lists a directory's named stream as `dir/.:stream`.
        let file_path = file_path
            .strip_suffix("/.")
            .map(str::to_string)
            .unwrap_or(file_path);
        let want = file_path.replace('/', "\\");
        if let Some(orphan) = want.strip_prefix("\\$OrphanFiles") {
            r.checked_deleted += 1;
            // TSK names a nameless record `OrphanFile-N`; ours has no name and no path.
            if orphan == format!("\\OrphanFile-{n}") && e.names.is_empty() && e.path.is_empty() {
                continue;
            }
            if !e.path.starts_with("\\$Orphan")
                || !e.path.ends_with(orphan.rsplit('\\').next().unwrap_or(""))
            {
                r.mismatches.push(format!(
                    "entry {n}: fls has orphan {want}, we have {}",
                    e.path
                ));
            }
            continue;
        }
        if deleted {
            r.checked_deleted += 1;
            if e.in_use {
                r.mismatches
                    .push(format!("entry {n} {want}: fls says deleted, we say in use"));
            }
        } else if !e.in_use {
            r.mismatches.push(format!(
                "entry {n} {want}: fls says allocated, we say deleted"
            ));
        }
        r.checked_paths += 1;
        let paths = name_paths(e, &all);
        if !paths.contains(&want) {
            r.mismatches
                .push(format!("entry {n}: fls path {want:?}, ours {paths:?}"));
            continue;
        }
        // body: atime|mtime|ctime|crtime
        let body: Vec<i64> = f[7..11].iter().map(|x| x.parse().unwrap_or(-1)).collect();
        let ours = |t: [u64; 4]| vec![unix(t[3]), unix(t[1]), unix(t[2]), unix(t[0])];
        if is_fn {
            let last = want.rsplit('\\').next().unwrap_or("");
            let times = e.names.iter().find(|x| x.name == last).map(|x| x.times);
            match times {
                Some(t) if ours(t) == body => r.checked_times += 1,
                other => r.mismatches.push(format!(
                    "entry {n} {want}: $FN times fls {body:?}, ours {:?}",
                    other.map(ours)
                )),
            }
            continue;
        }
        if let Some(si) = e.si {
            if ours(si.times()) == body {
                r.checked_times += 1;
            } else {
                r.mismatches.push(format!(
                    "entry {n} {want}: $SI times fls {body:?}, ours {:?}",
                    ours(si.times())
                ));
            }
        }
        if ty != 128 || e.is_dir {
            continue;
        }
        let size: u64 = f[6].parse().unwrap_or(0);
        match &stream {
            Some(s) if !e.streams.contains(s) => {
                r.mismatches.push(format!(
                    "entry {n} {want}: fls has stream {s:?}, ours {:?}",
                    e.streams
                ));
                continue;
            }
            None if size != e.size && n != 8 => r.mismatches.push(format!(
                "entry {n} {want}: size fls {size}, ours {}",
                e.size
            )),
            _ => {}
        }
        if deleted || n < 16 || !content_done.insert((n, stream.clone())) {
            continue;
        }
        content_n += 1;
        if content_every == 0 || !content_n.is_multiple_of(content_every) {
            continue;
        }
        let spec = format!(
            "{n}-{}",
            f[2].split('-').skip(1).collect::<Vec<_>>().join("-")
        );
        let o = Command::new(&icat)
            .args(["-f", "ntfs", "-o"])
            .arg(sector_off.to_string())
            .arg(img)
            .arg(&spec)
            .output()
            .unwrap();
        let theirs = format!("{:x}", Sha256::digest(&o.stdout));
        match ntfs
            .open_stream(n, stream.as_deref().unwrap_or(""))
            .map_err(|e| e.to_string())
            .and_then(|d| sha(&d).map_err(|e| e.to_string()))
        {
            Ok(ours) if ours == theirs => r.checked_content += 1,
            Ok(ours) => r.mismatches.push(format!(
                "entry {n} {want}{}: sha256 icat {theirs}, ours {ours}",
                stream.map(|s| format!(":{s}")).unwrap_or_default()
            )),
            Err(err) => r
                .mismatches
                .push(format!("entry {n} {want}: we could not read it: {err}")),
        }
    }
    Some(r)
}

/// `istat` (full precision, UTC) for one entry: the $SI times and each $FN's times as
/// FILETIME-style strings `YYYY-MM-DD HH:MM:SS.fffffff`.
pub fn istat_times(img: &Path, sector_off: u64, n: u64) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let istat = triage_testkit::tool("istat")?;
    let o = Command::new(istat)
        .env("TZ", "UTC")
        .arg("-o")
        .arg(sector_off.to_string())
        .arg(img)
        .arg(n.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut si = Vec::new();
    let mut fns: Vec<Vec<String>> = Vec::new();
    let mut section = 0;
    for l in text.lines() {
        if l.starts_with("$STANDARD_INFORMATION") {
            section = 1;
        } else if l.starts_with("$FILE_NAME") {
            section = 2;
            fns.push(Vec::new());
        } else if l.starts_with("Attributes:") {
            break;
        }
        for key in ["Created:", "File Modified:", "MFT Modified:", "Accessed:"] {
            if let Some(v) = l.strip_prefix(key) {
                let v = v.trim();
                // "2004-02-29 20:01:37.360390400 (UTC)" → 7 fractional digits
                let t = v.split(' ').take(2).collect::<Vec<_>>().join(" ");
                let t = if t.len() > 27 { t[..27].to_string() } else { t };
                match section {
                    1 => si.push(t),
                    2 => {
                        if let Some(x) = fns.last_mut() {
                            x.push(t)
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Some((si, fns))
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path_buf(p: &Path) -> PathBuf {
    p.to_path_buf()
}
