//! The physical ceiling of `smss-triage pe|scan` over a directory: the same
//! files, opened the same way (a read-only memory map through
//! `triage_source::FileSource`), md5 + sha1 + sha256 of every byte on the
//! same rayon threads, one line per file on stdout, and nothing else. Any
//! time `scan` spends above this is not hashing.
//!
//! cargo run --release -p triage-pe --example hash_ceiling -- [--auth|--fused] [--block N] DIR...
//! (`--auth` also feeds a fourth, independent SHA-256 — what the Authenticode
//! digest costs on top: the ceiling of a tool that must report it too.
//! `--fused` hashes with `triage_pe::file_hashes`, the interleaved SHA-NI
//! kernel the analyser uses: the ceiling of md5+sha1+sha256 themselves.)

use std::io::Write;
use std::path::{Path, PathBuf};

use md5::Md5;
use rayon::prelude::*;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use triage_source::ByteSource;

/// Sorted recursive walk, as the CLI lists a directory.
fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let Ok(rd) = std::fs::read_dir(p) else {
                return;
            };
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for e in entries {
                collect(&e, out);
            }
        }
        Ok(m) if m.is_file() => out.push(p.to_path_buf()),
        _ => {}
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The analyser's single pass feeds its hashes 64 bytes (one compression
/// block) at a time in turn, which lets the core overlap them: so does the
/// ceiling by default, or it would not be one (`--block N` to compare).
fn hashes(data: &[u8], auth: bool, block: usize) -> String {
    let (mut md5, mut sha1, mut sha256, mut extra) =
        (Md5::new(), Sha1::new(), Sha256::new(), Sha256::new());
    for chunk in data.chunks(block) {
        md5.update(chunk);
        sha1.update(chunk);
        sha256.update(chunk);
        if auth {
            extra.update(chunk);
        }
    }
    let mut line = format!(
        "{} {} {}",
        hex(&md5.finalize()),
        hex(&sha1.finalize()),
        hex(&sha256.finalize())
    );
    if auth {
        line.push(' ');
        line.push_str(&hex(&extra.finalize()));
    }
    line
}

fn fused(data: &[u8]) -> String {
    let h = triage_pe::file_hashes(data);
    format!("{} {} {}", h.md5, h.sha1, h.sha256)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let auth = args.iter().any(|a| a == "--auth");
    let use_fused = args.iter().any(|a| a == "--fused");
    let block = args
        .iter()
        .position(|a| a == "--block")
        .and_then(|i| args.get(i + 1)?.parse::<usize>().ok())
        .unwrap_or(64)
        .max(1);
    let mut files = Vec::new();
    let mut skip = false;
    for a in &args {
        if std::mem::take(&mut skip) || a == "--auth" || a == "--fused" {
            continue;
        }
        if a == "--block" {
            skip = true;
            continue;
        }
        collect(Path::new(a), &mut files);
    }
    let lines: Vec<String> = files
        .par_iter()
        .map(|p| match triage_source::FileSource::open(p) {
            Ok(src) => {
                let data = src.as_slice().unwrap_or(&[]);
                let line = if use_fused {
                    fused(data)
                } else {
                    hashes(data, auth, block)
                };
                format!("{line} {}", p.display())
            }
            Err(e) => format!("error {}: {e}", p.display()),
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for l in &lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
}
