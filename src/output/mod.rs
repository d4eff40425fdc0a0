//! Writers: the same records as a terminal table, CSV or JSON Lines, to stdout or to one
//! file per record kind. Writers only print; they decide nothing.

pub mod attack_layer;
pub mod html;
pub mod rows;
mod table;
pub mod timeline;
pub mod tree;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::model::{InputReport, RecordKind};
pub use table::TableRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Jsonl,
}

/// Write one record kind to `w`.
pub fn write_kind<W: Write>(
    w: &mut W,
    format: OutputFormat,
    kind: RecordKind,
    reports: &[InputReport],
) -> Result<()> {
    match kind {
        RecordKind::Inputs => write_records(w, format, reports.iter().map(|r| &r.input)),
        RecordKind::Files => write_records(w, format, reports.iter().flat_map(|r| &r.files)),
        RecordKind::Processes => {
            write_records(w, format, reports.iter().flat_map(|r| &r.processes))
        }
        RecordKind::Registry => write_records(w, format, reports.iter().flat_map(|r| &r.registry)),
        RecordKind::Findings => write_records(w, format, reports.iter().flat_map(|r| &r.findings)),
        RecordKind::Volumes => write_records(w, format, reports.iter().flat_map(|r| &r.volumes)),
        RecordKind::Entries => write_records(w, format, reports.iter().flat_map(|r| &r.entries)),
        RecordKind::Executions => {
            write_records(w, format, reports.iter().flat_map(|r| &r.executions))
        }
        RecordKind::Timeline => write_records(w, format, timeline::rows(reports).iter()),
        RecordKind::All => write_all(w, format, reports),
    }
}

/// `--records all`: every kind in one JSONL stream, each line led by
/// `"record": "<kind>"`. CSV and tables have one header per kind, so only JSONL.
pub fn write_all<W: Write>(w: &mut W, format: OutputFormat, reports: &[InputReport]) -> Result<()> {
    if format != OutputFormat::Jsonl {
        anyhow::bail!("--records all needs --format jsonl (one stream of many record kinds)");
    }
    write_all_of(w, reports, &RecordKind::ALL)
}

/// [`write_all`] for some kinds only (the streaming writer leaves the timeline, which
/// is sorted over the whole batch, to the end).
pub fn write_all_of<W: Write>(
    w: &mut W,
    reports: &[InputReport],
    kinds: &[RecordKind],
) -> Result<()> {
    for &kind in kinds {
        let mut buf = Vec::new();
        write_kind(&mut buf, OutputFormat::Jsonl, kind, reports)?;
        splice_record(w, kind, &buf)?;
    }
    Ok(())
}

/// Put `"record":"<kind>"` first on every JSONL line of `buf`.
fn splice_record<W: Write>(w: &mut W, kind: RecordKind, buf: &[u8]) -> Result<()> {
    for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        // Re-open each object to put `record` first (serde_json keeps field order
        // only through the writer, so splice the text).
        let rest = line.strip_prefix(b"{").unwrap_or(line);
        write!(w, "{{\"record\":\"{}\"", kind.name())?;
        if rest != b"}" {
            w.write_all(b",")?;
        }
        w.write_all(rest)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// One kind's rows of `reports` without the CSV header (a streaming writer wrote it
/// once); JSONL and tables as [`write_kind`]. The timeline is per report here: the
/// caller sorts the batch's rows.
pub fn write_kind_rows<W: Write>(
    w: &mut W,
    format: OutputFormat,
    kind: RecordKind,
    reports: &[InputReport],
) -> Result<()> {
    let f = format;
    match kind {
        RecordKind::Inputs => write_records_no_header(w, f, reports.iter().map(|r| &r.input)),
        RecordKind::Files => write_records_no_header(w, f, reports.iter().flat_map(|r| &r.files)),
        RecordKind::Processes => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.processes))
        }
        RecordKind::Registry => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.registry))
        }
        RecordKind::Findings => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.findings))
        }
        RecordKind::Volumes => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.volumes))
        }
        RecordKind::Entries => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.entries))
        }
        RecordKind::Executions => {
            write_records_no_header(w, f, reports.iter().flat_map(|r| &r.executions))
        }
        RecordKind::Timeline => write_records_no_header(w, f, timeline::rows(reports).iter()),
        RecordKind::All => write_all_of(w, reports, &RecordKind::ALL),
    }
}

/// Sorted timeline rows, with their header (CSV).
pub fn write_timeline_rows<W: Write>(
    w: &mut W,
    format: OutputFormat,
    rows: &[crate::model::TimelineRecord],
) -> Result<()> {
    write_records(w, format, rows.iter())
}

/// Sorted timeline rows as the last part of a `--records all` stream.
pub fn write_timeline_all<W: Write>(
    w: &mut W,
    rows: &[crate::model::TimelineRecord],
) -> Result<()> {
    let mut buf = Vec::new();
    write_records(&mut buf, OutputFormat::Jsonl, rows.iter())?;
    splice_record(w, RecordKind::Timeline, &buf)
}

/// The timeline's sort key: the one `timeline::rows` sorts by.
pub fn timeline_sort_key(t: &str) -> (String, u64) {
    timeline::sort_key(t)
}

/// `DIR/attack-layer.json` from the findings and inputs files a streamed (or resumed,
/// or merged) run wrote, not from reports held in memory.
pub fn write_attack_layer_from_files(
    dir: &Path,
    findings: &Path,
    inputs: &Path,
    format: OutputFormat,
) -> Result<std::path::PathBuf> {
    let rows = read_rows(findings, format)?;
    let n_inputs = count_rows(inputs, format)?;
    let catalogue = crate::rules::catalogue();
    let mut slim = InputReport::default();
    let mut leaked: std::collections::HashMap<String, &'static str> = Default::default();
    let mut stat = |s: &str| -> &'static str {
        if let Some(r) = catalogue.iter().find(|r| r.id == s) {
            return r.id;
        }
        if let Some(r) = catalogue.iter().find(|r| r.attack == s) {
            return r.attack;
        }
        // Only values outside the catalogue (none today); bounded by distinct values.
        leaked
            .entry(s.to_string())
            .or_insert_with(|| Box::leak(s.to_string().into_boxed_str()))
    };
    for r in rows {
        let get = |k: &str| {
            r.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        slim.findings.push(crate::model::Finding {
            rule: stat(get("rule")),
            attack: stat(get("attack")),
            severity: get("severity").parse().unwrap_or_default(),
            ..Default::default()
        });
    }
    let mut layer = attack_layer::layer(std::slice::from_ref(&slim));
    layer["description"] = serde_json::Value::String(format!(
        "smss-triage: {} findings over {n_inputs} inputs; score = highest severity (info 1, low 2, medium 3, high 4, critical 5)",
        slim.findings.len()
    ));
    let path = dir.join("attack-layer.json");
    let text = serde_json::to_string_pretty(&layer)?;
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// How many records a CSV (with header) or JSONL file holds, read as a stream.
pub fn count_rows(path: &Path, format: OutputFormat) -> Result<usize> {
    if format == OutputFormat::Jsonl {
        use std::io::BufRead;
        let f = File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let mut n = 0;
        for line in std::io::BufReader::new(f).split(b'\n') {
            if !line?.is_empty() {
                n += 1;
            }
        }
        return Ok(n);
    }
    let mut rd =
        csv::Reader::from_path(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while rd.read_byte_record(&mut rec)? {
        n += 1;
    }
    Ok(n)
}

/// The rows of a CSV (with header) or JSONL record file, as (column, text) pairs.
pub fn read_rows(path: &Path, format: OutputFormat) -> Result<Vec<Vec<(String, String)>>> {
    let mut out = Vec::new();
    if format == OutputFormat::Jsonl {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}: bad JSON line", path.display()))?;
            if let Some(o) = v.as_object() {
                out.push(
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect(),
                );
            }
        }
    } else {
        let mut rd = csv::Reader::from_path(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let headers: Vec<String> = rd.headers()?.iter().map(String::from).collect();
        for rec in rd.records() {
            let rec = rec?;
            out.push(
                headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(String::from))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// `DIR/attack-layer.json`: the ATT&CK Navigator layer of the findings.
pub fn write_attack_layer(dir: &Path, reports: &[InputReport]) -> Result<std::path::PathBuf> {
    let path = dir.join("attack-layer.json");
    let text = serde_json::to_string_pretty(&attack_layer::layer(reports))?;
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// `--html FILE`: the self-contained report.
pub fn write_html(path: &Path, reports: &[InputReport]) -> Result<()> {
    std::fs::write(path, html::render(reports))
        .with_context(|| format!("{}: cannot write the HTML report", path.display()))
}

/// `--out DIR`: every record kind in its own file (`findings.csv`, ...), headers always
/// written so that scripts can rely on the files even when they hold no rows.
pub fn write_dir(
    dir: &Path,
    format: OutputFormat,
    reports: &[InputReport],
) -> Result<Vec<std::path::PathBuf>> {
    write_dir_except(dir, format, reports, &[])
}

/// [`write_dir`] for every kind but `skip` (a kind the command streamed itself).
pub fn write_dir_except(
    dir: &Path,
    format: OutputFormat,
    reports: &[InputReport],
    skip: &[RecordKind],
) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    let (format, ext) = match format {
        OutputFormat::Jsonl => (OutputFormat::Jsonl, "jsonl"),
        // A table is for eyes; files get CSV.
        OutputFormat::Csv | OutputFormat::Table => (OutputFormat::Csv, "csv"),
    };
    let mut written = Vec::new();
    for kind in RecordKind::ALL.into_iter().filter(|k| !skip.contains(k)) {
        let path = dir.join(format!("{}.{ext}", kind.name()));
        let file =
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = BufWriter::new(file);
        write_kind(&mut w, format, kind, reports)?;
        w.flush()
            .with_context(|| format!("{}: write failed", path.display()))?;
        written.push(path);
    }
    written.push(write_attack_layer(dir, reports)?);
    Ok(written)
}

pub(crate) fn write_records<'a, W, T, I>(w: &mut W, format: OutputFormat, records: I) -> Result<()>
where
    W: Write,
    T: Serialize + Default + TableRow + 'a,
    I: Iterator<Item = &'a T>,
{
    match format {
        OutputFormat::Csv => {
            w.write_all(csv_header::<T>()?.as_bytes())?;
            let mut cw = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *w);
            for r in records {
                cw.serialize(r)?;
            }
            cw.flush()?;
        }
        OutputFormat::Jsonl => {
            for r in records {
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")?;
            }
        }
        OutputFormat::Table => table::write(w, records)?,
    }
    Ok(())
}

/// Rows without a header (CSV) for a writer that streams batches; JSONL as usual.
pub(crate) fn write_records_no_header<'a, W, T, I>(
    w: &mut W,
    format: OutputFormat,
    records: I,
) -> Result<()>
where
    W: Write,
    T: Serialize + Default + TableRow + 'a,
    I: Iterator<Item = &'a T>,
{
    match format {
        OutputFormat::Csv => {
            let mut cw = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *w);
            for r in records {
                cw.serialize(r)?;
            }
            cw.flush()?;
            Ok(())
        }
        other => write_records(w, other, records),
    }
}

/// The CSV header line of a record type, taken from serde so it cannot drift from the
/// rows.
pub fn csv_header<T: Serialize + Default>() -> Result<String> {
    let mut cw = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    cw.serialize(T::default())?;
    let bytes = cw
        .into_inner()
        .map_err(|e| anyhow::anyhow!("csv header: {e}"))?;
    let text = String::from_utf8(bytes)?;
    Ok(text
        .lines()
        .next()
        .map(|l| format!("{l}\n"))
        .unwrap_or_default())
}

/// The one-line summary of a batch, on stderr and in the HTML report.
pub fn summary_line(reports: &[InputReport]) -> String {
    let count =
        |s: crate::model::InputStatus| reports.iter().filter(|r| r.input.status == Some(s)).count();
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    let max = reports
        .iter()
        .flat_map(|r| r.findings.iter().map(|f| f.severity))
        .max();
    format!(
        "{} inputs: {} analysed, {} partial, {} skipped, {} errors; {} findings{}",
        reports.len(),
        count(crate::model::InputStatus::Analysed),
        count(crate::model::InputStatus::Partial),
        count(crate::model::InputStatus::Skipped),
        count(crate::model::InputStatus::Error),
        findings,
        max.map(|m| format!(" (highest: {m})")).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        EntryRecord, ExecutionRecord, FileRecord, Finding, InputRecord, ProcessRecord,
        RegistryRecord, TimelineRecord, VolumeRecord,
    };

    fn columns<T: Serialize + Default>() -> Vec<String> {
        csv_header::<T>()
            .unwrap()
            .trim_end()
            .split(',')
            .map(String::from)
            .collect()
    }

    #[test]
    fn every_column_is_documented() {
        let doc = include_str!("../../docs/schema.md");
        let all = [
            ("inputs", columns::<InputRecord>()),
            ("files", columns::<FileRecord>()),
            ("processes", columns::<ProcessRecord>()),
            ("registry", columns::<RegistryRecord>()),
            ("findings", columns::<Finding>()),
            ("volumes", columns::<VolumeRecord>()),
            ("entries", columns::<EntryRecord>()),
            ("executions", columns::<ExecutionRecord>()),
            ("timeline", columns::<TimelineRecord>()),
        ];
        for (kind, cols) in all {
            let section = doc
                .split(&format!("## {kind}"))
                .nth(1)
                .unwrap_or_else(|| panic!("no section for {kind}"));
            let section = section.split("\n## ").next().unwrap();
            for c in cols {
                assert!(
                    section.contains(&format!("`{c}`")),
                    "docs/schema.md ({kind}) lacks column {c}"
                );
            }
        }
    }

    #[test]
    fn empty_csv_still_has_its_header() {
        let mut buf = Vec::new();
        write_kind(&mut buf, OutputFormat::Csv, RecordKind::Findings, &[]).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "input,sha256,rule,severity,attack,subject_kind,subject,evidence,explanation,location\n"
        );
    }
}
