//! `mem info`, `mem ps --tree` and `mem smss`: the memory commands that print more than
//! the batch's records.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use triage_winmem::MemInfo;

use super::{effective_format, emit, exit_code, View, EXIT_INPUT_ERROR};
use crate::analyse::Options;
use crate::cli::Common;
use crate::model::InputReport;
use crate::output::summary_line;
use crate::output::tree::write_tree;
use crate::output::OutputFormat;
use crate::progress::Progress;
use crate::rules::baseline::is_boot_chain;

/// The flat row `mem info` prints per dump, the same in CSV, table and JSONL.
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
        dump_time: i.dump_time.map(crate::time::filetime).unwrap_or_default(),
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
    // With --out, the rows go to DIR/mem_info.csv (or .jsonl), like the other records.
    let (mut out, format): (Box<dyn Write>, OutputFormat) = match &common.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let jsonl = effective_format(common) == OutputFormat::Jsonl;
            let path = dir.join(if jsonl {
                "mem_info.jsonl"
            } else {
                "mem_info.csv"
            });
            if !common.quiet {
                eprintln!("wrote {}", path.display());
            }
            let file = std::fs::File::create(&path)?;
            (
                Box::new(std::io::BufWriter::new(file)),
                if jsonl {
                    OutputFormat::Jsonl
                } else {
                    OutputFormat::Csv
                },
            )
        }
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            effective_format(common),
        ),
    };
    let mut failed = false;
    let mut csv_rows = Vec::new();
    for (input, r) in &results {
        let info = match r {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {}: {}", term(input), term(&e.to_string()));
                failed = true;
                continue;
            }
        };
        match format {
            OutputFormat::Jsonl => {
                // The documented record, as in CSV: addresses are `0x…` strings, so no
                // integer above 2^53 reaches jq.
                serde_json::to_writer(&mut out, &row(input, info))?;
                writeln!(out)?;
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
                            writeln!(out, "{k:<24}{}", term(v))?;
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
    if let Some(path) = &common.html {
        // The same documented rows, one fact table per dump.
        let mut tables = Vec::new();
        for (input, r) in &results {
            if let Ok(info) = r {
                let v = serde_json::to_value(row(input, info))?;
                let facts = v
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.as_str().map_or(v.to_string(), String::from))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                tables.push((input.clone(), facts));
            }
        }
        std::fs::write(
            path,
            crate::output::html::render_facts("smss-triage mem info", &tables),
        )?;
        if !common.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(if failed { EXIT_INPUT_ERROR } else { 0 })
}

/// `mem ps --tree`: each dump's processes as a tree (children under the parent that
/// existed before them), with how each was found.
pub fn tree_command(paths: &[PathBuf], common: &Common, opts: &Options) -> Result<u8> {
    let progress = Progress::new(common.quiet);
    let reports = analyse_all(paths, opts, &progress);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for r in &reports {
        writeln!(out, "{}", term(&r.input.input))?;
        write_tree(&mut out, &r.processes)?;
        writeln!(out)?;
    }
    out.flush()?;
    drop(out);
    if let Some(path) = &common.html {
        // The same tree as on the terminal, escaped by the page, not the terminal.
        let mut trees = Vec::new();
        for r in &reports {
            let mut t = Vec::new();
            write_tree(&mut t, &r.processes)?;
            trees.push((
                r.input.input.clone(),
                String::from_utf8_lossy(&t).into_owned(),
            ));
        }
        std::fs::write(path, crate::output::html::render_tree(&reports, &trees))
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        if !common.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    finish(&reports, common)
}

fn analyse_all(paths: &[PathBuf], opts: &Options, progress: &Progress) -> Vec<InputReport> {
    crate::analyse::run(paths, crate::analyse::Scope::Memory, opts, progress)
}

fn finish(reports: &[InputReport], common: &Common) -> Result<u8> {
    if !common.quiet {
        for r in reports {
            if r.input.status == Some(crate::model::InputStatus::Error) {
                eprintln!("error: {}: {}", term(&r.input.input), term(&r.input.detail));
            }
        }
    }
    Ok(exit_code(reports, common))
}

/// `mem smss`: the smss.exe instances and their relatives, and the findings.
pub fn smss_command(paths: &[PathBuf], common: &Common, opts: &Options) -> Result<u8> {
    let progress = Progress::new(common.quiet);
    let mut reports = analyse_all(paths, opts, &progress);
    for r in &mut reports {
        r.processes.retain(is_boot_chain);
    }
    if effective_format(common) == OutputFormat::Table
        && common.out.is_none()
        && common.records.is_none()
    {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for r in &reports {
            writeln!(out, "{}  ({})", term(&r.input.input), term(&r.input.detail))?;
            write_tree(&mut out, &r.processes)?;
            writeln!(out)?;
        }
        if reports.iter().any(|r| !r.findings.is_empty()) {
            crate::output::write_kind(
                &mut out,
                OutputFormat::Table,
                crate::model::RecordKind::Findings,
                &reports,
            )?;
        }
        out.flush()?;
        drop(out);
        if !common.quiet {
            eprintln!("{}", summary_line(&reports));
        }
        return finish(&reports, common);
    }
    emit(
        &reports,
        common,
        View {
            main: crate::model::RecordKind::Processes,
            with_findings: true,
        },
    )?;
    Ok(exit_code(&reports, common))
}

/// Names from the evidence reach the terminal only through the one sanitiser.
fn term(s: &str) -> String {
    crate::sanitise::terminal(s)
}
