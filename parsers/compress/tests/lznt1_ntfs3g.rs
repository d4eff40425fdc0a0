//! LZNT1 against ntfs-3g (an independent compressor) and sleuthkit (an independent
//! decompressor): files copied with `ntfscp` into a volume made with `mkntfs -C` are
//! stored LZNT1-compressed. We read each file's compression units straight from the
//! clusters `istat` lists, decode them, and compare with the source file and `icat`.

mod common;

use std::path::Path;
use std::process::Command;

fn run(tool: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<u8> {
    let out = Command::new(tool)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The clusters of the unnamed `$DATA` attribute as istat lists them (0 = sparse).
fn data_clusters(istat_out: &str) -> (bool, Vec<u64>) {
    let mut lines = istat_out.lines();
    let header = lines
        .by_ref()
        .find(|l| l.starts_with("Type: $DATA") && l.contains("Name: N/A"))
        .expect("no $DATA attribute");
    let compressed = header.contains("Compressed");
    let clusters = lines
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Type:"))
        .flat_map(|l| l.split_whitespace().map(|n| n.parse::<u64>().unwrap()))
        .collect();
    (compressed, clusters)
}

fn check(cluster: usize) {
    let tools: Vec<_> = ["mkntfs", "ntfscp", "fls", "istat", "icat"]
        .iter()
        .map(|t| triage_testkit::tool(t))
        .collect();
    let [Some(mkntfs), Some(ntfscp), Some(fls), Some(istat), Some(icat)] = &tools[..] else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol.img");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(48 << 20)
        .unwrap();
    let c = cluster.to_string();
    run(mkntfs, &[&"-F", &"-q", &"-C", &"-c", &c, &vol]);
    let files: Vec<_> = common::corpus()
        .into_iter()
        .filter(|(_, b)| b.len() >= 2 * cluster)
        .collect();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    common::write_corpus(&src, &files);
    for (name, _) in &files {
        run(ntfscp, &[&vol, &src.join(name), name]);
    }
    let listing = String::from_utf8(run(fls, &[&vol])).unwrap();
    let image = std::fs::read(&vol).unwrap();
    let unit = 16 * cluster;
    let (mut compressed_units, mut raw_units) = (0, 0);
    for (name, want) in &files {
        let inode = listing
            .lines()
            .find_map(|l| {
                let (meta, n) = l.split_once(":\t")?;
                (n == name).then(|| meta.split_whitespace().nth(1).unwrap().to_string())
            })
            .unwrap_or_else(|| panic!("{name} not in fls output"));
        let inode = inode.split('-').next().unwrap();
        let info = String::from_utf8(run(istat, &[&vol, &inode])).unwrap();
        let (is_compressed, clusters) = data_clusters(&info);
        assert!(is_compressed, "{name}: $DATA is not compressed:\n{info}");
        let mut got = Vec::new();
        for u in clusters.chunks(16) {
            let used: Vec<u64> = u.iter().copied().take_while(|&c| c != 0).collect();
            assert!(
                u[used.len()..].iter().all(|&c| c == 0),
                "{name}: holes inside a unit"
            );
            let mut stored = Vec::new();
            for &c in &used {
                let at = c as usize * cluster;
                stored.extend_from_slice(&image[at..at + cluster]);
            }
            // A unit is stored raw only when all 16 of its clusters are allocated (the
            // last unit too: istat lists clusters only up to the file size).
            if used.len() == 16 {
                raw_units += 1;
                got.extend_from_slice(&stored);
            } else if used.is_empty() {
                got.resize(got.len() + unit, 0);
            } else {
                compressed_units += 1;
                let mut d = triage_compress::lznt1::decompress(&stored, unit)
                    .unwrap_or_else(|e| panic!("{name}: unit at {}: {e}", got.len()));
                assert!(d.len() <= unit);
                d.resize(unit, 0);
                got.extend_from_slice(&d);
            }
        }
        assert!(
            got.len() >= want.len(),
            "{name}: {} of {} bytes",
            got.len(),
            want.len()
        );
        got.truncate(want.len());
        let first = got.iter().zip(want.iter()).position(|(a, b)| a != b);
        assert!(
            got == *want,
            "{name}: differs from the source file at {first:?}"
        );
        let by_icat = run(icat, &[&vol, &inode]);
        assert!(got == by_icat, "{name}: differs from icat");
    }
    assert!(
        compressed_units >= 10,
        "only {compressed_units} compressed units"
    );
    assert!(raw_units >= 1, "no unit stored uncompressed");
}

#[test]
fn lznt1_matches_ntfs3g_and_sleuthkit_4k_clusters() {
    check(4096);
}

#[test]
fn lznt1_matches_ntfs3g_and_sleuthkit_1k_clusters() {
    check(1024);
}
