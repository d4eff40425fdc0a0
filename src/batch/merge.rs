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
use crate::batch::stream::{streamed_kinds, write_sorted_spill, SPILL};
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
    let tl = out.join(format!("timeline.{ext}"));
    write_sorted_spill(&out.join(SPILL), out, &tl, format)?;
    written.push(tl);
    if let Some(w) = host_view_warning(&by_k, format, ext)? {
        eprintln!("warning: {w}");
    }
    written.push(output::write_attack_layer_from_files(
        out,
        &out.join(format!("findings.{ext}")),
        &out.join(format!("inputs.{ext}")),
        format,
    )?);
    Ok(written)
}

/// Per shard: memory dumps the host view did not consider (no `host view:` note: no
/// disk image of theirs in the shard), and disk images.
#[derive(Default)]
struct HostCounts {
    lone_dumps: usize,
    disks: usize,
}

fn host_counts(dir: &Path, format: OutputFormat, ext: &str) -> Result<HostCounts> {
    let path = dir.join(format!("inputs.{ext}"));
    let mut c = HostCounts::default();
    let mut count = |analyser: &str, detail: &str| match analyser {
        "mem" if !detail.contains("host view:") => c.lone_dumps += 1,
        "disk" => c.disks += 1,
        _ => {}
    };
    if format == OutputFormat::Jsonl {
        use std::io::BufRead;
        let f = File::open(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        for line in std::io::BufReader::new(f).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let g = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            count(&g("analyser"), &g("detail"));
        }
    } else {
        let mut rd = csv::Reader::from_path(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let h = rd.headers()?.clone();
        let col = |name: &str| h.iter().position(|c| c == name);
        let (Some(a), Some(d)) = (col("analyser"), col("detail")) else {
            return Ok(c);
        };
        for rec in rd.records() {
            let rec = rec?;
            count(rec.get(a).unwrap_or(""), rec.get(d).unwrap_or(""));
        }
    }
    Ok(c)
}

/// The host view links a memory dump with the disk image of its host while both are
/// analysed: the link reads the disk image itself (its MFT, the boot-chain files), and
/// merge reads only record files (it runs where the evidence may not be mounted). So a
/// dump and a disk image in different shards stay unlinked: say so.
fn host_view_warning(
    by_k: &BTreeMap<usize, (PathBuf, journal::Read)>,
    format: OutputFormat,
    ext: &str,
) -> Result<Option<String>> {
    let mut lone = Vec::new();
    let mut disks = Vec::new();
    let n = by_k.len();
    for (k, (d, _)) in by_k {
        let c = host_counts(d, format, ext)?;
        if c.lone_dumps > 0 {
            lone.push((*k, c.lone_dumps));
        }
        if c.disks > 0 {
            disks.push(*k);
        }
    }
    // Only dumps whose shard holds no disk image, while another shard holds some.
    let unlinked: Vec<(usize, usize)> = lone
        .into_iter()
        .filter(|(k, _)| !disks.contains(k))
        .collect();
    if unlinked.is_empty() || disks.is_empty() {
        return Ok(None);
    }
    let dumps: usize = unlinked.iter().map(|(_, c)| c).sum();
    let list = |ks: &mut dyn Iterator<Item = usize>| {
        ks.map(|k| format!("{k}/{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Some(format!(
        "host view: {dumps} memory dumps (shards {}) were not linked to the disk images of shards {}: merge does not read evidence, and the link reads the disk image. Put a host's dump and disk image in one shard (one --input-list per host, or scan them in one job) to get the image_* columns and PROC-IMAGE-* findings",
        list(&mut unlinked.iter().map(|(k, _)| *k)),
        list(&mut disks.iter().copied()),
    )))
}
