//! The decoders against independent third-party codecs:
//! - LZNT1: the `lznt1` crate's compressor; our output must be the original data.
//! - plain XPRESS: `xpress_rs`'s compressor (its author tests it against Windows'
//!   compression API), likewise.
//! - XPRESS Huffman: real Windows 10 prefetch files (MAM, compressed by Windows, some
//!   of them several 64 KiB blocks), also decoded by the `xpress-huffman` crate.

mod common;

use triage_compress::{decompress, lznt1, xpress, xpress_huffman, Algorithm, DecompressError};
use xpress_rs::lz77::LZ77Compressor;

fn inputs() -> Vec<(String, Vec<u8>)> {
    let v = vec![
        ("text", common::text(21, 50_000)),
        ("zeros", vec![0; 70_000]),
        ("period3", (0..30_000u32).map(|i| (i % 3) as u8).collect()),
        ("random", common::Rng::new(4).bytes(9_000)),
        ("calls", common::calls(8, 20_000)),
        ("short", b"abcabcabcabcabd".to_vec()),
        ("one", vec![b'x']),
    ];
    v.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

#[test]
fn lznt1_round_trips_the_lznt1_crate() {
    let mut files = inputs();
    files.extend(common::corpus());
    for (name, data) in files {
        let mut packed = Vec::new();
        ::lznt1::compress(&data, &mut packed);
        let got = lznt1::decompress(&packed, data.len()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == data, "{name}: round trip differs");
        // The declared size bounds the output: one byte less is a bomb, unless it falls
        // on a chunk boundary, where decoding stops (NTFS slack follows a unit).
        if data.len() > 1 {
            let bomb = lznt1::decompress(&packed, data.len() - 1);
            if (data.len() - 1) % 4096 == 0 {
                assert!(bomb.unwrap() == data[..data.len() - 1], "{name}");
            } else {
                assert!(
                    matches!(bomb, Err(DecompressError::TooLarge { .. })),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn xpress_round_trips_xpress_rs() {
    // xpress_rs's compressor panics on incompressible data: no random input here.
    for (name, data) in inputs().into_iter().filter(|(n, _)| n != "random") {
        let packed = LZ77Compressor::new(data.clone()).compress().unwrap();
        let got = xpress::decompress(&packed, data.len()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == data, "{name}: round trip differs");
        let bomb = decompress(Algorithm::Xpress, &packed, data.len() - 1);
        assert!(
            matches!(bomb, Err(DecompressError::TooLarge { .. })),
            "{name}"
        );
        // Cut anywhere inside, the stream either errors or decodes a prefix.
        for cut in [packed.len() / 3, packed.len() - 1] {
            if let Ok(part) = xpress::decompress(&packed[..cut], data.len()) {
                assert!(data.starts_with(&part), "{name}: cut to {cut}");
            }
        }
    }
}

#[test]
fn xpress_huffman_decodes_windows_prefetch_like_xpress_huffman_crate() {
    let Some(dir) = triage_testkit::sample_dir("prefetch") else {
        return;
    };
    let (mut checked, mut multi_block, mut exact) = (0, 0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.display();
        let raw = std::fs::read(&path).unwrap();
        if raw.len() < 8 || &raw[..4] != b"MAM\x04" {
            continue;
        }
        let size = u32::from_le_bytes(raw[4..8].try_into().unwrap()) as usize;
        let body = &raw[8..];
        let ours = xpress_huffman::decompress(body, size).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ours.len(), size);
        // xpress-huffman stops once its reader has loaded the last input word, which can
        // leave the final symbols undecoded: its output must be a prefix of ours, short
        // by at most a few bytes.
        let theirs = ::xpress_huffman::decompress(body, size).unwrap();
        assert!(
            theirs.len() + 8 >= size && ours.starts_with(&theirs),
            "{name}: differs from xpress-huffman ({} of {size} bytes)",
            theirs.len()
        );
        exact += usize::from(theirs.len() == size);
        // A prefetch file: version, "SCCA", then its own size.
        assert_eq!(&ours[4..8], b"SCCA", "{name}");
        assert_eq!(
            u32::from_le_bytes(ours[12..16].try_into().unwrap()) as usize,
            size
        );
        checked += 1;
        multi_block += usize::from(size > 65536);
        // Truncated input: an error, never a panic or a wrong success. (The last word
        // may hold only the end-of-stream symbol, so a 1- or 2-byte cut may decode.)
        for cut in [body.len() - 2, body.len() - 1] {
            if let Ok(out) = xpress_huffman::decompress(&body[..cut], size) {
                assert!(out == ours, "{name}: cut to {cut} decoded differently");
            }
        }
        for cut in [body.len() / 2, 300, 255, 3, 0] {
            let r = xpress_huffman::decompress(&body[..cut], size);
            assert!(
                matches!(r, Err(DecompressError::Truncated { .. })),
                "{name}: cut to {cut}: {:?}",
                r.map(|v| v.len())
            );
        }
    }
    assert!(checked >= 5, "only {checked} MAM prefetch files");
    assert!(multi_block >= 2, "only {multi_block} multi-block streams");
    assert!(
        exact >= 4,
        "xpress-huffman agreed fully on only {exact} files"
    );
}

/// LZNT1 decoding speed. Run:
/// `cargo test -p triage-compress --release --test crates -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    let files = common::corpus();
    let packed: Vec<(Vec<u8>, usize)> = files
        .iter()
        .map(|(_, d)| {
            let mut p = Vec::new();
            ::lznt1::compress(d, &mut p);
            (p, d.len())
        })
        .collect();
    let total: usize = packed.iter().map(|p| p.1).sum();
    let speed = common::throughput(total, || {
        for (p, n) in &packed {
            assert_eq!(lznt1::decompress(p, *n).unwrap().len(), *n);
        }
    });
    println!("LZNT1: {speed:.0} MiB/s per CPU second");
}
