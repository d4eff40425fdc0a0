//! Which records are kept, and how their JSON becomes typed events.

use crate::{BootEvent, ProcessEvent, ProcessEventKind};
use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxRecord, Timestamp};
use serde_json::Value;

/// Event IDs of every record [`classify`] keeps.
const WANTED: [u16; 7] = [4688, 4689, 1, 5, 12, 6005, 6009];

const SECURITY: &str = "Microsoft-Windows-Security-Auditing";
const SYSMON: &str = "Microsoft-Windows-Sysmon";
const KERNEL_GENERAL: &str = "Microsoft-Windows-Kernel-General";
const EVENTLOG: &str = "EventLog";

/// FILETIME ticks between 1601-01-01 and 1970-01-01.
const UNIX_EPOCH_TICKS: i128 = 116_444_736_000_000_000;

/// The cheap filter, run before anything is rendered: the record's template substitutions
/// (which hold the System section's EventID as a UInt16) contain a wanted event ID. A
/// superset: a record whose substitutions can't be read, or have no UInt16 at all, is
/// rendered and judged by [`classify`].
pub(crate) fn is_candidate(record: &EvtxRecord<'_>) -> bool {
    let Ok(instances) = record.template_instances() else {
        return true;
    };
    let mut any_u16 = false;
    for inst in &instances {
        for v in &inst.values {
            if let BinXmlValue::UInt16Type(id) = v {
                any_u16 = true;
                if WANTED.contains(id) {
                    return true;
                }
            }
        }
    }
    !any_u16
}

pub(crate) enum Found {
    Process(Box<ProcessEvent>),
    Boot(BootEvent),
}

/// Turns one rendered record into a kept event, if it is one; also returns its channel.
pub(crate) fn classify(
    v: &Value,
    record_id: u64,
    header_time: Timestamp,
) -> (Option<Found>, Option<String>) {
    let event = &v["Event"];
    let system = &event["System"];
    let channel = text(&system["Channel"]);
    let provider = system["Provider"]["#attributes"]["Name"]
        .as_str()
        .unwrap_or("");
    let Some(event_id) = number(&system["EventID"]) else {
        return (None, channel);
    };
    let event_time = system["TimeCreated"]["#attributes"]["SystemTime"]
        .as_str()
        .and_then(parse_time)
        .unwrap_or_else(|| filetime(header_time));
    let computer = text(&system["Computer"]).unwrap_or_default();
    // The event's own EventRecordID, as Event Viewer shows it: an exported log renumbers
    // its record headers from 1 but keeps the original IDs in the events.
    let record_id = number(&system["EventRecordID"]).unwrap_or(record_id);
    let data = &event["EventData"];
    let found = match (provider, event_id) {
        (SECURITY, 4688) => security_4688(data).map(|p| Found::Process(Box::new(p))),
        (SECURITY, 4689) => security_4689(data).map(|p| Found::Process(Box::new(p))),
        (SYSMON, 1) => sysmon_1(data).map(|p| Found::Process(Box::new(p))),
        (SYSMON, 5) => sysmon_5(data).map(|p| Found::Process(Box::new(p))),
        (KERNEL_GENERAL, 12) => Some(Found::Boot(BootEvent {
            record_id,
            event_time,
            computer: String::new(),
            what: "kernel-general-12 (OS start)",
            start_time: data["StartTime"].as_str().and_then(parse_time),
        })),
        (EVENTLOG, 6005) => boot("eventlog-6005 (event log started)"),
        (EVENTLOG, 6009) => boot("eventlog-6009 (OS version at boot)"),
        _ => None,
    };
    let found = found.map(|f| match f {
        Found::Process(mut p) => {
            p.record_id = record_id;
            p.event_time = event_time;
            p.computer = computer;
            Found::Process(p)
        }
        Found::Boot(mut b) => {
            b.record_id = record_id;
            b.event_time = event_time;
            b.computer = computer;
            Found::Boot(b)
        }
    });
    (found, channel)
}

fn boot(what: &'static str) -> Option<Found> {
    Some(Found::Boot(BootEvent {
        record_id: 0,
        event_time: 0,
        computer: String::new(),
        what,
        start_time: None,
    }))
}

fn empty(source: &'static str, kind: ProcessEventKind, pid: u64, image: String) -> ProcessEvent {
    ProcessEvent {
        source,
        kind,
        record_id: 0,
        event_time: 0,
        computer: String::new(),
        pid,
        ppid: None,
        image,
        parent_image: None,
        command_line: None,
        subject_user_sid: None,
        utc_time: None,
        target_user_sid: None,
        user_name: None,
        token_elevation_type: None,
        mandatory_label: None,
        integrity_level: None,
        logon_id: None,
        terminal_session_id: None,
        process_guid: None,
        parent_process_guid: None,
        hashes: None,
    }
}

fn security_4688(d: &Value) -> Option<ProcessEvent> {
    let pid = number(&d["NewProcessId"])?;
    let image = text(&d["NewProcessName"]).unwrap_or_default();
    let mut p = empty("evtx:security-4688", ProcessEventKind::Create, pid, image);
    p.ppid = number(&d["ProcessId"]);
    p.parent_image = text(&d["ParentProcessName"]);
    p.command_line = text(&d["CommandLine"]);
    p.subject_user_sid = text(&d["SubjectUserSid"]);
    p.target_user_sid = text(&d["TargetUserSid"]);
    p.user_name = account(d);
    p.token_elevation_type = text(&d["TokenElevationType"]);
    p.mandatory_label = text(&d["MandatoryLabel"]);
    p.logon_id = text(&d["SubjectLogonId"]);
    Some(p)
}

fn security_4689(d: &Value) -> Option<ProcessEvent> {
    let pid = number(&d["ProcessId"])?;
    let image = text(&d["ProcessName"]).unwrap_or_default();
    let mut p = empty("evtx:security-4689", ProcessEventKind::Exit, pid, image);
    p.subject_user_sid = text(&d["SubjectUserSid"]);
    p.user_name = account(d);
    p.logon_id = text(&d["SubjectLogonId"]);
    Some(p)
}

fn sysmon_1(d: &Value) -> Option<ProcessEvent> {
    let pid = number(&d["ProcessId"])?;
    let image = text(&d["Image"]).unwrap_or_default();
    let mut p = empty("evtx:sysmon-1", ProcessEventKind::Create, pid, image);
    p.ppid = number(&d["ParentProcessId"]);
    p.parent_image = text(&d["ParentImage"]);
    p.command_line = text(&d["CommandLine"]);
    p.user_name = text(&d["User"]);
    p.integrity_level = text(&d["IntegrityLevel"]);
    p.logon_id = text(&d["LogonId"]);
    p.terminal_session_id = number(&d["TerminalSessionId"]).and_then(|n| u32::try_from(n).ok());
    p.process_guid = text(&d["ProcessGuid"]);
    p.parent_process_guid = text(&d["ParentProcessGuid"]);
    p.hashes = text(&d["Hashes"]);
    p.utc_time = sysmon_time(d);
    Some(p)
}

fn sysmon_5(d: &Value) -> Option<ProcessEvent> {
    let pid = number(&d["ProcessId"])?;
    let image = text(&d["Image"]).unwrap_or_default();
    let mut p = empty("evtx:sysmon-5", ProcessEventKind::Exit, pid, image);
    p.process_guid = text(&d["ProcessGuid"]);
    p.user_name = text(&d["User"]);
    p.utc_time = sysmon_time(d);
    Some(p)
}

/// Sysmon's `UtcTime` (`2020-04-25 22:19:20.134`, UTC without a zone).
fn sysmon_time(d: &Value) -> Option<u64> {
    let t = text(&d["UtcTime"])?;
    parse_time(&format!("{}Z", t.trim().replacen(' ', "T", 1)))
}

/// `SubjectDomainName\SubjectUserName`, or the user name alone.
fn account(d: &Value) -> Option<String> {
    let user = text(&d["SubjectUserName"])?;
    Some(match text(&d["SubjectDomainName"]) {
        Some(dom) => format!("{dom}\\{user}"),
        None => user,
    })
}

/// A value as text; `None` when missing, null or empty. An element with attributes
/// renders as `{"#attributes":…,"#text":…}`.
fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => return o.get("#text").and_then(text),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A number written as a JSON number, a decimal string or a `0x` hex string.
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        }
        Value::Object(o) => o.get("#text").and_then(number),
        _ => None,
    }
}

fn parse_time(s: &str) -> Option<u64> {
    s.parse::<Timestamp>().ok().map(filetime)
}

/// FILETIME ticks of a timestamp (0 before 1601).
pub(crate) fn filetime(t: Timestamp) -> u64 {
    let ticks = t.as_nanosecond() / 100 + UNIX_EPOCH_TICKS;
    u64::try_from(ticks).unwrap_or(0)
}
