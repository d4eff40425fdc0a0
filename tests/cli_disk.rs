//! Disk images through the real binary, against sleuthkit (`mmls`, `fls`, `icat`) and the
//! container tools (`qemu-img`, `ewfacquire`) as independent readers. Samples are real
//! Windows-made volumes from `../shared`, unpacked into temporary directories.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};

fn bin() -> Command {
    Command::cargo_bin("smss-triage").expect("binary")
}

fn run_csv(args: &[&str]) -> Vec<HashMap<String, String>> {
    let out = bin().args(args).output().expect("run");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{args:?}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1
}

fn tool(name: &str) -> Option<PathBuf> {
    triage_testkit::tool(name)
}

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The real NTFS volumes, as raw images in `dir` (unpacked or converted at test time).
fn real_volumes(dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    let disk = triage_testkit::sample_dir("disk")?;
    let ntfs = triage_testkit::sample_dir("ntfs")?;
    tool("qemu-img")?;
    tool("unzip")?;
    let mut out = Vec::new();
    // Windows-made NTFS inside a qcow2 (with shadow copies).
    let raw = dir.join("vsstest.raw");
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(disk.join("vsstest.qcow2"))
        .arg(&raw));
    out.push(("vsstest".to_string(), raw));
    // dissect.ntfs's volume with deleted files.
    let gz = ntfs.join("fox-it__dissect.ntfs__ntfs.bin.gz");
    let raw = dir.join("dissect-ntfs.bin");
    let data = sh(Command::new("gzip").arg("-dc").arg(&gz));
    std::fs::write(&raw, data).unwrap();
    out.push(("dissect-ntfs".to_string(), raw));
    // sleuthkit's DFTT undelete image.
    let d = dir.join("undel");
    sh(Command::new("unzip")
        .arg("-q")
        .arg("-o")
        .arg(disk.join("sleuthkit__sleuthkit_test_data__7-undel-ntfs.zip"))
        .arg("-d")
        .arg(&d));
    if let Some(img) = find_file(&d, |p| {
        p.extension()
            .is_some_and(|e| e == "dd" || e == "img" || e == "raw")
    }) {
        out.push(("7-undel-ntfs".to_string(), img));
    }
    Some(out)
}

fn find_file(dir: &Path, pred: impl Fn(&Path) -> bool + Copy) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, pred) {
                return Some(f);
            }
        } else if pred(&p) {
            return Some(p);
        }
    }
    None
}

/// `fls -r -p` of a volume: allocated entries as (inode, path with `\`), streams and
/// sleuthkit's virtual entries left out.
fn fls_allocated(image: &Path) -> BTreeSet<(u64, String)> {
    let text =
        String::from_utf8(sh(Command::new("fls").args(["-r", "-p", "-u"]).arg(image))).unwrap();
    let mut set = BTreeSet::new();
    for line in text.lines() {
        let Some((meta, name)) = line.split_once(":\t") else {
            continue;
        };
        if name.contains(':') || name.starts_with("$OrphanFiles") || meta.contains('*') {
            continue;
        }
        let inode: u64 = meta
            .split_whitespace()
            .last()
            .and_then(|m| m.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        set.insert((inode, format!("\\{}", name.replace('/', "\\"))));
    }
    set
}

#[test]
fn disk_ls_agrees_with_fls_on_real_volumes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(vols) = real_volumes(tmp.path()) else {
        return;
    };
    if tool("fls").is_none() {
        return;
    }
    for (name, img) in vols {
        let ours: BTreeSet<(u64, String)> =
            run_csv(&["disk", "ls", img.to_str().unwrap(), "--format", "csv"])
                .into_iter()
                .filter(|r| r["deleted"] == "false")
                .map(|r| (r["mft_entry"].parse().unwrap(), r["path"].clone()))
                .collect();
        let theirs = fls_allocated(&img);
        assert!(theirs.len() > 10, "{name}: fls listed {}", theirs.len());
        let missing: Vec<_> = theirs.difference(&ours).take(10).collect();
        assert!(
            missing.is_empty(),
            "{name}: fls lists, we do not: {missing:?}"
        );
        // We list every in-use record; fls lists what its directories name. Anything we
        // list beyond fls must be a system file fls leaves out of the walk.
        let extra: Vec<_> = ours
            .difference(&theirs)
            .filter(|(_, p)| p != "\\" && !p.starts_with("\\$"))
            .take(10)
            .collect();
        assert!(extra.is_empty(), "{name}: we list, fls does not: {extra:?}");
    }
}

/// `istat`'s `$STANDARD_INFORMATION` and `$FILE_NAME` creation times of one inode, as
/// `YYYY-MM-DD HH:MM:SS.fffffffff` text.
fn istat_created(image: &Path, inode: u64) -> (Option<String>, Option<String>) {
    let text =
        String::from_utf8_lossy(&sh(Command::new("istat").arg(image).arg(inode.to_string())))
            .to_string();
    let mut si = None;
    let mut fname = None;
    let mut section = "";
    for line in text.lines() {
        if line.starts_with("$STANDARD_INFORMATION") {
            section = "si";
        } else if line.starts_with("$FILE_NAME") {
            section = "fn";
        } else if let Some(rest) = line.strip_prefix("Created:\t") {
            let v = Some(rest.trim().to_string());
            match section {
                "si" if si.is_none() => si = v,
                "fn" if fname.is_none() => fname = v,
                _ => {}
            }
        }
    }
    (si, fname)
}

/// `2018-09-24T07:53:17.2748380Z` as istat prints it in UTC: `2018-09-24 07:53:17.274838000`.
fn as_istat(iso: &str) -> String {
    let s = iso.trim_end_matches('Z').replace('T', " ");
    match s.split_once('.') {
        Some((a, frac)) => format!("{a}.{frac:0<9}"),
        None => s,
    }
}

#[test]
fn both_time_sets_agree_with_istat() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(vols) = real_volumes(tmp.path()) else {
        return;
    };
    if tool("istat").is_none() {
        return;
    }
    for (name, img) in vols {
        let rows = run_csv(&["disk", "ls", img.to_str().unwrap()]);
        let mut checked = 0;
        for r in rows
            .iter()
            .filter(|r| r["deleted"] == "false" && !r["fn_created"].is_empty())
            .take(40)
        {
            let inode: u64 = r["mft_entry"].parse().unwrap();
            // istat prints times in the TZ of the environment: ask for UTC.
            let (si, fname) = {
                std::env::set_var("TZ", "UTC");
                istat_created(&img, inode)
            };
            let (Some(si), Some(fname)) = (si, fname) else {
                continue;
            };
            let si = si.split(" (").next().unwrap().to_string();
            let fname = fname.split(" (").next().unwrap().to_string();
            assert_eq!(
                si,
                as_istat(&r["si_created"]),
                "{name} entry {inode} $SI created"
            );
            assert_eq!(
                fname,
                as_istat(&r["fn_created"]),
                "{name} entry {inode} $FN created"
            );
            checked += 1;
        }
        assert!(checked >= 5, "{name}: only {checked} entries compared");
    }
}

#[test]
fn disk_cat_agrees_with_icat() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(vols) = real_volumes(tmp.path()) else {
        return;
    };
    if tool("icat").is_none() {
        return;
    }
    for (name, img) in vols {
        let rows = run_csv(&["disk", "ls", img.to_str().unwrap()]);
        let mut checked = 0;
        for r in rows.iter().filter(|r| {
            r["deleted"] == "false"
                && r["directory"] == "false"
                && !r["path"].starts_with("\\$")
                && !r["flags"].contains("encrypted")
        }) {
            let inode = &r["mft_entry"];
            let theirs = Sha256::digest(sh(Command::new("icat").arg(&img).arg(inode)));
            let out = bin()
                .args(["disk", "cat", img.to_str().unwrap(), &r["path"]])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} {}: {}",
                r["path"],
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                Sha256::digest(&out.stdout),
                theirs,
                "{name}: content of {} differs from icat",
                r["path"]
            );
            checked += 1;
        }
        assert!(checked > 0, "{name}: no file compared");
    }
}

#[test]
fn every_container_gives_the_same_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(vols) = real_volumes(tmp.path()) else {
        return;
    };
    if tool("ewfacquire").is_none() {
        return;
    }
    let (_, raw) = vols
        .into_iter()
        .find(|(n, _)| n == "dissect-ntfs")
        .expect("dissect volume");
    let listing = |p: &Path| -> Vec<Vec<String>> {
        run_csv(&["disk", "ls", p.to_str().unwrap()])
            .into_iter()
            .map(|r| {
                [
                    "path",
                    "mft_entry",
                    "si_created",
                    "fn_modified",
                    "size",
                    "streams",
                ]
                .iter()
                .map(|k| r[*k].clone())
                .collect()
            })
            .collect()
    };
    let want = listing(&raw);
    assert!(want.len() > 10);
    let mut images: Vec<PathBuf> = Vec::new();
    for (fmt, opts, ext) in [
        ("vmdk", "subformat=monolithicSparse", "vmdk"),
        ("vmdk", "subformat=streamOptimized", "so.vmdk"),
        ("vpc", "subformat=dynamic", "vhd"),
        ("vhdx", "subformat=dynamic", "vhdx"),
        ("qcow2", "compat=1.1", "qcow2"),
    ] {
        let out = tmp.path().join(format!("img.{ext}"));
        sh(Command::new("qemu-img")
            .args(["convert", "-O", fmt, "-o", opts])
            .arg(&raw)
            .arg(&out));
        images.push(out);
    }
    let e01 = tmp.path().join("img");
    sh(Command::new("ewfacquire")
        .args(["-u", "-q", "-c", "deflate:fast", "-t"])
        .arg(&e01)
        .arg(&raw));
    images.push(tmp.path().join("img.E01"));
    for img in images {
        assert_eq!(
            listing(&img),
            want,
            "{} lists differently from the raw volume",
            img.display()
        );
    }
}

#[test]
fn disk_info_partitions_agree_with_mmls() {
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    if tool("mmls").is_none() {
        return;
    }
    let img = disk.join("tsk_volume_system.raw");
    let ours: BTreeMap<u64, u64> = run_csv(&["disk", "info", img.to_str().unwrap()])
        .into_iter()
        .filter(|r| !r["partition_type"].starts_with("Extended"))
        .map(|r| {
            (
                r["offset"].parse::<u64>().unwrap() / 512,
                r["size"].parse::<u64>().unwrap() / 512,
            )
        })
        .collect();
    let text = String::from_utf8(sh(Command::new("mmls").arg(&img))).unwrap();
    let mut theirs = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // "002:  000:000   0000000001   0000000350   0000000350   Linux (0x83)"
        if cols.len() >= 6 && cols[1].contains(':') && !line.contains("Extended") {
            let start: u64 = cols[2].parse().unwrap();
            let len: u64 = cols[4].parse().unwrap();
            theirs.insert(start, len);
        }
    }
    assert!(!theirs.is_empty(), "mmls found nothing:\n{text}");
    assert_eq!(ours, theirs, "partitions differ from mmls");
}

#[test]
fn real_windows_volumes_stay_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let mut inputs: Vec<PathBuf> = vec![
        disk.join("vsstest.qcow2"),
        disk.join("Velocidex__velociraptor__test.ntfs.dd.E01"),
        disk.join("Velocidex__velociraptor__partition_image.E01"),
    ];
    if let Some(vols) = real_volumes(tmp.path()) {
        inputs.extend(vols.into_iter().map(|(_, p)| p));
    }
    for img in inputs {
        let out = bin()
            .args(["scan", "--format", "csv", "--records", "findings"])
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            img.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1;
        let loud: Vec<_> = rows
            .iter()
            .filter(|r| matches!(r["severity"].as_str(), "medium" | "high" | "critical"))
            .map(|r| format!("{} {} {}", r["rule"], r["severity"], r["subject"]))
            .collect();
        assert!(loud.is_empty(), "{}: {loud:?}", img.display());
    }
}

#[test]
fn shadow_copies_are_listed_on_the_volume() {
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let rows = run_csv(&[
        "scan",
        "--records",
        "volumes",
        disk.join("vsstest.qcow2").to_str().unwrap(),
    ]);
    assert_eq!(rows.len(), 1);
    // vshadowinfo lists two stores on this volume.
    if tool("vshadowinfo").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        let raw = tmp.path().join("v.raw");
        sh(Command::new("qemu-img")
            .args(["convert", "-O", "raw"])
            .arg(disk.join("vsstest.qcow2"))
            .arg(&raw));
        let text = String::from_utf8_lossy(&sh(Command::new("vshadowinfo").arg(&raw))).to_string();
        let stores = text.matches("Store: ").count();
        assert_eq!(rows[0]["snapshots"], stores.to_string(), "{text}");
    }
}

#[test]
fn split_segments_and_parts_are_not_inputs_of_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(vols) = real_volumes(tmp.path()) else {
        return;
    };
    if tool("ewfacquire").is_none() {
        return;
    }
    let (_, raw) = vols.into_iter().find(|(n, _)| n == "dissect-ntfs").unwrap();
    let dir = tmp.path().join("case");
    std::fs::create_dir(&dir).unwrap();
    // EWF in segments of 1 MiB (the smallest ewfacquire allows is 1 MiB).
    sh(Command::new("ewfacquire")
        .args(["-u", "-q", "-c", "none", "-S", "1MiB", "-t"])
        .arg(dir.join("seg"))
        .arg(&raw));
    // Split raw in 4 MiB parts.
    sh(Command::new("split")
        .args(["-b", "4M", "-d", "-a", "3", "--numeric-suffixes=1"])
        .arg(&raw)
        .arg(dir.join("split.")));
    let rows = run_csv(&["scan", "--records", "inputs", dir.to_str().unwrap()]);
    let analysed: Vec<&str> = rows
        .iter()
        .filter(|r| r["status"] == "analysed" || r["status"] == "partial")
        .map(|r| r["input"].as_str())
        .collect();
    assert_eq!(analysed.len(), 2, "one E01 and one .001 analysed: {rows:?}");
    assert!(analysed.iter().any(|p| p.ends_with("seg.E01")));
    assert!(analysed.iter().any(|p| p.ends_with("split.001")));
    let skipped = rows.iter().filter(|r| r["status"] == "skipped").count();
    assert!(
        skipped >= 2,
        "later segments and parts are skipped as parts: {rows:?}"
    );
    // Both read the same volume.
    let a = run_csv(&["disk", "ls", dir.join("seg.E01").to_str().unwrap()]).len();
    let b = run_csv(&["disk", "ls", dir.join("split.001").to_str().unwrap()]).len();
    let c = run_csv(&["disk", "ls", raw.to_str().unwrap()]).len();
    assert_eq!((a, b), (c, c));
}

#[test]
fn shadow_storage_on_another_volume_of_the_disk_is_read() {
    // dfir_ntfs's vss_3: partition 2's shadow copies keep their data on partition 1.
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    if tool("vshadowinfo").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    sh(Command::new("tar")
        .arg("-xzSf")
        .arg(disk.join("msuhanov__dfir_ntfs__vss_3_volstor.tar.gz"))
        .arg("-C")
        .arg(tmp.path()));
    let img = tmp.path().join("vss_3_volstor.raw");
    let out = bin()
        .args(["scan", "--format", "csv", "--records", "volumes"])
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = common::parse_csv(&String::from_utf8_lossy(&out.stdout)).1;
    let p2 = rows
        .iter()
        .find(|r| r["partition"] == "2")
        .expect("partition 2");
    let offset = p2["offset"].clone();
    let info = String::from_utf8_lossy(&sh(Command::new("vshadowinfo")
        .args(["-o", &offset])
        .arg(&img)))
    .to_string();
    let stores = info.matches("Store: ").count();
    assert!(stores >= 1, "{info}");
    assert_eq!(p2["snapshots"], stores.to_string(), "{p2:?}");
    // Each snapshot was opened as a volume, its data read from partition 1: a snapshot
    // that cannot be read makes the input partial, with the reason.
    let inputs = run_csv(&["scan", "--records", "inputs", img.to_str().unwrap()]);
    assert_eq!(inputs[0]["status"], "analysed", "{:?}", inputs[0]);
    assert!(
        p2["detail"].matches("shadow copy ").count() == stores,
        "{p2:?}"
    );
}
