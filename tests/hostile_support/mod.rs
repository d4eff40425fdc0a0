//! Running the real binary on hostile input: each run in its own process, watched for
//! time and anonymous memory (the peak of `RssAnon`, polled from `/proc/PID/status`),
//! and judged by exit code and by the text a panic leaves behind.
#![allow(dead_code)]

pub mod image;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_smss-triage")
}

/// Wall-clock limit of one run (issue #14: 20 s).
pub const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Anonymous-memory limit of one run (issue #14: 512 MB).
pub const ANON_LIMIT_KB: u64 = 512 * 1024;

/// What one watched run did.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The exit code; `None` when a signal ended it (including our kill).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak `RssAnon` seen by the poll, in KiB.
    pub peak_anon_kb: u64,
    /// `VmHWM` (peak resident set, file pages included) at the last poll, in KiB.
    pub hwm_kb: u64,
    pub timed_out: bool,
    pub over_memory: bool,
}

/// The texts a panic leaves: the default hook's line, and what the batch driver writes
/// for a panic it caught (`src/analyse/mod.rs`: "internal error (please report)").
pub const PANIC_MARKS: [&str; 4] = [
    "panicked at",
    "internal error (please report)",
    "has overflowed its stack",
    "memory allocation of",
];

impl Run {
    /// Why this run breaks the rules (exit 0, 1 or 3; no panic, caught or not;
    /// under the time and memory limits), or `None`.
    pub fn violation(&self) -> Option<String> {
        if self.timed_out {
            return Some(format!("timed out after {:?}", self.elapsed));
        }
        if self.over_memory {
            return Some(format!("RssAnon {} KiB over the limit", self.peak_anon_kb));
        }
        for mark in PANIC_MARKS {
            if self.stderr.contains(mark) || self.stdout.contains(mark) {
                let line = self
                    .stderr
                    .lines()
                    .chain(self.stdout.lines())
                    .find(|l| l.contains(mark))
                    .unwrap_or("");
                return Some(format!("panic: {}", clip(line, 300)));
            }
        }
        match self.code {
            Some(0 | 1 | 3) => None,
            Some(c) => Some(format!("exit code {c}: {}", clip(&self.stderr, 300))),
            None => Some(format!("killed by a signal: {}", clip(&self.stderr, 300))),
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Read `RssAnon` and `VmHWM` (KiB) of a live process.
fn poll_status(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("RssAnon:").unwrap_or(0), field("VmHWM:").unwrap_or(0)))
}

/// Run `smss-triage ARGS` with `cwd`, watched: killed past [`TIME_LIMIT`] or
/// [`ANON_LIMIT_KB`]. Output is kept up to 1 MiB per stream (enough to find a panic line).
///
/// Where util-linux's `prlimit` is installed the child also runs under `RLIMIT_DATA` of
/// 1 GiB (it execs the binary, so the PID polled is the binary's): a backstop for a
/// spike shorter than the poll interval, which then fails the run by aborting it.
pub fn run(args: &[&str], cwd: &Path) -> Run {
    let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let mut cmd = match prlimit {
        Some(p) => {
            let mut c = Command::new(p);
            c.arg(format!("--data={}", 1u64 << 30)).arg("--").arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    run_cmd(cmd.args(args).current_dir(cwd))
}

/// As [`run`], for any command.
pub fn run_cmd(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let pid = child.id();
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut r) = r {
                let mut buf = [0u8; 64 * 1024];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    // Keep the head; a panic line is short and comes early or at the end.
                    if kept.len() < 1 << 20 {
                        kept.extend_from_slice(&buf[..n]);
                    } else {
                        let keep_from = kept.len() - 4096;
                        kept.drain(..keep_from.min(kept.len()));
                        kept.extend_from_slice(&buf[..n]);
                    }
                }
            }
            String::from_utf8_lossy(&kept).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let mut run = Run::default();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if let Some((anon, hwm)) = poll_status(pid) {
            run.peak_anon_kb = run.peak_anon_kb.max(anon);
            run.hwm_kb = run.hwm_kb.max(hwm);
        }
        let over_time = started.elapsed() > TIME_LIMIT;
        let over_mem = run.peak_anon_kb > ANON_LIMIT_KB;
        if over_time || over_mem {
            run.timed_out = over_time;
            run.over_memory = over_mem;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    run.elapsed = started.elapsed();
    run.code = status.code();
    run.stdout = out.join().unwrap_or_default();
    run.stderr = err.join().unwrap_or_default();
    run
}

/// splitmix64: a small deterministic generator, seeded per sample.
pub struct Rng(pub u64);

impl Rng {
    pub fn seeded(name: &str) -> Rng {
        // FNV-1a of the name: the same sample always gets the same mutants.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}
