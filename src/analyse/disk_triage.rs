//! Triage of one NTFS volume, read straight from the image: the binaries that are, or
//! pretend to be, boot-chain processes; the registry's boot configuration; memory images
//! lying on the volume; and what changed since each shadow copy.
//!
//! The selection (see `docs/disk.md`) comes from one pass over the MFT; only candidates
//! are read, so the bytes read stay a small part of the volume.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use triage_ntfs::{Entry, Ntfs};
use triage_source::{ByteSource, Deadline, Siblings, Source};

use crate::analyse::{hive, pe, Options};
use crate::evidence::Evidence;
use crate::model::{FileRecord, Finding, InputReport, NtfsTimes, Severity};
use crate::names;
use crate::rules;
use crate::time::filetime;

/// A candidate binary is read into memory whole; larger ones are reported, not read.
const MAX_CANDIDATE: u64 = 256 << 20;
/// A renamed binary is looked for among files of this size: the boot-chain binaries are
/// 20 KiB (csrss) to 2 MiB (winlogon on Windows 11), and a stripped look-alike can be a
/// few KiB; the window keeps the cost of reading each one bounded.
const RENAMED_MIN: u64 = 512;
const RENAMED_MAX: u64 = 8 << 20;
/// Files at least this large are checked for a memory-image header.
const MEMORY_MIN: u64 = 16 << 20;
/// Memory images up to this size are analysed from the image (read into memory).
const MEMORY_MAX_READ: u64 = 768 << 20;

/// The binaries compared between the live volume and each shadow copy: the protected
/// names.
const BOOT_CHAIN: [&str; 7] = crate::names::PROTECTED;

/// Why an entry was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Its name (or an ADS name) is, or looks like, a protected name.
    Name,
    /// An executable where renamed copies of system binaries are hidden.
    RenamedProbe,
    /// Large enough to be a memory image.
    MemoryProbe,
}

#[derive(Debug, Clone)]
struct Candidate {
    entry: u64,
    path: String,
    name: String,
    stream: String,
    deleted: bool,
    size: u64,
    times: NtfsTimes,
    why: Why,
}

/// What one volume contributed, for the input's detail.
#[derive(Debug, Default)]
pub struct VolumeTriage {
    pub entries: u64,
    pub candidates: usize,
    pub notes: Vec<String>,
}

/// Triage one NTFS volume into `report`.
#[allow(clippy::too_many_arguments)]
pub fn triage(
    vol_loc: &str,
    volume: &Source,
    disk_volumes: &[Source],
    ntfs: &Ntfs,
    opts: &Options,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) -> VolumeTriage {
    let mut t = VolumeTriage::default();
    let input = report.input.input.clone();
    let mut cands: Vec<Candidate> = Vec::new();
    let mut system_files: Vec<(String, u64, u64)> = Vec::new(); // name, entry, size
                                                                // `--max-seconds-per-input`: set by `analyse_one` for this input's analysis.
    let deadline = Deadline::current();
    let stats = ntfs.for_each_entry_until(deadline.clone(), |batch| {
        for e in batch {
            if e.base_record != 0 || e.names.is_empty() {
                continue;
            }
            t.entries += 1;
            pick(e, &mut cands);
            if e.in_use && is_root_child(e) {
                let lower = e.names[0].name.to_ascii_lowercase();
                if matches!(
                    lower.as_str(),
                    "hiberfil.sys" | "pagefile.sys" | "swapfile.sys"
                ) {
                    system_files.push((e.names[0].name.clone(), e.entry, e.size));
                }
            }
        }
    });
    match stats {
        Ok(s) => {
            if s.timed_out {
                warnings.push(format!(
                    "{vol_loc}: MFT enumeration stopped at the time budget after {} of {} records' entries",
                    t.entries, s.records
                ));
            }
            if !s.errors.is_empty() {
                warnings.push(format!(
                    "{vol_loc}: {} MFT records with problems, first: {}",
                    s.errors.len(),
                    s.errors[0]
                ));
            }
        }
        Err(e) => warnings.push(format!("{vol_loc}: MFT not fully read: {e}")),
    }
    t.candidates = cands.iter().filter(|c| c.why == Why::Name).count();
    let after_mft = ntfs.bytes_read();
    let probes = cands.len() - t.candidates;

    // Read and judge the candidates in parallel: positioned reads through the image.
    // Past the deadline the candidates not yet judged are skipped (counted below).
    let results: Vec<Option<CandidateResult>> = cands
        .par_iter()
        .map(|c| (!deadline.expired()).then(|| judge(c, vol_loc, &input, ntfs)))
        .collect();
    let unjudged = results.iter().filter(|r| r.is_none()).count();
    if unjudged > 0 {
        warnings.push(format!(
            "{vol_loc}: {unjudged} of {} candidates not read: time budget spent",
            cands.len()
        ));
    }
    let mut memory_images = Vec::new();
    for r in results.into_iter().flatten() {
        match r {
            CandidateResult::File(rec, fs) => {
                report.findings.extend(locate(fs, &rec));
                report.files.push(*rec);
            }
            CandidateResult::Memory(c, format) => memory_images.push((c, format)),
            CandidateResult::Warning(w) => warnings.push(w),
            CandidateResult::Nothing => {}
        }
    }

    t.notes.push(format!(
        "read {} for the MFT, {} for {} candidates and {probes} probes",
        crate::analyse::disk::human_size(after_mft),
        crate::analyse::disk::human_size(ntfs.bytes_read().saturating_sub(after_mft)),
        t.candidates
    ));

    // System files at the root: what they hold without reading them whole.
    for (name, entry, size) in &system_files {
        t.notes.push(system_file_note(ntfs, name, *entry, *size));
    }

    // Each later step runs only while the time budget lasts; the skipped ones are named.
    let spent = |what: &str, warnings: &mut Vec<String>| {
        let over = deadline.expired();
        if over {
            warnings.push(format!("{vol_loc}: {what} not read: time budget spent"));
        }
        over
    };

    // The registry on the image.
    if !spent("registry", warnings) {
        registry(vol_loc, ntfs, opts, report, warnings);
    }

    // Execution history on the image: prefetch files and Amcache (with the hives above),
    // and the process history of the event logs.
    if !spent("prefetch files", warnings) {
        let n = prefetch(vol_loc, ntfs, report, warnings);
        if n > 0 {
            t.notes.push(format!("{n} prefetch files"));
        }
    }
    if !spent("event logs", warnings) {
        t.notes
            .extend(event_logs(vol_loc, ntfs, &deadline, report, warnings));
    }

    // Memory images on the volume.
    if !memory_images.is_empty() && spent("memory images on the volume", warnings) {
        memory_images.clear();
    }
    if !spent("hiberfil.sys", warnings) {
        for (name, entry, _) in &system_files {
            if name.eq_ignore_ascii_case("hiberfil.sys") {
                hibernation(vol_loc, ntfs, *entry, opts, report, warnings);
            }
        }
    }
    for (c, format) in memory_images {
        t.notes.push(format!(
            "memory image {} ({format}, {})",
            c.path,
            crate::analyse::disk::human_size(c.size)
        ));
        memory(vol_loc, &c, ntfs, opts, report, warnings);
    }

    // Shadow copies: what changed since each.
    if spent("shadow copies", warnings) {
        return t;
    }
    snapshots(
        vol_loc,
        volume,
        disk_volumes,
        ntfs,
        opts,
        report,
        warnings,
        &mut t,
    );
    t
}

fn is_root_child(e: &Entry) -> bool {
    e.names
        .iter()
        .any(|n| n.parent.0 == triage_ntfs::ROOT_ENTRY && n.namespace != 2)
}

fn times(e: &Entry) -> NtfsTimes {
    NtfsTimes {
        si: e.si.map(|s| s.times()).unwrap_or_default(),
        fn_: e.fn_times.unwrap_or_default(),
    }
}

/// Lower-case, `/`-separated path inside the volume, for the place tests.
fn lower_path(p: &str) -> String {
    p.replace('\\', "/").to_lowercase()
}

/// Places where users (and malware running as them) can write.
const USER_WRITABLE: &[&str] = &[
    "/users/",
    "/programdata/",
    "/windows/temp/",
    "/$recycle.bin/",
    "/perflogs/",
];

fn pick(e: &Entry, out: &mut Vec<Candidate>) {
    if e.is_dir {
        return;
    }
    let base = |name: &str, stream: &str, why: Why| Candidate {
        entry: e.entry,
        path: e.path.clone(),
        name: name.to_string(),
        stream: stream.to_string(),
        deleted: !e.in_use,
        size: e.size,
        times: times(e),
        why,
    };
    // Every name the entry has (hard links, POSIX names), DOS 8.3 names aside.
    let mut by_name = false;
    for n in e.names.iter().filter(|n| n.namespace != 2) {
        if names::protected_name(&n.name).is_some() || names::lookalike(&n.name).is_some() {
            out.push(base(&n.name, "", Why::Name));
            by_name = true;
            break;
        }
    }
    for s in &e.streams {
        if names::protected_name(s).is_some() || names::lookalike(s).is_some() {
            out.push(base(s, s, Why::Name));
        }
    }
    if by_name || e.names.is_empty() {
        return;
    }
    let path = lower_path(&e.path);
    let name = e.names[0].name.to_ascii_lowercase();
    if (RENAMED_MIN..=RENAMED_MAX).contains(&e.size) {
        let writable = USER_WRITABLE.iter().any(|p| path.starts_with(p));
        let outside_windows = !path.starts_with("/windows/") && !path.starts_with("/windows.old/");
        let exe_like = [".exe", ".com", ".scr"].iter().any(|x| name.ends_with(x));
        if (writable && !is_data_extension(&name)) || (outside_windows && exe_like) {
            let primary = e
                .names
                .iter()
                .find(|n| n.namespace != 2)
                .unwrap_or(&e.names[0]);
            out.push(base(&primary.name, "", Why::RenamedProbe));
            return;
        }
    }
    if e.size >= MEMORY_MIN && e.in_use && !path.starts_with("/windows/winsxs/") {
        let lower = name.as_str();
        if !matches!(lower, "pagefile.sys" | "swapfile.sys" | "hiberfil.sys") {
            out.push(base(&e.names[0].name, "", Why::MemoryProbe));
        }
    }
}

/// Extensions of data files that are never a renamed executable worth reading: in a user
/// profile they are the bulk (browser caches, images, documents, logs), and a PE renamed
/// to one of them cannot be started by double-click or `start`. A renamed binary under any
/// other extension (or none) is read. (docs/disk.md: the selection and its cost.)
fn is_data_extension(name: &str) -> bool {
    const DATA: &[&str] = &[
        "png", "jpg", "jpeg", "gif", "bmp", "ico", "svg", "webp", "xml", "json", "txt", "log",
        "ini", "cat", "manifest", "mui", "etl", "evtx", "lnk", "url", "html", "htm", "css", "js",
        "pdf", "docx", "xlsx", "pptx", "zip", "cab", "msi", "pri", "mum", "db", "sqlite",
        "jsonlz4", "ldb", "mp3", "mp4", "wav", "ttf", "otf", "woff", "woff2", "chm", "reg",
    ];
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| DATA.contains(&ext))
}

enum CandidateResult {
    File(Box<FileRecord>, Vec<Finding>),
    Memory(Candidate, crate::detect::Format),
    Warning(String),
    Nothing,
}

fn judge(c: &Candidate, vol_loc: &str, input: &str, ntfs: &Ntfs) -> CandidateResult {
    let display_path = if c.stream.is_empty() {
        c.path.clone()
    } else {
        format!("{}:{}", c.path, c.stream)
    };
    let data = match ntfs.open_stream_at(c.entry, &c.stream, &c.path) {
        Ok(d) => d,
        Err(e) => {
            if c.why != Why::Name {
                return CandidateResult::Nothing;
            }
            let mut rec = located_record(c, vol_loc, input, &display_path);
            rec.warnings = format!("content not read: {e}");
            let fs = rules::file::check(&rec);
            return CandidateResult::File(Box::new(rec), fs);
        }
    };
    // Probes look at the first bytes before reading the rest: the MZ signature (a
    // renamed-binary probe) or a memory-image header (which needs its first 8 KiB).
    let mut head = [0u8; 8192];
    let want = if c.why == Why::RenamedProbe {
        64
    } else {
        head.len()
    };
    let n = (data.len().min(want as u64)) as usize;
    let head_ok = triage_source::read_exact_at(&data, 0, &mut head[..n]).is_ok();
    match c.why {
        Why::MemoryProbe => {
            let f = crate::detect::detect(&head[..n], &[], None);
            return if f.is_memory() {
                CandidateResult::Memory(c.clone(), f)
            } else {
                CandidateResult::Nothing
            };
        }
        Why::RenamedProbe if !(head_ok && head[..n].starts_with(b"MZ")) => {
            return CandidateResult::Nothing
        }
        _ => {}
    }
    if data.len() > MAX_CANDIDATE {
        let mut rec = located_record(c, vol_loc, input, &display_path);
        rec.warnings = format!(
            "{} bytes: larger than the {MAX_CANDIDATE} read for analysis",
            data.len()
        );
        let fs = rules::file::check(&rec);
        return CandidateResult::File(Box::new(rec), fs);
    }
    let bytes = match triage_source::read_all(&data, MAX_CANDIDATE) {
        Ok(b) => b,
        Err(e) => {
            if c.why == Why::RenamedProbe {
                return CandidateResult::Warning(format!("{display_path}: not read: {e}"));
            }
            let mut rec = located_record(c, vol_loc, input, &display_path);
            rec.warnings = format!("content not read: {e}");
            let fs = rules::file::check(&rec);
            return CandidateResult::File(Box::new(rec), fs);
        }
    };
    let mut rec = match pe::analyse_bytes(&bytes, input, &c.name, &display_path) {
        Ok(r) => r,
        Err(e) => {
            if c.why == Why::RenamedProbe {
                return CandidateResult::Nothing;
            }
            let mut rec = located_record(c, vol_loc, input, &display_path);
            rec.warnings = format!("not a readable PE file: {e}");
            rec
        }
    };
    fill_location(&mut rec, c, vol_loc);
    if c.why == Why::RenamedProbe {
        // Only a binary that names a protected one in its version info is a candidate.
        let v = rec.original_filename.trim().to_lowercase();
        if names::protected_name(v.trim_end_matches(".mui")).is_none() {
            return CandidateResult::Nothing;
        }
    }
    let fs = rules::file::check(&rec);
    CandidateResult::File(Box::new(rec), fs)
}

/// A file finding located inside the image.
fn locate(mut fs: Vec<Finding>, rec: &FileRecord) -> Vec<Finding> {
    for f in &mut fs {
        f.location = format!("{} › {}", rec.volume, rec.path);
    }
    fs
}

fn located_record(c: &Candidate, vol_loc: &str, input: &str, path: &str) -> FileRecord {
    let mut rec = FileRecord {
        input: input.to_string(),
        file_name: c.name.clone(),
        path: path.to_string(),
        size: c.size,
        ..Default::default()
    };
    fill_location(&mut rec, c, vol_loc);
    rec
}

fn fill_location(rec: &mut FileRecord, c: &Candidate, vol_loc: &str) {
    rec.volume = vol_loc.to_string();
    rec.mft_entry = c.entry;
    rec.deleted = c.deleted;
    let t = c.times;
    rec.si_created = filetime(t.si[0]);
    rec.si_modified = filetime(t.si[1]);
    rec.si_mft_modified = filetime(t.si[2]);
    rec.si_accessed = filetime(t.si[3]);
    rec.fn_created = filetime(t.fn_[0]);
    rec.fn_modified = filetime(t.fn_[1]);
    rec.fn_mft_modified = filetime(t.fn_[2]);
    rec.fn_accessed = filetime(t.fn_[3]);
    rec.ntfs_times = Some(t);
}

/// `hiberfil.sys`: its header state (it holds memory only after hibernation or Fast
/// Startup); `pagefile.sys`/`swapfile.sys`: their sizes.
fn system_file_note(ntfs: &Ntfs, name: &str, entry: u64, size: u64) -> String {
    let size_s = crate::analyse::disk::human_size(size);
    if !name.eq_ignore_ascii_case("hiberfil.sys") {
        return format!("{name} {size_s}");
    }
    let mut head = [0u8; 8];
    let state = match ntfs.open_stream(entry, "") {
        Ok(d) if triage_source::read_exact_at(&d, 0, &mut head).is_ok() => match &head[..4] {
            b"HIBR" | b"hibr" => "header valid: holds a hibernated memory image",
            b"WAKE" | b"wake" => "header WAKE: resumed, no memory image",
            [0, 0, 0, 0] => "header zeroed: no memory image",
            _ => "header unrecognised",
        },
        Ok(_) => "empty",
        Err(_) => "not readable",
    };
    format!("hiberfil.sys {size_s} ({state})")
}

/// The hives that decide what runs at boot, with their logs replayed in memory.
const HIVES: &[(&str, &str)] = &[
    ("\\Windows\\System32\\config", "SYSTEM"),
    ("\\Windows\\System32\\config", "SOFTWARE"),
    ("\\Windows\\System32\\config\\RegBack", "SYSTEM"),
    ("\\Windows\\System32\\config\\RegBack", "SOFTWARE"),
    ("\\Windows\\AppCompat\\Programs", "Amcache.hve"),
];

/// The logs that record process creation and boots.
const EVENT_LOGS: &[&str] = &[
    "Security.evtx",
    "Microsoft-Windows-Sysmon%4Operational.evtx",
    "System.evtx",
];
const LOGS_DIR: &str = "\\Windows\\System32\\winevt\\Logs";
/// Event logs are read into memory from the image (Security logs reach a few GiB).
const MAX_EVENT_LOG: u64 = 4 << 30;

/// Each event log of [`EVENT_LOGS`] on the volume, through the EVTX analysis; a summary
/// line per log.
fn event_logs(
    vol_loc: &str,
    ntfs: &Ntfs,
    deadline: &Deadline,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for name in EVENT_LOGS {
        // A log's chunks are scanned in parallel; the budget is asked before each.
        if deadline.expired() {
            warnings.push(format!(
                "{vol_loc} › {LOGS_DIR}\\{name} and the logs after it: not read, time budget spent"
            ));
            break;
        }
        let path = format!("{LOGS_DIR}\\{name}");
        let Ok(Some(entry)) = ntfs.lookup(&path) else {
            continue;
        };
        let loc = format!("{vol_loc} › {path}");
        let result = (|| -> anyhow::Result<(InputReport, String, Vec<String>)> {
            let data = ntfs.open_stream_at(entry, "", &path)?;
            let file = triage_evtx::EvtxFile::from_source(&data, MAX_EVENT_LOG)?;
            // Stops before the next chunk once the input's budget is spent.
            let scan = triage_evtx::scan_until(&file, deadline);
            let mut sub = InputReport::default();
            let summary = crate::analyse::evtx::add_scan(&scan, &mut sub);
            let mut errs: Vec<String> = scan.errors.iter().take(5).map(|e| e.to_string()).collect();
            if scan.stopped {
                errs.push(format!(
                    "event log scan stopped at the time budget: {} of {} chunks not read",
                    scan.chunks_skipped, scan.chunks
                ));
            }
            Ok((sub, summary, errs))
        })();
        match result {
            Ok((sub, summary, errs)) => {
                notes.push(format!("{name}: {summary}"));
                warnings.extend(errs.into_iter().map(|e: String| format!("{loc}: {e}")));
                merge_located(report, sub, &loc, warnings);
            }
            Err(e) => warnings.push(format!("{loc}: {e:#}")),
        }
    }
    notes
}

/// Prefetch files are small; a larger `.pf` is not one.
const MAX_PREFETCH: u64 = 64 << 20;

/// Every `\Windows\Prefetch\*.pf`, parsed, as `executions` records located in the image.
fn prefetch(
    vol_loc: &str,
    ntfs: &Ntfs,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) -> usize {
    let Ok(Some(dir)) = ntfs.lookup("\\Windows\\Prefetch") else {
        return 0;
    };
    let entries = match ntfs.list_dir(dir) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!("{vol_loc} › \\Windows\\Prefetch: {e}"));
            return 0;
        }
    };
    let files: Vec<_> = entries
        .into_iter()
        .filter(|d| !d.is_dir && d.namespace != 2 && d.name.to_ascii_lowercase().ends_with(".pf"))
        .collect();
    let results: Vec<Result<crate::model::ExecutionRecord, String>> = files
        .par_iter()
        .map(|d| {
            let path = format!("\\Windows\\Prefetch\\{}", d.name);
            let loc = format!("{vol_loc} › {path}");
            let data = ntfs
                .open_stream_at(d.file.0, "", &path)
                .map_err(|e| format!("{loc}: {e}"))?;
            let bytes =
                triage_source::read_all(&data, MAX_PREFETCH).map_err(|e| format!("{loc}: {e}"))?;
            let p = triage_prefetch::parse(&bytes).map_err(|e| format!("{loc}: {e}"))?;
            let mut rec = crate::analyse::execution::prefetch_record(&p);
            rec.location = loc;
            Ok(rec)
        })
        .collect();
    let mut n = 0;
    for r in results {
        match r {
            Ok(rec) => {
                report.findings.extend(rules::execution::check(&rec));
                report.executions.push(rec);
                n += 1;
            }
            Err(e) => warnings.push(e),
        }
    }
    n
}

fn registry(
    vol_loc: &str,
    ntfs: &Ntfs,
    opts: &Options,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    for (dir, name) in HIVES {
        let path = format!("{dir}\\{name}");
        let (Ok(Some(dir_entry)), Ok(Some(entry))) = (ntfs.lookup(dir), ntfs.lookup(&path)) else {
            continue;
        };
        let sub = match hive_report(ntfs, dir_entry, entry, name, opts) {
            Ok(Some(r)) => r,
            Ok(None) => continue, // an empty RegBack copy
            Err(e) => {
                warnings.push(format!("{vol_loc} › {path}: {e:#}"));
                continue;
            }
        };
        merge_located(report, sub, &format!("{vol_loc} › {path}"), warnings);
    }
}

/// Analyse one hive on the volume as the hive analyser does a loose one.
fn hive_report(
    ntfs: &Ntfs,
    dir_entry: u64,
    entry: u64,
    name: &str,
    opts: &Options,
) -> anyhow::Result<Option<InputReport>> {
    let data = ntfs.open_stream(entry, "")?;
    if data.is_empty() {
        return Ok(None);
    }
    let siblings: Arc<dyn Siblings> = Arc::new(ntfs.siblings(dir_entry));
    let mut ev = Evidence::from_source(Arc::new(data), siblings, name.to_string());
    if ev.format != crate::detect::Format::Regf {
        return Ok(None);
    }
    ev.materialise()?;
    let mut sub = InputReport::default();
    let w = hive::analyse(&ev, opts, &mut sub)?;
    sub.input.detail = [sub.input.detail.clone()]
        .into_iter()
        .chain(w)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Some(sub))
}

/// Move a sub-analysis's records into the image's report, each located inside the image.
fn merge_located(
    report: &mut InputReport,
    mut sub: InputReport,
    loc: &str,
    warnings: &mut Vec<String>,
) {
    for r in &mut sub.registry {
        r.location = loc.to_string();
    }
    for p in &mut sub.processes {
        p.location = loc.to_string();
    }
    for f in &mut sub.findings {
        f.location = loc.to_string();
    }
    for e in &mut sub.executions {
        e.location = loc.to_string();
    }
    if sub.input.status == Some(crate::model::InputStatus::Error) {
        warnings.push(format!("{loc}: {}", sub.input.detail));
    }
    report.registry.append(&mut sub.registry);
    report.processes.append(&mut sub.processes);
    report.findings.append(&mut sub.findings);
    report.executions.append(&mut sub.executions);
}

fn memory(
    vol_loc: &str,
    c: &Candidate,
    ntfs: &Ntfs,
    opts: &Options,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    let loc = format!("{vol_loc} › {}", c.path);
    if c.size > MEMORY_MAX_READ {
        warnings.push(format!(
            "{loc}: memory image of {} not analysed from the image (more than {}); extract it with `disk cat` and run `mem smss` on it",
            crate::analyse::disk::human_size(c.size),
            crate::analyse::disk::human_size(MEMORY_MAX_READ)
        ));
        return;
    }
    let result = (|| -> anyhow::Result<InputReport> {
        let data = ntfs.open_stream(c.entry, "")?;
        let bytes = triage_source::read_all(&data, MEMORY_MAX_READ)?.into_owned();
        let mut sub = InputReport::default();
        let w = crate::analyse::mem::analyse_bytes(bytes, opts, &mut sub)?;
        if !w.is_empty() {
            sub.input.detail.push_str(&format!("; {}", w.join("; ")));
        }
        Ok(sub)
    })();
    match result {
        Ok(sub) => merge_located(report, sub, &loc, warnings),
        Err(e) => warnings.push(format!("{loc}: {e:#}")),
    }
}

/// `hiberfil.sys` with a valid header holds the memory of the last hibernation (or Fast
/// Startup): it is analysed like a dump, in place: positioned reads through the NTFS
/// stream, decompressing only the sets the analysis touches, never the whole file.
fn hibernation(
    vol_loc: &str,
    ntfs: &Ntfs,
    entry: u64,
    opts: &Options,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    let loc = format!("{vol_loc} › \\hiberfil.sys");
    let result = (|| -> anyhow::Result<Option<InputReport>> {
        let data = ntfs.open_stream(entry, "")?;
        let mut head = vec![0u8; data.len().min(4096) as usize];
        triage_source::read_exact_at(&data, 0, &mut head)?;
        // WAKE, zeroed or an unknown layout: the note above already says what it holds.
        if triage_physmem::hiberfil::probe(&head).reason().is_some() {
            return Ok(None);
        }
        let src: Source = Arc::new(data);
        let phys = triage_physmem::hiberfil::open_source(src)?;
        let mut sub = InputReport::default();
        // The hibernated system's paging file is beside it, from the same boot: pages
        // the hibernation image says are paged out are read there.
        let mut opts = opts.clone();
        if opts.pagefile.is_none() && opts.found_pagefile.is_none() {
            opts.found_pagefile = crate::analyse::mem::pagefile_on(ntfs, vol_loc);
        }
        let w = crate::analyse::mem::analyse_phys(&phys, &opts, &mut sub)?;
        if !w.is_empty() {
            sub.input.detail.push_str(&format!("; {}", w.join("; ")));
        }
        Ok(Some(sub))
    })();
    match result {
        Ok(Some(sub)) => merge_located(report, sub, &loc, warnings),
        Ok(None) => {}
        Err(e) => warnings.push(format!("{loc}: {e:#}")),
    }
}

/// The sha256 of each boot-chain binary in `\Windows\System32`, by name.
fn boot_chain_hashes(ntfs: &Ntfs) -> BTreeMap<&'static str, String> {
    use sha2::{Digest, Sha256};
    let mut out = BTreeMap::new();
    for name in BOOT_CHAIN {
        let Ok(Some(e)) = ntfs.lookup(&format!("\\Windows\\System32\\{name}")) else {
            continue;
        };
        let Ok(d) = ntfs.open_stream(e, "") else {
            continue;
        };
        if let Ok(b) = triage_source::read_all(&d, MAX_CANDIDATE) {
            out.insert(name, triage_bytes::hex::encode(&Sha256::digest(&b)));
        }
    }
    out
}

/// Session Manager facts of a SYSTEM hive, as `(control set, key, value) → data`.
fn session_manager(ntfs: &Ntfs, opts: &Options) -> BTreeMap<(String, String, String), String> {
    let mut out = BTreeMap::new();
    let (Ok(Some(dir)), Ok(Some(e))) = (
        ntfs.lookup("\\Windows\\System32\\config"),
        ntfs.lookup("\\Windows\\System32\\config\\SYSTEM"),
    ) else {
        return out;
    };
    if let Ok(Some(sub)) = hive_report(ntfs, dir, e, "SYSTEM", opts) {
        for r in sub.registry {
            if r.key.contains("Session Manager") {
                out.insert((r.control_set, r.key, r.value), r.data);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn snapshots(
    vol_loc: &str,
    volume: &Source,
    disk_volumes: &[Source],
    live: &Ntfs,
    opts: &Options,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
    t: &mut VolumeTriage,
) {
    let storage: Vec<Source> = disk_volumes
        .iter()
        .filter(|s| !Arc::ptr_eq(s, volume))
        .cloned()
        .collect();
    let shadows = match triage_vss::ShadowVolume::open_with_storage(volume.clone(), &storage) {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            warnings.push(format!("{vol_loc}: shadow copies not read: {e}"));
            return;
        }
    };
    if shadows.stores().is_empty() {
        return;
    }
    let live_bins = boot_chain_hashes(live);
    let live_sm = session_manager(live, opts);
    for s in shadows.stores() {
        let when = filetime(s.creation_time);
        t.notes.push(format!(
            "shadow copy {} of {when} (store {})",
            s.index + 1,
            s.store_id
        ));
        let snap = match shadows.snapshot(s.index).and_then(Ntfs::open) {
            Ok(n) => n,
            Err(e) => {
                warnings.push(format!(
                    "{vol_loc}: shadow copy {} not readable: {e}",
                    s.index + 1
                ));
                continue;
            }
        };
        let snap_loc = format!("{vol_loc} › VSS {} ({when})", s.index + 1);
        for (name, old) in boot_chain_hashes(&snap) {
            if let Some(new) = live_bins.get(name) {
                if *new != old {
                    let mut f = Finding::new(
                        "FILE-CHANGED-SINCE-SNAPSHOT",
                        Severity::High,
                        "T1036.005",
                        "file",
                        format!("\\Windows\\System32\\{name}"),
                        format!("sha256={new}; snapshot_sha256={old}; snapshot={when}"),
                        format!("\\Windows\\System32\\{name} differs from its copy in the shadow copy of {when}: the boot chain was replaced since"),
                    );
                    f.location = format!("{vol_loc} › \\Windows\\System32\\{name}");
                    report.findings.push(f);
                }
            }
        }
        let snap_sm = session_manager(&snap, opts);
        for (k, new) in &live_sm {
            let old = snap_sm.get(k);
            if old != Some(new) && !snap_sm.is_empty() {
                let (cs, key, value) = k;
                let mut f = Finding::new(
                    "REG-CHANGED-SINCE-SNAPSHOT",
                    Severity::High,
                    "T1547.001",
                    "registry",
                    format!("{key}\\{value}"),
                    format!(
                        "control_set={cs}; data={new}; snapshot_data={}; snapshot={when}",
                        old.map(String::as_str).unwrap_or("(absent)")
                    ),
                    format!(
                        "Session Manager value {value} was {} since the shadow copy of {when}",
                        if old.is_some() { "changed" } else { "added" }
                    ),
                );
                f.location = snap_loc.clone();
                report.findings.push(f);
            }
        }
    }
}
