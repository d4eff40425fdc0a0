//! The boot-chain rules applied to what happened: process creations recorded in event
//! logs (Security 4688, Sysmon 1), cut into boots. Same rule ids as the memory rules
//! where the meaning is the same; `SMSS-CHILD` is new.
//!
//! History proves what was started, not what is still running: 4689 (exit) is not
//! audited by default, so these rules never say "still alive". A log that starts in the
//! middle of a boot, without the master smss's own creation, is normal; so are the
//! session smss processes created for new RDP sessions.

use std::collections::HashMap;

use super::baseline::{self, ExpectedParent, LOCAL_SYSTEM};
use super::support::{self, file_name as exe, in_system32, volume_relative, with_attack};
use super::RuleInfo;
use crate::model::{Finding, Severity};
use crate::names;

pub const RULES: &[RuleInfo] = &[RuleInfo {
    id: "SMSS-CHILD",
    severity: Severity::High,
    attack: "T1547.001",
    applies_to: "process",
    summary: "smss.exe started something other than smss, csrss, wininit, winlogon or autochk (BootExecute/SetupExecute abuse)",
}];

/// One process creation from history, typed.
#[derive(Debug, Clone, Default)]
pub struct Creation {
    pub pid: u64,
    /// The creator's PID (4688 `ProcessId`, Sysmon `ParentProcessId`).
    pub ppid: Option<u64>,
    pub image: String,
    /// 4688 `ParentProcessName` (Windows 10+), Sysmon `ParentImage`.
    pub parent_image: Option<String>,
    pub user_sid: Option<String>,
    /// Sysmon's `User` (`NT AUTHORITY\SYSTEM`).
    pub user_name: Option<String>,
    pub command_line: Option<String>,
    /// FILETIME of the event.
    pub time: u64,
    pub guid: Option<String>,
    pub parent_guid: Option<String>,
    /// What a finding calls it: `pid 388 smss.exe (record 1234)`.
    pub subject: String,
}

fn is_system_user(c: &Creation) -> Option<bool> {
    if let Some(sid) = &c.user_sid {
        if !sid.is_empty() && sid != "-" {
            return Some(sid == LOCAL_SYSTEM);
        }
    }
    c.user_name.as_ref().map(|n| {
        let n = n.to_ascii_uppercase();
        n == "NT AUTHORITY\\SYSTEM" || n.ends_with("\\SYSTEM") || n == "SYSTEM"
    })
}

/// Boot numbers (1-based) for creations sorted by time: a new boot starts at each smss.exe
/// whose creator is System (PID 4), and at each boot marker time (`boot_times`).
pub fn boots(creations: &[Creation], boot_times: &[u64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..creations.len()).collect();
    order.sort_by_key(|&i| (creations[i].time, i));
    let mut marks: Vec<u64> = boot_times.to_vec();
    marks.sort_unstable();
    let mut out = vec![0u32; creations.len()];
    let mut boot = 1u32;
    let mut seen_any = false;
    let mut next_mark = 0usize;
    for i in order {
        let c = &creations[i];
        let mut new_boot = false;
        while next_mark < marks.len() && marks[next_mark] <= c.time {
            new_boot = true;
            next_mark += 1;
        }
        if exe(&c.image) == "smss.exe" && c.ppid == Some(4) {
            new_boot = true;
        }
        if new_boot && seen_any {
            boot += 1;
        }
        seen_any = true;
        out[i] = boot;
    }
    out
}

fn finding(id: &str, sev: Severity, c: &Creation, evidence: String, why: String) -> Finding {
    support::finding(id, sev, "process", c.subject.clone(), evidence, why)
}

/// The creator of `c` within its boot: by process GUID when both have one (Sysmon), else
/// the newest creation with that PID before `c` (PIDs are reused).
fn creator<'a>(
    c: &Creation,
    boot: u32,
    all: &'a [Creation],
    boots: &[u32],
    by_pid: &HashMap<u64, Vec<usize>>,
    by_guid: &HashMap<&str, usize>,
) -> Option<&'a Creation> {
    if let Some(g) = c.parent_guid.as_deref() {
        if let Some(&i) = by_guid.get(g) {
            return Some(&all[i]);
        }
    }
    let ppid = c.ppid?;
    by_pid
        .get(&ppid)?
        .iter()
        .copied()
        .filter(|&i| boots[i] == boot && all[i].time <= c.time && !std::ptr::eq(&all[i], c))
        .max_by_key(|&i| all[i].time)
        .map(|i| &all[i])
}

/// The creator's image: the creation found in the log, else what the event itself says.
fn creator_image(c: &Creation, found: Option<&Creation>) -> Option<String> {
    found
        .map(|p| p.image.clone())
        .or_else(|| c.parent_image.clone().filter(|s| !s.is_empty() && s != "-"))
}

/// Every history rule over the creations of one log (or one host's logs).
pub fn check(all: &[Creation], boot_times: &[u64]) -> Vec<Finding> {
    let boots = boots(all, boot_times);
    let mut by_pid: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut by_guid: HashMap<&str, usize> = HashMap::new();
    for (i, c) in all.iter().enumerate() {
        by_pid.entry(c.pid).or_default().push(i);
        if let Some(g) = c.guid.as_deref() {
            by_guid.insert(g, i);
        }
    }
    let mut out = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let name = exe(&c.image);
        let parent = creator(c, boots[i], all, &boots, &by_pid, &by_guid);
        let parent_img = creator_image(c, parent);
        let parent_name = parent_img.as_deref().map(exe);
        let from_system = c.ppid == Some(4) || parent_name.as_deref() == Some("system");
        // Lookalike names (any process).
        if names::protected_name(&name).is_none() {
            if let Some((p, how)) = names::lookalike(&name) {
                let sev = how.severity();
                out.push(with_attack(
                    how.attack(),
                    finding(
                        "NAME-LOOKALIKE",
                        sev,
                        c,
                        format!("image={}; imitates={p}; trick={}", c.image, how.describe()),
                        format!(
                            "a process named \"{name}\" was started: it imitates {p} ({})",
                            how.describe()
                        ),
                    ),
                ));
            }
        }
        // smss.exe starting anything but its own kind.
        if parent_name.as_deref() == Some("smss.exe")
            && !baseline::SMSS_STARTS.contains(&name.as_str())
        {
            out.push(finding(
                "SMSS-CHILD",
                Severity::High,
                c,
                format!("image={}; parent_image={}; command_line={}", c.image, parent_img.clone().unwrap_or_default(), c.command_line.clone().unwrap_or_default()),
                format!("smss.exe started {name}: smss only starts smss, csrss, wininit, winlogon and autochk; anything else comes from BootExecute/SetupExecute (or a replaced smss)"),
            ));
        }
        let protected = names::protected_name(&name);
        let Some(p) = protected else { continue };
        // Paths.
        let genuine_path = in_system32(&c.image)
            || (p == "svchost.exe"
                && volume_relative(&c.image).starts_with("\\windows\\syswow64\\"));
        if !genuine_path && !c.image.is_empty() {
            let id = if p == "smss.exe" {
                "SMSS-PATH"
            } else {
                "PROC-PATH"
            };
            out.push(finding(
                id,
                Severity::High,
                c,
                format!("image={}", c.image),
                format!("{p} was started from {}, not \\Windows\\System32", c.image),
            ));
        }
        // Users.
        if baseline::is_boot_chain_name(p) && is_system_user(c) == Some(false) {
            let id = if p == "smss.exe" {
                "SMSS-USER"
            } else {
                "BAD-USER"
            };
            let who = c
                .user_sid
                .clone()
                .or(c.user_name.clone())
                .unwrap_or_default();
            out.push(finding(
                id,
                Severity::High,
                c,
                format!("user={who}"),
                format!("{p} was started as {who} instead of Local System"),
            ));
        }
        // Parents.
        let Some(pn) = parent_name.as_deref() else {
            continue;
        };
        match baseline::expected_parent(p) {
            Some(ExpectedParent::System) if !from_system && pn != "smss.exe" => out.push(finding(
                "SMSS-PARENT",
                Severity::High,
                c,
                format!("parent_pid={}; parent_image={}", c.ppid.map(|v| v.to_string()).unwrap_or_default(), parent_img.clone().unwrap_or_default()),
                format!("smss.exe was started by {pn}: the master is started by System and session children by the master smss"),
            )),
            Some(ExpectedParent::SessionSmss) if pn != "smss.exe" => out.push(finding(
                "CHILD-PARENT",
                Severity::High,
                c,
                format!("parent_image={}", parent_img.clone().unwrap_or_default()),
                format!("{p} was started by {pn}: only a session smss.exe starts it"),
            )),
            Some(ExpectedParent::Wininit) if pn != "wininit.exe" => out.push(finding(
                "CHILD-PARENT",
                Severity::High,
                c,
                format!("parent_image={}", parent_img.clone().unwrap_or_default()),
                format!("{p} was started by {pn}: only wininit.exe starts it"),
            )),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pid: u64, ppid: u64, image: &str, t: u64) -> Creation {
        Creation {
            pid,
            ppid: Some(ppid),
            image: image.into(),
            user_sid: Some(LOCAL_SYSTEM.into()),
            time: t,
            subject: format!("pid {pid} {}", exe(image)),
            ..Default::default()
        }
    }

    fn normal_boot(t0: u64) -> Vec<Creation> {
        let s = r"\Device\HarddiskVolume2\Windows\System32\";
        vec![
            c(388, 4, &format!("{s}smss.exe"), t0),
            c(488, 388, &format!("{s}smss.exe"), t0 + 10),
            c(496, 488, &format!("{s}csrss.exe"), t0 + 20),
            c(572, 488, &format!("{s}wininit.exe"), t0 + 30),
            c(712, 572, &format!("{s}services.exe"), t0 + 40),
            c(732, 572, &format!("{s}lsass.exe"), t0 + 50),
            c(564, 388, &format!("{s}smss.exe"), t0 + 60),
            c(580, 564, &format!("{s}csrss.exe"), t0 + 70),
            c(668, 564, &format!("{s}winlogon.exe"), t0 + 80),
        ]
    }

    #[test]
    fn a_normal_boot_chain_is_quiet_and_boots_are_cut_at_the_master() {
        let mut all = normal_boot(1_000);
        all.extend(normal_boot(9_000_000));
        assert!(check(&all, &[]).is_empty(), "{:?}", check(&all, &[]));
        let b = boots(&all, &[]);
        assert_eq!(b[0], 1);
        assert_eq!(b[9], 2);
        assert!(b[..9].iter().all(|&x| x == 1) && b[9..].iter().all(|&x| x == 2));
    }

    #[test]
    fn smss_starting_cmd_is_smss_child() {
        let mut all = normal_boot(1_000);
        all.push(c(900, 388, r"C:\Windows\System32\cmd.exe", 1_005));
        let f = check(&all, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "SMSS-CHILD");
        assert!(f[0].subject.contains("cmd.exe"));
    }

    #[test]
    fn pid_reuse_does_not_make_a_false_parent() {
        // PID 488 is reused later by explorer; a later csrss with ppid 488 must match the
        // newest 488 before it.
        let mut all = normal_boot(1_000);
        all.push(c(488, 700, r"C:\Windows\explorer.exe", 5_000));
        all.push(c(999, 488, r"C:\Windows\System32\csrss.exe", 6_000));
        let f = check(&all, &[]);
        assert_eq!(
            f.iter().filter(|x| x.rule == "CHILD-PARENT").count(),
            1,
            "{f:?}"
        );
        assert!(f.iter().any(|x| x.subject.starts_with("pid 999")));
    }

    #[test]
    fn masquerades_are_found_in_history() {
        let mut all = normal_boot(1_000);
        let mut fake = c(7312, 4220, r"C:\Users\Public\smss.exe", 50_000);
        fake.user_sid = Some("S-1-5-21-1-2-3-1001".into());
        fake.parent_image = Some(r"C:\Windows\explorer.exe".into());
        all.push(fake);
        all.push(c(7588, 4220, r"C:\Windows\System32\smsss.exe", 51_000));
        let f = check(&all, &[]);
        let ids: Vec<&str> = f.iter().map(|x| x.rule).collect();
        for want in ["SMSS-PATH", "SMSS-USER", "SMSS-PARENT", "NAME-LOOKALIKE"] {
            assert!(ids.contains(&want), "{want} missing: {ids:?}");
        }
    }

    #[test]
    fn a_log_that_starts_mid_boot_is_normal() {
        // No master in the log: session children parented by an unknown pid are not judged.
        let all: Vec<Creation> = normal_boot(1_000).into_iter().skip(1).collect();
        assert!(check(&all, &[]).is_empty());
    }
}
