//! The batch driver: each input is opened, recognised and handed to its analyser;
//! rayon runs inputs in parallel and one failing input never stops the others.

pub mod disk;
pub mod disk_triage;
pub mod entries;
pub mod evtx;
pub mod execution;
pub mod hive;
pub mod host;
pub mod mem;
pub mod pe;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use triage_source::Deadline;

use crate::detect::Format;
use crate::evidence::{self, Evidence};
use crate::model::{InputReport, InputStatus};
use crate::progress::Progress;

/// Which analysers a command allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `scan`: everything we can recognise.
    All,
    /// `pe`: PE files only.
    Pe,
    /// `hive`: registry hives only.
    Hive,
    /// `mem ...`: memory dumps only.
    Memory,
    /// `disk ...`: disk images and volumes only.
    Disk,
}

/// Options every analyser sees.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub hash: bool,
    /// `--symbols DIR`: Volatility 3 ISF symbol directory.
    pub symbols: Option<PathBuf>,
    /// `hive --dump KEY`.
    pub dump_key: Option<String>,
    /// `mem ... --no-scan`: list walk only.
    pub no_scan: bool,
    /// `mem ... --pagefile FILE`: the host's pagefile.sys, for paged-out pages.
    pub pagefile: Option<PathBuf>,
    /// A pagefile.sys found for the dumps, not given: on the disk image of the same host
    /// (`stream`) or beside a hiberfil.sys (disk triage). `--pagefile` wins.
    pub found_pagefile: Option<mem::FoundPagefile>,
    /// `disk ... --partition N`.
    pub partition: Option<u32>,
    /// Disk images: triage every NTFS volume (`scan`); `disk info` only describes them.
    pub triage: bool,
    /// `--host NAME`: every input belongs to this host (the host view).
    pub host: Option<String>,
    /// `--max-seconds-per-input S`: each input's analysis runs under a
    /// [`triage_source::Deadline`] of this many seconds (see [`analyse_one`]).
    pub max_seconds_per_input: Option<f64>,
}

/// Analyse every path (directories recursively), in parallel. Reports come back in
/// input order.
pub fn run(
    paths: &[PathBuf],
    scope: Scope,
    opts: &Options,
    progress: &Progress,
) -> Vec<InputReport> {
    let evidence::Inputs {
        files,
        errors: walk_errors,
        skipped,
    } = evidence::collect(paths);
    let total = files.len();
    progress.start(total);
    let done = AtomicUsize::new(0);
    let mut reports: Vec<InputReport> = files
        .par_iter()
        .map(|p| {
            let r = analyse_one(p, scope, opts);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.tick(n, total, p);
            r
        })
        .collect();
    progress.finish();
    if scope == Scope::All {
        host::link(&mut reports, opts.host.as_deref());
        for r in &mut reports {
            r.finish();
        }
    }
    for (path, why) in skipped {
        reports.push(not_read(&path, InputStatus::Skipped, why));
    }
    for (path, err) in walk_errors {
        reports.push(not_read(&path, InputStatus::Error, err));
    }
    reports
}

/// The report of a path the walk did not hand to an analyser: an error (unreadable) or
/// skipped (a FIFO, socket, device or link not followed: never opened).
pub fn not_read(path: &Path, status: InputStatus, detail: String) -> InputReport {
    let mut r = InputReport::default();
    r.input.input = path.display().to_string();
    r.input.status = Some(status);
    r.input.detail = detail;
    r
}

/// One item of a streamed batch: a file to analyse, a path the walk could not read
/// (an error record), or one it does not read (a FIFO, socket or device: a skipped
/// record, the file never opened). The last two come after the files.
#[derive(Debug, Clone)]
pub enum Item {
    File(PathBuf),
    WalkError(PathBuf, String),
    Skipped(PathBuf, String),
}

impl Item {
    pub fn path(&self) -> &Path {
        match self {
            Item::File(p) | Item::WalkError(p, _) | Item::Skipped(p, _) => p,
        }
    }
}

/// The streaming batch driver: analyse `items[skip..]` on `-j` threads and hand each
/// report to `sink` in item order, through a reorder window of a few inputs per thread.
///
/// The host view (`scan`) needs the disk images before the memory dumps: when the batch
/// holds both, the disk images are analysed first and only their reports are kept (the
/// reports that take part in the view); each dump is linked against them as it finishes.
/// Every other report is linked alone (its own host name), as `host::link` does.
pub fn stream(
    items: &[Item],
    skip: usize,
    scope: Scope,
    opts: &Options,
    progress: &Progress,
    mut sink: impl FnMut(&Path, InputReport) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let todo = items.get(skip..).unwrap_or(&[]);
    let total = todo.len();
    progress.start(total);
    let kinds: Vec<Option<Format>> = if scope == Scope::All {
        items
            .iter()
            .map(|i| match i {
                Item::File(p) => Evidence::open(p).ok().map(|e| e.format),
                Item::WalkError(..) | Item::Skipped(..) => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let is_disk = |i: usize| kinds.get(i).copied().flatten().is_some_and(|f| f.is_disk());
    let is_memory = |i: usize| {
        kinds
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|f| f.is_memory())
    };
    let both = (0..kinds.len()).any(is_disk) && kinds.iter().flatten().any(|f| f.is_memory());
    // Disk reports for the host view, analysed up front: index -> report.
    let mut disks: std::collections::BTreeMap<usize, InputReport> = Default::default();
    if both {
        let idx: Vec<usize> = (0..items.len()).filter(|&i| is_disk(i)).collect();
        let done: Vec<(usize, InputReport)> = idx
            .par_iter()
            .map(|&i| (i, analyse_one(items[i].path(), scope, opts)))
            .collect();
        disks.extend(done);
    }
    let disk_list: Vec<InputReport> = disks.values().cloned().collect();
    // One host's evidence (one disk image, and `--host` or a single dump): the dumps read
    // their paged-out pages from that image's pagefile.sys, as the host view links them.
    let dump_opts = match (both, disks.keys().next()) {
        (true, Some(&i))
            if disks.len() == 1
                && opts.pagefile.is_none()
                && opts.found_pagefile.is_none()
                && (opts.host.is_some()
                    || kinds.iter().flatten().filter(|f| f.is_memory()).count() == 1) =>
        {
            let mut o = opts.clone();
            o.found_pagefile = host_pagefile(items[i].path());
            o
        }
        _ => opts.clone(),
    };
    let done = AtomicUsize::new(0);
    let work = |j: usize| -> InputReport {
        let i = skip + j;
        let item = &todo[j];
        let mut r = match item {
            Item::WalkError(path, err) => {
                return not_read(path, InputStatus::Error, err.clone());
            }
            Item::Skipped(path, why) => {
                return not_read(path, InputStatus::Skipped, why.clone());
            }
            Item::File(p) => match disks.get(&i) {
                Some(r) => r.clone(),
                None if is_memory(i) => analyse_one(p, scope, &dump_opts),
                None => analyse_one(p, scope, opts),
            },
        };
        if scope == Scope::All {
            if both && r.input.analyser == "mem" {
                let mut v = disk_list.clone();
                v.push(r);
                host::link(&mut v, opts.host.as_deref());
                r = v.pop().unwrap_or_default();
            } else {
                host::link(std::slice::from_mut(&mut r), opts.host.as_deref());
            }
            r.finish();
        }
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress.tick(n, total, item.path());
        r
    };
    let threads = rayon::current_num_threads();
    let res =
        crate::batch::reorder::for_each_ordered(total, threads, threads * 4 + 4, work, |j, r| {
            sink(todo[j].path(), r)
        });
    progress.finish();
    res
}

/// `pagefile.sys` of the Windows volume of a disk image (the first NTFS volume that has
/// one), for the dumps of the same host.
fn host_pagefile(image: &Path) -> Option<mem::FoundPagefile> {
    let ev = Evidence::open(image).ok()?;
    let img = disk::open_image(&ev).ok()?;
    img.volumes.iter().find_map(|v| match &v.ntfs {
        Some(Ok(ntfs)) => mem::pagefile_on(ntfs, &v.location()),
        _ => None,
    })
}

/// Analyse one input. Never panics: a panic inside a parser (a bug) is caught and
/// reported as this input's error, and the batch goes on.
///
/// With `--max-seconds-per-input`, the analysis runs in a [`Deadline::scope`]: the long
/// loops stop at it, and an input whose loops stopped is `partial` with the reason.
pub fn analyse_one(path: &Path, scope: Scope, opts: &Options) -> InputReport {
    let started = Instant::now();
    let deadline = Deadline::after_secs(opts.max_seconds_per_input);
    let run = || deadline.scope(|| analyse_inner(path, scope, opts));
    let mut report = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let mut r = InputReport::default();
            r.input.input = path.display().to_string();
            r.input.status = Some(InputStatus::Error);
            r.input.detail = format!("internal error (please report): {msg}");
            r
        }
    };
    let done = matches!(
        report.input.status,
        Some(InputStatus::Analysed | InputStatus::Partial)
    );
    if deadline.stopped() && done {
        report.input.status = Some(InputStatus::Partial);
        let why = format!(
            "stopped at the time budget (--max-seconds-per-input {}): the records are what was found before it",
            opts.max_seconds_per_input.unwrap_or(0.0)
        );
        let mut parts = vec![std::mem::take(&mut report.input.detail), why];
        parts.retain(|p| !p.is_empty());
        report.input.detail = parts.join("; ");
    }
    report.input.elapsed_ms = started.elapsed().as_millis() as u64;
    report.finish();
    report
}

fn analyse_inner(path: &Path, scope: Scope, opts: &Options) -> InputReport {
    let mut report = InputReport::default();
    report.input.input = path.display().to_string();
    let ev = match Evidence::open(path) {
        Ok(ev) => ev,
        Err(e) => {
            report.input.status = Some(InputStatus::Error);
            report.input.detail = format!("{e:#}");
            return report;
        }
    };
    report.input.size = ev.len();
    report.input.format = ev.format.name().to_string();
    // The PE analyser hashes as part of its facts; hash everything else here.
    if opts.hash && ev.format != Format::Pe {
        report.input.sha256 = ev.sha256();
    }
    if ev.is_empty() {
        return skipped(report, "empty file");
    }
    if let Some(why) = disk::secondary_reason(&ev) {
        return skipped(report, &why);
    }

    let analyser = match (ev.format, scope) {
        (Format::Pe, Scope::All | Scope::Pe) => "pe",
        (Format::Regf, Scope::All | Scope::Hive) => "hive",
        (f, Scope::All | Scope::Memory) if f.is_memory() => "mem",
        (f, Scope::All | Scope::Disk) if f.is_disk() => "disk",
        (Format::Prefetch, Scope::All) => "prefetch",
        (Format::Evtx, Scope::All) => "evtx",
        (Format::RegfLog, _) => {
            return skipped(
                report,
                "registry transaction log: replayed with the hive beside it",
            )
        }
        (Format::Unknown, _) => return skipped(report, "unrecognised format"),
        (Format::ElfNotCore, Scope::All | Scope::Memory) => {
            return skipped(report, "ELF executable, not a core dump")
        }
        (f, Scope::All) => {
            let why = format!("{f}: no analyser for this format yet");
            return skipped(report, &why);
        }
        (f, scope) => {
            let want = match scope {
                Scope::Pe => "a PE file",
                Scope::Hive => "a registry hive",
                Scope::Memory => "a memory dump",
                Scope::Disk => "a disk image or volume",
                Scope::All => unreachable!(),
            };
            let why = format!("{f}: not {want} (use `scan` for any input)");
            return skipped(report, &why);
        }
    };
    report.input.analyser = analyser.to_string();
    let result = match analyser {
        "pe" => pe::analyse(&ev, opts, &mut report),
        "hive" => hive::analyse(&ev, opts, &mut report),
        "disk" => disk::analyse(&ev, opts, &mut report),
        "prefetch" => execution::analyse_prefetch(&ev, opts, &mut report),
        "evtx" => evtx::analyse(&ev, opts, &mut report),
        _ => mem::analyse(&ev, opts, &mut report),
    };
    match result {
        Ok(warnings) if warnings.is_empty() => report.input.status = Some(InputStatus::Analysed),
        Ok(warnings) => {
            report.input.status = Some(InputStatus::Partial);
            let mut parts = vec![std::mem::take(&mut report.input.detail)];
            parts.extend(warnings);
            parts.retain(|p| !p.is_empty());
            report.input.detail = parts.join("; ");
        }
        Err(e) => {
            report.input.status = Some(InputStatus::Error);
            // The input column (and the stderr line) already name the input.
            report.input.detail = format!("{e:#}");
        }
    }
    report
}

fn skipped(mut report: InputReport, why: &str) -> InputReport {
    report.input.status = Some(InputStatus::Skipped);
    report.input.detail = why.to_string();
    report
}
