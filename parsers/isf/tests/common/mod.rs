use std::path::PathBuf;

/// `$SMSS_SHARED`, or `../shared` beside the project root. Missing: panic in CI, else `None`.
pub fn shared_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os("SMSS_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if candidate.is_dir() {
        return Some(candidate);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared test data not found at {} (set SMSS_SHARED)",
            candidate.display()
        );
    }
    eprintln!("note: {} absent; skipping test", candidate.display());
    None
}

pub fn symbols_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("symbols"))
}
