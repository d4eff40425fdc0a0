//! Real Windows-made NTFS volumes, checked against sleuthkit (and libfsntfs).
mod common;

use common::*;
use triage_ntfs::format_filetime;

fn report(what: &str, r: &Report) {
    eprintln!(
        "{what}: {} paths, {} time sets, {} contents, {} deleted checked; {} mismatches",
        r.checked_paths,
        r.checked_times,
        r.checked_content,
        r.checked_deleted,
        r.mismatches.len()
    );
    assert!(
        r.mismatches.is_empty(),
        "{what}: mismatches with sleuthkit:\n{}",
        r.mismatches.join("\n")
    );
}

#[test]
fn sleuthkit_7_undel_ntfs_matches_fls_icat_istat() {
    let t = tmp();
    let Some(img) = sleuthkit_7_undel(t.path()) else {
        return;
    };
    let ntfs = open(&img, 0);
    let Some(r) = compare_with_fls(&img, 0, &ntfs, 1) else {
        return;
    };
    report("7-undel-ntfs", &r);
    assert!(r.checked_deleted >= 9, "the deleted files of the image");
    // Full-precision times of every entry against istat.
    let all = all_entries(&ntfs);
    let mut n_checked = 0;
    for (n, e) in &all {
        let Some((si, fns)) = istat_times(&img, 0, *n) else {
            return;
        };
        // istat renders a zero FILETIME as a wrapped 2076 date: those are skipped.
        let same = |ours: &[u64; 4], theirs: &[String]| {
            theirs.len() == 4
                && ours
                    .iter()
                    .zip(theirs)
                    .all(|(o, t)| *o == 0 || format_filetime(*o) == *t)
        };
        if let Some(s) = e.si {
            assert!(
                same(&s.times(), &si),
                "entry {n}: $SI times {:?} vs istat {si:?}",
                s.times()
            );
            n_checked += 1;
        }
        assert_eq!(
            e.names.len(),
            fns.len(),
            "entry {n}: $FILE_NAME count vs istat"
        );
        for (f, t) in e.names.iter().zip(&fns) {
            assert!(
                same(&f.times, t),
                "entry {n}: $FN times {:?} vs istat {t:?}",
                f.times
            );
        }
    }
    assert!(n_checked > 30);
    // The deleted files' content (results.txt questions 2-10) vs icat.
    let icat = triage_testkit::tool("icat").unwrap();
    for name in [
        "res1.dat",
        "sing1.dat",
        "mult1.dat",
        "frag1.dat",
        "frag2.dat",
    ] {
        let e = all
            .values()
            .find(|e| e.path == format!("\\{name}"))
            .unwrap_or_else(|| panic!("{name} not found"));
        assert!(!e.in_use);
        let o = std::process::Command::new(&icat)
            .arg(&img)
            .arg(e.entry.to_string())
            .output()
            .unwrap();
        let d = ntfs.open_stream(e.entry, "").unwrap();
        let theirs = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&o.stdout));
        assert_eq!(sha(&d).unwrap(), theirs, "{name}");
    }
}

#[test]
fn dissect_ntfs_bin_matches_fls() {
    let Some(dir) = triage_testkit::sample_dir("ntfs") else {
        return;
    };
    let t = tmp();
    let img = t.path().join("ntfs.bin");
    gunzip(&dir.join("fox-it__dissect.ntfs__ntfs.bin.gz"), &img);
    let ntfs = open(&img, 0);
    let Some(r) = compare_with_fls(&img, 0, &ntfs, 1) else {
        return;
    };
    report("dissect ntfs.bin", &r);
    assert!(r.checked_paths > 1000);
    // The volume has NTFS-compressed files: LZNT1 units decoded, equal to icat's output.
    let icat = triage_testkit::tool("icat").unwrap();
    let mut lznt1 = 0;
    for e in all_entries(&ntfs).values() {
        if !(e.in_use && !e.is_dir && e.flags.compressed && e.entry >= 16) {
            continue;
        }
        let d = ntfs.open_stream(e.entry, "").unwrap();
        if d.storage() != "LZNT1" {
            continue;
        }
        let o = std::process::Command::new(&icat)
            .arg(&img)
            .arg(e.entry.to_string())
            .output()
            .unwrap();
        assert_eq!(
            sha(&d).unwrap(),
            format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&o.stdout)),
            "{}",
            e.path
        );
        lznt1 += 1;
    }
    eprintln!("LZNT1 files checked against icat: {lznt1}");
    assert!(lznt1 >= 1);
}

/// Sleuthkit's autodetect images: NTFS partitions that also carry another file
/// system's signature (ext2/UFS): we read them as NTFS, as `fls -f ntfs` does, loose and
/// inside the disk image at the partition offsets `mmls` reports.
#[test]
fn sleuthkit_10_ntfs_autodetect_partitions_match_fls() {
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(mmls) = triage_testkit::tool("mmls") else {
        return;
    };
    let t = tmp();
    if unzip(
        &disk.join("sleuthkit__sleuthkit_test_data__10b-ntfs-autodetect.zip"),
        t.path(),
    )
    .is_none()
    {
        return;
    }
    let d = t.path().join("10-ntfs-autodetect");
    for p in ["10-ntfs-part1.dd", "10-ntfs-part2.dd", "10-ntfs-part3.dd"] {
        let img = d.join(p);
        let ntfs = open(&img, 0);
        let Some(r) = compare_with_fls(&img, 0, &ntfs, 1) else {
            return;
        };
        report(p, &r);
        assert!(ntfs.lookup("\\NTFS.TXT").unwrap().is_some(), "{p}");
    }
    let img = d.join("10-ntfs-disk.dd");
    let o = std::process::Command::new(mmls).arg(&img).output().unwrap();
    let starts: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("NTFS"))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts.len(), 2);
    for s in starts {
        let ntfs = open(&img, s * 512);
        let Some(r) = compare_with_fls(&img, s, &ntfs, 1) else {
            return;
        };
        report(&format!("10-ntfs-disk.dd @ sector {s}"), &r);
    }
}

/// A qcow2 disk holding an NTFS volume with shadow copies, converted with qemu-img.
#[test]
fn vsstest_qcow2_volume_matches_fls() {
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(qemu) = triage_testkit::tool("qemu-img") else {
        return;
    };
    let t = tmp();
    let raw = t.path().join("vss.raw");
    let st = std::process::Command::new(qemu)
        .args(["convert", "-O", "raw"])
        .arg(disk.join("vsstest.qcow2"))
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    let ntfs = open(&raw, 0);
    assert_eq!(ntfs.info().label.as_deref(), Some("vsstest"));
    assert_eq!(ntfs.info().serial, "C45E30FD5E30EA36");
    let Some(r) = compare_with_fls(&raw, 0, &ntfs, 1) else {
        return;
    };
    report("vsstest.qcow2", &r);
}

/// Velociraptor's test E01, exported to raw with libewf's ewfexport.
#[test]
fn velociraptor_e01_volume_matches_fls() {
    let Some(disk) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let Some(ewfexport) = triage_testkit::tool("ewfexport") else {
        return;
    };
    let t = tmp();
    let target = t.path().join("out");
    let o = std::process::Command::new(ewfexport)
        .args(["-u", "-q", "-f", "raw", "-t"])
        .arg(&target)
        .arg(disk.join("Velocidex__velociraptor__test.ntfs.dd.E01"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let raw = t.path().join("out.raw");
    let ntfs = open(&raw, 0);
    let Some(r) = compare_with_fls(&raw, 0, &ntfs, 1) else {
        return;
    };
    report("velociraptor test.ntfs.dd.E01", &r);
    assert!(r.checked_content > 0);
}

/// dissect's OneDrive volume (1 GiB, cloud-file reparse points): paths, times and a
/// sample of contents.
#[test]
fn dissect_ntfs_cloud_matches_fls() {
    let Some(dir) = triage_testkit::sample_dir("ntfs") else {
        return;
    };
    let t = tmp();
    let img = t.path().join("cloud.bin");
    gunzip(&dir.join("fox-it__dissect.ntfs__ntfs-cloud.bin.gz"), &img);
    let ntfs = open(&img, 0);
    let Some(r) = compare_with_fls(&img, 0, &ntfs, 1) else {
        return;
    };
    report("dissect ntfs-cloud.bin", &r);
    let mut tags = 0;
    ntfs.for_each_entry(|b| tags += b.iter().filter(|e| e.reparse_tag.is_some()).count())
        .unwrap();
    assert!(tags > 0, "cloud reparse points");
}

/// dissect's fragmented-`$MFT` sample: a 256 GiB volume given as its few non-zero
/// chunks (offset,hex lines), rebuilt as a sparse file. The `$MFT` has three extents in
/// three records (one inside its own second extent), found through a non-resident-size
/// `$ATTRIBUTE_LIST`. Oracle: libfsntfs (`fsntfsinfo -E 0`); sleuthkit cannot open it.
#[test]
fn dissect_fragmented_mft_extents_match_fsntfsinfo() {
    use std::io::{BufRead, Seek, SeekFrom, Write};
    let Some(dir) = triage_testkit::sample_dir("ntfs") else {
        return;
    };
    let Some(fsntfsinfo) = triage_testkit::tool("fsntfsinfo") else {
        return;
    };
    let t = tmp();
    let img = t.path().join("frag.img");
    let gz = flate2::read::GzDecoder::new(
        std::fs::File::open(dir.join("fox-it__dissect.ntfs__ntfs_fragmented_mft.csv.gz")).unwrap(),
    );
    let mut f = std::fs::File::create(&img).unwrap();
    let mut size = 0u64;
    for line in std::io::BufReader::new(gz).lines() {
        let line = line.unwrap();
        let Some((off, hex)) = line.trim().split_once(',') else {
            continue;
        };
        let off: u64 = off.parse().unwrap();
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        if off == 0 {
            let sectors = u64::from_le_bytes(bytes[0x28..0x30].try_into().unwrap());
            size = (sectors + 1) * 512;
        }
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&bytes).unwrap();
    }
    f.set_len(size).unwrap();
    drop(f);
    let o = std::process::Command::new(fsntfsinfo)
        .args(["-E", "0"])
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    // The $DATA extents: "Data VCN range : a - b" after "$DATA (0x00000080)" attribute lines.
    let mut last_vcn = 0u64;
    let mut data_size = 0u64;
    let mut in_data = false;
    for l in text.lines() {
        let l = l.trim();
        if l.starts_with("Type") {
            in_data = l.contains("$DATA (0x00000080)");
        }
        if in_data {
            if let Some(r) = l.strip_prefix("Data VCN range") {
                let end: u64 = r
                    .trim_start_matches([' ', '\t', ':'])
                    .split(" - ")
                    .nth(1)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                last_vcn = last_vcn.max(end);
            }
            if let Some(r) = l.strip_prefix("Data size") {
                data_size = r
                    .trim_start_matches([' ', '\t', ':'])
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
            }
        }
    }
    assert!(data_size > 0 && last_vcn > 0, "fsntfsinfo output:\n{text}");
    let ntfs = open(&img, 0);
    let info = ntfs.info();
    assert_eq!(info.mft_bytes, data_size);
    assert_eq!(
        (last_vcn + 1) * info.cluster_size as u64,
        data_size,
        "fsntfsinfo's extents cover the $MFT"
    );
    assert_eq!(
        info.record_count,
        data_size / info.record_size as u64,
        "every extent found: {:?}",
        info.warnings
    );
    let e = ntfs.entry(0).unwrap();
    assert_eq!(e.path, "\\$MFT");
    assert_eq!(e.size, data_size);
}
