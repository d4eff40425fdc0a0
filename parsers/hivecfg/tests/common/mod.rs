#![allow(dead_code)]
use std::path::PathBuf;

/// `$SMSS_SHARED`, else `../shared` beside the repository. Missing: panic in CI, else `None`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("samples/hives").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared samples not found at {} (set SMSS_SHARED)",
            dir.display()
        );
    }
    eprintln!(
        "note: shared samples not found at {}; skipping",
        dir.display()
    );
    None
}

pub fn hives_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("samples/hives"))
}

pub fn read_hive(name: &str) -> Option<Vec<u8>> {
    hives_dir().map(|d| std::fs::read(d.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

pub fn expected() -> Option<serde_json::Value> {
    let p = hives_dir()?.join("EXPECTED.python-registry.json");
    Some(
        serde_json::from_slice(&std::fs::read(p).expect("EXPECTED json readable"))
            .expect("EXPECTED json parses"),
    )
}
