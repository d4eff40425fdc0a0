//! `disk ls` and `disk cat`: commands that stream from a disk image rather than produce
//! one report per input. `disk ls` writes entries as the MFT is enumerated, batch by
//! batch, so a volume with millions of entries never sits in memory.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::{effective_format, EXIT_INPUT_ERROR};
use crate::analyse::disk::{self, OpenedImage, Volume};
use crate::analyse::entries::{entry_record, listed};
use crate::cli::Common;
use crate::evidence::{self, Evidence};
use crate::model::{EntryRecord, InputRecord, InputReport, InputStatus, RecordKind};
use crate::output::{self, rows::RowStream, OutputFormat};

/// `disk ls`.
pub fn ls_command(paths: &[PathBuf], partition: Option<u32>, common: &Common) -> Result<u8> {
    let format = effective_format(common);
    let evidence::Inputs {
        files,
        errors: walk_errors,
        skipped,
    } = evidence::collect(paths);
    let mut reports: Vec<InputReport> = Vec::new();
    let stdout = std::io::stdout();
    let (sink, out_format): (Box<dyn Write>, OutputFormat) = match &common.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
            let f = if format == OutputFormat::Jsonl {
                OutputFormat::Jsonl
            } else {
                OutputFormat::Csv
            };
            let ext = if f == OutputFormat::Jsonl {
                "jsonl"
            } else {
                "csv"
            };
            let path = dir.join(format!("entries.{ext}"));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("{}: cannot create", path.display()))?;
            (Box::new(std::io::BufWriter::new(file)), f)
        }
        None => (Box::new(std::io::BufWriter::new(stdout.lock())), format),
    };
    let mut stream = RowStream::new(sink, out_format);
    let kind = common.records.unwrap_or(RecordKind::Entries);
    // `--html`: counts and the entries that matter per volume, never every entry.
    let mut listings: Vec<output::html::Listing> = Vec::new();
    for path in &files {
        let mut volumes = Vec::new();
        let started = std::time::Instant::now();
        let mut rec = InputRecord {
            input: path.display().to_string(),
            analyser: "disk".into(),
            ..Default::default()
        };
        let result = (|| -> Result<Vec<String>> {
            let ev = Evidence::open(path)?;
            rec.size = ev.len();
            rec.format = ev.format.name().into();
            if common.hash {
                rec.sha256 = ev.sha256();
            }
            if !ev.format.is_disk() {
                bail!("{}: not a disk image or volume", ev.format);
            }
            if let Some(why) = disk::secondary_reason(&ev) {
                bail!("{why}");
            }
            let img = disk::open_image(&ev)?;
            let mut warnings = Vec::new();
            let deadline = triage_source::Deadline::after_secs(common.max_seconds_per_input);
            for v in volumes_to_list(&img, partition) {
                match &v.ntfs {
                    Some(Ok(ntfs)) => {
                        let loc = v.location();
                        let mut err = None;
                        let mut listing = common.html.as_ref().map(|_| output::html::Listing {
                            input: rec.input.clone(),
                            volume: loc.clone(),
                            ..Default::default()
                        });
                        let stats = ntfs.for_each_entry_until(deadline.clone(), |batch| {
                            if err.is_some() || (kind != RecordKind::Entries && listing.is_none()) {
                                return;
                            }
                            let rows: Vec<EntryRecord> = batch
                                .iter()
                                .filter(|e| listed(e))
                                .map(|e| {
                                    let mut r = entry_record(&loc, e);
                                    r.input.clone_from(&rec.input);
                                    r.sha256.clone_from(&rec.sha256);
                                    r
                                })
                                .collect();
                            if let Some(l) = &mut listing {
                                rows.iter().for_each(|r| l.add(r));
                            }
                            if kind != RecordKind::Entries {
                                return;
                            }
                            if let Err(e) = stream.rows(&rows) {
                                err = Some(e);
                            }
                        })?;
                        listings.extend(listing);
                        if let Some(e) = err {
                            return Err(e);
                        }
                        if stats.timed_out {
                            warnings.push(format!(
                                "{loc}: listing stopped at the time budget (--max-seconds-per-input)"
                            ));
                        }
                        if !stats.errors.is_empty() {
                            warnings.push(format!(
                                "{loc}: {} records with problems, first: {}",
                                stats.errors.len(),
                                stats.errors[0]
                            ));
                        }
                    }
                    Some(Err(e)) => warnings.push(format!("{}: {e}", v.location())),
                    None => {}
                }
            }
            volumes = disk::volume_records(&img);
            Ok(warnings)
        })();
        match result {
            Ok(w) if w.is_empty() => rec.status = Some(InputStatus::Analysed),
            Ok(w) => {
                rec.status = Some(InputStatus::Partial);
                rec.detail = w.join("; ");
            }
            Err(e) => {
                rec.status = Some(InputStatus::Error);
                rec.detail = format!("{e:#}");
            }
        }
        rec.elapsed_ms = started.elapsed().as_millis() as u64;
        let mut report = InputReport {
            input: rec,
            volumes,
            ..Default::default()
        };
        report.finish();
        reports.push(report);
    }
    for (p, why) in skipped {
        reports.push(crate::analyse::not_read(&p, InputStatus::Skipped, why));
    }
    for (p, e) in walk_errors {
        reports.push(crate::analyse::not_read(&p, InputStatus::Error, e));
    }
    if kind == RecordKind::Entries || common.out.is_some() {
        stream.finish()?;
    }
    if let Some(path) = &common.html {
        std::fs::write(path, output::html::render_listing(&reports, &listings))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        if !common.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    // Other kinds: to stdout when asked for, and beside entries with --out.
    if let Some(dir) = &common.out {
        output::write_dir_except(dir, format, &reports, &[RecordKind::Entries])?;
    } else if kind != RecordKind::Entries {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        output::write_kind(&mut out, format, kind, &reports)?;
        out.flush()?;
    }
    let mut code = 0;
    for i in reports.iter().map(|r| &r.input) {
        if i.status == Some(InputStatus::Error) {
            code = EXIT_INPUT_ERROR;
            if !common.quiet {
                eprintln!(
                    "error: {}: {}",
                    crate::sanitise::terminal(&i.input),
                    crate::sanitise::terminal(&i.detail)
                );
            }
        } else if i.status == Some(InputStatus::Partial) && !common.quiet {
            eprintln!(
                "partial: {}: {}",
                crate::sanitise::terminal(&i.input),
                crate::sanitise::terminal(&i.detail)
            );
        }
    }
    Ok(code)
}

fn volumes_to_list(img: &OpenedImage, partition: Option<u32>) -> impl Iterator<Item = &Volume> {
    img.volumes
        .iter()
        .filter(move |v| partition.is_none_or(|p| v.partition.index == p))
}

/// `disk cat`: one file's content to stdout. Nothing is written anywhere else.
pub fn cat_command(
    image: &std::path::Path,
    path: Option<&str>,
    partition: Option<u32>,
    entry: Option<u64>,
    stream: Option<&str>,
) -> Result<u8> {
    let ev = Evidence::open(image)?;
    if !ev.format.is_disk() {
        bail!(
            "{}: {} is not a disk image or volume",
            image.display(),
            ev.format
        );
    }
    let img = disk::open_image(&ev)?;
    let candidates: Vec<&Volume> = volumes_to_list(&img, partition)
        .filter(|v| matches!(v.ntfs, Some(Ok(_))))
        .collect();
    if candidates.is_empty() {
        bail!(
            "{}: no readable NTFS volume{}",
            image.display(),
            partition
                .map(|p| format!(" as partition {p}"))
                .unwrap_or_default()
        );
    }
    // `PATH:STREAM`, with `/` accepted for `\`. A drive-letter colon is not a stream.
    let (file_path, stream_name) = match path {
        Some(p) => {
            let p = p.replace('/', "\\");
            let p = p
                .strip_prefix("C:")
                .or(p.strip_prefix("c:"))
                .map(String::from)
                .unwrap_or(p);
            match p.rsplit_once(':') {
                Some((f, s)) if !s.contains('\\') => (Some(f.to_string()), s.to_string()),
                _ => (Some(p), String::new()),
            }
        }
        None => (None, stream.unwrap_or("").to_string()),
    };
    for v in &candidates {
        let Some(Ok(ntfs)) = &v.ntfs else { continue };
        let n = match (&file_path, entry) {
            (_, Some(n)) => Some(n),
            (Some(p), None) => ntfs.lookup(p)?,
            (None, None) => None,
        };
        let Some(n) = n else { continue };
        let data = ntfs.open_stream(n, &stream_name)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0u64;
        use triage_source::ByteSource;
        let len = data.len();
        while off < len {
            let want = (len - off).min(buf.len() as u64) as usize;
            triage_source::read_exact_at(&data, off, &mut buf[..want])?;
            out.write_all(&buf[..want])?;
            off += want as u64;
        }
        out.flush()?;
        return Ok(0);
    }
    bail!(
        "{}: {} not found on {}",
        image.display(),
        file_path.unwrap_or_else(|| format!("entry {}", entry.unwrap_or(0))),
        candidates
            .iter()
            .map(|v| v.location())
            .collect::<Vec<_>>()
            .join(", ")
    )
}
