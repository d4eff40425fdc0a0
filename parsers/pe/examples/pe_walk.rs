//! Walks a directory tree, memory-maps every file and runs `analyze` with
//! hashes on all cores. Prints a throughput line on stderr, and with
//! `--json` one JSON object per file on stdout.
//!
//! cargo run --release -p triage-pe --example pe_walk -- DIR [--json]

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(root) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: pe_walk DIR [--json]");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    collect(Path::new(root), &mut files);
    files.sort();
    let opts = triage_pe::Options { hashes: true };
    let start = Instant::now();
    let results: Vec<(u64, bool, Option<String>)> = files
        .par_iter()
        .map(|path| {
            let Ok(file) = std::fs::File::open(path) else {
                return (0, false, None);
            };
            // SAFETY: the evidence is opened read-only and not modified while mapped.
            let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
                return (0, false, None);
            };
            let facts = triage_pe::analyze(&map, &opts);
            let line = json.then(|| match &facts {
                Ok(f) => serde_json::json!({"path": path, "facts": f}).to_string(),
                Err(e) => serde_json::json!({"path": path, "error": e.to_string()}).to_string(),
            });
            (map.len() as u64, facts.is_ok(), line)
        })
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let bytes: u64 = results.iter().map(|r| r.0).sum();
    let ok = results.iter().filter(|r| r.1).count();
    for line in results.iter().filter_map(|r| r.2.as_ref()) {
        println!("{line}");
    }
    eprintln!(
        "rust: {} files ({} PE) {:.1} MB in {:.3} s: {:.0} files/s {:.1} MB/s",
        files.len(),
        ok,
        bytes as f64 / 1e6,
        secs,
        files.len() as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}
