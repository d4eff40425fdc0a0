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

/// Wall seconds, CPU seconds, bytes restored.
fn restore(file: &Arc<Vec<u8>>) -> (f64, f64, u64) {
    let src = Arc::new(Shared(file.clone()));
    let mem = open_source(src).expect("open hiberfil");
    let cpu = cpu_seconds();
    let t = Instant::now();
    let chunks: Vec<(u64, u64)> = mem
        .ranges()
        .iter()
        .flat_map(|r| {
            (r.start..r.end)
                .step_by(1 << 20)
                .map(move |s| (s, (s + (1 << 20)).min(r.end)))
        })
        .collect();
    let bytes: u64 = chunks
        .par_iter()
        .map_init(
            || vec![0u8; 1 << 20],
            |buf, &(s, e)| {
                let n = (e - s) as usize;
                assert!(mem.read(s, &mut buf[..n]).is_full());
                n as u64
            },
        )
        .sum();
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
    for (name, pages) in [
        ("binaries", &binaries as &dyn Fn(u64, &mut [u8])),
        ("noise", &noise),
    ] {
        for (cname, c) in [
            ("xpress", HiberCompression::Xpress),
            ("huffman", HiberCompression::XpressHuffman),
        ] {
            let mut file = Vec::new();
            let stats = write_pages(pages, &runs, 19041, 0, c, &mut file).unwrap();
            let file_len = file.len() as u64;
            let file = Arc::new(file);
            let best = (0..3)
                .map(|_| restore(&file))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            println!(
                "hiberfil {name:8} {cname:7} {:5} MiB restored, file {:5} MiB ({} of {} sets stored), {threads} threads: {:7.1} MB/s wall, {:7.1} MB per CPU-second",
                best.2 >> 20,
                file_len >> 20,
                stats.stored_sets,
                stats.sets,
                best.2 as f64 / 1e6 / best.0,
                best.2 as f64 / 1e6 / best.1.max(0.01),
            );
        }
    }
}
