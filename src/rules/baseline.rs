//! The baseline the rules encode, in one place (docs/rules.md, "What normal is"): which
//! names make the boot chain, who starts each, and the account they run as. The memory,
//! history and disk rules all read it from here.

use crate::model::ProcessRecord;

/// Local System, the account of every boot-chain process.
pub const LOCAL_SYSTEM: &str = "S-1-5-18";

/// smss.exe and its relatives, in boot order: all in `\Windows\System32`, all Local
/// System. (`names::PROTECTED` adds svchost.exe, which attackers imitate too but which
/// is not part of the boot chain.)
pub const BOOT_CHAIN: [&str; 6] = [
    "smss.exe",
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "services.exe",
    "lsass.exe",
];

/// What a session smss.exe starts: another smss (the session child), the session's
/// processes, and autochk (BootExecute's default). Anything else came from BootExecute,
/// SetupExecute or a replaced smss.
pub const SMSS_STARTS: [&str; 5] = [
    "smss.exe",
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "autochk.exe",
];

/// Who starts a boot-chain process on a clean boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedParent {
    /// System (PID 4) starts the master smss.
    System,
    /// A session smss.exe starts csrss, wininit and winlogon, then exits.
    SessionSmss,
    /// wininit.exe, which lives until shutdown, starts services and lsass.
    Wininit,
}

/// The expected parent of a boot-chain name (lower case); `None` for other names.
pub fn expected_parent(name: &str) -> Option<ExpectedParent> {
    match name {
        "smss.exe" => Some(ExpectedParent::System),
        "csrss.exe" | "wininit.exe" | "winlogon.exe" => Some(ExpectedParent::SessionSmss),
        "services.exe" | "lsass.exe" => Some(ExpectedParent::Wininit),
        _ => None,
    }
}

/// Is `name` (a lower-case file name) one of the boot chain?
pub fn is_boot_chain_name(name: &str) -> bool {
    BOOT_CHAIN.contains(&name)
}

/// The boot-chain processes `mem smss` shows: System, every smss and its relatives, and
/// any process whose name only looks like one of them.
pub fn is_boot_chain(p: &ProcessRecord) -> bool {
    let exe = super::support::process_exe(p);
    p.pid == 4
        || is_boot_chain_name(&exe)
        || crate::names::lookalike(&exe).is_some_and(|(prot, _)| is_boot_chain_name(prot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_boot_chain_name_has_a_parent_and_is_protected() {
        for n in BOOT_CHAIN {
            assert!(expected_parent(n).is_some(), "{n}");
            assert_eq!(crate::names::protected_name(n), Some(n));
        }
        assert_eq!(expected_parent("svchost.exe"), None);
        assert!(!is_boot_chain_name("svchost.exe"));
    }

    #[test]
    fn lookalikes_of_the_chain_are_shown_but_not_of_svchost() {
        let p = |name: &str| ProcessRecord {
            pid: 700,
            name: name.into(),
            ..Default::default()
        };
        assert!(is_boot_chain(&p("smss.exe")));
        assert!(is_boot_chain(&p("lsasss.exe")));
        assert!(!is_boot_chain(&p("svchost.exe")));
        assert!(!is_boot_chain(&p("svch0st.exe")));
        assert!(!is_boot_chain(&p("notepad.exe")));
    }
}
