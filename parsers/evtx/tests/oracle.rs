//! triage-evtx against libevtx's `evtxexport -f xml` (Debian `libevtx-utils`), a reader
//! independent of the `evtx` crate: on every real sample, the process events and boot
//! markers must be the ones parsed out of its XML here, and the record count its count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use triage_evtx::{scan, EvtxFile, ProcessEventKind};
use triage_source::Location;

/// (record id, event id, pid, ppid, image, command line)
type Row = (u64, u16, u64, Option<u64>, String, Option<String>);

struct Oracle {
    records: u64,
    processes: BTreeSet<Row>,
    /// (record id, provider, event id)
    boots: BTreeSet<(u64, String, u16)>,
}

fn samples() -> Option<(PathBuf, Vec<PathBuf>)> {
    let tool = triage_testkit::tool("evtxexport")?;
    let dir = triage_testkit::sample_dir("evtx")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples/evtx")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 7,
        "expected the 7 real EVTX samples in {}",
        dir.display()
    );
    Some((tool, files))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text between `open` (up to its closing `>`) and `close`.
fn element<'a>(ev: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = ev.find(open)?;
    let rest = &ev[start + open.len()..];
    let gt = rest.find('>')?;
    if rest[..gt].ends_with('/') {
        return Some("");
    }
    let body = &rest[gt + 1..];
    Some(&body[..body.find(close)?])
}

fn data(ev: &str, name: &str) -> Option<String> {
    let v = element(ev, &format!("<Data Name=\"{name}\""), "</Data>")?;
    (!v.is_empty()).then(|| unescape(v))
}

fn num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn oracle(tool: &Path, file: &Path) -> Oracle {
    let out = Command::new(tool)
        .args(["-f", "xml"])
        .arg(file)
        .output()
        .expect("run evtxexport");
    let xml = String::from_utf8_lossy(&out.stdout);
    let mut o = Oracle {
        records: 0,
        processes: BTreeSet::new(),
        boots: BTreeSet::new(),
    };
    for ev in xml.split("<Event xmlns").skip(1) {
        o.records += 1;
        let provider = ev
            .split("<Provider Name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string();
        let id: u16 = element(ev, "<EventID", "</EventID>")
            .and_then(|s| s.trim().parse().ok())
            .expect("EventID");
        let rid: u64 = element(ev, "<EventRecordID", "</EventRecordID>")
            .and_then(|s| s.trim().parse().ok())
            .expect("EventRecordID");
        let d = |n: &str| data(ev, n);
        let dn = |n: &str| d(n).and_then(|s| num(&s));
        let row = match (provider.as_str(), id) {
            ("Microsoft-Windows-Security-Auditing", 4688) => Some((
                dn("NewProcessId").expect("NewProcessId"),
                dn("ProcessId"),
                d("NewProcessName").unwrap_or_default(),
                d("CommandLine"),
            )),
            ("Microsoft-Windows-Security-Auditing", 4689) => Some((
                dn("ProcessId").expect("ProcessId"),
                None,
                d("ProcessName").unwrap_or_default(),
                None,
            )),
            ("Microsoft-Windows-Sysmon", 1) => Some((
                dn("ProcessId").expect("ProcessId"),
                dn("ParentProcessId"),
                d("Image").unwrap_or_default(),
                d("CommandLine"),
            )),
            ("Microsoft-Windows-Sysmon", 5) => Some((
                dn("ProcessId").expect("ProcessId"),
                None,
                d("Image").unwrap_or_default(),
                None,
            )),
            ("Microsoft-Windows-Kernel-General", 12) | ("EventLog", 6005 | 6009) => {
                o.boots.insert((rid, provider.clone(), id));
                None
            }
            _ => None,
        };
        if let Some((pid, ppid, image, cmd)) = row {
            o.processes.insert((rid, id, pid, ppid, image, cmd));
        }
    }
    o
}

fn event_id(source: &str) -> u16 {
    source
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("source ends in the event id")
}

#[test]
fn every_sample_matches_evtxexport() {
    let Some((tool, files)) = samples() else {
        return;
    };
    let mut total_processes = 0;
    let mut total_boots = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read sample");
        let file = EvtxFile::from_bytes(Location::file(path), bytes).expect("EVTX file");
        let got = scan(&file);
        let want = oracle(&tool, path);
        let name = path.display();
        assert_eq!(got.records, want.records, "{name}: record count");
        let rows: BTreeSet<Row> = got
            .processes
            .iter()
            .map(|p| {
                let kind_ok = matches!(
                    (p.kind, event_id(p.source)),
                    (ProcessEventKind::Create, 4688 | 1) | (ProcessEventKind::Exit, 4689 | 5)
                );
                assert!(kind_ok, "{name}: {} is {:?}", p.source, p.kind);
                let id = event_id(p.source);
                (
                    p.record_id,
                    id,
                    p.pid,
                    p.ppid,
                    p.image.clone(),
                    p.command_line.clone(),
                )
            })
            .collect();
        assert_eq!(
            rows.len(),
            got.processes.len(),
            "{name}: duplicate process events"
        );
        assert_eq!(rows, want.processes, "{name}: process events");
        let boots: BTreeSet<u64> = got.boots.iter().map(|b| b.record_id).collect();
        let want_boots: BTreeSet<u64> = want.boots.iter().map(|b| b.0).collect();
        assert_eq!(boots, want_boots, "{name}: boot markers");
        assert!(
            got.errors.is_empty(),
            "{name}: unexpected errors {:?}",
            got.errors
        );
        assert_eq!(got.broken_records, 0, "{name}: broken records");
        total_processes += rows.len();
        total_boots += boots.len();
    }
    // The samples hold hundreds of each; an empty match would prove nothing.
    assert!(
        total_processes > 400,
        "only {total_processes} process events"
    );
    assert!(total_boots > 10, "only {total_boots} boot markers");
}

/// The boot chain (System → smss → smss → csrss/wininit/winlogon, wininit → services/lsass)
/// is there in the Windows 10 Sysmon log and the Server 2016 Security (4688) log, with the
/// parent links they recorded (which evtxexport reads the same, above).
#[test]
fn boot_chains() {
    let Some(dir) = triage_testkit::sample_dir("evtx") else {
        return;
    };
    boot_chain(
        &dir.join("sbousseaden__EVTX-ATTACK-SAMPLES__privesc_unquoted_svc_sysmon_1_11.evtx"),
    );
    boot_chain(&dir.join("Velocidex__velociraptor__RDPAuth_Security.evtx"));
}

fn boot_chain(path: &Path) {
    let bytes = std::fs::read(path).expect("read sample");
    let s = scan(&EvtxFile::from_bytes(Location::file(path), bytes).expect("EVTX"));
    let by_name = |n: &str| -> Vec<_> {
        s.processes
            .iter()
            .filter(|p| p.kind == ProcessEventKind::Create && p.image.to_lowercase().ends_with(n))
            .collect()
    };
    let master = by_name("\\smss.exe")
        .into_iter()
        .find(|p| p.ppid == Some(4))
        .expect("smss.exe started by System");
    let children: Vec<_> = by_name("\\smss.exe")
        .into_iter()
        .filter(|p| p.ppid == Some(master.pid))
        .collect();
    assert!(
        children.len() >= 2,
        "per-session smss children: {children:?}"
    );
    for n in ["\\csrss.exe", "\\wininit.exe", "\\winlogon.exe"] {
        assert!(
            by_name(n)
                .iter()
                .any(|p| children.iter().any(|c| Some(c.pid) == p.ppid)),
            "{n} started by an smss child"
        );
    }
    for n in ["\\services.exe", "\\lsass.exe"] {
        assert!(
            by_name(n).iter().any(|p| by_name("\\wininit.exe")
                .iter()
                .any(|w| Some(w.pid) == p.ppid)),
            "{n} started by wininit.exe"
        );
    }
}

/// smss.exe starting cmd.exe (BootExecute abuse) is one Sysmon 1 event.
#[test]
fn smss_starts_cmd() {
    let Some(dir) = triage_testkit::sample_dir("evtx") else {
        return;
    };
    let path = dir.join(
        "sbousseaden__EVTX-ATTACK-SAMPLES__sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx",
    );
    let bytes = std::fs::read(&path).expect("read sample");
    let s = scan(&EvtxFile::from_bytes(Location::file(&path), bytes).expect("EVTX"));
    let p = s.processes.first().expect("one process event");
    assert_eq!(p.source, "evtx:sysmon-1");
    assert!(p.image.to_lowercase().ends_with("\\cmd.exe"), "{p:?}");
    let parent = p.parent_image.as_deref().unwrap_or_default().to_lowercase();
    assert!(parent.ends_with("\\smss.exe"), "{p:?}");
}
