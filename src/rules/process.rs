//! Process rules over memory-dump process records: the smss.exe boot chain as it should
//! be (see `docs/rules.md`), and the ways real attacks differ from it.

use std::collections::HashMap;

use super::baseline::{self, ExpectedParent, LOCAL_SYSTEM};
use super::support::{self, is_system32_image, process_exe, volume_relative};
use super::RuleInfo;
use crate::model::{Finding, FoundBy, ProcessRecord, Severity};
use crate::names;
use crate::time::FileTime;

pub const RULES: &[RuleInfo] = &[
    RuleInfo { id: "SMSS-PATH", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "smss.exe whose image is not \\Windows\\System32\\smss.exe" },
    RuleInfo { id: "SMSS-PARENT", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "master smss not parented by System (4), or a session smss not parented by the master" },
    RuleInfo { id: "SMSS-INSTANCES", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "more than one live master smss, or a session smss still alive long after its session started" },
    RuleInfo { id: "SMSS-USER", severity: Severity::High, attack: "T1134", applies_to: "process", summary: "smss.exe whose token user is not Local System (S-1-5-18)" },
    RuleInfo { id: "SMSS-SESSION", severity: Severity::Medium, attack: "T1036.005", applies_to: "process", summary: "smss.exe whose session does not fit its role (master: none; child: one)" },
    RuleInfo { id: "SMSS-LATE", severity: Severity::Medium, attack: "T1036.005", applies_to: "process", summary: "the master smss was created long after System" },
    RuleInfo { id: "SMSS-CMDLINE", severity: Severity::Medium, attack: "T1036.005", applies_to: "process", summary: "smss.exe with arguments neither the master nor a session child uses" },
    RuleInfo { id: "PROC-PATH", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "another protected process (csrss, wininit, winlogon, services, lsass, svchost) running from outside System32" },
    RuleInfo { id: "NAME-LOOKALIKE", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "a process whose name or image path only looks like a protected one" },
    RuleInfo { id: "CHILD-PARENT", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "csrss/wininit/winlogon with a live parent that is not smss; services/lsass not parented by wininit" },
    RuleInfo { id: "PEB-MASQ", severity: Severity::High, attack: "T1036", applies_to: "process", summary: "the PEB's image path differs from the kernel's image path" },
    RuleInfo { id: "HIDDEN", severity: Severity::High, attack: "T1014", applies_to: "process", summary: "a live process found by the memory scan but missing from the process list" },
    RuleInfo { id: "BAD-USER", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "a protected boot-chain process not running as Local System" },
    RuleInfo { id: "PROC-IMAGE-MISMATCH", severity: Severity::High, attack: "T1036.005", applies_to: "process", summary: "host view: the file a boot-chain process runs from, on the host's disk image, is not a genuine boot-chain binary or not the one the process says" },
    RuleInfo { id: "PROC-IMAGE-MISSING", severity: Severity::High, attack: "T1070.004", applies_to: "process", summary: "host view: a boot-chain process's image is absent from the host's disk image: deleted after it started" },
    RuleInfo { id: "SEDEBUG", severity: Severity::Medium, attack: "T1134", applies_to: "process", summary: "SeDebugPrivilege enabled on a token that is not Local System" },
];

/// Seconds after System's creation within which the master smss normally starts.
pub const SMSS_LATE_SECONDS: i64 = 60;
/// Seconds a session smss may live; it exits once its session is set up.
pub const SMSS_CHILD_LINGER_SECONDS: i64 = 300;

fn finding(
    id: &str,
    severity: Severity,
    p: &ProcessRecord,
    evidence: String,
    why: String,
) -> Finding {
    support::finding(id, severity, "process", subject(p), evidence, why)
}

fn subject(p: &ProcessRecord) -> String {
    format!("pid {} {}", p.pid, p.name)
}

/// Seconds since the epoch of a process's creation, typed by the analyser.
fn created(p: &ProcessRecord) -> Option<i64> {
    p.created.map(FileTime::unix_seconds)
}

fn is_live(p: &ProcessRecord) -> bool {
    p.exited.is_none()
}

/// The parent of `p`: the process with `p.ppid` as its PID that was created before `p`
/// (PIDs are reused; a younger process with that PID is not the parent).
pub fn parent_of<'a>(
    p: &ProcessRecord,
    by_pid: &HashMap<u64, Vec<&'a ProcessRecord>>,
) -> Option<&'a ProcessRecord> {
    let child_t = created(p);
    by_pid
        .get(&p.ppid)?
        .iter()
        .copied()
        .filter(|c| !std::ptr::eq(*c, p))
        .filter(|c| match (created(c), child_t) {
            (Some(pt), Some(ct)) => pt <= ct,
            _ => true,
        })
        .max_by_key(|c| created(c))
}

/// Run every process rule over the processes of one dump. `dump_time` is when the dump
/// was taken, when the image says; else the newest process creation stands in.
pub fn check(procs: &[ProcessRecord], dump_time: Option<FileTime>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut by_pid: HashMap<u64, Vec<&ProcessRecord>> = HashMap::new();
    for p in procs {
        by_pid.entry(p.pid).or_default().push(p);
    }
    let system_time = procs.iter().find(|p| p.pid == 4).and_then(created);
    let (now, clock) = match dump_time
        .and_then(FileTime::get)
        .map(FileTime::unix_seconds)
    {
        Some(t) => (Some(t), "the dump was taken"),
        None => (
            procs.iter().filter_map(created).max(),
            "the newest process started",
        ),
    };

    let smss: Vec<&ProcessRecord> = procs
        .iter()
        .filter(|p| process_exe(p) == "smss.exe" || p.name.eq_ignore_ascii_case("smss.exe"))
        .collect();
    // Masters: smss parented by System, or without a session.
    let masters: Vec<&ProcessRecord> = smss
        .iter()
        .copied()
        .filter(|p| p.ppid == 4 || p.session.is_empty())
        .collect();
    let master_pids: Vec<u64> = masters.iter().map(|p| p.pid).collect();

    let live_masters: Vec<&&ProcessRecord> = masters.iter().filter(|p| is_live(p)).collect();
    if live_masters.len() > 1 {
        for p in &live_masters[1..] {
            out.push(finding(
                "SMSS-INSTANCES",
                Severity::High,
                p,
                format!(
                    "live_masters={}",
                    live_masters
                        .iter()
                        .map(|m| m.pid.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                format!(
                    "a second live master smss.exe (pid {}): Windows runs exactly one",
                    p.pid
                ),
            ));
        }
    }

    for p in &smss {
        let is_master = master_pids.contains(&p.pid);
        if !p.image_path.is_empty() && !is_system32_image(&p.image_path, "smss.exe") {
            out.push(finding(
                "SMSS-PATH",
                Severity::High,
                p,
                format!("image_path={}", p.image_path),
                format!(
                    "smss.exe runs from {}, not \\Windows\\System32",
                    p.image_path
                ),
            ));
        }
        if is_master {
            if p.ppid != 4 {
                out.push(finding(
                    "SMSS-PARENT",
                    Severity::High,
                    p,
                    format!("ppid={}", p.ppid),
                    format!(
                        "the master smss.exe is started by System (4); this one's parent is pid {}",
                        p.ppid
                    ),
                ));
            }
            if !p.session.is_empty() {
                out.push(finding(
                    "SMSS-SESSION",
                    Severity::Medium,
                    p,
                    format!("session={}; ppid={}", p.session, p.ppid),
                    "the master smss.exe has no session; this one belongs to a session".into(),
                ));
            }
            if let (Some(sys), Some(t)) = (system_time, created(p)) {
                if t - sys > SMSS_LATE_SECONDS {
                    out.push(finding("SMSS-LATE", Severity::Medium, p, format!("created {}s after System", t - sys), format!("the master smss.exe starts within seconds of boot; this one started {} s after System", t - sys)));
                }
            }
        } else {
            if !master_pids.contains(&p.ppid) {
                out.push(finding("SMSS-PARENT", Severity::High, p, format!("ppid={}; masters={:?}", p.ppid, master_pids), format!("a session smss.exe is started by the master smss; this one's parent is pid {}", p.ppid)));
            }
            if p.session.is_empty() {
                out.push(finding(
                    "SMSS-SESSION",
                    Severity::Medium,
                    p,
                    format!("session=; ppid={}", p.ppid),
                    "a session smss.exe that belongs to no session".into(),
                ));
            }
            if is_live(p) {
                if let (Some(t), Some(n)) = (created(p), now) {
                    if n - t > SMSS_CHILD_LINGER_SECONDS {
                        out.push(finding("SMSS-INSTANCES", Severity::High, p, format!("live; started {} s before {clock}", n - t), format!("a session smss.exe still alive {} s after it started: session children exit once csrss and winlogon/wininit run", n - t)));
                    }
                }
            }
        }
        if !p.user_sid.is_empty() && p.user_sid != LOCAL_SYSTEM {
            out.push(finding(
                "SMSS-USER",
                Severity::High,
                p,
                format!("user_sid={}", p.user_sid),
                format!(
                    "smss.exe runs as {} instead of Local System",
                    if p.user_name.is_empty() {
                        &p.user_sid
                    } else {
                        &p.user_name
                    }
                ),
            ));
        }
        if let Some(args) = p
            .command_line
            .text()
            .and_then(|c| unexpected_smss_args(c, is_master))
        {
            out.push(finding("SMSS-CMDLINE", Severity::Medium, p, format!("command_line=\"{}\"", p.command_line), if args.is_empty() {
                    "a session smss.exe without arguments: session children get two hex numbers (session and port)".to_string()
                } else {
                    format!("smss.exe arguments \"{args}\" fit neither the master (none) nor a session child (two hex numbers)")
                }));
        }
    }

    for p in procs {
        let exe = process_exe(p);
        let protected = names::protected_name(&exe);
        if protected.is_none() {
            let by_path = names::lookalike(&exe);
            let by_name = names::lookalike(&p.name);
            if let Some((imitates, how)) = by_path.or(by_name) {
                let sev = how.severity();
                let mut f = finding(
                    "NAME-LOOKALIKE",
                    sev,
                    p,
                    format!(
                        "name=\"{}\"; image_path=\"{}\"; imitates={imitates}; trick={}",
                        p.name,
                        p.image_path,
                        how.describe()
                    ),
                    format!(
                        "process \"{}\" imitates {imitates} ({})",
                        p.name,
                        how.describe()
                    ),
                );
                f.attack = how.attack();
                out.push(f);
            }
        }
        if let Some(prot) = protected {
            if prot != "smss.exe"
                && !p.image_path.is_empty()
                && !is_system32_image(&p.image_path, prot)
                && (prot != "svchost.exe"
                    || volume_relative(&p.image_path) != "\\windows\\syswow64\\svchost.exe")
            {
                out.push(finding(
                    "PROC-PATH",
                    Severity::High,
                    p,
                    format!("image_path={}", p.image_path),
                    format!("{prot} runs from {}, not \\Windows\\System32", p.image_path),
                ));
            }
            // BAD-USER: svchost may run as LOCAL SERVICE and NETWORK SERVICE.
            let allowed: &[&str] = if prot == "svchost.exe" {
                &[LOCAL_SYSTEM, "S-1-5-19", "S-1-5-20"]
            } else {
                &[LOCAL_SYSTEM]
            };
            if prot != "smss.exe"
                && !p.user_sid.is_empty()
                && !allowed.contains(&p.user_sid.as_str())
                && prot != "svchost.exe"
            {
                out.push(finding(
                    "BAD-USER",
                    Severity::High,
                    p,
                    format!("user_sid={}", p.user_sid),
                    format!("{prot} runs as {} instead of Local System", p.user_sid),
                ));
            }
            let parent = parent_of(p, &by_pid);
            match baseline::expected_parent(prot) {
                Some(ExpectedParent::SessionSmss) => {
                    if let Some(par) = parent.filter(|par| is_live(par)) {
                        if process_exe(par) != "smss.exe" {
                            out.push(finding("CHILD-PARENT", Severity::High, p, format!("parent={} ({})", par.pid, par.name), format!("{prot} is started by a session smss.exe that then exits; its live parent here is {} (pid {})", par.name, par.pid)));
                        }
                    }
                }
                Some(ExpectedParent::Wininit) => match parent {
                    Some(par) if process_exe(par) == "wininit.exe" => {}
                    Some(par) => out.push(finding("CHILD-PARENT", Severity::High, p, format!("parent={} ({})", par.pid, par.name), format!("{prot} is started by wininit.exe; its parent here is {} (pid {})", par.name, par.pid))),
                    None => out.push(finding("CHILD-PARENT", Severity::Medium, p, format!("ppid={} (not found)", p.ppid), format!("{prot} is started by wininit.exe, which lives until shutdown; its parent pid {} is not in memory", p.ppid))),
                },
                _ => {}
            }
        }
        if let Some(peb) = p
            .peb_image_path
            .text()
            .filter(|t| !t.is_empty() && !p.image_path.is_empty())
            .filter(|t| volume_relative(t) != volume_relative(&p.image_path))
        {
            out.push(finding("PEB-MASQ", Severity::High, p, format!("peb_image_path=\"{peb}\"; image_path=\"{}\"", p.image_path), "the image path in the process's own memory (PEB) differs from the kernel's: the PEB was rewritten to masquerade".into()));
        }
        if p.found_by == FoundBy::Scan && is_live(p) {
            out.push(finding(
                "HIDDEN",
                Severity::High,
                p,
                format!(
                    "found_by=scan; exit_time=; eprocess_physical={}",
                    p.eprocess_physical
                ),
                "a live process missing from the kernel's process list: unlinked to hide it (DKOM)"
                    .into(),
            ));
        }
        if !p.user_sid.is_empty()
            && p.user_sid != LOCAL_SYSTEM
            && p.privileges_enabled.contains("SeDebugPrivilege")
        {
            out.push(finding(
                "SEDEBUG",
                Severity::Medium,
                p,
                format!(
                    "user_sid={}; privileges_enabled=…SeDebugPrivilege…",
                    p.user_sid
                ),
                "SeDebugPrivilege is enabled: the process can open any other, lsass included"
                    .into(),
            ));
        }
    }
    out
}

/// `None` when the arguments fit the role; else the unexpected argument text.
fn unexpected_smss_args(cmdline: &str, is_master: bool) -> Option<String> {
    if cmdline.is_empty() {
        return None;
    }
    let mut words = cmdline.split_whitespace();
    let _exe = words.next();
    let args: Vec<&str> = words.collect();
    let is_hex8 = |w: &str| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit());
    let ok = if is_master {
        args.is_empty()
    } else {
        args.len() == 2 && args.iter().all(|a| is_hex8(a))
    };
    (!ok).then(|| args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the analyser does: the typed times beside the text.
    fn fill(ps: &mut [ProcessRecord]) {
        for r in ps {
            r.created = FileTime::parse_iso(&r.create_time);
            r.exited = FileTime::parse_iso(&r.exit_time);
        }
    }

    /// The rules over records whose times the tests write as text.
    fn check(ps: &[ProcessRecord], dump_time: Option<&str>) -> Vec<Finding> {
        let mut ps = ps.to_vec();
        fill(&mut ps);
        super::check(&ps, dump_time.and_then(FileTime::parse_iso))
    }

    fn p(pid: u64, ppid: u64, name: &str, session: &str, t: &str) -> ProcessRecord {
        ProcessRecord {
            pid,
            ppid,
            name: name.into(),
            image_path: format!(r"\Device\HarddiskVolume3\Windows\System32\{name}"),
            session: session.into(),
            create_time: format!("2024-05-01T08:00:{t}Z"),
            user_sid: LOCAL_SYSTEM.into(),
            found_by: FoundBy::Both,
            ..Default::default()
        }
    }

    fn exited(mut r: ProcessRecord) -> ProcessRecord {
        r.exit_time = "2024-05-01T08:00:30Z".into();
        r
    }

    /// A normal boot chain.
    fn clean() -> Vec<ProcessRecord> {
        let mut system = p(4, 0, "System", "", "00");
        system.image_path.clear();
        let mut master = p(300, 4, "smss.exe", "", "01");
        master.command_line = r"\SystemRoot\System32\smss.exe".into();
        let mut c0 = exited(p(400, 300, "smss.exe", "0", "05"));
        c0.command_line = r"\SystemRoot\System32\smss.exe 00000000 00000080".into();
        let c1 = exited(p(480, 300, "smss.exe", "1", "06"));
        vec![
            system,
            master,
            c0,
            c1,
            p(410, 400, "csrss.exe", "0", "06"),
            p(500, 400, "wininit.exe", "0", "07"),
            p(490, 480, "csrss.exe", "1", "07"),
            p(560, 480, "winlogon.exe", "1", "08"),
            p(640, 500, "services.exe", "0", "09"),
            p(660, 500, "lsass.exe", "0", "09"),
            p(800, 640, "svchost.exe", "0", "12"),
        ]
    }

    fn rules(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn clean_chain_has_no_findings() {
        let f = check(&clean(), None);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn smss_from_users_public() {
        let mut ps = clean();
        ps[1].image_path = r"\Device\HarddiskVolume3\Users\Public\smss.exe".into();
        assert_eq!(rules(&check(&ps, None)), ["SMSS-PATH"]);
    }

    #[test]
    fn second_master_and_wrong_user() {
        let mut ps = clean();
        let mut evil = p(3000, 4, "smss.exe", "", "40");
        evil.user_sid = "S-1-5-21-1-2-3-1001".into();
        ps.push(evil);
        let r = rules(&check(&ps, None));
        assert!(r.contains(&"SMSS-INSTANCES"), "{r:?}");
        assert!(r.contains(&"SMSS-USER"), "{r:?}");
    }

    #[test]
    fn late_master_and_wrong_parent() {
        let mut ps = clean();
        ps[1].create_time = "2024-05-01T08:10:00Z".into();
        ps[1].ppid = 1234;
        ps[1].session.clear();
        let r = rules(&check(&ps, None));
        assert!(
            r.contains(&"SMSS-LATE") && r.contains(&"SMSS-PARENT"),
            "{r:?}"
        );
    }

    #[test]
    fn lingering_child_and_odd_cmdline() {
        let mut ps = clean();
        ps[2].exit_time.clear();
        ps.push(p(900, 800, "x.exe", "1", "59"));
        ps.last_mut().unwrap().create_time = "2024-05-01T09:00:00Z".into();
        ps[1].command_line = r"\SystemRoot\System32\smss.exe -install backdoor".into();
        let r = rules(&check(&ps, None));
        assert!(
            r.contains(&"SMSS-INSTANCES") && r.contains(&"SMSS-CMDLINE"),
            "{r:?}"
        );
    }

    #[test]
    fn lookalikes_and_hidden_and_peb() {
        let mut ps = clean();
        let mut a = p(1500, 4, "srnss.exe", "0", "20");
        a.found_by = FoundBy::Scan;
        ps.push(a);
        let mut b = p(1600, 800, "svchost.exe", "0", "21");
        b.peb_image_path = r"C:\Windows\explorer.exe".into();
        ps.push(b);
        let r = rules(&check(&ps, None));
        assert!(
            r.contains(&"NAME-LOOKALIKE") && r.contains(&"HIDDEN") && r.contains(&"PEB-MASQ"),
            "{r:?}"
        );
        // an exited process found only by the scan is not hidden
        let mut ps = clean();
        ps[2].found_by = FoundBy::Scan;
        assert!(check(&ps, None).is_empty());
    }

    #[test]
    fn lingering_child_is_judged_against_the_dump_time() {
        let mut ps = clean();
        ps[3].exit_time.clear(); // session-1 child still alive, started at 08:00:06
                                 // The newest process started at 08:00:12: without a dump time, nothing lingers yet.
        assert!(check(&ps, None).is_empty());
        // Taken an hour later, the child has outstayed its session setup.
        let f = check(&ps, Some("2024-05-01T09:00:00Z"));
        assert_eq!(rules(&f), ["SMSS-INSTANCES"]);
        assert!(
            f[0].evidence.contains("before the dump was taken"),
            "{}",
            f[0].evidence
        );
    }

    #[test]
    fn csrss_parented_by_explorer() {
        let mut ps = clean();
        ps.push(p(2000, 560, "explorer.exe", "1", "15"));
        ps.push(p(2100, 2000, "csrss.exe", "1", "16"));
        assert_eq!(rules(&check(&ps, None)), ["CHILD-PARENT"]);
    }

    #[test]
    fn pid_reuse_is_not_a_parent() {
        let mut ps = clean();
        // A process created after csrss that reuses the exited smss child's PID is not its parent.
        ps.push(p(400, 800, "notepad.exe", "0", "50"));
        assert!(
            check(&ps, None).is_empty(),
            "{:?}",
            rules(&check(&ps, None))
        );
    }

    #[test]
    fn bad_user_and_sedebug() {
        let mut ps = clean();
        ps[9].user_sid = "S-1-5-21-9-9-9-500".into();
        ps[9].privileges_enabled = "SeChangeNotifyPrivilege;SeDebugPrivilege".into();
        let r = rules(&check(&ps, None));
        assert_eq!(r, ["BAD-USER", "SEDEBUG"]);
    }

    #[test]
    fn rules_read_the_typed_times_not_the_text() {
        // The same boot chain with the text cleared: the typed times still decide.
        let mut ps = clean();
        ps[2].exit_time.clear();
        ps.push(p(900, 800, "x.exe", "1", "59"));
        ps.last_mut().unwrap().create_time = "2024-05-01T09:00:00Z".into();
        let want = rules(&check(&ps, None)).join(",");
        let mut typed = ps.clone();
        fill(&mut typed);
        for r in &mut typed {
            r.create_time = "garbage".into();
            r.exit_time = "garbage".into();
        }
        assert_eq!(rules(&super::check(&typed, None)).join(","), want);
    }
}
