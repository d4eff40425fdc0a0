//! `smss-triage merge DIR... --out DIR`: shard outputs into one, as one run would have
//! written them. The journals must show the shards complete (every input of the shard
//! journaled), disjoint (no input twice) and covering `1..=N`; otherwise merge says
//! what is missing and writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::batch::journal;
use crate::batch::stream::{read_spill, streamed_kinds, SPILL};
use crate::output::{self, OutputFormat};

/// Merge `dirs` into `out`; returns the files written.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>> {
    let mut problems = Vec::new();
    let mut by_k: BTreeMap<usize, (PathBuf, journal::Read)> = BTreeMap::new();
    let mut n_total = None;
    for d in dirs {
        let j = journal::read(d)?;
        let shard: crate::batch::shard::Shard = j
            .run
            .shard
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: journal: {e}", d.display()))?;
        if *n_total.get_or_insert(shard.n) != shard.n {
            problems.push(format!(
                "{}: shard {shard} is from a split into {} parts, the others into {}",
                d.display(),
                shard.n,
                n_total.unwrap_or(0)
            ));
        }
        if j.done.len() != j.run.inputs {
            problems.push(format!(
                "{}: shard {shard} incomplete: {} of {} inputs done (run it again with --resume)",
                d.display(),
                j.done.len(),
                j.run.inputs
            ));
        }
        if let Some((other, _)) = by_k.get(&shard.k) {
            problems.push(format!(
                "{} and {}: both are shard {shard}",
                other.display(),
                d.display()
            ));
            continue;
        }
        by_k.insert(shard.k, (d.clone(), j));
    }
    let n = n_total.unwrap_or(0);
    let missing: Vec<String> = (1..=n)
        .filter(|k| !by_k.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("missing shards: {}", missing.join(", ")));
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for (d, j) in by_k.values() {
        for loc in &j.done {
            if let Some(prev) = seen.insert(loc.as_str(), d.as_path()) {
                problems.push(format!(
                    "{loc}: in both {} and {} (shards overlap)",
                    prev.display(),
                    d.display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("cannot merge:\n  {}", problems.join("\n  "));
    }
    let first = by_k
        .values()
        .next()
        .map(|(d, _)| d.clone())
        .context("merge: no shard directories")?;
    let (format, ext) = if first.join("inputs.jsonl").exists() {
        (OutputFormat::Jsonl, "jsonl")
    } else {
        (OutputFormat::Csv, "csv")
    };
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output directory", out.display()))?;
    let mut written = Vec::new();
    let mut names: Vec<String> = streamed_kinds()
        .into_iter()
        .map(|k| format!("{}.{ext}", k.name()))
        .collect();
    names.push(SPILL.to_string());
    for name in names {
        let path = out.join(&name);
        let mut w = BufWriter::new(
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?,
        );
        for (i, (d, _)) in by_k.values().enumerate() {
            let src = d.join(&name);
            let bytes =
                std::fs::read(&src).with_context(|| format!("{}: cannot read", src.display()))?;
            // A CSV header (never quoted across lines) is written once.
            let body = if i > 0 && format == OutputFormat::Csv && name != SPILL {
                match bytes.iter().position(|b| *b == b'\n') {
                    Some(p) => &bytes[p + 1..],
                    None => &[][..],
                }
            } else {
                &bytes[..]
            };
            w.write_all(body)?;
        }
        w.flush()?;
        if name != SPILL {
            written.push(path);
        }
    }
    let rows = read_spill(&out.join(SPILL))?;
    let tl = out.join(format!("timeline.{ext}"));
    let mut w = BufWriter::new(File::create(&tl)?);
    output::write_timeline_rows(&mut w, format, &rows)?;
    w.flush()?;
    written.push(tl);
    written.push(output::write_attack_layer_from_files(
        out,
        &out.join(format!("findings.{ext}")),
        &out.join(format!("inputs.{ext}")),
        format,
    )?);
    Ok(written)
}
