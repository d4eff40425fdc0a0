//! Commands shared by the binary: run a batch, print it, decide the exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;

use crate::analyse::{self, Options, Scope};
use crate::cli::Common;
use crate::model::{InputReport, InputStatus, RecordKind};
use crate::output::{self, OutputFormat};
use crate::progress::Progress;

pub mod disk;
pub mod mem;

use crate::output::summary_line;

pub const EXIT_FINDING: u8 = 1;
pub const EXIT_INPUT_ERROR: u8 = 3;

/// What a command prints on stdout by default, in table mode.
pub struct View {
    pub main: RecordKind,
    /// Also show findings under the main table (table mode only).
    pub with_findings: bool,
}

/// The chosen output format: a table when stdout is a terminal, CSV when piped.
pub fn effective_format(common: &Common) -> OutputFormat {
    common.format.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Csv
    })
}

/// Run a batch, streamed: records are written as each input finishes, in input order
/// (see [`crate::batch::stream`]); `--resume`, `--shard`, `--input-list` apply here.
pub fn batch(
    paths: &[PathBuf],
    scope: Scope,
    common: &Common,
    opts: Options,
    view: View,
) -> Result<u8> {
    check_records(common)?;
    let mut paths = paths.to_vec();
    if let Some(list) = &common.input_list {
        paths.extend(crate::batch::shard::read_list(list)?);
    }
    let crate::evidence::Inputs {
        files,
        errors: walk_errors,
        skipped,
    } = crate::evidence::collect(&paths);
    let files = match common.shard {
        Some(s) => crate::batch::shard::select(files, s),
        None => files,
    };
    let mut items: Vec<analyse::Item> = files.into_iter().map(analyse::Item::File).collect();
    // Unreadable and unread paths belong to the first shard only, so shards stay
    // disjoint.
    if common.shard.is_none_or(|s| s.k == 1) {
        items.extend(
            skipped
                .into_iter()
                .map(|(p, why)| analyse::Item::Skipped(p, why)),
        );
        items.extend(
            walk_errors
                .into_iter()
                .map(|(p, e)| analyse::Item::WalkError(p, e)),
        );
    }
    let item_paths: Vec<PathBuf> = items.iter().map(|i| i.path().to_path_buf()).collect();
    let key_parts = vec![
        env!("CARGO_PKG_VERSION").to_string(),
        format!("{scope:?}"),
        format!("{opts:?}"),
        format!("{:?}", effective_format(common) == OutputFormat::Jsonl),
        format!("{:?}", common.shard),
    ];
    let key = crate::batch::stream::key(&key_parts, &item_paths);
    let mut sink =
        crate::batch::stream::Sink::new(common, view.main, view.with_findings, &key, &item_paths)?;
    let skip = sink.skip();
    // The list is O(inputs) already once in `items`: do not hold a second copy.
    drop(item_paths);
    let progress = Progress::new(common.quiet);
    analyse::stream(&items, skip, scope, &opts, &progress, |p, r| {
        sink.push(p, r)
    })?;
    sink.finish()
}

/// The stdout part of [`emit`]: the command's main kind (a table hides unrecognised
/// files unless -v), then the findings under a table.
pub fn print_stdout<W: Write>(
    out: &mut W,
    reports: &[InputReport],
    common: &Common,
    main: RecordKind,
    with_findings: bool,
) -> Result<()> {
    let format = effective_format(common);
    let kind = common.records.unwrap_or(main);
    // On a terminal, a collection's READMEs and scripts would bury the evidence:
    // unrecognised files are counted, and listed with -v (CSV and --out list them all).
    let hidden: Vec<&InputReport> =
        if format == OutputFormat::Table && kind == RecordKind::Inputs && common.verbose == 0 {
            reports.iter().filter(|r| is_unrecognised(r)).collect()
        } else {
            Vec::new()
        };
    if hidden.is_empty() {
        output::write_kind(out, format, kind, reports)?;
    } else {
        let shown: Vec<InputReport> = reports
            .iter()
            .filter(|r| !is_unrecognised(r))
            .cloned()
            .collect();
        output::write_kind(out, format, kind, &shown)?;
        writeln!(
            out,
            "({} files of unrecognised format not shown; -v lists them)",
            hidden.len()
        )?;
    }
    if format == OutputFormat::Table && with_findings && common.records.is_none() {
        let any = reports.iter().any(|r| !r.findings.is_empty());
        if any {
            writeln!(out)?;
            output::write_kind(out, format, RecordKind::Findings, reports)?;
        }
    }
    Ok(())
}

/// Print the reports as the options ask, and a summary on stderr.
pub fn emit(reports: &[InputReport], common: &Common, view: View) -> Result<()> {
    check_records(common)?;
    let format = effective_format(common);
    if let Some(path) = &common.html {
        output::write_html(path, reports)?;
        if !common.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(dir) = &common.out {
        let written = output::write_dir(dir, format, reports)?;
        if !common.quiet {
            for p in written {
                eprintln!("wrote {}", p.display());
            }
        }
    } else {
        print_stdout(&mut out, reports, common, view.main, view.with_findings)?;
    }
    out.flush()?;
    if !common.quiet {
        for r in reports {
            match r.input.status {
                Some(InputStatus::Error) => {
                    eprintln!(
                        "error: {}: {}",
                        crate::sanitise::terminal(&r.input.input),
                        crate::sanitise::terminal(&r.input.detail)
                    )
                }
                Some(InputStatus::Partial) if common.verbose > 0 => {
                    eprintln!(
                        "partial: {}: {}",
                        crate::sanitise::terminal(&r.input.input),
                        crate::sanitise::terminal(&r.input.detail)
                    )
                }
                _ => {}
            }
            if common.verbose > 0 {
                eprintln!(
                    "{} ms: {} ({})",
                    r.input.elapsed_ms,
                    crate::sanitise::terminal(&r.input.input),
                    r.input.format
                );
            }
        }
        eprintln!("{}", summary_line(reports));
    }
    Ok(())
}

/// `--records all` is one JSONL stream: refuse it in CSV or a table before any work,
/// as a usage error (exit 2), like clap's own.
pub fn check_records(common: &Common) -> Result<()> {
    if common.records == Some(RecordKind::All)
        && common.out.is_none()
        && effective_format(common) != OutputFormat::Jsonl
    {
        use clap::CommandFactory;
        crate::cli::Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--records all prints every record kind in one stream: it needs --format jsonl",
            )
            .exit();
    }
    Ok(())
}

fn is_unrecognised(r: &InputReport) -> bool {
    r.input.status == Some(InputStatus::Skipped) && r.input.format == "unknown"
}

/// 1 beats 3: a finding at or above `--fail-on` is what a pipeline acts on; input
/// errors are reported on stderr and in inputs.csv either way.
pub fn exit_code(reports: &[InputReport], common: &Common) -> u8 {
    if let Some(threshold) = common.fail_on {
        if reports
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| f.severity >= threshold)
        {
            return EXIT_FINDING;
        }
    }
    if reports
        .iter()
        .any(|r| r.input.status == Some(InputStatus::Error))
    {
        return EXIT_INPUT_ERROR;
    }
    0
}
