//! `cargo run --release -p triage-regf --example walk -- HIVE [LOG...]`: full walk, prints counts.
use std::time::Instant;
use triage_regf::{Hive, HiveBuf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: walk HIVE [LOG1 LOG2 ...]");
        std::process::exit(2);
    };
    let t = Instant::now();
    let file = std::fs::File::open(path).unwrap_or_else(|e| fail(path, e));
    // SAFETY: read-only map of an evidence file nobody writes while we read it.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap_or_else(|e| fail(path, e));
    let logs: Vec<(String, Vec<u8>)> = args[1..]
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap_or_else(|e| fail(p, e))))
        .collect();
    let log_refs: Vec<(&str, &[u8])> = logs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let buf = HiveBuf::open(&map, &log_refs).unwrap_or_else(|e| fail(path, e));
    let hive: Hive<'_> = buf.hive().unwrap_or_else(|e| fail(path, e));
    let report = hive.walk();
    println!(
        "keys={} values={} errors={} value_bytes={} replayed={} seconds={:.4}",
        report.keys,
        report.values,
        report.errors.len(),
        report.value_bytes,
        buf.replays.len(),
        t.elapsed().as_secs_f64()
    );
    for e in report.errors.iter().take(20) {
        println!("error: {}: {}", e.key_path, e.error);
    }
    for r in &buf.replays {
        println!("replay: {r:?}");
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("{what}: {e}");
    std::process::exit(1);
}
