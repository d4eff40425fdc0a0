//! Where the tests of every crate find their fixtures: one `shared_dir()` for the whole
//! workspace, so the rule "missing shared data fails in CI, skips elsewhere" lives once.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The workspace root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's own generated samples (`samples/`).
pub fn samples_dir() -> PathBuf {
    repo_dir().join("samples")
}

/// `$SMSS_SHARED`, else `../shared` beside the checkout: real third-party evidence, never
/// copied into the repository. Missing: a panic under `CI` (tests must fail, not skip,
/// there), `None` with a note elsewhere.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("../shared"));
    if dir.join("samples").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("shared test data not found at {} (set SMSS_SHARED): CI runs with ../shared beside the checkout", dir.display());
    }
    eprintln!(
        "note: shared test data not found at {}; test skipped",
        dir.display()
    );
    None
}

/// `shared/symbols`: the real Windows kernel ISF files.
pub fn symbols_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("symbols"))
}

/// `shared/samples/hives`.
pub fn hives_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("samples/hives"))
}

/// `shared/samples/pe`.
pub fn pe_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("samples/pe"))
}

/// An external program the tests use as an oracle or a fixture maker (sleuthkit's `fls`,
/// `qemu-img`, `ewfacquire`, `mkntfs`, …), found on `PATH`. Missing: a panic under `CI`
/// (`.ci/run` installs every one), `None` with a note elsewhere.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("test tool `{name}` not found: .ci/run must install it");
        }
        eprintln!("note: test tool `{name}` not found; test skipped");
    }
    found
}

/// `shared/samples/<sub>` (e.g. `disk`, `ntfs`, `evtx`).
pub fn sample_dir(sub: &str) -> Option<PathBuf> {
    shared_dir().map(|d| d.join("samples").join(sub))
}

/// The Python with Volatility 3 the oracle tests run (`$SMSS_PY`, else the repo's
/// `.venv/bin/python`, as `tools/oracle/setup.sh` makes it). `None` locally when there is
/// none; under `CI` its absence fails the test.
pub fn volatility_python() -> Option<PathBuf> {
    let p = std::env::var_os("SMSS_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".venv/bin/python"));
    let ok = std::process::Command::new(&p)
        .args(["-c", "import volatility3"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs a python with volatility3 (tools/oracle/setup.sh, SMSS_PY)"
    );
    eprintln!("note: no python with volatility3; oracle test skipped");
    None
}
