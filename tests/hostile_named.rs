//! Named hostile inputs through the real binary (issue #14 §2), the ones the parser
//! crates' own hostile tests did not cover end to end: each run is its own process,
//! watched (20 s, 512 MB RssAnon), and must end with a clear error naming the layer and
//! offset, or a bounded partial result. The per-crate tests (`parsers/*/tests/hostile.rs`
//! and friends) cover the rest; `docs/reliability.md` lists where each case lives.

mod hostile_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hostile_support::{run, Run};

fn shared(sub: &str) -> Option<PathBuf> {
    triage_testkit::sample_dir(sub)
}

fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let Ok(h) = rdr.headers().cloned() else {
        return Vec::new();
    };
    rdr.records()
        .filter_map(|r| r.ok())
        .map(|r| {
            h.iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// `scan FILE` as CSV: the run (checked against the rules) and the input's row.
fn scan_one(file: &Path) -> (Run, HashMap<String, String>) {
    let r = run(
        &["scan", "-q", "--format", "csv", &file.to_string_lossy()],
        file.parent().unwrap(),
    );
    assert_eq!(r.violation(), None, "{}", file.display());
    let row = csv_rows(&r.stdout)
        .into_iter()
        .find(|row| row.get("input").map(PathBuf::from).as_deref() == Some(file))
        .unwrap_or_else(|| panic!("no inputs row for {}: {}", file.display(), r.stdout));
    (r, row)
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A hive whose first (or second) hbin claims a size of 0. Cells are reached by their
/// offsets, not by walking bins, so the key tree stays whole: the walk must still find
/// what python-registry finds in the intact file (the bin walk itself stops at the bad
/// size with its offset: `parsers/regf/tests/hostile_named.rs`).
#[test]
fn hive_with_an_hbin_size_of_zero() {
    let Some(hives) = shared("hives") else { return };
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(hives.join("EXPECTED.python-registry.json")).unwrap(),
    )
    .unwrap();
    let walk = &expected["regipy__SYSTEM"]["walk"];
    let (keys, values) = (
        walk["keys"].as_u64().unwrap(),
        walk["values"].as_u64().unwrap(),
    );
    let t = tempfile::tempdir().unwrap();
    let orig = std::fs::read(hives.join("regipy__SYSTEM")).unwrap();
    let first_size = u32::from_le_bytes(orig[0x1008..0x100C].try_into().unwrap()) as usize;
    for (name, at) in [
        ("first.hive", 0x1000usize),
        ("second.hive", 0x1000 + first_size),
    ] {
        let mut b = orig.clone();
        assert_eq!(&b[at..at + 4], b"hbin", "{name}");
        put32(&mut b, at + 8, 0);
        let f = t.path().join(name);
        std::fs::write(&f, &b).unwrap();
        let (r, row) = scan_one(&f);
        assert!(r.elapsed.as_secs() < 10, "{name}: {:?}", r.elapsed);
        assert!(
            matches!(row["status"].as_str(), "analysed" | "partial"),
            "{name}: {row:?}"
        );
        let want = format!("{keys} keys, {values} values");
        assert!(
            row["detail"].contains(&want),
            "{name}: {} (want {want})",
            row["detail"]
        );
        let r = run(
            &["hive", "-q", "--format", "csv", &f.to_string_lossy()],
            t.path(),
        );
        assert_eq!(r.violation(), None, "{name}: hive");
    }
}

#[test]
fn prefetch_with_counts_of_2_to_the_32() {
    let Some(pf) = shared("prefetch") else { return };
    let t = tempfile::tempdir().unwrap();
    for (name, src) in [
        (
            "xp.pf",
            "EricZimmerman__Prefetch__XPPro--CMD.EXE-087B4001.pf",
        ),
        (
            "win7.pf",
            "EricZimmerman__Prefetch__Win7--CMD.EXE-4A81B364.pf",
        ),
    ] {
        let orig = std::fs::read(pf.join(src)).unwrap();
        // The file-metrics, trace-chain and volume counts (file information at 0x54).
        for at in [0x58usize, 0x60, 0x70] {
            let mut b = orig.clone();
            put32(&mut b, at, u32::MAX);
            let f = t.path().join(format!("{at:x}-{name}"));
            std::fs::write(&f, &b).unwrap();
            let (r, row) = scan_one(&f);
            assert!(r.elapsed.as_secs() < 5, "{name} {at:#x}: {:?}", r.elapsed);
            assert_eq!(row["status"], "error", "{name} {at:#x}: {row:?}");
            assert!(
                row["detail"].contains("4294967295") || row["detail"].contains("0xffffffff"),
                "{name} {at:#x}: the count is named: {}",
                row["detail"]
            );
            assert!(
                row["detail"].contains(&format!("{at:#x}")) || row["detail"].contains("offset"),
                "{name} {at:#x}: the offset is named: {}",
                row["detail"]
            );
        }
    }
}

#[test]
fn qcow2_with_an_l1_size_of_2_to_the_30() {
    let Some(disk) = shared("disk") else { return };
    let t = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(disk.join("vsstest.qcow2")).unwrap();
    b[36..40].copy_from_slice(&(1u32 << 30).to_be_bytes());
    let f = t.path().join("l1.qcow2");
    std::fs::write(&f, &b).unwrap();
    let (r, row) = scan_one(&f);
    assert_eq!(row["status"], "error", "{row:?}");
    let detail = row["detail"].to_lowercase();
    assert!(
        detail.contains("l1") && detail.contains("0x24"),
        "{}",
        row["detail"]
    );
    assert!(r.peak_anon_kb < 256 * 1024, "{} KiB", r.peak_anon_kb);
    let r = run(&["disk", "ls", "-q", &f.to_string_lossy()], t.path());
    assert_eq!(r.violation(), None);
}

/// A process list that loops back to its first process (never reaching the head
/// again): an endless list. The walk must stop, the processes come out once each, and
/// the scan of physical memory still finds all of them.
#[test]
fn process_list_that_loops_past_the_head() {
    use triage_memgen::{write_image, Format, Scenario};
    let Some(symbols) = triage_testkit::symbols_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
    let path = t.path().join("loop.raw");
    let truth = write_image(&sc, &isf, &path, Format::Raw).unwrap();
    let links = isf
        .field_offset("_EPROCESS", "ActiveProcessLinks")
        .expect("ActiveProcessLinks");
    let linked: Vec<_> = truth
        .processes
        .iter()
        .filter(|p| p.linked_in_active_list)
        .collect();
    let (first, last) = (linked[0], linked[linked.len() - 1]);
    let mut b = std::fs::read(&path).unwrap();
    // last.Flink -> first's entry; first.Blink -> last's entry: a ring without the head.
    let at = (last.eprocess_pa + links) as usize;
    b[at..at + 8].copy_from_slice(&(first.eprocess_va + links).to_le_bytes());
    let at = (first.eprocess_pa + links + 8) as usize;
    b[at..at + 8].copy_from_slice(&(last.eprocess_va + links).to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    drop(b);

    let r = run(
        &[
            "mem",
            "ps",
            "-q",
            "--format",
            "csv",
            &path.to_string_lossy(),
        ],
        t.path(),
    );
    assert_eq!(r.violation(), None);
    let rows = csv_rows(&r.stdout);
    let mut pids: Vec<&str> = rows.iter().map(|r| r["pid"].as_str()).collect();
    pids.sort_unstable();
    let n = pids.len();
    pids.dedup();
    assert_eq!(
        n,
        pids.len(),
        "a process listed twice: the loop was followed"
    );
    assert!(n <= truth.processes.len() + 2, "{n} rows");
    for p in &truth.processes {
        assert!(
            pids.contains(&p.pid.to_string().as_str()),
            "pid {} missing",
            p.pid
        );
    }
    let (_, row) = scan_one(&path);
    assert!(
        ["loop", "cycle", "revisit"]
            .iter()
            .any(|w| row["detail"].contains(w)),
        "the broken list is reported: {row:?}"
    );
}

/// A directory of evidence with a FIFO, a socket, symlink loops and unreadable entries
/// beside regular files: `scan DIR` returns (no blocking open of the FIFO), exits 0 or
/// 3, and the regular files are analysed.
#[test]
fn input_directory_with_fifos_sockets_symlink_loops_and_unreadable_entries() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let Some(pe) = triage_testkit::pe_dir() else {
        return;
    };
    let Some(pf) = shared("prefetch") else { return };
    let Some(mkfifo) = triage_testkit::tool("mkfifo") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("evidence");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    let smss = d.join("smss.exe");
    std::fs::copy(pe.join("genuine-win11-22621/smss.exe"), &smss).unwrap();
    let pf_file = d.join("sub/CMD.EXE-087B4001.pf");
    std::fs::copy(
        pf.join("EricZimmerman__Prefetch__XPPro--CMD.EXE-087B4001.pf"),
        &pf_file,
    )
    .unwrap();
    assert!(Command::new(mkfifo)
        .arg(d.join("fifo"))
        .status()
        .unwrap()
        .success());
    let _listener = std::os::unix::net::UnixListener::bind(d.join("socket")).unwrap();
    symlink("loop_b", d.join("loop_a")).unwrap();
    symlink("loop_a", d.join("loop_b")).unwrap();
    symlink("itself", d.join("itself")).unwrap();
    symlink("..", d.join("sub/up")).unwrap();
    symlink(&d, d.join("sub/root")).unwrap();
    symlink("missing-target", d.join("dangling")).unwrap();
    let locked = d.join("locked.bin");
    std::fs::write(&locked, b"MZ not readable").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked_dir = d.join("locked-dir");
    std::fs::create_dir(&locked_dir).unwrap();
    std::fs::write(locked_dir.join("inside.bin"), b"x").unwrap();
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o000)).unwrap();

    let r = run(
        &["scan", "-q", "--format", "csv", &d.to_string_lossy()],
        t.path(),
    );
    for p in [&locked, &locked_dir] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    assert_eq!(r.violation(), None, "{}", r.stderr);
    assert!(matches!(r.code, Some(0 | 3)), "{:?}", r.code);
    let rows = csv_rows(&r.stdout);
    for f in [&smss, &pf_file] {
        let row = rows
            .iter()
            .find(|row| Path::new(&row["input"]) == f.as_path())
            .unwrap_or_else(|| panic!("{} not in {}", f.display(), r.stdout));
        assert_eq!(row["status"], "analysed", "{row:?}");
    }
    // Each file once: the directory loops were not followed into a second copy.
    let smss_rows = rows
        .iter()
        .filter(|row| row["input"].ends_with("smss.exe"))
        .count();
    assert_eq!(smss_rows, 1, "{}", r.stdout);
}
