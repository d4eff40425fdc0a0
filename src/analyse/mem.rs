//! Memory dumps: container → physical memory → kernel, layouts and (with the process
//! layer) every process; then the process rules.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use triage_winmem::MemInfo;

use crate::analyse::Options;
use crate::cli::Common;
use crate::commands::{effective_format, EXIT_INPUT_ERROR};
use crate::evidence::Evidence;
use crate::model::InputReport;
use crate::output::OutputFormat;

pub fn analyse(ev: &Evidence, opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    let phys = triage_physmem::open(&ev.path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = triage_winmem::mem_info(phys.as_ref(), opts.symbols.as_deref());
    report.input.detail = summary(&info);
    if info.dtb.is_none() || info.kernel_base.is_none() {
        anyhow::bail!("no Windows kernel found: {}", info.warnings.join("; "));
    }
    Ok(info.warnings.clone())
}

/// One line for the inputs table.
fn summary(i: &MemInfo) -> String {
    let mut parts = vec![format!("{:?}", i.container)];
    if let Some(b) = i.build {
        parts.push(format!("build {b}"));
    }
    if let Some(base) = i.kernel_base {
        parts.push(format!("kernel {base:#x}"));
    }
    if let Some(t) = i.dump_time {
        parts.push(format!("taken {}", filetime_iso(t)));
    }
    parts.join(", ")
}

/// FILETIME (100 ns since 1601) as ISO-8601 UTC.
pub fn filetime_iso(ft: u64) -> String {
    triage_regf::filetime_to_iso8601(ft)
}

/// The flat row `mem info` prints per dump (CSV/table), with the full `MemInfo` in JSONL.
#[derive(Debug, Serialize, Default)]
struct InfoRow {
    input: String,
    container: String,
    physical_size: u64,
    present_bytes: u64,
    holes: usize,
    hole_bytes: u64,
    arch: String,
    dtb: String,
    dtb_source: String,
    kernel_base: String,
    kernel_source: String,
    pdb_name: String,
    pdb_guid: String,
    pdb_age: String,
    build: String,
    layout_source: String,
    ps_active_process_head: String,
    system_eprocess: String,
    dump_time: String,
    dump_time_source: String,
    processors: String,
    warnings: String,
}

fn hex(v: Option<u64>) -> String {
    v.map(|v| format!("{v:#x}")).unwrap_or_default()
}

fn debug_name<T: std::fmt::Debug>(v: &Option<T>) -> String {
    v.as_ref().map(|v| format!("{v:?}")).unwrap_or_default()
}

/// Which structure layout was used, said plainly.
fn layout_source(l: &triage_winmem::LayoutSource) -> String {
    match l {
        triage_winmem::LayoutSource::SymbolsDir { path } => format!("symbols: {path}"),
        triage_winmem::LayoutSource::Builtin { matched_by, origin } => {
            format!("built-in, matched by {matched_by:?}: {origin}")
        }
        triage_winmem::LayoutSource::Discovered => "discovered from the image".into(),
    }
}

fn row(input: &str, i: &MemInfo) -> InfoRow {
    InfoRow {
        input: input.to_string(),
        container: format!("{:?}", i.container),
        physical_size: i.physical_size,
        present_bytes: i.present_bytes,
        holes: i.hole_count,
        hole_bytes: i.hole_bytes,
        arch: debug_name(&i.arch),
        dtb: hex(i.dtb.as_ref().map(|d| d.dtb)),
        dtb_source: i
            .dtb
            .as_ref()
            .map(|d| format!("{:?}", d.source))
            .unwrap_or_default(),
        kernel_base: hex(i.kernel_base),
        kernel_source: debug_name(&i.kernel_source),
        pdb_name: i
            .pdb
            .as_ref()
            .map(|p| p.pdb_name.clone())
            .unwrap_or_default(),
        pdb_guid: i.pdb.as_ref().map(|p| p.guid.clone()).unwrap_or_default(),
        pdb_age: i
            .pdb
            .as_ref()
            .map(|p| p.age.to_string())
            .unwrap_or_default(),
        build: i.build.map(|b| b.to_string()).unwrap_or_default(),
        layout_source: i
            .layout_source
            .as_ref()
            .map(layout_source)
            .unwrap_or_default(),
        ps_active_process_head: hex(i.ps_active_process_head),
        system_eprocess: hex(i.system_eprocess),
        dump_time: i.dump_time.map(filetime_iso).unwrap_or_default(),
        dump_time_source: i.dump_time_source.unwrap_or_default().to_string(),
        processors: i
            .number_processors
            .map(|n| n.to_string())
            .unwrap_or_default(),
        warnings: i.warnings.join("; "),
    }
}

/// `mem info DUMP...`: the answer to Volatility's `windows.info`, without a download.
pub fn info_command(paths: &[PathBuf], common: &Common, opts: &Options) -> Result<u8> {
    let results: Vec<(String, Result<MemInfo, String>)> = paths
        .par_iter()
        .map(|p| {
            let r =
                triage_winmem::mem_info_path(p, opts.symbols.as_deref()).map_err(|e| e.to_string());
            (p.display().to_string(), r)
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let format = effective_format(common);
    let mut csv_rows = Vec::new();
    for (input, r) in &results {
        let info = match r {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {input}: {e}");
                failed = true;
                continue;
            }
        };
        match format {
            OutputFormat::Jsonl => {
                let mut v = serde_json::to_value(info)?;
                v["input"] = serde_json::Value::String(input.clone());
                writeln!(out, "{v}")?;
            }
            OutputFormat::Csv => csv_rows.push(row(input, info)),
            OutputFormat::Table => {
                // Field order as declared: serialise through CSV (header + one row).
                let mut w = csv::Writer::from_writer(Vec::new());
                w.serialize(row(input, info))?;
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut rdr = csv::Reader::from_reader(&bytes[..]);
                let headers = rdr.headers()?.clone();
                if let Some(rec) = rdr.records().next() {
                    for (k, v) in headers.iter().zip(rec?.iter()) {
                        if !v.is_empty() {
                            writeln!(out, "{k:<24}{v}")?;
                        }
                    }
                }
                writeln!(out)?;
            }
        }
    }
    if format == OutputFormat::Csv {
        out.write_all(crate::output::csv_header::<InfoRow>()?.as_bytes())?;
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(&mut out);
        for r in &csv_rows {
            w.serialize(r)?;
        }
        w.flush()?;
    }
    out.flush()?;
    Ok(if failed { EXIT_INPUT_ERROR } else { 0 })
}

pub fn tree_command(_paths: &[PathBuf], _common: &Common, _opts: &Options) -> Result<u8> {
    anyhow::bail!("mem ps --tree needs the process layer, which is not built yet")
}

pub fn smss_command(_paths: &[PathBuf], _common: &Common, _opts: &Options) -> Result<u8> {
    anyhow::bail!("mem smss needs the process layer, which is not built yet")
}
