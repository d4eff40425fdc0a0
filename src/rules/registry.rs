//! Session Manager, IFEO and SilentProcessExit rules over registry facts.
//!
//! The facts structs here are the rules' own view, filled by `analyse::hive` from the
//! hive parser, so that each rule is tested with facts built in the test.

use super::support;
use super::RuleInfo;
use crate::model::{Finding, Severity};
use crate::names;

use super::windows::{self, Genuine, WindowsRelease};

pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "REG-BOOTEXECUTE",
        severity: Severity::High,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "BootExecute / BootExecuteNoPnpSync runs something besides `autocheck autochk *`",
    },
    RuleInfo {
        id: "REG-SM-EXECUTE",
        severity: Severity::High,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "SetupExecute, Execute, PlatformExecute or S0InitialCommand is set: smss runs it at boot",
    },
    RuleInfo {
        id: "REG-SUBSYSTEM-CSRSS",
        severity: Severity::Critical,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "SubSystems\\Windows does not start %SystemRoot%\\system32\\csrss.exe",
    },
    RuleInfo {
        id: "REG-SUBSYSTEM-SERVERDLL",
        severity: Severity::High,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "SubSystems\\Windows loads a ServerDll csrss does not normally load",
    },
    RuleInfo {
        id: "REG-SUBSYSTEM-KMODE",
        severity: Severity::High,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "SubSystems\\Kmode is not \\SystemRoot\\System32\\win32k.sys",
    },
    RuleInfo {
        id: "REG-KNOWNDLLS",
        severity: Severity::Medium,
        attack: "T1574.001",
        applies_to: "registry",
        summary: "KnownDLLs holds a name that is not a system DLL, a path, or a name mapped to another DLL",
    },
    RuleInfo {
        id: "REG-PENDING-RENAME",
        severity: Severity::High,
        attack: "T1574",
        applies_to: "registry",
        summary: "PendingFileRenameOperations replaces, renames onto or deletes a protected binary at next boot",
    },
    RuleInfo {
        id: "REG-APPCERTDLLS",
        severity: Severity::High,
        attack: "T1546.009",
        applies_to: "registry",
        summary: "AppCertDlls is set: a DLL loaded into every process that calls CreateProcess",
    },
    RuleInfo {
        id: "REG-IFEO",
        severity: Severity::Critical,
        attack: "T1546.012",
        applies_to: "registry",
        summary: "Image File Execution Options Debugger, VerifierDlls or GlobalFlag on a protected process",
    },
    RuleInfo {
        id: "REG-SILENTEXIT",
        severity: Severity::High,
        attack: "T1546.012",
        applies_to: "registry",
        summary: "A SilentProcessExit monitor on a protected process",
    },
    RuleInfo {
        id: "REG-CONTROLSET-DIFF",
        severity: Severity::Info,
        attack: "T1112",
        applies_to: "registry",
        summary: "Session Manager values differ between control sets (context for the findings above)",
    },
    RuleInfo {
        id: "REG-CHANGED-SINCE-SNAPSHOT",
        severity: Severity::High,
        attack: "T1547.001",
        applies_to: "registry",
        summary: "A Session Manager value, SubSystems entry or KnownDLL added or changed since a volume shadow copy",
    },
];

/// The Session Manager configuration of one control set.
#[derive(Debug, Clone, Default)]
pub struct SessionManagerFacts {
    pub control_set: String,
    pub current: bool,
    /// `ControlSet001\Control\Session Manager`
    pub key: String,
    pub boot_execute: Vec<String>,
    pub boot_execute_no_pnp_sync: Vec<String>,
    pub setup_execute: Vec<String>,
    pub execute: Vec<String>,
    pub platform_execute: Vec<String>,
    pub s0_initial_command: Vec<String>,
    /// The executable of SubSystems\Windows (csrss's command line, parsed by the hive layer).
    pub subsystem_windows_exe: Option<String>,
    /// ServerDll names from that command line.
    pub server_dlls: Vec<String>,
    pub subsystem_kmode: Option<String>,
    pub known_dlls: Vec<(String, String)>,
    /// (source, destination, operation: delete | rename | replace)
    pub pending_renames: Vec<(String, String, String)>,
    /// (value name, data)
    pub app_cert_dlls: Vec<(String, String)>,
}

/// One Image File Execution Options entry.
#[derive(Debug, Clone, Default)]
pub struct IfeoFacts {
    pub image: String,
    pub key: String,
    pub debugger: Option<String>,
    pub global_flag: Option<u32>,
    pub verifier_dlls: Option<String>,
}

/// One SilentProcessExit entry.
#[derive(Debug, Clone, Default)]
pub struct SilentExitFacts {
    pub image: String,
    pub key: String,
    pub monitor_process: Option<String>,
    pub reporting_mode: Option<u32>,
}

fn finding(
    id: &str,
    severity: Severity,
    subject: String,
    evidence: String,
    why: String,
) -> Finding {
    support::finding(id, severity, "registry", subject, evidence, why)
}

fn non_empty(v: &[String]) -> impl Iterator<Item = &String> {
    v.iter().filter(|s| !s.trim().is_empty())
}

/// `autocheck autochk` with any of its documented switches and a drive list or `*`.
fn is_default_boot_entry(entry: &str) -> bool {
    let words: Vec<String> = entry
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.len() < 3 || words[0] != "autocheck" || words[1] != "autochk" {
        return false;
    }
    words[2..].iter().all(|w| {
        w == "*"
            || w.starts_with("/k:")
            || w.starts_with("/m")
            || matches!(w.as_str(), "/p" | "/q" | "/v" | "/r" | "/x" | "/s")
            || w.starts_with("\\??\\")
            || (w.len() == 2 && w.ends_with(':'))
    })
}

/// Binaries whose replacement or deletion at boot is an attack on the boot chain.
fn is_protected_target(path: &str) -> bool {
    let name = path
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    names::protected_name(&name).is_some()
        || matches!(
            name.as_str(),
            "ntdll.dll"
                | "kernel32.dll"
                | "kernelbase.dll"
                | "ntoskrnl.exe"
                | "hal.dll"
                | "winload.exe"
                | "winload.efi"
                | "csrsrv.dll"
                | "basesrv.dll"
                | "winsrv.dll"
                | "lsasrv.dll"
                | "userinit.exe"
                | "win32k.sys"
                | "ci.dll"
                | "autochk.exe"
        )
        || name
            .strip_suffix(".dll")
            .is_some_and(windows::is_known_dll_of_any)
}

/// [`check_session_manager_on`] for a hive whose Windows release is unknown: a
/// KnownDLL or ServerDll is genuine when any release from XP to 11 lists it.
pub fn check_session_manager(sm: &SessionManagerFacts) -> Vec<Finding> {
    check_session_manager_on(sm, None)
}

/// The Session Manager rules for one control set of a hive of `release` (from the
/// SOFTWARE hive's `CurrentVersion` beside it; `None` when unknown).
pub fn check_session_manager_on(
    sm: &SessionManagerFacts,
    release: Option<WindowsRelease>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let on = release.map(|r| format!(" on {r}")).unwrap_or_default();
    let subject = |value: &str| format!("{}\\{value}", sm.key);
    let cs = if sm.current {
        format!("{} (current)", sm.control_set)
    } else {
        sm.control_set.clone()
    };

    for (value, list) in [
        ("BootExecute", &sm.boot_execute),
        ("BootExecuteNoPnpSync", &sm.boot_execute_no_pnp_sync),
    ] {
        for entry in non_empty(list).filter(|e| !is_default_boot_entry(e)) {
            out.push(finding(
                "REG-BOOTEXECUTE",
                Severity::High,
                subject(value),
                format!("control_set={cs}; entry=\"{entry}\""),
                format!("smss runs \"{entry}\" at boot, before any security product: only `autocheck autochk *` is normal"),
            ));
        }
    }
    for (value, list) in [
        ("SetupExecute", &sm.setup_execute),
        ("Execute", &sm.execute),
        ("PlatformExecute", &sm.platform_execute),
        ("S0InitialCommand", &sm.s0_initial_command),
    ] {
        for entry in non_empty(list) {
            out.push(finding(
                "REG-SM-EXECUTE",
                Severity::High,
                subject(value),
                format!("control_set={cs}; entry=\"{entry}\""),
                format!("smss runs {value} entries at boot as native programs; \"{entry}\" is set"),
            ));
        }
    }
    if let Some(exe) = &sm.subsystem_windows_exe {
        let normal = exe.eq_ignore_ascii_case(r"%SystemRoot%\system32\csrss.exe")
            || exe.eq_ignore_ascii_case(r"\SystemRoot\system32\csrss.exe");
        if !normal {
            out.push(finding(
                "REG-SUBSYSTEM-CSRSS",
                Severity::Critical,
                format!("{}\\SubSystems\\Windows", sm.key),
                format!("control_set={cs}; executable=\"{exe}\""),
                format!("smss starts \"{exe}\" as the Windows subsystem instead of %SystemRoot%\\system32\\csrss.exe"),
            ));
        }
    }
    for dll in &sm.server_dlls {
        let (sev, why) = match windows::server_dll(dll, release) {
            Genuine::Yes => continue,
            Genuine::No => (
                Severity::High,
                format!("csrss is told to load ServerDll \"{dll}\", which no Windows from XP to 11 uses: code in csrss runs as SYSTEM in every session"),
            ),
            Genuine::OtherReleases(r) => (
                Severity::Medium,
                format!("csrss is told to load ServerDll \"{dll}\"{on}, where Windows does not use it (only {})", windows::names(&r)),
            ),
        };
        out.push(finding(
            "REG-SUBSYSTEM-SERVERDLL",
            sev,
            format!("{}\\SubSystems\\Windows", sm.key),
            format!("control_set={cs}; ServerDll={dll}"),
            why,
        ));
    }
    if let Some(k) = &sm.subsystem_kmode {
        let normal = k.eq_ignore_ascii_case(r"\SystemRoot\System32\win32k.sys")
            || k.eq_ignore_ascii_case(r"%SystemRoot%\System32\win32k.sys");
        if !normal {
            out.push(finding(
                "REG-SUBSYSTEM-KMODE",
                Severity::High,
                format!("{}\\SubSystems\\Kmode", sm.key),
                format!("control_set={cs}; Kmode=\"{k}\""),
                format!("the kernel-mode part of the Windows subsystem is \"{k}\", not win32k.sys"),
            ));
        }
    }
    for (name, data) in &sm.known_dlls {
        if name.eq_ignore_ascii_case("DllDirectory") || name.eq_ignore_ascii_case("DllDirectory32")
        {
            let normal = data.eq_ignore_ascii_case(r"%SystemRoot%\system32")
                || data.eq_ignore_ascii_case(r"%SystemRoot%\syswow64");
            if !normal {
                out.push(finding(
                    "REG-KNOWNDLLS",
                    Severity::High,
                    format!("{}\\KnownDLLs\\{name}", sm.key),
                    format!("control_set={cs}; {name}=\"{data}\""),
                    format!("KnownDLLs are loaded from \"{data}\" instead of the system directory"),
                ));
            }
            continue;
        }
        let file = data.to_ascii_lowercase();
        let stem = file.strip_suffix(".dll").unwrap_or(&file);
        let key = name.to_ascii_lowercase();
        let (sev, why) = if file.contains(['\\', '/', ':']) {
            (
                Severity::High,
                format!(
                    "KnownDLL {name} points to a path (\"{data}\"): every process would load it"
                ),
            )
        } else if stem != key.trim_start_matches('_') && stem != key {
            (
                Severity::High,
                format!("KnownDLL {name} is mapped to another DLL (\"{data}\")"),
            )
        } else {
            match windows::known_dll(stem, release) {
                Genuine::Yes => continue,
                Genuine::No => (
                    Severity::Medium,
                    format!("KnownDLL \"{data}\" is not a Windows system DLL (no Windows from XP to 11 lists it{on}): it is preloaded into every process"),
                ),
                Genuine::OtherReleases(r) => (
                    Severity::Low,
                    format!("KnownDLL \"{data}\" is listed{on}, where Windows does not list it (only {}): it is preloaded into every process", windows::names(&r)),
                ),
            }
        };
        out.push(finding(
            "REG-KNOWNDLLS",
            sev,
            format!("{}\\KnownDLLs\\{name}", sm.key),
            format!("control_set={cs}; {name}=\"{data}\""),
            why,
        ));
    }
    for (src, dst, op) in &sm.pending_renames {
        let hits_protected = is_protected_target(src)
            || (!dst.is_empty() && is_protected_target(dst.trim_start_matches('!')));
        if hits_protected {
            out.push(finding(
                "REG-PENDING-RENAME",
                Severity::High,
                subject("PendingFileRenameOperations"),
                format!(
                    "control_set={cs}; source=\"{src}\"; destination=\"{dst}\"; operation={op}"
                ),
                format!(
                    "at next boot smss will {op} \"{src}\"{}: a protected boot-chain file",
                    if dst.is_empty() {
                        String::new()
                    } else {
                        format!(" -> \"{dst}\"")
                    }
                ),
            ));
        }
    }
    for (name, data) in &sm.app_cert_dlls {
        out.push(finding(
            "REG-APPCERTDLLS",
            Severity::High,
            format!("{}\\AppCertDlls\\{name}", sm.key),
            format!("control_set={cs}; {name}=\"{data}\""),
            format!("AppCertDlls loads \"{data}\" into every process that creates processes"),
        ));
    }
    out
}

/// A Session Manager setting whose value is not the same in every control set.
#[derive(Debug, Clone, Default)]
pub struct ControlSetDifference {
    /// `Session Manager\BootExecute`, `SubSystems\Windows`, `KnownDLLs\kernel32`, ...
    pub setting: String,
    /// (control set, displayed value; `None` where absent)
    pub values: Vec<(String, Option<String>)>,
}

/// One info finding per setting that differs between control sets.
pub fn check_control_set_differences(diffs: &[ControlSetDifference]) -> Vec<Finding> {
    diffs
        .iter()
        .map(|d| {
            let shown: Vec<String> = d
                .values
                .iter()
                .map(|(cs, v)| format!("{cs}={}", v.as_deref().map(|v| format!("\"{v}\"")).unwrap_or_else(|| "(absent)".into())))
                .collect();
            finding(
                "REG-CONTROLSET-DIFF",
                Severity::Info,
                d.setting.clone(),
                shown.join("; "),
                format!("{} is not the same in every control set: a recent change, or an edit made to one set only", d.setting),
            )
        })
        .collect()
}

/// FLG_MONITOR_SILENT_PROCESS_EXIT: with a SilentProcessExit key, runs a monitor on exit.
const FLG_MONITOR_SILENT_PROCESS_EXIT: u32 = 0x200;
/// FLG_APPLICATION_VERIFIER: loads VerifierDlls.
const FLG_APPLICATION_VERIFIER: u32 = 0x100;

fn protected_image(image: &str) -> Option<&'static str> {
    let name = image.rsplit(['\\', '/']).next().unwrap_or(image);
    names::protected_name(name)
}

pub fn check_ifeo(e: &IfeoFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(p) = protected_image(&e.image) else {
        return out;
    };
    if let Some(d) = e.debugger.as_deref().filter(|d| !d.trim().is_empty()) {
        out.push(finding(
            "REG-IFEO",
            Severity::Critical,
            format!("{}\\Debugger", e.key),
            format!("image={p}; Debugger=\"{d}\""),
            format!("Windows starts \"{d}\" instead of {p}, with {p} as its argument"),
        ));
    }
    if let Some(v) = e.verifier_dlls.as_deref().filter(|v| !v.trim().is_empty()) {
        out.push(finding(
            "REG-IFEO",
            Severity::Critical,
            format!("{}\\VerifierDlls", e.key),
            format!("image={p}; VerifierDlls=\"{v}\"; GlobalFlag={:#x}", e.global_flag.unwrap_or(0)),
            format!("\"{v}\" is loaded into {p} as an Application Verifier provider, before any other DLL"),
        ));
    }
    if let Some(g) = e.global_flag {
        if g & (FLG_MONITOR_SILENT_PROCESS_EXIT | FLG_APPLICATION_VERIFIER) != 0
            && e.verifier_dlls.is_none()
        {
            out.push(finding(
                "REG-IFEO",
                Severity::High,
                format!("{}\\GlobalFlag", e.key),
                format!("image={p}; GlobalFlag={g:#x}"),
                format!("GlobalFlag {g:#x} on {p} enables silent-exit monitoring or the verifier: a persistence and credential-theft hook"),
            ));
        }
    }
    out
}

pub fn check_silent_exit(e: &SilentExitFacts) -> Vec<Finding> {
    let Some(p) = protected_image(&e.image) else {
        return Vec::new();
    };
    match e
        .monitor_process
        .as_deref()
        .filter(|m| !m.trim().is_empty())
    {
        Some(m) => vec![finding(
            "REG-SILENTEXIT",
            Severity::High,
            format!("{}\\MonitorProcess", e.key),
            format!(
                "image={p}; MonitorProcess=\"{m}\"; ReportingMode={:#x}",
                e.reporting_mode.unwrap_or(0)
            ),
            format!("when {p} exits, Windows runs \"{m}\": persistence, or a dump of {p}'s memory"),
        )],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> SessionManagerFacts {
        SessionManagerFacts {
            control_set: "ControlSet001".into(),
            current: true,
            key: r"ControlSet001\Control\Session Manager".into(),
            boot_execute: vec!["autocheck autochk *".into()],
            setup_execute: vec!["".into()],
            subsystem_windows_exe: Some(r"%SystemRoot%\system32\csrss.exe".into()),
            server_dlls: vec!["basesrv".into(), "winsrv".into(), "sxssrv".into()],
            subsystem_kmode: Some(r"\SystemRoot\System32\win32k.sys".into()),
            known_dlls: vec![
                ("kernel32".into(), "kernel32.dll".into()),
                ("_wow64".into(), "wow64.dll".into()),
                ("DllDirectory".into(), r"%SystemRoot%\system32".into()),
            ],
            pending_renames: vec![(
                r"\??\C:\Config.Msi\a014fa5.rbf".into(),
                "".into(),
                "delete".into(),
            )],
            ..Default::default()
        }
    }

    fn rules_of(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn clean_config_has_no_findings() {
        assert!(check_session_manager(&clean()).is_empty());
    }

    #[test]
    fn boot_execute_variants() {
        assert!(is_default_boot_entry("autocheck autochk *"));
        assert!(is_default_boot_entry("autocheck autochk /q /v *"));
        assert!(is_default_boot_entry("autocheck autochk /k:C *"));
        assert!(!is_default_boot_entry("autocheck evil *"));
        let mut sm = clean();
        sm.boot_execute.push("evil.exe".into());
        let f = check_session_manager(&sm);
        assert_eq!(rules_of(&f), ["REG-BOOTEXECUTE"]);
        assert!(f[0].evidence.contains("evil.exe"));
    }

    #[test]
    fn execute_values() {
        let mut sm = clean();
        sm.execute = vec!["backdoor.exe".into()];
        sm.s0_initial_command = vec!["x".into()];
        assert_eq!(
            rules_of(&check_session_manager(&sm)),
            ["REG-SM-EXECUTE", "REG-SM-EXECUTE"]
        );
    }

    #[test]
    fn subsystems() {
        let mut sm = clean();
        sm.subsystem_windows_exe = Some(r"C:\Users\Public\csrss.exe".into());
        sm.server_dlls.push("evilsrv".into());
        sm.subsystem_kmode = Some(r"\SystemRoot\System32\evil.sys".into());
        assert_eq!(
            rules_of(&check_session_manager(&sm)),
            [
                "REG-SUBSYSTEM-CSRSS",
                "REG-SUBSYSTEM-SERVERDLL",
                "REG-SUBSYSTEM-KMODE"
            ]
        );
    }

    #[test]
    fn known_dlls() {
        let mut sm = clean();
        sm.known_dlls.push(("evil".into(), "evil.dll".into()));
        sm.known_dlls
            .push(("user32".into(), "notuser32.dll".into()));
        sm.known_dlls
            .push(("shell32".into(), r"C:\temp\shell32.dll".into()));
        let f = check_session_manager(&sm);
        assert_eq!(rules_of(&f), ["REG-KNOWNDLLS"; 3]);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!(f[2].severity, Severity::High);
    }

    #[test]
    fn pending_renames_of_protected_files() {
        let mut sm = clean();
        sm.pending_renames.push((
            r"\??\C:\Windows\Temp\x.exe".into(),
            r"!\??\C:\Windows\System32\smss.exe".into(),
            "replace".into(),
        ));
        sm.pending_renames.push((
            r"\??\C:\Windows\System32\csrss.exe".into(),
            "".into(),
            "delete".into(),
        ));
        sm.pending_renames.push((
            r"\??\C:\Users\a\AppData\Local\Temp\nsProcess.dll".into(),
            "".into(),
            "delete".into(),
        ));
        let f = check_session_manager(&sm);
        assert_eq!(rules_of(&f), ["REG-PENDING-RENAME"; 2]);
    }

    #[test]
    fn ifeo_and_silent_exit() {
        let e = IfeoFacts {
            image: "lsass.exe".into(),
            key: "IFEO\\lsass.exe".into(),
            debugger: Some("c:\\x.exe".into()),
            ..Default::default()
        };
        assert_eq!(rules_of(&check_ifeo(&e)), ["REG-IFEO"]);
        let e = IfeoFacts {
            image: "notepad.exe".into(),
            debugger: Some("c:\\x.exe".into()),
            ..Default::default()
        };
        assert!(check_ifeo(&e).is_empty(), "only protected images");
        let g = IfeoFacts {
            image: "winlogon.exe".into(),
            global_flag: Some(0x200),
            ..Default::default()
        };
        assert_eq!(check_ifeo(&g)[0].severity, Severity::High);
        let s = SilentExitFacts {
            image: "winlogon.exe".into(),
            monitor_process: Some("c:\\m.exe".into()),
            ..Default::default()
        };
        assert_eq!(rules_of(&check_silent_exit(&s)), ["REG-SILENTEXIT"]);
    }

    #[test]
    fn control_set_differences() {
        assert!(check_control_set_differences(&[]).is_empty());
        let d = ControlSetDifference {
            setting: r"Session Manager\BootExecute".into(),
            values: vec![
                (
                    "ControlSet001".into(),
                    Some("autocheck autochk * | evil.exe".into()),
                ),
                ("ControlSet002".into(), None),
            ],
        };
        let f = check_control_set_differences(&[d]);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            f[0].evidence.contains("ControlSet002=(absent)"),
            "{}",
            f[0].evidence
        );
    }
}
