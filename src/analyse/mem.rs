//! Memory dumps: container → physical memory → kernel, layouts and (with the process
//! layer) every process; then the process rules.

use std::collections::HashMap;

use anyhow::Result;
use triage_winmem::MemInfo;

use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::{InputReport, ProcessRecord};
use crate::rules::process::parent_of;

/// A paging file the dump was not given but that belongs to it: `pagefile.sys` on the
/// volume a `hiberfil.sys` is read from, or on the disk image of the same host in a
/// batch (see `analyse::stream`). Read in place, with positioned reads.
#[derive(Clone)]
pub struct FoundPagefile {
    pub source: triage_source::Source,
    /// Where it is: `host.E01 › p2 NTFS › \pagefile.sys`.
    pub location: String,
}

impl std::fmt::Debug for FoundPagefile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FoundPagefile({})", self.location)
    }
}

/// `pagefile.sys` at the root of an NTFS volume, when there is one with data.
pub fn pagefile_on(ntfs: &triage_ntfs::Ntfs, vol_loc: &str) -> Option<FoundPagefile> {
    let entry = ntfs.lookup("\\pagefile.sys").ok()??;
    let data = ntfs.open_stream(entry, "").ok()?;
    if triage_source::ByteSource::is_empty(&data) {
        return None;
    }
    Some(FoundPagefile {
        source: std::sync::Arc::new(data),
        location: format!("{vol_loc} › \\pagefile.sys"),
    })
}

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
    let pagefiles = match (&opts.pagefile, &opts.found_pagefile) {
        (Some(path), _) => Some(open_pagefile(phys, &info, path)?),
        (None, Some(found)) => {
            report
                .input
                .detail
                .push_str(&format!(", paging file {}", found.location));
            Some(triage_winmem::PageFiles::with_pagefile_sys(
                triage_winmem::kernel_pte_format(phys, &info),
                found.source.clone(),
            ))
        }
        (None, None) => None,
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
    use crate::model::{FoundBy, List, MemText};
    use triage_winproc::MemString;
    let mem_string = |m: &MemString| match m {
        MemString::Read { value } => MemText::Text(value.clone()),
        MemString::Unavailable { .. } => MemText::PagedOut,
        MemString::Absent => MemText::default(),
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
        create_time: crate::time::filetime(p.create_time.filetime),
        exit_time: p
            .exit_time
            .as_ref()
            .map(|t| crate::time::filetime(t.filetime))
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
        groups: token
            .map(|t| t.groups.iter().map(|g| g.sid.as_str()).collect())
            .unwrap_or_default(),
        privileges_present: token
            .map(|t| t.privileges.iter().map(privilege_name).collect())
            .unwrap_or_default(),
        privileges_enabled: token
            .map(|t| {
                t.privileges
                    .iter()
                    .filter(|p| p.enabled)
                    .map(privilege_name)
                    .collect::<List>()
            })
            .unwrap_or_default(),
        source: "memory".into(),
        found_by: match p.found_by {
            triage_winproc::FoundBy::List => FoundBy::List,
            triage_winproc::FoundBy::Scan => FoundBy::Scan,
            triage_winproc::FoundBy::Both => FoundBy::Both,
        },
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
        parts.push(format!("taken {}", crate::time::filetime(t)));
    }
    parts.join(", ")
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
