//! Evidence is never modified (issue #14 §4): every sample kind is hashed and stat'ed
//! before and after a full `scan` and the format commands (`pe`, `hive`, `disk ls`,
//! `disk cat`, `mem ps`): sha256, size, mtime, ctime, and atime where the file system
//! records it (the tool opens files with `O_NOATIME`; the test reads them that way too).
//! `disk cat` writes only to stdout: no new file appears in the evidence directory or
//! the working directory.

mod hostile_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

const O_NOATIME: i32 = 0o1000000;

/// What must not change about an evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    sha256: Vec<u8>,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    atime: (i64, i64),
    mode: u32,
    ino: u64,
}

fn open_noatime(p: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NOATIME)
        .open(p)
        .or_else(|_| std::fs::File::open(p))
        .unwrap()
}

fn stamp(p: &Path) -> Stamp {
    let mut f = open_noatime(p);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let m = std::fs::symlink_metadata(p).unwrap();
    Stamp {
        sha256: h.finalize().to_vec(),
        size: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        atime: (m.atime(), m.atime_nsec()),
        mode: m.mode(),
        ino: m.ino(),
    }
}

fn stamps(dir: &Path) -> BTreeMap<PathBuf, Stamp> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), stamp(&p));
            }
        }
    }
    out
}

/// Three days old: with `relatime`, a plain read would move such an atime to now.
fn age(p: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3 * 86400);
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_times(
        std::fs::FileTimes::new()
            .set_accessed(old)
            .set_modified(old),
    )
    .unwrap();
}

/// Whether this file system records atime on a read (not `noatime`): a control file.
fn atime_recorded(dir: &Path) -> bool {
    let c = dir.join("control");
    std::fs::write(&c, b"control").unwrap();
    age(&c);
    let before = std::fs::metadata(&c).unwrap().atime();
    let _ = std::fs::read(&c).unwrap();
    let after = std::fs::metadata(&c).unwrap().atime();
    std::fs::remove_file(&c).unwrap();
    before != after
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
}

fn tool_out(name: &str, args: &[&std::ffi::OsStr]) -> Option<Vec<u8>> {
    let t = triage_testkit::tool(name)?;
    let out = Command::new(t).args(args).output().unwrap();
    assert!(out.status.success(), "{name} {args:?}");
    Some(out.stdout)
}

/// Copies of one sample of every non-memory kind into `ev` (copies: the test must be
/// able to see a write, which read-only shared files would refuse).
fn stage(shared: &Path, ev: &Path) -> Option<Vec<PathBuf>> {
    let s = shared.join("samples");
    let mut disks = Vec::new();
    for f in [
        "pe/genuine-win11-22621/smss.exe",
        "pe/signify__pciide.sys",
        "hives/regipy__SYSTEM_B",
        "hives/regipy__SYSTEM_B.LOG1",
        "hives/regipy__SYSTEM_B.LOG2",
        "hives/Velocidex__velociraptor__Amcache.hve",
        "evtx/sbousseaden__EVTX-ATTACK-SAMPLES__sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx",
        "prefetch/EricZimmerman__Prefetch__Win10--CMD.EXE-D269B812.pf",
        "prefetch/EricZimmerman__Prefetch__XPPro--CMD.EXE-087B4001.pf",
    ] {
        copy(&s.join(f), &ev.join(Path::new(f).file_name().unwrap()));
    }
    for f in [
        "image.E01",
        "image.vmdk",
        "image.vhd",
        "tsk_volume_system.raw",
        "vsstest.qcow2",
        "Velocidex__velociraptor__test.ntfs.dd.E01",
    ] {
        copy(&s.join("disk").join(f), &ev.join(f));
        disks.push(ev.join(f));
    }
    let raw = std::fs::read(s.join("disk/tsk_volume_system.raw")).unwrap();
    for (i, c) in raw.chunks(raw.len().div_ceil(2)).enumerate() {
        std::fs::write(ev.join(format!("split.{:03}", i + 1)), c).unwrap();
    }
    disks.push(ev.join("split.001"));
    let vhdx = tool_out(
        "gzip",
        &[
            "-dc".as_ref(),
            s.join("disk/fox-it__dissect.hypervisor__dynamic.vhdx.gz")
                .as_os_str(),
        ],
    )?;
    std::fs::write(ev.join("dynamic.vhdx"), vhdx).unwrap();
    disks.push(ev.join("dynamic.vhdx"));
    let ntfs = tool_out(
        "gzip",
        &[
            "-dc".as_ref(),
            s.join("ntfs/fox-it__dissect.ntfs__ntfs.bin.gz").as_os_str(),
        ],
    )?;
    std::fs::write(ev.join("ntfs.bin"), ntfs).unwrap();
    disks.push(ev.join("ntfs.bin"));
    Some(disks)
}

fn run_ok(args: &[&std::ffi::OsStr], cwd: &Path) -> hostile_support::Run {
    let mut c = Command::new(hostile_support::bin());
    c.args(args).current_dir(cwd);
    let r = hostile_support::run_cmd(&mut c);
    assert_eq!(r.violation(), None, "{args:?}");
    r
}

/// Entries of `disk ls` worth extracting: in use, not a directory, some bytes, not metadata.
fn files_to_cat(csv_text: &str) -> Vec<(String, u64, u64)> {
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (path, entry, deleted, dir, size) = (
        col("path"),
        col("mft_entry"),
        col("deleted"),
        col("directory"),
        col("size"),
    );
    rdr.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[deleted] == "false" && &r[dir] == "false" && !r[path].starts_with("\\$"))
        .filter_map(|r| {
            let size: u64 = r[size].parse().ok()?;
            (size > 0 && size < 8 << 20)
                .then(|| (r[path].to_string(), r[entry].parse().unwrap(), size))
        })
        .take(3)
        .collect()
}

fn compare(before: &BTreeMap<PathBuf, Stamp>, after: &BTreeMap<PathBuf, Stamp>, atime: bool) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files appeared in or vanished from the evidence directory"
    );
    for (p, b) in before {
        let mut a = after[p].clone();
        if !atime {
            a.atime = b.atime;
        }
        assert_eq!(b, &a, "{} changed", p.display());
    }
}

#[test]
fn scan_and_disk_commands_leave_evidence_unchanged() {
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let (ev, cwd) = (t.path().join("evidence"), t.path().join("cwd"));
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let Some(disks) = stage(&shared, &ev) else {
        return;
    };
    for p in stamps(&ev).keys() {
        age(p);
    }
    let atime = atime_recorded(t.path());
    let before = stamps(&ev);

    let r = run_ok(
        &[
            "scan".as_ref(),
            "--hash".as_ref(),
            "-q".as_ref(),
            "--format".as_ref(),
            "csv".as_ref(),
            ev.as_os_str(),
        ],
        &cwd,
    );
    // The scan read everything: every staged file has a row.
    assert!(
        before
            .keys()
            .all(|p| r.stdout.contains(&*p.to_string_lossy())),
        "{}",
        r.stdout
    );
    let f = |p: &Path| p.as_os_str().to_owned();
    let pe = [ev.join("smss.exe"), ev.join("signify__pciide.sys")];
    run_ok(
        &[
            "pe".as_ref(),
            "-q".as_ref(),
            f(&pe[0]).as_os_str(),
            f(&pe[1]).as_os_str(),
        ],
        &cwd,
    );
    let hives = [
        ev.join("regipy__SYSTEM_B"),
        ev.join("Velocidex__velociraptor__Amcache.hve"),
    ];
    run_ok(
        &[
            "hive".as_ref(),
            "-q".as_ref(),
            f(&hives[0]).as_os_str(),
            f(&hives[1]).as_os_str(),
        ],
        &cwd,
    );
    let mut catted = 0;
    for d in &disks {
        let ls = run_ok(
            &[
                "disk".as_ref(),
                "ls".as_ref(),
                "-q".as_ref(),
                "--format".as_ref(),
                "csv".as_ref(),
                d.as_os_str(),
            ],
            &cwd,
        );
        run_ok(
            &[
                "disk".as_ref(),
                "info".as_ref(),
                "-q".as_ref(),
                d.as_os_str(),
            ],
            &cwd,
        );
        for (path, entry, size) in files_to_cat(&ls.stdout) {
            for by in [
                vec!["--entry".to_string(), entry.to_string()],
                vec![path.clone()],
            ] {
                let out = Command::new(hostile_support::bin())
                    .args(["disk", "cat"])
                    .arg(d)
                    .args(&by)
                    .current_dir(&cwd)
                    .output()
                    .unwrap();
                // Extraction goes to stdout, whole (the size `disk ls` reported).
                assert!(
                    out.status.success(),
                    "{} {by:?}: {}",
                    d.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(out.stdout.len() as u64, size, "{} {by:?}", d.display());
                catted += 1;
            }
        }
    }
    assert!(catted >= 6, "only {catted} extractions");

    let after = stamps(&ev);
    compare(&before, &after, atime);
    let left: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.is_empty(),
        "files written to the working directory: {left:?}"
    );
}

/// Memory dumps, loose and as a VMware vmem/vmss pair: `scan` and `mem ps` leave the
/// atime too (dumps are mapped from a file opened with `O_NOATIME`). Contents, size, mtime
/// and ctime are checked by the companion test below.
#[test]
fn memory_commands_leave_the_atime_of_dumps() {
    memory_case(true);
}

#[test]
fn memory_commands_leave_dumps_unchanged() {
    memory_case(false);
}

fn memory_case(check_atime: bool) {
    use triage_memgen::{write_image, Format, Scenario};
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let (ev, cwd) = (t.path().join("evidence"), t.path().join("cwd"));
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    write_image(&sc, &isf, &ev.join("mem.raw"), Format::Raw).unwrap();
    write_image(&sc, &isf, &ev.join("mem.dmp"), Format::CrashDump64).unwrap();
    std::fs::copy(ev.join("mem.raw"), ev.join("guest.vmem")).unwrap();
    for p in stamps(&ev).keys() {
        age(p);
    }
    let atime = check_atime && atime_recorded(t.path());
    let before = stamps(&ev);
    let r = run_ok(
        &[
            "scan".as_ref(),
            "-q".as_ref(),
            "--format".as_ref(),
            "csv".as_ref(),
            ev.as_os_str(),
        ],
        &cwd,
    );
    assert!(r.stdout.contains("mem.dmp") && r.stdout.contains("guest.vmem"));
    for f in ["mem.raw", "mem.dmp", "guest.vmem"] {
        run_ok(
            &[
                "mem".as_ref(),
                "ps".as_ref(),
                "-q".as_ref(),
                ev.join(f).as_os_str(),
            ],
            &cwd,
        );
        run_ok(
            &[
                "mem".as_ref(),
                "info".as_ref(),
                "-q".as_ref(),
                ev.join(f).as_os_str(),
            ],
            &cwd,
        );
    }
    compare(&before, &stamps(&ev), atime);
    assert!(std::fs::read_dir(&cwd).unwrap().next().is_none());
}
