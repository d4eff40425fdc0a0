//! Fixtures for the integration tests, found in one place.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's own generated samples (`samples/`).
pub fn samples_dir() -> PathBuf {
    repo_dir().join("samples")
}

/// `../shared` (or `$SMSS_SHARED`): real third-party evidence, never copied into the repo.
/// Missing is a failure under CI and a skip (None) on a developer machine.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("..").join("shared"));
    if dir.join("samples").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: CI must run with ../shared beside the checkout",
            dir.display()
        );
    }
    eprintln!("note: {} not found, test skipped", dir.display());
    None
}

/// Parse CSV text into a header and rows of (column -> value).
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .expect("csv header")
        .iter()
        .map(String::from)
        .collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}
