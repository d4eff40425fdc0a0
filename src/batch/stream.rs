//! The streaming sink of a batch: each input's records go to stdout and to the
//! `--out DIR` files as soon as the input is done (in input order), flushed, then the
//! input is journaled. Only what needs the whole batch is kept: the table view (tables
//! are for terminals), the timeline rows (sorted by time at the end with bounded memory:
//! an external merge sort, [`crate::output::timeline::Sorter`], whose runs go to the
//! `--out` directory or `$TMPDIR`), the `--html` report (reports without their
//! `entries`), and counters for the summary and the exit code.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::batch::journal::{self, Entry, Journal};
use crate::cli::Common;
use crate::model::{InputReport, InputStatus, RecordKind, Severity, TimelineRecord};
use crate::output::{self, timeline::Sorter, OutputFormat};

pub const SPILL: &str = ".timeline.part.csv";

/// Counters for the summary line and the exit code.
#[derive(Default)]
pub struct Tally {
    pub inputs: usize,
    pub analysed: usize,
    pub partial: usize,
    pub skipped: usize,
    pub errors: usize,
    pub findings: usize,
    pub max: Option<Severity>,
}

impl Tally {
    fn add(&mut self, r: &InputReport) {
        self.inputs += 1;
        match r.input.status {
            Some(InputStatus::Analysed) => self.analysed += 1,
            Some(InputStatus::Partial) => self.partial += 1,
            Some(InputStatus::Skipped) => self.skipped += 1,
            Some(InputStatus::Error) => self.errors += 1,
            None => {}
        }
        self.findings += r.findings.len();
        self.max = self.max.max(r.findings.iter().map(|f| f.severity).max());
    }

    /// The same line as [`crate::output::summary_line`].
    pub fn line(&self) -> String {
        format!(
            "{} inputs: {} analysed, {} partial, {} skipped, {} errors; {} findings{}",
            self.inputs,
            self.analysed,
            self.partial,
            self.skipped,
            self.errors,
            self.findings,
            self.max
                .map(|m| format!(" (highest: {m})"))
                .unwrap_or_default()
        )
    }
}

struct DirOut {
    dir: PathBuf,
    format: OutputFormat,
    ext: &'static str,
    /// Every kind but the timeline, then the timeline spill.
    files: Vec<(Option<RecordKind>, PathBuf, BufWriter<File>)>,
    journal: Journal,
}

/// The kinds streamed to files, in journal order (the spill comes last).
pub fn streamed_kinds() -> Vec<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .filter(|k| *k != RecordKind::Timeline && *k != RecordKind::All)
        .collect()
}

impl DirOut {
    fn open(
        dir: &Path,
        format: OutputFormat,
        key: &str,
        resume: bool,
        shard: Option<crate::batch::shard::Shard>,
        items: &[PathBuf],
    ) -> Result<(DirOut, usize)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
        let (format, ext) = match format {
            OutputFormat::Jsonl => (OutputFormat::Jsonl, "jsonl"),
            OutputFormat::Csv | OutputFormat::Table => (OutputFormat::Csv, "csv"),
        };
        let mut paths: Vec<(Option<RecordKind>, PathBuf)> = streamed_kinds()
            .into_iter()
            .map(|k| (Some(k), dir.join(format!("{}.{ext}", k.name()))))
            .collect();
        paths.push((None, dir.join(SPILL)));
        let n = paths.len();
        let mut files = Vec::new();
        if resume {
            let (journal, resumed) = Journal::resume(dir, key, items, n)?;
            for ((kind, path), len) in paths.into_iter().zip(&resumed.lengths) {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("{}: cannot reopen to resume", path.display()))?;
                // Drops whatever was written after the last journaled input, a torn
                // record included.
                f.set_len(*len)?;
                let mut f = f;
                use std::io::Seek;
                f.seek(std::io::SeekFrom::End(0))?;
                files.push((kind, path, BufWriter::new(f)));
            }
            let done = resumed.done.len();
            return Ok((
                DirOut {
                    dir: dir.to_path_buf(),
                    format,
                    ext,
                    files,
                    journal,
                },
                done,
            ));
        }
        // A fresh run over an old directory: the old journal goes first, so that a kill
        // between truncating the outputs and writing the new journal cannot leave an old
        // complete journal over new, shorter files (a resume would pad them with zeros).
        let old = dir.join(journal::FILE_NAME);
        if old.exists() {
            std::fs::remove_file(&old)
                .with_context(|| format!("{}: cannot replace", old.display()))?;
        }
        let mut lengths = Vec::new();
        for (kind, path) in paths {
            let f = File::create(&path)
                .with_context(|| format!("{}: cannot create", path.display()))?;
            let mut w = BufWriter::new(f);
            if let Some(k) = kind {
                output::write_kind(&mut w, format, k, &[])?;
            }
            w.flush()?;
            lengths.push(w.get_ref().metadata()?.len());
            files.push((kind, path, w));
        }
        let run = journal::RunInfo {
            shard: shard.map(|s| s.to_string()).unwrap_or_else(|| "1/1".into()),
            inputs: items.len(),
        };
        let journal = Journal::create(dir, key, &run, &lengths)?;
        Ok((
            DirOut {
                dir: dir.to_path_buf(),
                format,
                ext,
                files,
                journal,
            },
            0,
        ))
    }

    fn push(&mut self, path: &Path, r: &InputReport) -> Result<()> {
        let one = std::slice::from_ref(r);
        let mut lengths = Vec::with_capacity(self.files.len());
        for (kind, p, w) in &mut self.files {
            match kind {
                Some(k) => output::write_kind_rows(w, self.format, *k, one)?,
                None => output::write_kind_rows(w, OutputFormat::Csv, RecordKind::Timeline, one)?,
            }
            w.flush()
                .with_context(|| format!("{}: write failed", p.display()))?;
            lengths.push(w.get_ref().metadata()?.len());
        }
        self.journal
            .append(&Entry::of(path, &r.input.sha256), &lengths)
    }

    /// The whole-batch files: the timeline (sorted from the spill) and the ATT&CK layer
    /// (recomputed from the findings file, so a resumed run counts every input).
    fn finish(mut self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (kind, p, w) in &mut self.files {
            w.flush()?;
            if kind.is_some() {
                written.push(p.clone());
            }
        }
        let spill = self.dir.join(SPILL);
        let tl = self.dir.join(format!("timeline.{}", self.ext));
        write_sorted_spill(&spill, &self.dir, &tl, self.format)?;
        written.push(tl);
        let findings = self.dir.join(format!("findings.{}", self.ext));
        let inputs = self.dir.join(format!("inputs.{}", self.ext));
        written.push(output::write_attack_layer_from_files(
            &self.dir,
            &findings,
            &inputs,
            self.format,
        )?);
        Ok(written)
    }
}

/// `out`: the timeline file from a spill file, sorted with bounded memory (runs in
/// `tmp`), byte for byte what sorting [`read_spill`]'s rows in memory would write.
pub fn write_sorted_spill(
    spill: &Path,
    tmp: &Path,
    out: &Path,
    format: OutputFormat,
) -> Result<()> {
    let mut sorter = Sorter::new(tmp);
    sorter.push_spill(spill)?;
    let mut w = BufWriter::new(
        File::create(out).with_context(|| format!("{}: cannot create", out.display()))?,
    );
    output::timeline::write_sorted(&mut w, format, false, sorter.finish()?)?;
    w.flush()?;
    Ok(())
}

/// Timeline rows of a spill file (header-less CSV in `TimelineRecord` field order),
/// sorted by time like [`output::timeline::rows`] (stable). All in memory: the batch
/// writers use [`write_sorted_spill`].
pub fn read_spill(path: &Path) -> Result<Vec<TimelineRecord>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut rows = output::timeline::RunReader::open(path)?.collect::<Result<Vec<_>>>()?;
    rows.sort_by_cached_key(|t| output::timeline_sort_key(&t.datetime));
    Ok(rows)
}

/// The sink of one batch.
pub struct Sink {
    common: Common,
    main: RecordKind,
    with_findings: bool,
    format: OutputFormat,
    stdout: BufWriter<std::io::Stdout>,
    table: Option<Vec<InputReport>>,
    /// Timeline rows for stdout (`--records timeline|all`), sorted at the end.
    timeline: Sorter,
    html: Option<Vec<InputReport>>,
    dir: Option<DirOut>,
    fail_hit: bool,
    skip: usize,
    pub tally: Tally,
}

impl Sink {
    /// Open the outputs; with `--resume`, check the journal and find where to go on.
    pub fn new(
        common: &Common,
        main: RecordKind,
        with_findings: bool,
        key: &str,
        items: &[PathBuf],
    ) -> Result<Sink> {
        let format = crate::commands::effective_format(common);
        if common.resume && common.out.is_none() {
            bail!("--resume needs --out DIR (the journal lives there)");
        }
        if common.resume && common.html.is_some() {
            bail!("--html needs every report of the batch in one run: not with --resume (run `merge` or a fresh run for HTML)");
        }
        let (dir, skip) = match &common.out {
            Some(d) => {
                let (d, skip) = DirOut::open(d, format, key, common.resume, common.shard, items)?;
                (Some(d), skip)
            }
            None => (None, 0),
        };
        let mut stdout = BufWriter::new(std::io::stdout());
        let kind = common.records.unwrap_or(main);
        let table = (dir.is_none() && format == OutputFormat::Table).then(Vec::new);
        if dir.is_none()
            && table.is_none()
            && kind != RecordKind::All
            && kind != RecordKind::Timeline
        {
            output::write_kind(&mut stdout, format, kind, &[])?;
            stdout.flush()?;
        }
        Ok(Sink {
            common: common.clone(),
            main,
            with_findings,
            format,
            stdout,
            table,
            timeline: Sorter::new(&std::env::temp_dir()),
            html: common.html.as_ref().map(|_| Vec::new()),
            dir,
            fail_hit: false,
            skip,
            tally: Tally::default(),
        })
    }

    /// How many inputs a resumed journal says are done (they are not analysed again).
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// One finished input, in order.
    pub fn push(&mut self, path: &Path, mut r: InputReport) -> Result<()> {
        if let Some(d) = &mut self.dir {
            d.push(path, &r)?;
        } else if self.table.is_none() {
            let kind = self.common.records.unwrap_or(self.main);
            let one = std::slice::from_ref(&r);
            match kind {
                RecordKind::Timeline => {
                    for t in output::timeline::rows(one) {
                        self.timeline.push(t)?;
                    }
                }
                RecordKind::All => {
                    output::write_all_of(&mut self.stdout, one, &streamed_kinds())?;
                    for t in output::timeline::rows(one) {
                        self.timeline.push(t)?;
                    }
                }
                k => output::write_kind_rows(&mut self.stdout, self.format, k, one)?,
            }
            self.stdout.flush()?;
        }
        if !self.common.quiet {
            match r.input.status {
                Some(InputStatus::Error) => {
                    eprintln!("error: {}: {}", r.input.input, r.input.detail)
                }
                Some(InputStatus::Partial) if self.common.verbose > 0 => {
                    eprintln!("partial: {}: {}", r.input.input, r.input.detail)
                }
                _ => {}
            }
            if self.common.verbose > 0 {
                eprintln!(
                    "{} ms: {} ({})",
                    r.input.elapsed_ms, r.input.input, r.input.format
                );
            }
        }
        self.tally.add(&r);
        if let Some(t) = self.common.fail_on {
            self.fail_hit |= r.findings.iter().any(|f| f.severity >= t);
        }
        if let Some(h) = &mut self.html {
            let mut slim = r.clone();
            slim.entries = Vec::new();
            h.push(slim);
        }
        if let Some(t) = &mut self.table {
            r.entries.shrink_to_fit();
            t.push(r);
        }
        Ok(())
    }

    /// Write what needs the whole batch, the summary; return the exit code.
    pub fn finish(mut self) -> Result<u8> {
        if let (Some(path), Some(reports)) = (&self.common.html, &self.html) {
            output::write_html(path, reports)?;
            if !self.common.quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        if let Some(d) = self.dir.take() {
            let written = d.finish()?;
            if !self.common.quiet {
                for p in written {
                    eprintln!("wrote {}", p.display());
                }
            }
        } else if let Some(reports) = &self.table {
            crate::commands::print_stdout(
                &mut self.stdout,
                reports,
                &self.common,
                self.main,
                self.with_findings,
            )?;
        } else {
            let kind = self.common.records.unwrap_or(self.main);
            let timeline = self.timeline;
            match kind {
                RecordKind::Timeline => output::timeline::write_sorted(
                    &mut self.stdout,
                    self.format,
                    false,
                    timeline.finish()?,
                )?,
                RecordKind::All => output::timeline::write_sorted(
                    &mut self.stdout,
                    self.format,
                    true,
                    timeline.finish()?,
                )?,
                _ => {}
            }
        }
        self.stdout.flush()?;
        if !self.common.quiet {
            eprintln!("{}", self.tally.line());
        }
        Ok(if self.fail_hit {
            crate::commands::EXIT_FINDING
        } else if self.tally.errors > 0 {
            crate::commands::EXIT_INPUT_ERROR
        } else {
            0
        })
    }
}

/// The key parts of a run, for the journal.
pub fn key(parts: &[String], items: &[PathBuf]) -> String {
    journal::key(parts, items)
}
