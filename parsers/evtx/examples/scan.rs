//! Scans EVTX files (or every `.evtx` in the folders given) in parallel, across files and
//! across the chunks of each file, and prints what each holds.
//!
//! `cargo run --release --example scan -- [-v] PATH...` (`-v`: print every event too).

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use triage_evtx::{scan, EvtxFile};
use triage_source::{ByteSource, FileSource};

fn main() {
    let mut verbose = false;
    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "-v" {
            verbose = true;
            continue;
        }
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path);
        }
    }
    let reports: Vec<String> = files.par_iter().map(|p| report(p, verbose)).collect();
    for r in reports {
        print!("{r}");
    }
}

fn report(path: &Path, verbose: bool) -> String {
    let src = match FileSource::open(path) {
        Ok(s) => s,
        Err(e) => return format!("{}: {e}\n", path.display()),
    };
    let src: &dyn ByteSource = &src;
    let file = match EvtxFile::from_source(src, 1 << 32) {
        Ok(f) => f,
        Err(e) => return format!("{}: {e}\n", path.display()),
    };
    let s = scan(&file);
    let mut out = format!(
        "{}: {} records, channel {:?}, {} process events, {} boot markers, {} errors\n",
        path.display(),
        s.records,
        s.channel,
        s.processes.len(),
        s.boots.len(),
        s.errors.len()
    );
    if verbose {
        for p in &s.processes {
            out.push_str(&format!("  {p:?}\n"));
        }
        for b in &s.boots {
            out.push_str(&format!("  {b:?}\n"));
        }
        for e in &s.errors {
            out.push_str(&format!("  error: {e}\n"));
        }
    }
    out
}
