#![allow(dead_code, unused_imports)]
use std::path::PathBuf;

pub use triage_testkit::{shared_dir, symbols_dir};

pub fn symbols_isf(build: u32) -> Option<triage_isf::Isf> {
    let sym = symbols_dir()?;
    let mut sc = triage_memgen::Scenario::clean_boot(build);
    sc.isf = None;
    Some(triage_memgen::resolve_isf(&sc, &sym).expect("ISF for build"))
}

/// The Python with volatility3 (`$SMSS_PY`); required in CI, otherwise the test is skipped.
pub fn oracle_python() -> Option<PathBuf> {
    match std::env::var_os("SMSS_PY") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("SMSS_PY must name a python with volatility3 in CI (tools/oracle/setup.sh)")
        }
        None => {
            eprintln!("note: SMSS_PY not set; skipping the Volatility oracle test");
            None
        }
    }
}

/// `$SMSS_ORACLE_BUILDS`: `all` (every ISF in the symbol directory, both revisions where
/// there are two) or a comma list of builds; default 17763,19041,22000 (oldest revision each).
pub fn isfs_to_check(symbols: &std::path::Path) -> Vec<triage_isf::Isf> {
    let dir = triage_isf::IsfDir::open(symbols).unwrap();
    let choice = std::env::var("SMSS_ORACLE_BUILDS").unwrap_or_else(|_| "17763,19041,22000".into());
    if choice == "all" {
        return dir
            .entries
            .iter()
            .map(|e| triage_isf::Isf::load(&e.path).unwrap())
            .collect();
    }
    choice
        .split(',')
        .map(|b| {
            let mut sc =
                triage_memgen::Scenario::clean_boot(b.trim().parse().expect("build number"));
            sc.isf = None;
            triage_memgen::resolve_isf(&sc, symbols).unwrap()
        })
        .collect()
}
