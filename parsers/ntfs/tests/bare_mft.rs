//! Bare `$MFT` files exported from real volumes, read with `Mft::from_source`.
mod common;

use std::sync::Arc;

use triage_ntfs::Mft;
use triage_source::{FileSource, Source};

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "2019-01-04 23:15:27 (MSK)" → Unix seconds (MSK = UTC+3).
fn parse_msk(s: &str) -> i64 {
    let (date, rest) = s.split_once(' ').unwrap();
    let time = rest.split(' ').next().unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    assert!(s.ends_with("(MSK)"));
    days_from_civil(d[0], d[1], d[2]) * 86400 + t[0] * 3600 + t[1] * 60 + t[2] - 3 * 3600
}

fn unix(ft: u64) -> i64 {
    (ft as i64 - 116_444_736_000_000_000) / 10_000_000
}

#[test]
fn msuhanov_4k_large_mft_matches_its_fls_listing() {
    let Some(dir) = triage_testkit::sample_dir("ntfs") else {
        return;
    };
    let src: Source =
        Arc::new(FileSource::open(&dir.join("msuhanov__dfir_ntfs__4k-large.mft")).unwrap());
    let mft = Mft::from_source(src, 4096).unwrap();
    let mut all = std::collections::HashMap::new();
    let stats = mft
        .for_each_entry(|b| all.extend(b.iter().map(|e| (e.entry, e.clone()))))
        .unwrap();
    assert_eq!(stats.records, 256);
    let listing = std::fs::read_to_string(dir.join("msuhanov__dfir_ntfs__4k-large.fls")).unwrap();
    let mut checked = 0;
    for line in listing.lines() {
        let Some((meta, rest)) = line.split_once(":\t") else {
            continue;
        };
        let f: Vec<&str> = rest.split('\t').collect();
        if f.len() < 8 || meta.contains('*') || f[0].starts_with("$OrphanFiles") {
            continue;
        }
        let ino = meta.split_whitespace().last().unwrap();
        let mut parts = ino.split('-');
        let n: u64 = parts.next().unwrap().parse().unwrap();
        let ty = parts.next().unwrap_or("");
        let e = all.get(&n).unwrap_or_else(|| panic!("entry {n} missing"));
        assert!(e.in_use, "{n}");
        let (path, stream) = match f[0]
            .rsplit_once('/')
            .map(|(_, l)| l)
            .unwrap_or(f[0])
            .split_once(':')
        {
            Some((_, s)) => (f[0][..f[0].len() - s.len() - 1].to_string(), Some(s)),
            None => (f[0].to_string(), None),
        };
        assert_eq!(
            e.path,
            format!("\\{}", path.replace('/', "\\")),
            "entry {n}"
        );
        // fls -l: mtime atime ctime crtime ($STANDARD_INFORMATION), size.
        let si = e.si.unwrap();
        let theirs: Vec<i64> = f[1..5].iter().map(|t| parse_msk(t)).collect();
        assert_eq!(
            theirs,
            vec![
                unix(si.modified),
                unix(si.accessed),
                unix(si.mft_modified),
                unix(si.created)
            ],
            "entry {n} times"
        );
        match stream {
            Some(s) if ty == "128" => assert!(
                e.streams.iter().any(|x| x == s),
                "entry {n}: stream {s} in {:?}",
                e.streams
            ),
            None if ty == "128" && n != 8 => assert_eq!(e.size.to_string(), f[5], "entry {n} size"),
            _ => {}
        }
        checked += 1;
    }
    assert!(checked >= 35, "{checked}");
}

#[test]
fn eric_zimmerman_mft_files_parse_and_reach_the_root() {
    let Some(dir) = triage_testkit::sample_dir("ntfs") else {
        return;
    };
    for name in [
        "EricZimmerman__MFT__NIST-DFR-16--MFT",
        "EricZimmerman__MFT__xw--MFT",
    ] {
        let src: Source = Arc::new(FileSource::open(&dir.join(name)).unwrap());
        let mft = Mft::from_source(src, 1024).unwrap();
        let mut named = 0u64;
        let mut rooted = 0u64;
        let stats = mft
            .for_each_entry(|b| {
                for e in b {
                    if !e.names.is_empty() {
                        named += 1;
                    }
                    if e.in_use && e.path.starts_with('\\') && !e.path.starts_with("\\$Orphan") {
                        rooted += 1;
                    }
                }
            })
            .unwrap();
        eprintln!("{name}: {stats:?}, {named} named, {rooted} in-use rooted");
        assert!(stats.in_use > 50, "{name}");
        // Every in-use named record reaches the root (the table is whole).
        assert!(
            rooted * 100 >= stats.in_use * 95,
            "{name}: {rooted} of {} in use reach the root",
            stats.in_use
        );
    }
}
