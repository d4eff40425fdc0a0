//! Single-thread cost of each whole-file pass of `analyze` over one buffer
//! (the files of DIR concatenated, from the page cache), in MB/s: md5, sha1,
//! sha256, the PE checksum, the entropy histogram and `analyze` itself. Used
//! to decide the md-5 `asm` feature and to see what is not hashing. The md5,
//! sha1 and sha256 lines are the hash crates; `file_hashes` is the fused
//! kernel (`src/fused`) where the CPU has SHA-NI.
//!
//! cargo run --release -p triage-pe --example hash_parts -- DIR [ROUNDS]

use std::hint::black_box;
use std::path::Path;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

fn files(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push(b);
        }
    }
}

/// CPU time of this thread in seconds, so time spent preempted on a loaded
/// machine does not count.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// `f` over each piece, best of `rounds` per piece (CPU time), summed.
fn time<T>(name: &str, pieces: &[T], bytes: usize, rounds: usize, mut f: impl FnMut(&T)) {
    let mut total = 0.0;
    for p in pieces {
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let t0 = cpu_now();
            f(p);
            best = best.min(cpu_now() - t0);
        }
        total += best;
    }
    println!(
        "{name:<28} {:>8.1} MB/s  {:>7.2} ms",
        bytes as f64 / 1e6 / total,
        total * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .map(String::as_str)
        .unwrap_or("../shared/samples/pe");
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(15);
    let mut bufs = Vec::new();
    files(Path::new(dir), &mut bufs);
    let all: Vec<u8> = bufs.concat();
    let n = all.len();
    let pieces: Vec<&[u8]> = all.chunks(1 << 20).collect();
    println!(
        "{} files, {n} bytes; best of {rounds} rounds per MiB, one thread",
        bufs.len()
    );
    time("md5", &pieces, n, rounds, |p| {
        black_box(Md5::digest(p));
    });
    time("sha1", &pieces, n, rounds, |p| {
        black_box(Sha1::digest(p));
    });
    time("sha256", &pieces, n, rounds, |p| {
        black_box(Sha256::digest(p));
    });
    time("checksum", &pieces, n, rounds, |p| {
        black_box(triage_pe::pe_checksum(p, 0xd8));
    });
    time("entropy", &pieces, n, rounds, |p| {
        black_box(triage_pe::shannon_entropy(p));
    });
    // md5+sha1+sha256 through the fused SHA-NI kernel where the CPU has one.
    time("file_hashes (fused)", &pieces, n, rounds, |p| {
        black_box(triage_pe::file_hashes(p));
    });
    // Four streams (the file's three and the Authenticode SHA-256) fed in
    // turn, block by block: small blocks let the CPU overlap one hash's
    // dependency chain with the next one's work.
    for block in [64usize, 128, 256, 32 * 1024] {
        let name = format!("3 streams, {block} B blocks");
        time(&name, &pieces, n, rounds, |p| {
            let (mut a, mut b, mut c) = (Md5::new(), Sha1::new(), Sha256::new());
            for chunk in p.chunks(block) {
                a.update(chunk);
                b.update(chunk);
                c.update(chunk);
            }
            black_box((a.finalize(), b.finalize(), c.finalize()));
        });
    }
    for block in [64usize, 128, 256, 32 * 1024] {
        let name = format!("4 streams, {block} B blocks");
        time(&name, &pieces, n, rounds, |p| {
            let (mut a, mut b, mut c, mut d) =
                (Md5::new(), Sha1::new(), Sha256::new(), Sha256::new());
            for chunk in p.chunks(block) {
                a.update(chunk);
                b.update(chunk);
                c.update(chunk);
                d.update(chunk);
            }
            black_box((a.finalize(), b.finalize(), c.finalize(), d.finalize()));
        });
    }
    for block in [64usize, 128] {
        let name = format!("4 streams + histogram, {block} B");
        time(&name, &pieces, n, rounds, |p| {
            let (mut a, mut b, mut c, mut d) =
                (Md5::new(), Sha1::new(), Sha256::new(), Sha256::new());
            let mut h = [[0u32; 256]; 4];
            for chunk in p.chunks(block) {
                a.update(chunk);
                b.update(chunk);
                c.update(chunk);
                d.update(chunk);
                for q in chunk.chunks_exact(4) {
                    h[0][usize::from(q[0])] += 1;
                    h[1][usize::from(q[1])] += 1;
                    h[2][usize::from(q[2])] += 1;
                    h[3][usize::from(q[3])] += 1;
                }
            }
            black_box((a.finalize(), b.finalize(), c.finalize(), d.finalize(), h));
        });
    }
    for hashes in [false, true] {
        let name = format!("analyze (hashes: {hashes})");
        time(&name, &bufs, n, rounds, |b| {
            let _ = black_box(triage_pe::analyze(b, &triage_pe::Options { hashes }));
        });
    }
}
