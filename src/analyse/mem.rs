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
use crate::commands::{effective_format, emit, exit_code, summary_line, View, EXIT_INPUT_ERROR};
use crate::evidence::Evidence;
use crate::model::{join, InputReport, ProcessRecord};
use crate::output::OutputFormat;
use crate::progress::Progress;
use crate::rules::process::parent_of;
use std::collections::HashMap;

/// A memory image already in memory (read from inside a disk image).
pub fn analyse_bytes(
    data: Vec<u8>,
    opts: &Options,
    report: &mut InputReport,
) -> Result<Vec<String>> {
    let phys = triage_physmem::parse(data).map_err(|e| anyhow::anyhow!("{e}"))?;
    analyse_phys(phys.as_ref(), opts, report)
}

pub fn analyse(ev: &Evidence, opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    // A loose dump is opened by path (a VMware .vmem finds its .vmss beside it); memory
    // images inside a disk image are read through their source.
    let phys = match &ev.path {
        Some(path) => triage_physmem::open(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => anyhow::bail!("memory images inside disk images are read with analyse_bytes"),
    };
    analyse_phys(phys.as_ref(), opts, report)
}

/// The memory analysis of an opened physical address space (a loose dump, a memory image
/// read from a disk image, or a hibernation file read in place).
pub(crate) fn analyse_phys(
    phys: &dyn triage_physmem::PhysicalMemory,
    opts: &Options,
    report: &mut InputReport,
) -> Result<Vec<String>> {
    let info = triage_winmem::mem_info(phys, opts.symbols.as_deref());
    report.input.detail = summary(&info);
    if info.dtb.is_none() || info.kernel_base.is_none() {
        anyhow::bail!("no Windows kernel found: {}", info.warnings.join("; "));
    }
    let mut warnings = info.warnings.clone();
    let popts = triage_winproc::ProcOptions {
        scan: !opts.no_scan,
        ..Default::default()
    };
    let pagefiles = match &opts.pagefile {
        Some(path) => Some(open_pagefile(phys, &info, path)?),
        None => None,
    };
    // The per-input time budget (set by the batch driver on this thread): the walk and the
    // scan check it, and the input is reported partial when they stop early.
    let deadline = triage_source::Deadline::current();
    let stop = || deadline.expired();
    let list =
        match triage_winproc::processes_paged_until(phys, &info, &popts, pagefiles.as_ref(), &stop)
        {
            Ok(l) => l,
            Err(e) => {
                // The kernel facts above still stand: report them, partial.
                warnings.push(format!("processes not read: {e}"));
                return Ok(warnings);
            }
        };
    warnings.extend(list.warnings.iter().cloned());
    warnings.extend(paging_file_hint(&list.processes, pagefiles.is_some()));
    let mut records: Vec<ProcessRecord> = list.processes.iter().map(process_record).collect();
    fill_parent_names(&mut records);
    report.input.detail.push_str(&format!(
        ", {} processes ({} list, {} scan only{})",
        records.len(),
        list.stats.list_count,
        list.stats.found_by_scan_only,
        if list.stats.scan_ran { "" } else { ", no scan" }
    ));
    report.dump_time = info.dump_time.map(crate::time::FileTime);
    report
        .findings
        .extend(crate::rules::process::check(&records, report.dump_time));
    report.processes = records;
    Ok(warnings)
}

/// A process record from the process layer's facts. Times use the same ISO form as
/// every other record.
pub fn process_record(p: &triage_winproc::ProcessFacts) -> ProcessRecord {
    use triage_winproc::{FoundBy, MemString};
    let mem_string = |m: &MemString| match m {
        MemString::Read { value } => value.clone(),
        MemString::Unavailable { .. } => "paged out".to_string(),
        MemString::Absent => String::new(),
    };
    let token = p.token.as_ref();
    let user_sid = token
        .and_then(|t| t.user.as_ref())
        .map(|u| u.sid.clone())
        .unwrap_or_default();
    ProcessRecord {
        pid: p.pid,
        ppid: p.ppid,
        name: p.image_file_name.clone(),
        image_path: p.image_path.clone().unwrap_or_default(),
        peb_image_path: mem_string(&p.peb_image_path),
        command_line: mem_string(&p.command_line),
        session: p.session_id.map(|s| s.to_string()).unwrap_or_default(),
        create_time: filetime_iso(p.create_time.filetime),
        exit_time: p
            .exit_time
            .as_ref()
            .map(|t| filetime_iso(t.filetime))
            .unwrap_or_default(),
        created: Some(crate::time::FileTime(p.create_time.filetime)),
        exited: p
            .exit_time
            .as_ref()
            .map(|t| crate::time::FileTime(t.filetime)),
        wow64: p.wow64,
        user_name: triage_winproc::well_known_name(&user_sid)
            .unwrap_or_default()
            .to_string(),
        user_sid,
        integrity: token
            .and_then(|t| t.integrity)
            .map(|i| format!("{i:?}"))
            .unwrap_or_default(),
        logon_id: token
            .and_then(|t| t.logon_id)
            .map(|l| format!("{l:#x}"))
            .unwrap_or_default(),
        token_type: token
            .and_then(|t| t.token_type)
            .map(|t| format!("{t:?}").to_lowercase())
            .unwrap_or_default(),
        groups: join(
            token
                .map(|t| t.groups.iter().map(|g| g.sid.as_str()).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
        privileges_present: join(
            token
                .map(|t| t.privileges.iter().map(privilege_name).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
        privileges_enabled: join(
            token
                .map(|t| {
                    t.privileges
                        .iter()
                        .filter(|p| p.enabled)
                        .map(privilege_name)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        ),
        source: "memory".into(),
        found_by: match p.found_by {
            FoundBy::List => "list",
            FoundBy::Scan => "scan",
            FoundBy::Both => "both",
        }
        .to_string(),
        eprocess_virtual: p.eprocess_va.map(|v| format!("{v:#x}")).unwrap_or_default(),
        eprocess_physical: p.eprocess_pa.map(|v| format!("{v:#x}")).unwrap_or_default(),
        ..Default::default()
    }
}

fn privilege_name(p: &triage_winproc::Privilege) -> String {
    p.name
        .map(String::from)
        .unwrap_or_else(|| format!("luid:{}", p.luid))
}

/// The parent's name, only where the parent existed before the child (PIDs are reused).
pub fn fill_parent_names(records: &mut [ProcessRecord]) {
    let mut by_pid: HashMap<u64, Vec<&ProcessRecord>> = HashMap::new();
    for r in records.iter() {
        by_pid.entry(r.pid).or_default().push(r);
    }
    let names: Vec<String> = records
        .iter()
        .map(|r| {
            parent_of(r, &by_pid)
                .map(|p| p.name.clone())
                .unwrap_or_default()
        })
        .collect();
    for (r, n) in records.iter_mut().zip(names) {
        r.parent_name = n;
    }
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
    crate::time::FileTime(ft).iso()
}

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

/// Children sorted by creation time; a process whose parent is absent (or younger than
/// it) is a root.
pub fn write_tree<W: Write>(out: &mut W, procs: &[ProcessRecord]) -> std::io::Result<()> {
    let mut by_pid: HashMap<u64, Vec<&ProcessRecord>> = HashMap::new();
    for r in procs {
        by_pid.entry(r.pid).or_default().push(r);
    }
    let mut children: HashMap<*const ProcessRecord, Vec<&ProcessRecord>> = HashMap::new();
    let mut roots = Vec::new();
    for p in procs {
        match parent_of(p, &by_pid) {
            Some(parent) => children.entry(parent as *const _).or_default().push(p),
            None => roots.push(p),
        }
    }
    fn line(p: &ProcessRecord) -> String {
        let mut s = format!("{} {}", p.pid, p.name);
        if !p.session.is_empty() {
            s.push_str(&format!("  session {}", p.session));
        }
        s.push_str(&format!("  {}", p.create_time));
        if !p.exit_time.is_empty() {
            s.push_str(&format!("  exited {}", p.exit_time));
        }
        if p.found_by != "both" && p.found_by != "list" {
            s.push_str(&format!("  [{}]", p.found_by));
        }
        if !p.image_path.is_empty() {
            s.push_str(&format!("  {}", p.image_path));
        }
        s
    }
    fn walk<W: Write>(
        out: &mut W,
        p: &ProcessRecord,
        children: &HashMap<*const ProcessRecord, Vec<&ProcessRecord>>,
        prefix: &str,
        last: bool,
        depth: usize,
    ) -> std::io::Result<()> {
        let branch = if depth == 0 {
            ""
        } else if last {
            "└─ "
        } else {
            "├─ "
        };
        let mut text = line(p);
        if depth == 0 && p.ppid != 0 {
            // A root other than System: its parent is not shown (filtered out, exited and
            // gone, or younger than it: a reused PID). Say which.
            if p.parent_name.is_empty() {
                text.push_str(&format!("  (parent pid {} not in memory)", p.ppid));
            } else {
                text.push_str(&format!("  (parent pid {} {})", p.ppid, p.parent_name));
            }
        }
        writeln!(out, "{prefix}{branch}{}", term(&text))?;
        // Depth bound: parent links come from the dump and could loop.
        if depth > 64 {
            return Ok(());
        }
        let kids = children.get(&(p as *const _)).cloned().unwrap_or_default();
        let next = if depth == 0 {
            String::new()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        for (i, c) in kids.iter().enumerate() {
            walk(out, c, children, &next, i + 1 == kids.len(), depth + 1)?;
        }
        Ok(())
    }
    for r in roots {
        walk(out, r, &children, "", true, 0)?;
    }
    Ok(())
}

/// The boot-chain processes: System, every smss, and what smss children start.
pub fn is_boot_chain(p: &ProcessRecord) -> bool {
    let exe = p
        .image_path
        .rsplit(['\\', '/'])
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(&p.name)
        .to_lowercase();
    p.pid == 4
        || matches!(
            exe.as_str(),
            "smss.exe"
                | "csrss.exe"
                | "wininit.exe"
                | "winlogon.exe"
                | "services.exe"
                | "lsass.exe"
        )
        || crate::names::lookalike(&exe).is_some_and(|(prot, _)| prot != "svchost.exe")
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

/// `--pagefile FILE` as paging file 0 (pagefile.sys), read with positioned reads
/// through a [`triage_source::Source`] (so a paging file inside a disk image works too).
fn open_pagefile(
    phys: &dyn triage_physmem::PhysicalMemory,
    info: &MemInfo,
    path: &std::path::Path,
) -> Result<triage_winmem::PageFiles> {
    let src = triage_source::FileSource::open(path)
        .map_err(|e| anyhow::anyhow!("--pagefile {}: {e}", path.display()))?;
    let format = triage_winmem::kernel_pte_format(phys, info);
    Ok(triage_winmem::PageFiles::with_pagefile_sys(
        format,
        std::sync::Arc::new(src),
    ))
}

/// One warning naming the paging files that hold command lines which were not read.
fn paging_file_hint(procs: &[triage_winproc::ProcessFacts], given: bool) -> Option<String> {
    use triage_winproc::{MemString, Unavailable};
    let mut by_number: std::collections::BTreeMap<u8, usize> = Default::default();
    for p in procs {
        if let MemString::Unavailable {
            reason: Unavailable::InPagefile { number },
            ..
        } = p.command_line
        {
            *by_number.entry(number).or_default() += 1;
        }
    }
    if by_number.is_empty() {
        return None;
    }
    let list: Vec<String> = by_number
        .iter()
        .map(|(n, c)| {
            let name = if *n == 0 { " = pagefile.sys" } else { "" };
            format!("paging file {n}{name} ({c})")
        })
        .collect();
    let tail = if given {
        ", not given"
    } else {
        ": give --pagefile"
    };
    Some(format!(
        "command lines paged out to {}{tail}",
        list.join(", ")
    ))
}
