#![allow(dead_code, unused_imports)]
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use triage_memgen::{generate, resolve_isf, Format, Scenario, Truth};

pub use triage_testkit::{shared_dir, symbols_dir};
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
