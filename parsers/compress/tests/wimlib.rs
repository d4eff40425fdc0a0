//! XPRESS Huffman, LZX and the chunk table against wimlib, an independent compressor of
//! exactly the WIM/WOF formats: capture a directory of varied files, parse the WIM here,
//! decode every compressed resource and check its SHA-1 against wimlib's lookup table
//! and against the source files.

mod common;

use sha1::{Digest, Sha1};
use std::collections::HashSet;
use std::process::Command;
use triage_compress::wof::ChunkedStream;
use triage_compress::{Algorithm, DecompressError};

const RESHDR_COMPRESSED: u8 = 0x04;
const RESHDR_SOLID: u8 = 0x10;
const WIM_COMPRESS_XPRESS: u32 = 0x0002_0000;
const WIM_COMPRESS_LZX: u32 = 0x0004_0000;

struct Reshdr {
    size_in_wim: u64,
    flags: u8,
    offset: u64,
    original_size: u64,
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn reshdr(b: &[u8]) -> Reshdr {
    let mut size = [0u8; 8];
    size[..7].copy_from_slice(&b[..7]);
    Reshdr {
        size_in_wim: u64::from_le_bytes(size),
        flags: b[7],
        offset: u64_at(b, 8),
        original_size: u64_at(b, 16),
    }
}

#[derive(Default)]
struct Stats {
    compressed_resources: usize,
    chunks: u64,
    raw_chunks: u64,
    mutated: u32,
}

/// Damage a real compressed chunk in assorted ways: decoding must fail cleanly (an
/// error naming an offset inside the input) or produce exactly the chunk's length.
fn mutate(alg: Algorithm, chunk: &[u8], ulen: usize, chunk_size: u32, seed: u64) {
    let mut r = common::Rng::new(seed);
    for k in 0..25 {
        let mut m = chunk.to_vec();
        match k % 5 {
            0 => m.truncate((r.next() % m.len() as u64) as usize),
            1 | 2 => {
                for _ in 0..1 + k % 3 {
                    let i = (r.next() % m.len() as u64) as usize;
                    m[i] ^= 1 << (r.next() % 8);
                }
            }
            3 => {
                let i = (r.next() % m.len().min(300) as u64) as usize;
                m[i] = (r.next() >> 56) as u8;
            }
            _ => m.extend_from_slice(&[0xFF; 7]),
        }
        let res = match alg {
            Algorithm::Lzx => {
                triage_compress::lzx::decompress_window(&m, ulen, chunk_size as usize)
            }
            _ => triage_compress::decompress(alg, &m, ulen),
        };
        match res {
            Ok(out) => assert_eq!(out.len(), ulen),
            Err(e) => assert!(e.offset().unwrap() as usize <= m.len(), "{e}"),
        }
    }
}

/// Decode one resource of `wim`, reading it only through positioned reads.
fn read_resource(
    wim: &[u8],
    r: &Reshdr,
    alg: Algorithm,
    chunk_size: u32,
    stats: &mut Stats,
) -> Vec<u8> {
    let start = r.offset as usize;
    let stored = &wim[start..start + r.size_in_wim as usize];
    if r.flags & RESHDR_COMPRESSED == 0 {
        assert_eq!(r.size_in_wim, r.original_size);
        return stored.to_vec();
    }
    assert_eq!(
        r.flags & RESHDR_SOLID,
        0,
        "a solid resource: --solid must not be used"
    );
    let cs = ChunkedStream::parse(r.size_in_wim, r.original_size, chunk_size, |off, len| {
        Ok::<_, DecompressError>(stored[off as usize..off as usize + len].to_vec())
    })
    .unwrap();
    stats.compressed_resources += 1;
    let mut out = Vec::new();
    for i in 0..cs.chunk_count() {
        let (off, slen, ulen) = cs.chunk_range(i).unwrap();
        let bytes = &stored[off as usize..(off + slen) as usize];
        let chunk = cs
            .decode_chunk(alg, i, bytes)
            .unwrap_or_else(|e| panic!("chunk {i} of the resource at {start:#x}: {e}"));
        assert_eq!(chunk.len(), ulen);
        stats.chunks += 1;
        if (slen as usize) < ulen && stats.mutated < 40 {
            stats.mutated += 1;
            mutate(alg, bytes, ulen, chunk_size, stats.chunks);
        }
        stats.raw_chunks += u64::from(slen as usize == ulen);
        out.extend_from_slice(&chunk);
    }
    assert!(cs.chunk_range(cs.chunk_count()).is_none());
    out
}

/// Capture `files` with wimlib; returns the WIM's bytes and its algorithm.
fn capture(
    compress: &str,
    chunk_size: u32,
    files: &[(String, Vec<u8>)],
) -> Option<(Vec<u8>, Algorithm)> {
    let wimlib = triage_testkit::tool("wimlib-imagex")?;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    common::write_corpus(&src, files);
    let wim_path = tmp.path().join("out.wim");
    let st = Command::new(wimlib)
        .arg("capture")
        .arg(&src)
        .arg(&wim_path)
        .arg(format!("--compress={compress}"))
        .arg(format!("--chunk-size={chunk_size}"))
        .arg("--threads=1")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "wimlib-imagex: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let wim = std::fs::read(&wim_path).unwrap();
    assert_eq!(&wim[..8], b"MSWIM\0\0\0");
    assert_eq!(u32_at(&wim, 8), 208);
    let flags = u32_at(&wim, 16);
    let alg = if flags & WIM_COMPRESS_LZX != 0 {
        Algorithm::Lzx
    } else if flags & WIM_COMPRESS_XPRESS != 0 {
        Algorithm::XpressHuffman
    } else {
        panic!("WIM flags {flags:#x}: not XPRESS or LZX")
    };
    assert_eq!(u32_at(&wim, 20), chunk_size);
    Some((wim, alg))
}

fn check(compress: &str, chunk_size: u32) {
    let mut files = common::corpus();
    // One chunk of noise then one of text: wimlib stores the first chunk raw.
    let mut halves = common::Rng::new(11).bytes(chunk_size as usize);
    halves.extend(common::text(12, chunk_size as usize));
    files.push(("halves.bin".to_string(), halves));
    let Some((wim, alg)) = capture(compress, chunk_size, &files) else {
        return;
    };
    let mut stats = Stats::default();
    let table = read_resource(&wim, &reshdr(&wim[48..72]), alg, chunk_size, &mut stats);
    assert_eq!(table.len() % 50, 0);

    let mut decoded = HashSet::new();
    for e in table.chunks_exact(50) {
        let r = reshdr(&e[..24]);
        let data = read_resource(&wim, &r, alg, chunk_size, &mut stats);
        assert_eq!(data.len() as u64, r.original_size);
        let sha: [u8; 20] = Sha1::digest(&data).into();
        assert_eq!(
            &sha[..],
            &e[30..50],
            "resource at {:#x}: SHA-1 differs from wimlib's",
            r.offset
        );
        decoded.insert(sha);
    }
    for (name, bytes) in &files {
        let sha: [u8; 20] = Sha1::digest(bytes).into();
        assert!(
            decoded.contains(&sha),
            "{name}: no decoded resource has its SHA-1"
        );
    }
    assert!(
        stats.compressed_resources >= 5,
        "only {} compressed resources",
        stats.compressed_resources
    );
    assert!(stats.raw_chunks >= 1, "no chunk was stored raw");
    assert!(
        stats.chunks >= stats.raw_chunks + 8,
        "{} chunks, {} raw",
        stats.chunks,
        stats.raw_chunks
    );
}

#[test]
fn xpress_4k_matches_wimlib() {
    check("XPRESS", 4096);
}

#[test]
fn xpress_8k_matches_wimlib() {
    check("XPRESS", 8192);
}

#[test]
fn xpress_16k_matches_wimlib() {
    check("XPRESS", 16384);
}

#[test]
fn xpress_64k_matches_wimlib() {
    check("XPRESS", 65536);
}

#[test]
fn lzx_32k_matches_wimlib() {
    check("LZX", 32768);
}

/// Larger windows: more offset slots and 24-bit block sizes (WIM only; WOF is 32 KiB).
#[test]
fn lzx_256k_matches_wimlib() {
    check("LZX", 262144);
}

/// Decoding speed on real PE files (CompactOS decodes System32 on every scan). Run:
/// `cargo test -p triage-compress --release --test wimlib -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    let Some(dir) = triage_testkit::pe_dir() else {
        return;
    };
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("genuine-win11-22621"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    for (compress, chunk_size) in [("XPRESS", 4096u32), ("XPRESS", 16384), ("LZX", 32768)] {
        let Some((wim, alg)) = capture(compress, chunk_size, &files) else {
            return;
        };
        let table = read_resource(
            &wim,
            &reshdr(&wim[48..72]),
            alg,
            chunk_size,
            &mut Stats::default(),
        );
        let mut chunks = Vec::new();
        for e in table.chunks_exact(50) {
            let r = reshdr(&e[..24]);
            if r.flags & RESHDR_COMPRESSED == 0 || r.flags & 0x02 != 0 {
                continue;
            }
            let stored = &wim[r.offset as usize..(r.offset + r.size_in_wim) as usize];
            let cs = ChunkedStream::parse(r.size_in_wim, r.original_size, chunk_size, |o, l| {
                Ok::<_, DecompressError>(stored[o as usize..o as usize + l].to_vec())
            })
            .unwrap();
            for i in 0..cs.chunk_count() {
                let (o, l, u) = cs.chunk_range(i).unwrap();
                if (l as usize) < u {
                    chunks.push((stored[o as usize..(o + l) as usize].to_vec(), u));
                }
            }
        }
        let total: usize = chunks.iter().map(|c| c.1).sum();
        let speed = common::throughput(total, || {
            for (c, u) in &chunks {
                let out = match alg {
                    Algorithm::Lzx => {
                        triage_compress::lzx::decompress_window(c, *u, chunk_size as usize)
                    }
                    _ => triage_compress::decompress(alg, c, *u),
                };
                assert_eq!(out.unwrap().len(), *u);
            }
        });
        println!(
            "{compress} {chunk_size}: {speed:.0} MiB/s per CPU second ({} compressed chunks, {:.1} MiB per round)",
            chunks.len(),
            total as f64 / (1 << 20) as f64
        );
    }
}
