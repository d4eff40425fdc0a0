//! Token privileges: the SEP_TOKEN_PRIVILEGES bitmasks (Vista and later; bit n = the
//! privilege whose LUID is n) and the older LUID_AND_ATTRIBUTES array.

use serde::Serialize;

/// Names of the well-known privilege LUIDs 2..=36 (wdm.h `SE_*_PRIVILEGE`).
const NAMES: [&str; 35] = [
    "SeCreateTokenPrivilege",
    "SeAssignPrimaryTokenPrivilege",
    "SeLockMemoryPrivilege",
    "SeIncreaseQuotaPrivilege",
    "SeMachineAccountPrivilege",
    "SeTcbPrivilege",
    "SeSecurityPrivilege",
    "SeTakeOwnershipPrivilege",
    "SeLoadDriverPrivilege",
    "SeSystemProfilePrivilege",
    "SeSystemtimePrivilege",
    "SeProfileSingleProcessPrivilege",
    "SeIncreaseBasePriorityPrivilege",
    "SeCreatePagefilePrivilege",
    "SeCreatePermanentPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeShutdownPrivilege",
    "SeDebugPrivilege",
    "SeAuditPrivilege",
    "SeSystemEnvironmentPrivilege",
    "SeChangeNotifyPrivilege",
    "SeRemoteShutdownPrivilege",
    "SeUndockPrivilege",
    "SeSyncAgentPrivilege",
    "SeEnableDelegationPrivilege",
    "SeManageVolumePrivilege",
    "SeImpersonatePrivilege",
    "SeCreateGlobalPrivilege",
    "SeTrustedCredManAccessPrivilege",
    "SeRelabelPrivilege",
    "SeIncreaseWorkingSetPrivilege",
    "SeTimeZonePrivilege",
    "SeCreateSymbolicLinkPrivilege",
    "SeDelegateSessionUserImpersonatePrivilege",
];

/// The name of privilege LUID `luid`, when it is a well-known one.
pub fn privilege_name(luid: u32) -> Option<&'static str> {
    NAMES.get((luid as usize).checked_sub(2)?).copied()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Privilege {
    pub luid: u32,
    /// `None` for a LUID with no well-known name (kept: an unknown bit is a finding).
    pub name: Option<&'static str>,
    pub enabled: bool,
    pub enabled_by_default: bool,
}

/// Privileges present in a token, from the three SEP_TOKEN_PRIVILEGES masks.
pub fn from_bitmasks(present: u64, enabled: u64, enabled_by_default: u64) -> Vec<Privilege> {
    (0..64u32)
        .filter(|bit| present >> bit & 1 == 1)
        .map(|bit| Privilege {
            luid: bit,
            name: privilege_name(bit),
            enabled: enabled >> bit & 1 == 1,
            enabled_by_default: enabled_by_default >> bit & 1 == 1,
        })
        .collect()
}

/// SE_PRIVILEGE_ENABLED_BY_DEFAULT / SE_PRIVILEGE_ENABLED.
const ATTR_ENABLED_BY_DEFAULT: u32 = 1;
const ATTR_ENABLED: u32 = 2;
/// One LUID_AND_ATTRIBUTES: LUID (8 bytes), Attributes (4).
pub const LUID_AND_ATTRIBUTES_SIZE: usize = 12;

/// Privileges from a LUID_AND_ATTRIBUTES array (XP/2003 tokens). Entries beyond the
/// bytes given are ignored; a LUID with a non-zero high part is kept with no name.
pub fn from_array(bytes: &[u8]) -> Vec<Privilege> {
    bytes
        .chunks_exact(LUID_AND_ATTRIBUTES_SIZE)
        .map(|e| {
            let low = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let high = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
            let attributes = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
            Privilege {
                luid: low,
                name: if high == 0 { privilege_name(low) } else { None },
                enabled: attributes & ATTR_ENABLED != 0,
                enabled_by_default: attributes & ATTR_ENABLED_BY_DEFAULT != 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_bits() {
        assert_eq!(privilege_name(20), Some("SeDebugPrivilege"));
        assert_eq!(privilege_name(23), Some("SeChangeNotifyPrivilege"));
        assert_eq!(privilege_name(2), Some("SeCreateTokenPrivilege"));
        assert_eq!(privilege_name(7), Some("SeTcbPrivilege"));
        assert_eq!(privilege_name(29), Some("SeImpersonatePrivilege"));
        assert_eq!(
            privilege_name(36),
            Some("SeDelegateSessionUserImpersonatePrivilege")
        );
        assert_eq!(privilege_name(0), None);
        assert_eq!(privilege_name(1), None);
        assert_eq!(privilege_name(37), None);
    }

    #[test]
    fn bitmasks_give_present_and_enabled() {
        let p = from_bitmasks(1 << 20 | 1 << 23 | 1 << 40, 1 << 23, 1 << 23);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].name, p[0].enabled), (Some("SeDebugPrivilege"), false));
        assert_eq!(
            (p[1].name, p[1].enabled, p[1].enabled_by_default),
            (Some("SeChangeNotifyPrivilege"), true, true)
        );
        assert_eq!((p[2].luid, p[2].name), (40, None));
        assert!(
            from_bitmasks(0, u64::MAX, u64::MAX).is_empty(),
            "enabled without present is not a privilege"
        );
    }

    #[test]
    fn legacy_array() {
        let mut b = Vec::new();
        for (luid, attr) in [(20u32, 2u32), (23, 3), (19, 0)] {
            b.extend_from_slice(&luid.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&attr.to_le_bytes());
        }
        b.extend_from_slice(&[1, 2, 3]); // a torn trailing entry is ignored
        let p = from_array(&b);
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].name, p[0].enabled, p[0].enabled_by_default),
            (Some("SeDebugPrivilege"), true, false)
        );
        assert_eq!((p[1].enabled, p[1].enabled_by_default), (true, true));
        assert_eq!(
            (p[2].name, p[2].enabled),
            (Some("SeShutdownPrivilege"), false)
        );
    }
}
