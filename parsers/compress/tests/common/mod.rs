//! Test inputs made at test time: varied data every decoder must round-trip.
#![allow(dead_code)]

use std::path::Path;

/// A small deterministic PRNG (xorshift64*), so the inputs are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

/// Text of `n` bytes from a small vocabulary: compressible, with matches of all lengths.
pub fn text(seed: u64, n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "system",
        "session",
        "manager",
        "smss",
        "exe",
        "windows",
        "kernel",
        "boot",
        "registry",
        "hive",
        "volume",
        "shadow",
        "copy",
        "compressed",
        "\n",
        "of",
        "and",
        "a",
        "csrss",
        "wininit",
        "winlogon",
        "services",
        "lsass",
        "0x1f",
        "C:\\Windows\\System32",
    ];
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(n + 32);
    while out.len() < n {
        out.extend_from_slice(WORDS[(r.next() % WORDS.len() as u64) as usize].as_bytes());
        out.push(b' ');
    }
    out.truncate(n);
    out
}

/// Bytes with many 0xE8 (x86 CALL) opcodes followed by assorted 32-bit targets, so the
/// LZX E8 translation is exercised on positive, negative and out-of-range targets.
pub fn calls(seed: u64, n: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        match r.next() % 4 {
            0 => {
                out.push(0xE8);
                let t: i32 = match r.next() % 4 {
                    0 => (r.next() % 40000) as i32,
                    1 => -((r.next() % 40000) as i32),
                    2 => 12_000_000 + (r.next() % 100) as i32,
                    _ => r.next() as i32,
                };
                out.extend_from_slice(&t.to_le_bytes());
            }
            1 => out.extend_from_slice(b"\x55\x8b\xec\x83\xec\x10"),
            _ => out.push((r.next() >> 60) as u8),
        }
    }
    out.truncate(n);
    out
}

/// The inputs as (name, bytes), generated ones plus real PE files when the shared
/// samples are present.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut r = Rng::new(7);
    let mut mixed = Vec::new();
    for k in 0..24 {
        if k % 3 == 0 {
            mixed.extend(r.bytes(4096));
        } else {
            mixed.extend(text(k, 4096));
        }
    }
    let mut files = vec![
        ("text.txt".to_string(), text(1, 300_000)),
        ("zeros.bin".to_string(), vec![0u8; 200_000]),
        (
            "period7.bin".to_string(),
            (0..100_000u32).map(|i| (i % 7) as u8 * 31).collect(),
        ),
        ("random.bin".to_string(), Rng::new(3).bytes(70_000)),
        ("mixed.bin".to_string(), mixed),
        ("calls.bin".to_string(), calls(5, 150_000)),
        ("tiny.txt".to_string(), b"smss\n".to_vec()),
        (
            "eleven.bin".to_string(),
            b"\xe8\x01\x02\x03\x04abc\xe8\x00\x00".to_vec(),
        ),
        ("odd.bin".to_string(), text(9, 32769)),
    ];
    if let Some(dir) = triage_testkit::pe_dir() {
        let dir = dir.join("genuine-win11-22621");
        for name in ["smss.exe", "csrss.exe", "wininit.exe", "services.exe"] {
            if let Ok(b) = std::fs::read(dir.join(name)) {
                files.push((name.to_string(), b));
            }
        }
    }
    files
}

pub fn write_corpus(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// CPU time this thread has run, in seconds (from schedstat), so speed measurements
/// are fair on a shared, loaded machine. `None` where /proc does not have it.
pub fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Run `f` repeatedly for about a second of CPU time; returns MiB/s of `bytes_per_run`
/// per CPU second (wall time when CPU time is unavailable).
pub fn throughput(bytes_per_run: usize, mut f: impl FnMut()) -> f64 {
    let wall = std::time::Instant::now();
    let cpu0 = thread_cpu_secs();
    let mut runs = 0usize;
    let elapsed = || match (cpu0, thread_cpu_secs()) {
        (Some(a), Some(b)) => b - a,
        _ => wall.elapsed().as_secs_f64(),
    };
    while elapsed() < 1.0 {
        f();
        runs += 1;
    }
    (bytes_per_run * runs) as f64 / (1 << 20) as f64 / elapsed()
}
