//! The path index holds the records that can be parents only (directories, the root,
//! deleted records named as a parent), not the files: the part of an enumeration's
//! memory that grows with the volume grows with its directories (issue #11 §1). The
//! paths stay those sleuthkit's `fls -r -p` prints, and those of the record-by-record
//! walk of [`Mft::entry`], which uses no index.
mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::Arc;

use common::*;
use triage_ntfs::{Entry, Mft, ScanStats};
use triage_source::{Location, MemorySource, Source};

fn enumerate(
    f: impl FnOnce(&mut dyn FnMut(&[Entry])) -> ScanStats,
) -> (HashMap<u64, Entry>, ScanStats) {
    let mut all = HashMap::new();
    let stats = f(&mut |b: &[Entry]| {
        for e in b {
            all.insert(e.entry, e.clone());
        }
    });
    (all, stats)
}

/// 3,000 files in a few directories, written by mkntfs + wimlib-imagex (ntfs-3g).
#[test]
fn generated_volume_index_holds_the_directories_only() {
    for t in ["mkntfs", "wimlib-imagex", "fls"] {
        if triage_testkit::tool(t).is_none() {
            return;
        }
    }
    let d = tmp();
    let src = d.path().join("src");
    let dirs = ["a", "a/b", "a/b/c", "d", "e"];
    for (i, dir) in dirs.iter().cycle().take(3000).enumerate() {
        let p = src.join(dir);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(format!("file{i:05}.txt")), format!("file {i}\n")).unwrap();
    }
    let img = d.path().join("v.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(48 << 20)
        .unwrap();
    let ok = |c: &mut Command| assert!(c.output().unwrap().status.success(), "{c:?}");
    ok(Command::new("mkntfs").args(["-F", "-T", "-q"]).arg(&img));
    let wim = d.path().join("x.wim");
    ok(Command::new("wimlib-imagex")
        .arg("capture")
        .arg(&src)
        .arg(&wim)
        .arg("--compress=none"));
    ok(Command::new("wimlib-imagex")
        .arg("apply")
        .arg(&wim)
        .arg("1")
        .arg(&img));

    let ntfs = open(&img, 0);
    let (all, stats) = enumerate(|f| ntfs.for_each_entry(f).unwrap());
    // The directories sleuthkit lists (`-D`), and the root it does not list.
    let out = Command::new(triage_testkit::tool("fls").unwrap())
        .args(["-f", "ntfs", "-r", "-D", "-p"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fls_dirs: BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("$OrphanFiles"))
        .filter_map(|l| l.split_whitespace().nth(1)?.split('-').next()?.parse().ok())
        .collect();
    assert!(fls_dirs.len() >= dirs.len(), "{fls_dirs:?}");
    let files = all.values().filter(|e| !e.is_dir && e.in_use).count();
    assert!(files >= 3000, "{files} files");
    eprintln!(
        "generated: {files} files, {} directories by fls, {} nodes",
        fls_dirs.len(),
        stats.index_nodes
    );
    assert_eq!(
        stats.index_nodes,
        fls_dirs.len() as u64 + 1,
        "nodes: fls's directories and the root, none for the {files} files"
    );
    // Every path as `fls -r -p` has it (paths only: no content reads).
    let Some(r) = compare_with_fls(&img, 0, &ntfs, 0) else {
        return;
    };
    assert!(r.checked_paths > 3000, "{} paths", r.checked_paths);
    assert!(r.mismatches.is_empty(), "{}", r.mismatches.join("\n"));
}

/// The sleuthkit 7-undel image has deleted files and directories: the index holds its
/// directories plus the deleted non-directory records some record names as its parent
/// (counted here from the entries' own parent references).
#[test]
fn sleuthkit_7_undel_index_is_directories_and_referenced_deleted_records() {
    let t = tmp();
    let Some(img) = sleuthkit_7_undel(t.path()) else {
        return;
    };
    let ntfs = open(&img, 0);
    let (all, stats) = enumerate(|f| ntfs.for_each_entry(f).unwrap());
    let base = |e: &&Entry| e.base_record == 0;
    let dirs = all.values().filter(base).filter(|e| e.is_dir).count() as u64;
    let referenced: BTreeSet<u64> = all
        .values()
        .filter(base)
        .filter_map(|e| e.parent.map(|p| p.0))
        .filter(|p| {
            all.get(p).is_some_and(|pe| {
                pe.base_record == 0 && !pe.is_dir && !pe.in_use && !pe.names.is_empty()
            })
        })
        .collect();
    eprintln!(
        "7-undel: {} entries, {dirs} directories, {} deleted records named as parents, {} nodes",
        all.len(),
        referenced.len(),
        stats.index_nodes
    );
    assert_eq!(stats.index_nodes, dirs + referenced.len() as u64);
    assert!(
        stats.index_nodes * 2 < all.len() as u64,
        "{} nodes for {} entries",
        stats.index_nodes,
        all.len()
    );
    let Some(r) = compare_with_fls(&img, 0, &ntfs, 0) else {
        return;
    };
    assert!(r.checked_deleted >= 9);
    assert!(r.mismatches.is_empty(), "{}", r.mismatches.join("\n"));
}

// Synthetic records (512 bytes) for the rules a sound volume never exercises.
use common::synthetic::RS;

/// A FILE record with one name: `flags` 1 in use, 2 directory.
fn record(seq: u16, flags: u16, parent: u64, pseq: u16, name: &str) -> Vec<u8> {
    common::synthetic::record(
        seq,
        flags,
        0,
        &[common::synthetic::file_name(parent, pseq, name)],
    )
}

#[test]
fn deleted_files_named_as_parents_get_nodes_and_files_do_not() {
    let mut r: Vec<Vec<u8>> = (0..16u64)
        .map(|i| {
            if i == 5 {
                record(1, 3, 5, 1, ".")
            } else {
                vec![0u8; RS]
            }
        })
        .collect();
    let mut add = |rec: Vec<u8>| {
        r.push(rec);
        r.len() as u64 - 1
    };
    let dir = add(record(1, 3, 5, 1, "dir")); // 16
                                              // A deleted file (sequence bumped on delete) that later records name as parent.
    let gone = add(record(2, 0, dir, 1, "gone.txt")); // 17
    let under_gone = add(record(1, 1, gone, 1, "under-gone.txt")); // 18
                                                                   // A chain of deleted files, found through each other after pass 1.
    let g2 = add(record(2, 0, gone, 1, "g2")); // 19
    let under_g2 = add(record(1, 1, g2, 1, "under-g2.txt")); // 20
                                                             // Deleted files naming each other: a cycle without any directory.
    let c1 = add(record(1, 0, 22, 1, "c1")); // 21
    let c2 = add(record(1, 0, c1, 1, "c2")); // 22
    let under_c = add(record(1, 1, c2, 1, "under-c.txt")); // 23
                                                           // An in-use file named as a parent: its child is an orphan, it needs no node.
    let live = add(record(1, 1, dir, 1, "live.txt")); // 24
    let under_live = add(record(1, 1, live, 1, "under-live.txt")); // 25
                                                                   // Plain files: no nodes.
    let plain: Vec<u64> = (0..50)
        .map(|i| add(record(1, 1, dir, 1, &format!("f{i}.txt"))))
        .collect();
    let src: Source = Arc::new(MemorySource::new(
        Location::new("synthetic $MFT"),
        r.concat(),
    ));
    let m = Mft::from_source(src, RS as u32).unwrap();
    let (all, stats) = enumerate(|f| m.for_each_entry(f).unwrap());
    let path = |n: u64| all[&n].path.clone();
    assert_eq!(path(under_gone), "\\dir\\gone.txt\\under-gone.txt");
    assert_eq!(path(under_g2), "\\dir\\gone.txt\\g2\\under-g2.txt");
    assert_eq!(path(g2), "\\dir\\gone.txt\\g2");
    assert!(path(c1).starts_with("\\$Cycle\\"), "{}", path(c1));
    assert!(path(c2).starts_with("\\$Cycle\\"), "{}", path(c2));
    assert!(
        path(under_c).starts_with("\\$Cycle\\") && path(under_c).ends_with("\\under-c.txt"),
        "{}",
        path(under_c)
    );
    assert_eq!(path(live), "\\dir\\live.txt");
    assert_eq!(path(under_live), "\\$Orphan\\under-live.txt");
    for n in &plain {
        assert_eq!(path(*n), format!("\\dir\\f{}.txt", n - plain[0]));
    }
    // Root, dir, gone, g2, c1, c2.
    assert_eq!(stats.index_nodes, 6);
    // The single-entry walk (no index) gives the same paths off the cycle.
    for n in [
        dir, gone, under_gone, g2, under_g2, live, under_live, plain[7],
    ] {
        assert_eq!(m.entry(n).unwrap().path, path(n), "entry {n}");
    }
}
