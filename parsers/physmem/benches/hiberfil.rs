//! Restore speed of the hibernation reader: MB/s of physical memory read back through
//! `PhysicalMemory::read` from a cold open, all pages, with rayon's pool (set
//! `RAYON_NUM_THREADS=2` for the two cores). Run by `benches/mem/hiberfil.sh`.
//!
//! The memory is compressible like real memory: pages of this machine's own binaries and
//! libraries (code and data), so sets really decompress. Generated images are mostly
//! noise, which Windows and memgen store uncompressed; that case is measured too.
//! Env: `HIBERFIL_MB` (default 512).

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use triage_memgen::{write_pages, HiberCompression};
use triage_physmem::hiberfil::open_source;
use triage_physmem::PhysicalMemory;
use triage_source::{ByteSource, Location};

/// The file in memory (shared, zero-copy like a memory-mapped file): benchmarks must
/// not need free disk space.
struct Shared(Arc<Vec<u8>>);

impl ByteSource for Shared {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn location(&self) -> &Location {
        static LOC: std::sync::OnceLock<Location> = std::sync::OnceLock::new();
        LOC.get_or_init(|| Location::new("bench hiberfil.sys"))
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> triage_source::Result<usize> {
        let rest = self.0.get(offset as usize..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(&self.0)
    }
}

fn corpus(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes);
    let mut dirs = vec![
        std::path::PathBuf::from("/usr/lib/x86_64-linux-gnu"),
        "/usr/bin".into(),
    ];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if out.len() >= bytes {
                return out;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.extend_from_slice(&b[..b.len().min(bytes - out.len())]);
            }
        }
    }
    // Not enough files: repeat what there is.
    let have = out.len().max(1);
    while out.len() < bytes {
        let take = (bytes - out.len()).min(have);
        out.extend_from_within(..take);
    }
    out
}

/// CPU seconds used by this process so far (all threads), from /proc/self/stat: on a
/// loaded machine wall time says little, CPU time says what two free cores would do.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name; 100 Hz ticks.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// How the memory is restored.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `PhysicalMemory::read` of 1 MiB pieces in parallel (through the set cache).
    Read,
    /// What the pool scan does: 4 MiB pieces in parallel through
    /// `PhysicalMemory::for_each_page`, a `memmem` for `Proc` over every page.
    Scan,
}

/// Wall seconds, CPU seconds, bytes restored.
fn restore(file: &Arc<Vec<u8>>, mode: Mode) -> (f64, f64, u64) {
    let src = Arc::new(Shared(file.clone()));
    let mem = open_source(src).expect("open hiberfil");
    let cpu = cpu_seconds();
    let t = Instant::now();
    let piece: u64 = if mode == Mode::Read { 1 << 20 } else { 4 << 20 };
    let chunks: Vec<(u64, u64)> = mem
        .ranges()
        .iter()
        .flat_map(|r| {
            (r.start..r.end)
                .step_by(piece as usize)
                .map(move |s| (s, (s + piece).min(r.end)))
        })
        .collect();
    let finder = memchr::memmem::Finder::new(b"Proc");
    let bytes: u64 = chunks
        .par_iter()
        .map_init(
            || vec![0u8; piece as usize],
            |buf, &(s, e)| match mode {
                Mode::Read => {
                    let n = (e - s) as usize;
                    assert!(mem.read(s, &mut buf[..n]).is_full());
                    n as u64
                }
                Mode::Scan => {
                    let (mut n, mut tags) = (0u64, 0usize);
                    mem.for_each_page(s, e, &mut |_, p| {
                        n += p.len() as u64;
                        tags += finder.find_iter(p).count();
                    });
                    std::hint::black_box(tags);
                    assert_eq!(n, e - s);
                    n
                }
            },
        )
        .sum();
    assert!(mem.read_errors().is_empty());
    (t.elapsed().as_secs_f64(), cpu_seconds() - cpu, bytes)
}

fn main() {
    let mb: u64 = std::env::var("HIBERFIL_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let size = mb << 20;
    let data = corpus(size as usize);
    let noise = |pfn: u64, buf: &mut [u8]| {
        let mut x = pfn.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for c in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
    };
    let binaries = |pfn: u64, buf: &mut [u8]| {
        let at = (pfn * 4096) as usize;
        buf.copy_from_slice(&data[at..at + 4096]);
    };
    let runs = [(0x1000u64, 0x9F000u64), (0x10_0000, size)];
    let threads = rayon::current_num_threads();
    // HIBERFIL_CASES=binaries-xpress,noise-huffman picks cases (for a profile);
    // HIBERFIL_RUNS (3) restores per case, the best is printed.
    let cases = std::env::var("HIBERFIL_CASES").unwrap_or_default();
    let repeat: usize = std::env::var("HIBERFIL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for (name, pages) in [
        ("binaries", &binaries as &dyn Fn(u64, &mut [u8])),
        ("noise", &noise),
    ] {
        for (cname, c) in [
            ("xpress", HiberCompression::Xpress),
            ("huffman", HiberCompression::XpressHuffman),
        ] {
            if !cases.is_empty() && !cases.split(',').any(|k| k == format!("{name}-{cname}")) {
                continue;
            }
            let mut file = Vec::new();
            let stats = write_pages(pages, &runs, 19041, 0, c, &mut file).unwrap();
            let file_len = file.len() as u64;
            let file = Arc::new(file);
            for (mname, mode) in [("read", Mode::Read), ("scan", Mode::Scan)] {
                let best = (0..repeat.max(1))
                    .map(|_| restore(&file, mode))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap();
                let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
                println!(
                "hiberfil {name:8} {cname:7} {mname}: {:5} MiB restored, file {:5} MiB ({} of {} sets stored), {threads} threads: {:7.1} MB/s wall, {:7.1} MB per CPU-second, load {}",
                best.2 >> 20,
                file_len >> 20,
                stats.stored_sets,
                stats.sets,
                best.2 as f64 / 1e6 / best.0,
                best.2 as f64 / 1e6 / best.1.max(0.01),
                load.split_whitespace().next().unwrap_or("?"),
            );
            }
        }
    }
}
