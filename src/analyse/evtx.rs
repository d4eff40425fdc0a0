//! Event logs: process creations (Security 4688, Sysmon 1) as `processes` records with
//! their boot, exits (4689, Sysmon 5) matched to them, and the history rules.

use anyhow::Result;
use triage_evtx::{ProcessEvent, ProcessEventKind};

use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::{InputReport, ProcessRecord};
use crate::rules::history::{self, Creation};
use crate::time::filetime;

/// The largest log read into memory when it is not memory-mapped (inside an image).
const MAX_LOG: u64 = 4 << 30;

fn non_dash(s: &Option<String>) -> Option<String> {
    s.clone().filter(|v| !v.is_empty() && v != "-")
}

/// The user of a creation: 4688's TargetUserSid (the new process's token) when it is
/// there, else the subject (the creator); Sysmon has only a name.
fn user_sid(e: &ProcessEvent) -> Option<String> {
    non_dash(&e.target_user_sid)
        .filter(|s| s != "S-1-0-0")
        .or_else(|| non_dash(&e.subject_user_sid))
}

fn record(e: &ProcessEvent, boot: u32) -> ProcessRecord {
    let name = e.image.rsplit(['\\', '/']).next().unwrap_or("").to_string();
    ProcessRecord {
        pid: e.pid,
        ppid: e.ppid.unwrap_or(0),
        parent_name: e
            .parent_image
            .as_deref()
            .and_then(|p| p.rsplit(['\\', '/']).next())
            .unwrap_or("")
            .to_string(),
        name,
        image_path: e.image.clone(),
        command_line: e.command_line.clone().unwrap_or_default().into(),
        session: e
            .terminal_session_id
            .map(|s| s.to_string())
            .unwrap_or_default(),
        // Sysmon says when the process started; 4688 is written as it starts.
        create_time: filetime(e.utc_time.unwrap_or(e.event_time)),
        user_sid: user_sid(e).unwrap_or_default(),
        user_name: e.user_name.clone().unwrap_or_default(),
        integrity: e
            .integrity_level
            .clone()
            .or_else(|| e.mandatory_label.clone())
            .unwrap_or_default(),
        logon_id: e.logon_id.clone().unwrap_or_default(),
        token_type: e.token_elevation_type.clone().unwrap_or_default(),
        found_by: crate::model::FoundBy::History,
        source: e.source.to_string(),
        event_time: filetime(e.event_time),
        record_id: e.record_id,
        computer: e.computer.clone(),
        boot,
        ..Default::default()
    }
}

/// The history of one scanned log: records and findings into `report`; returns a summary.
pub fn add_scan(scan: &triage_evtx::Scan, report: &mut InputReport) -> String {
    let creations: Vec<&ProcessEvent> = scan
        .processes
        .iter()
        .filter(|e| e.kind == ProcessEventKind::Create)
        .collect();
    let typed: Vec<Creation> = creations
        .iter()
        .map(|e| Creation {
            pid: e.pid,
            ppid: e.ppid,
            image: e.image.clone(),
            parent_image: e.parent_image.clone(),
            user_sid: user_sid(e),
            user_name: e.user_name.clone(),
            command_line: e.command_line.clone(),
            time: e.utc_time.unwrap_or(e.event_time),
            guid: e.process_guid.clone(),
            parent_guid: e.parent_process_guid.clone(),
            subject: format!(
                "pid {} {} ({} record {})",
                e.pid,
                e.image.rsplit(['\\', '/']).next().unwrap_or(""),
                e.source,
                e.record_id
            ),
        })
        .collect();
    let boot_times: Vec<u64> = scan
        .boots
        .iter()
        .map(|b| b.start_time.unwrap_or(b.event_time))
        .collect();
    let boots = history::boots(&typed, &boot_times);
    let mut records: Vec<ProcessRecord> = creations
        .iter()
        .zip(&boots)
        .map(|(e, &b)| record(e, b))
        .collect();
    // Exits: the newest creation of that process before the exit (by GUID when Sysmon
    // gives one, else by PID).
    for x in scan
        .processes
        .iter()
        .filter(|e| e.kind == ProcessEventKind::Exit)
    {
        let hit = records
            .iter_mut()
            .zip(&creations)
            .filter(|(r, c)| match (&x.process_guid, &c.process_guid) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => r.pid == x.pid && c.event_time <= x.event_time && r.exit_time.is_empty(),
            })
            .max_by_key(|(_, c)| c.event_time);
        if let Some((r, _)) = hit {
            r.exit_time = filetime(x.utc_time.unwrap_or(x.event_time));
        }
    }
    report.findings.extend(history::check(&typed, &boot_times));
    let nboots = boots.iter().max().copied().unwrap_or(0);
    let computers: std::collections::BTreeSet<String> = records
        .iter()
        .map(|r| r.computer.clone())
        .filter(|c| !c.is_empty())
        .collect();
    report.processes.extend(records);
    format!(
        "{}: {} records, {} process creations, {} boots{}",
        scan.channel.as_deref().unwrap_or("event log"),
        scan.records,
        creations.len(),
        nboots,
        if computers.is_empty() {
            String::new()
        } else {
            format!(
                ", computer {}",
                computers.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
    )
}

/// The EVTX analyser.
///
/// A log's chunks are scanned in one parallel pass (logs up to 4 GiB); the time
/// budget (`--max-seconds-per-input`) is asked before it and before every chunk.
pub fn analyse(ev: &Evidence, _opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    if triage_source::Deadline::current().expired() {
        return Ok(vec!["event log not read: time budget spent".into()]);
    }
    let file = triage_evtx::EvtxFile::from_source(ev.source.as_ref(), MAX_LOG)?;
    let scan = triage_evtx::scan(&file);
    report.input.detail = add_scan(&scan, report);
    let mut warnings: Vec<String> = scan.errors.iter().take(10).map(|e| e.to_string()).collect();
    if scan.errors.len() > 10 {
        warnings.push(format!(
            "and {} more damaged chunks or records",
            scan.errors.len() - 10
        ));
    }
    if scan.stopped {
        warnings.push(format!(
            "event log scan stopped at the time budget: {} of {} chunks not read",
            scan.chunks_skipped, scan.chunks
        ));
    }
    Ok(warnings)
}
