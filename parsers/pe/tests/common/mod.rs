//! Where the test data is, and how to run the independent tools.
#![allow(dead_code, unused_imports)]
use std::path::{Path, PathBuf};
use std::process::Command;

pub use triage_testkit::{pe_dir as shared_pe_dir, shared_dir};
fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

pub fn shared_pe(name: &str) -> Option<Vec<u8>> {
    let path = shared_pe_dir()?.join(name);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The project's own generated samples (`samples/pe` in the repository).
pub fn repo_samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/pe")
}

pub fn repo_sample(rel: &str) -> Vec<u8> {
    let path = repo_samples_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// PE files among the repository samples (its sources, keys and README are
/// not PE files).
pub fn repo_pe_files() -> Vec<PathBuf> {
    files_under(&repo_samples_dir())
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|d| d.starts_with(b"MZ"))
                .unwrap_or(false)
        })
        .collect()
}

/// A python with pefile: `$SMSS_PY`, else the repository's `.venv`. Required
/// in CI.
pub fn python_with_pefile() -> Option<PathBuf> {
    let candidate = std::env::var_os("SMSS_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", "import pefile"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if works {
        return Some(candidate);
    }
    if in_ci() {
        panic!(
            "{} cannot import pefile (set SMSS_PY to a python with pefile)",
            candidate.display()
        );
    }
    eprintln!(
        "note: no python with pefile at {} (set SMSS_PY), test skipped",
        candidate.display()
    );
    None
}

pub fn tool_available(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found && in_ci() {
        panic!("{name} is required in CI");
    }
    found
}
