#![allow(dead_code)]
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use triage_memgen::{generate, resolve_isf, Format, Scenario, Truth};

/// `$SMSS_SHARED`, else `<repo>/../shared`. Absent: panic in CI, `None` elsewhere.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("shared/ not found at {} (set SMSS_SHARED)", dir.display());
    }
    eprintln!("note: shared/ not found at {}; test skipped", dir.display());
    None
}

pub fn symbols_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("symbols"))
}

/// Writes the scenario's image into `dir` with the real ISF of its build.
pub fn generate_image(
    sc: &Scenario,
    format: Format,
    dir: &Path,
    name: &str,
) -> Option<(PathBuf, Truth)> {
    let symbols = symbols_dir()?;
    let isf = resolve_isf(sc, &symbols).expect("ISF for the scenario's build");
    let path = dir.join(format!("{name}-{}", format.name()));
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).unwrap());
    let truth = generate(sc, &isf, &mut out, format).expect("generate");
    drop(out);
    Some((path, truth))
}
