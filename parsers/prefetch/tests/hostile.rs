//! Hostile inputs made from the real samples: truncations, counts of 0xFFFFFFFF,
//! offsets past the end, lying MAM headers. Each must be an error naming its layer and
//! offset (or, for one bad file-name entry, a warning), never a panic or a huge
//! allocation.

use triage_prefetch::{parse, Error};

/// (name, SCCA stream, original file) for every readable sample; MAM files are
/// decompressed with triage-compress (the stream the parser sees inside them).
fn streams() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let Some(dir) = triage_testkit::sample_dir("prefetch") else {
        return vec![];
    };
    let mut out = vec![];
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let scca = if data.starts_with(b"MAM\x04") {
            let size = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
            triage_compress::xpress_huffman::decompress(&data[8..], size).unwrap()
        } else if data.get(4..8) == Some(b"SCCA") {
            data.clone()
        } else {
            continue;
        };
        out.push((name, scca, data));
    }
    assert!(out.len() >= 15, "{} samples", out.len());
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn put(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Where the structures of a stream end, read here from the raw file-information
/// fields (0x54: metrics offset/count, trace offset/count, names offset/size, volumes
/// offset/count/size).
fn structures_end(s: &[u8]) -> usize {
    let version = u32_at(s, 0);
    let f = |i: usize| u32_at(s, 0x54 + 4 * i) as usize;
    let (metric, trace) = match version {
        17 => (20, 12),
        23 | 26 => (32, 12),
        _ => (32, 8),
    };
    [
        f(0) + f(1) * metric,
        f(2) + f(3) * trace,
        f(4) + f(5),
        f(6) + f(8),
    ]
    .into_iter()
    .max()
    .unwrap()
}

fn corrupt(e: &Error) -> (&'static str, u64, String) {
    match e {
        Error::Corrupt {
            layer,
            offset,
            what,
            ..
        } => (layer, *offset, what.clone()),
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn decompressed_stream_parses_like_the_mam_file() {
    for (name, scca, file) in streams() {
        let (a, b) = (parse(&scca).unwrap(), parse(&file).unwrap());
        assert_eq!(b.compressed, file.starts_with(b"MAM"), "{name}");
        assert_eq!(
            (a.files, a.volumes, a.last_runs),
            (b.files, b.volumes, b.last_runs),
            "{name}"
        );
    }
}

#[test]
fn truncations_are_errors() {
    for (name, scca, file) in streams() {
        let end = structures_end(&scca);
        assert!(end <= scca.len(), "{name}");
        let step = (scca.len() / 200).max(1);
        let cuts = (0..scca.len())
            .step_by(step)
            .chain([end - 1, 0x53, 0x54, 0x55]);
        for cut in cuts {
            let r = parse(&scca[..cut]);
            if cut < end {
                let e = r.expect_err(&format!("{name} cut at {cut:#x}"));
                if cut >= 8 {
                    let (_, off, _) = corrupt(&e);
                    assert!(off <= cut as u64, "{name} cut at {cut:#x}: {e}");
                }
            }
        }
        if file.starts_with(b"MAM") {
            // A compressed stream cut in half cannot produce the declared size.
            for cut in (0..file.len() / 2).step_by((file.len() / 40).max(1)) {
                let e = parse(&file[..cut]).expect_err(&format!("{name} MAM cut at {cut}"));
                assert!(e.to_string().contains("MAM header"), "{name}: {e}");
            }
        }
    }
}

#[test]
fn huge_counts_and_sizes_are_errors() {
    // (field index in the file information, the layer the error must name)
    let fields = [
        (0, "file information"), // metrics offset
        (1, "file information"), // metrics count
        (2, "file information"), // trace chains offset
        (3, "file information"), // trace chains count
        (4, "filename strings"), // filename strings offset
        (5, "filename strings"), // filename strings size
        (6, "volume info"),      // volume info offset
        (7, "volume info"),      // number of volumes
        (8, "volume info"),      // volume info size
    ];
    for (name, scca, _) in streams() {
        for (i, layer) in fields {
            for value in [u32::MAX, u32::MAX - 15, scca.len() as u32 + 1] {
                if i == 7 && value == scca.len() as u32 + 1 {
                    continue; // a count, not an offset: covered by the others
                }
                let mut s = scca.clone();
                put(&mut s, 0x54 + 4 * i, value);
                let e = parse(&s).expect_err(&format!("{name}: field {i} = {value:#x}"));
                let (l, off, what) = corrupt(&e);
                assert_eq!(l, layer, "{name}: field {i}: {e}");
                // The offset is that of the lying field; the message gives its value.
                let field = 0x54 + 4 * i as u64;
                assert!((field - 8..=field).contains(&off), "{name}: field {i}: {e}");
                assert!(
                    what.contains(&value.to_string()) || what.contains(&format!("{value:#x}")),
                    "{name}: field {i}: {e}"
                );
            }
        }
    }
}

#[test]
fn volume_counts_are_bounded() {
    for (name, scca, _) in streams() {
        let version = u32_at(&scca, 0);
        let entry = match version {
            17 => 40,
            23 | 26 => 104,
            _ => 96,
        };
        let vol_off = u32_at(&scca, 0x54 + 24) as usize;
        let count = u32_at(&scca, 0x54 + 28) as usize;
        for v in 0..count {
            let at = vol_off + v * entry;
            // Directory string count (entry + 32).
            let mut s = scca.clone();
            put(&mut s, at + 32, u32::MAX);
            let e = parse(&s).unwrap_err();
            let (layer, off, what) = corrupt(&e);
            assert_eq!(layer, "volume info", "{name}: {e}");
            assert_eq!(off, at as u64, "{name}: {e}");
            assert_eq!(
                what,
                format!(
                    "volume {} at {at:#x} claims 4294967295 directory strings at {:#x}, more than the volume information holds",
                    v + 1,
                    vol_off as u32 + u32_at(&scca, at + 28)
                ),
                "{name}"
            );
            // Device path length and offset (entry + 4, + 0).
            for field in [0, 4, 28] {
                let mut s = scca.clone();
                put(&mut s, at + field, u32::MAX);
                let e = parse(&s).unwrap_err();
                assert_eq!(corrupt(&e).1, at as u64, "{name}: field {field}: {e}");
            }
        }
    }
}

#[test]
fn a_bad_file_name_entry_is_a_warning() {
    for (name, scca, _) in streams() {
        let version = u32_at(&scca, 0);
        let (entry, name_at) = if version == 17 { (20, 8) } else { (32, 12) };
        let metrics = u32_at(&scca, 0x54) as usize;
        let good = parse(&scca).unwrap();
        let mut s = scca.clone();
        put(&mut s, metrics + name_at, u32::MAX); // first entry's string offset
        let pf = parse(&s).unwrap();
        assert_eq!(pf.files.len() + 1, good.files.len(), "{name}");
        assert_eq!(pf.files[..], good.files[1..], "{name}");
        assert_eq!(pf.warnings.len(), 1, "{name}");
        assert!(
            pf.warnings[0].contains(&format!("entry 0 at {metrics:#x}")),
            "{name}: {:?}",
            pf.warnings
        );
        let _ = entry;
    }
}

#[test]
fn unknown_versions_are_unsupported() {
    for (name, scca, _) in streams().into_iter().take(1) {
        let mut s = scca.clone();
        put(&mut s, 0, 99);
        let e = parse(&s).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Unsupported {
                    layer: "file header",
                    offset: 0,
                    ..
                }
            ),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("99"), "{e}");
    }
}

#[test]
fn lying_mam_headers() {
    // 4 GiB claimed: refused before any allocation.
    let mut f = b"MAM\x04\xff\xff\xff\xff".to_vec();
    f.extend_from_slice(&[0u8; 300]);
    let e = parse(&f).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                layer: "MAM header",
                offset: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("4294967295"), "{e}");
    // Just above the limit.
    put(&mut f, 4, triage_prefetch::MAX_UNCOMPRESSED + 1);
    assert!(matches!(
        parse(&f),
        Err(Error::Unsupported { offset: 4, .. })
    ));
    // Within the limit but no data to produce it.
    put(&mut f, 4, 1 << 20);
    let e = parse(&f).unwrap_err();
    assert_eq!(corrupt(&e).0, "MAM header", "{e}");
    // Other MAM types are named and refused.
    for t in [0x01u8, 0x02, 0x03, 0x84] {
        let mut g = f.clone();
        g[3] = t;
        let e = parse(&g).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Unsupported {
                    layer: "MAM header",
                    offset: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("{t:#04x}")), "{e}");
    }
    // Short headers.
    for n in 0..8 {
        assert!(parse(&b"MAM\x04\x10\0\0\0"[..n]).is_err());
    }
    // A MAM file whose payload is a valid stream of a non-SCCA buffer: the error is
    // about the decompressed data.
    if let Some((_, _, file)) = streams()
        .into_iter()
        .find(|(_, _, f)| f.starts_with(b"MAM"))
    {
        let mut g = file.clone();
        // Declare fewer bytes than the stream holds: decodes, then the SCCA inside is cut.
        put(&mut g, 4, 0x60);
        let e = parse(&g).unwrap_err();
        assert!(e.to_string().contains("decompressed"), "{e}");
    }
}
