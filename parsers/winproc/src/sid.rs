//! Binary SIDs → `S-R-A-S1-…` text, well-known account names and integrity levels.

use serde::Serialize;

/// A SID never has more than 15 sub-authorities (SID_MAX_SUB_AUTHORITIES).
pub const MAX_SUB_AUTHORITIES: usize = 15;

/// Why bytes are not a SID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidError {
    TooShort { needed: usize, found: usize },
    BadRevision(u8),
    TooManySubAuthorities(u8),
}

impl std::fmt::Display for SidError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SidError::TooShort { needed, found } => {
                write!(f, "expected {needed} SID bytes, found {found}")
            }
            SidError::BadRevision(r) => write!(f, "expected SID revision 1, found {r}"),
            SidError::TooManySubAuthorities(n) => {
                write!(f, "expected at most 15 sub-authorities, found {n}")
            }
        }
    }
}

/// Bytes a SID occupies, from its 8-byte head (revision, count, authority).
pub fn sid_len(head: &[u8]) -> Result<usize, SidError> {
    let (&revision, &count) = match (head.first(), head.get(1)) {
        (Some(r), Some(c)) => (r, c),
        _ => {
            return Err(SidError::TooShort {
                needed: 8,
                found: head.len(),
            })
        }
    };
    if revision != 1 {
        return Err(SidError::BadRevision(revision));
    }
    if count as usize > MAX_SUB_AUTHORITIES {
        return Err(SidError::TooManySubAuthorities(count));
    }
    Ok(8 + 4 * count as usize)
}

/// Formats a binary SID the way `ConvertSidToStringSid` does (authority in decimal below
/// 2^32, hex above).
pub fn format_sid(bytes: &[u8]) -> Result<String, SidError> {
    let len = sid_len(bytes)?;
    let sid = bytes.get(..len).ok_or(SidError::TooShort {
        needed: len,
        found: bytes.len(),
    })?;
    let authority = sid[2..8]
        .iter()
        .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let mut out = if authority >> 32 == 0 {
        format!("S-1-{authority}")
    } else {
        format!("S-1-{authority:#014X}")
    };
    for chunk in sid[8..].chunks_exact(4) {
        let sub = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        out.push('-');
        out.push_str(&sub.to_string());
    }
    Ok(out)
}

/// The account name Windows shows for a well-known SID, when it is one.
pub fn well_known_name(sid: &str) -> Option<&'static str> {
    let fixed = match sid {
        "S-1-0-0" => "NULL SID",
        "S-1-1-0" => "Everyone",
        "S-1-2-0" => "LOCAL",
        "S-1-2-1" => "CONSOLE LOGON",
        "S-1-3-0" => "CREATOR OWNER",
        "S-1-3-1" => "CREATOR GROUP",
        "S-1-3-4" => "OWNER RIGHTS",
        "S-1-5-1" => "NT AUTHORITY\\DIALUP",
        "S-1-5-2" => "NT AUTHORITY\\NETWORK",
        "S-1-5-3" => "NT AUTHORITY\\BATCH",
        "S-1-5-4" => "NT AUTHORITY\\INTERACTIVE",
        "S-1-5-6" => "NT AUTHORITY\\SERVICE",
        "S-1-5-7" => "NT AUTHORITY\\ANONYMOUS LOGON",
        "S-1-5-9" => "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS",
        "S-1-5-10" => "NT AUTHORITY\\SELF",
        "S-1-5-11" => "NT AUTHORITY\\Authenticated Users",
        "S-1-5-12" => "NT AUTHORITY\\RESTRICTED",
        "S-1-5-13" => "NT AUTHORITY\\TERMINAL SERVER USER",
        "S-1-5-14" => "NT AUTHORITY\\REMOTE INTERACTIVE LOGON",
        "S-1-5-15" => "NT AUTHORITY\\This Organization",
        "S-1-5-17" => "NT AUTHORITY\\IUSR",
        "S-1-5-18" => "Local System",
        "S-1-5-19" => "Local Service",
        "S-1-5-20" => "Network Service",
        "S-1-5-32-544" => "BUILTIN\\Administrators",
        "S-1-5-32-545" => "BUILTIN\\Users",
        "S-1-5-32-546" => "BUILTIN\\Guests",
        "S-1-5-32-547" => "BUILTIN\\Power Users",
        "S-1-5-32-551" => "BUILTIN\\Backup Operators",
        "S-1-5-32-555" => "BUILTIN\\Remote Desktop Users",
        "S-1-5-32-559" => "BUILTIN\\Performance Log Users",
        "S-1-5-32-568" => "BUILTIN\\IIS_IUSRS",
        "S-1-5-64-10" => "NT AUTHORITY\\NTLM Authentication",
        "S-1-5-80-0" => "NT SERVICE\\ALL SERVICES",
        "S-1-5-113" => "NT AUTHORITY\\Local account",
        "S-1-5-114" => "NT AUTHORITY\\Local account and member of Administrators group",
        "S-1-15-2-1" => "APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES",
        "S-1-16-0" => "Mandatory Label\\Untrusted Mandatory Level",
        "S-1-16-4096" => "Mandatory Label\\Low Mandatory Level",
        "S-1-16-8192" => "Mandatory Label\\Medium Mandatory Level",
        "S-1-16-8448" => "Mandatory Label\\Medium Plus Mandatory Level",
        "S-1-16-12288" => "Mandatory Label\\High Mandatory Level",
        "S-1-16-16384" => "Mandatory Label\\System Mandatory Level",
        "S-1-16-20480" => "Mandatory Label\\Protected Process Mandatory Level",
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed);
    }
    // Relative IDs of a machine or domain (S-1-5-21-a-b-c-RID).
    if sid.starts_with("S-1-5-21-") && sid.matches('-').count() == 7 {
        return match sid.rsplit('-').next()? {
            "500" => Some("Administrator"),
            "501" => Some("Guest"),
            "503" => Some("DefaultAccount"),
            "504" => Some("WDAGUtilityAccount"),
            "512" => Some("Domain Admins"),
            "513" => Some("Domain Users"),
            "514" => Some("Domain Guests"),
            "519" => Some("Enterprise Admins"),
            _ => None,
        };
    }
    if sid.starts_with("S-1-5-80-") {
        return Some("NT SERVICE\\(a service SID)");
    }
    if sid.starts_with("S-1-5-90-0-") {
        return Some("Window Manager\\DWM");
    }
    if sid.starts_with("S-1-5-96-0-") {
        return Some("Font Driver Host\\UMFD");
    }
    if sid.starts_with("S-1-5-5-") {
        return Some("NT AUTHORITY\\LogonSessionId");
    }
    None
}

/// Mandatory integrity level of a token, from its S-1-16-x label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IntegrityLevel {
    Untrusted,
    Low,
    Medium,
    MediumPlus,
    High,
    System,
    Protected,
    /// A label RID between the named levels.
    Other(u32),
}

impl IntegrityLevel {
    /// The level of an `S-1-16-x` SID; `None` for any other SID.
    pub fn from_sid(sid: &str) -> Option<IntegrityLevel> {
        let rid: u32 = sid.strip_prefix("S-1-16-")?.parse().ok()?;
        Some(match rid {
            0 => IntegrityLevel::Untrusted,
            0x1000 => IntegrityLevel::Low,
            0x2000 => IntegrityLevel::Medium,
            0x2100 => IntegrityLevel::MediumPlus,
            0x3000 => IntegrityLevel::High,
            0x4000 => IntegrityLevel::System,
            0x5000 => IntegrityLevel::Protected,
            other => IntegrityLevel::Other(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(revision: u8, authority: u64, subs: &[u32]) -> Vec<u8> {
        let mut b = vec![revision, subs.len() as u8];
        b.extend_from_slice(&authority.to_be_bytes()[2..]);
        for s in subs {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    #[test]
    fn formats_well_known_and_domain_sids() {
        assert_eq!(format_sid(&sid(1, 5, &[18])).unwrap(), "S-1-5-18");
        assert_eq!(format_sid(&sid(1, 5, &[32, 544])).unwrap(), "S-1-5-32-544");
        assert_eq!(format_sid(&sid(1, 16, &[0x3000])).unwrap(), "S-1-16-12288");
        assert_eq!(
            format_sid(&sid(1, 5, &[21, 3623811015, 3361044348, 30300820, 1001])).unwrap(),
            "S-1-5-21-3623811015-3361044348-30300820-1001"
        );
        // NULL authority with no sub-authorities is still a SID.
        assert_eq!(format_sid(&sid(1, 0, &[])).unwrap(), "S-1-0");
        // Authorities of 2^32 and above print in hex (ConvertSidToStringSid).
        assert_eq!(
            format_sid(&sid(1, 0x0001_0000_0000, &[7])).unwrap(),
            "S-1-0x000100000000-7"
        );
    }

    #[test]
    fn rejects_malformed_sids() {
        assert_eq!(format_sid(&sid(2, 5, &[18])), Err(SidError::BadRevision(2)));
        let mut many = sid(1, 5, &[1; 15]);
        many[1] = 16;
        assert_eq!(format_sid(&many), Err(SidError::TooManySubAuthorities(16)));
        let short = sid(1, 5, &[21, 1, 2]);
        assert!(matches!(
            format_sid(&short[..15]),
            Err(SidError::TooShort { needed: 20, .. })
        ));
        assert!(matches!(format_sid(&[1]), Err(SidError::TooShort { .. })));
    }

    #[test]
    fn names_and_levels() {
        assert_eq!(well_known_name("S-1-5-18"), Some("Local System"));
        assert_eq!(well_known_name("S-1-5-19"), Some("Local Service"));
        assert_eq!(well_known_name("S-1-5-20"), Some("Network Service"));
        assert_eq!(
            well_known_name("S-1-5-32-544"),
            Some("BUILTIN\\Administrators")
        );
        assert_eq!(well_known_name("S-1-5-21-1-2-3-500"), Some("Administrator"));
        assert_eq!(well_known_name("S-1-5-21-1-2-3-1001"), None);
        assert_eq!(
            well_known_name("S-1-5-21-1-2-500"),
            None,
            "not a full domain SID"
        );
        assert_eq!(
            IntegrityLevel::from_sid("S-1-16-16384"),
            Some(IntegrityLevel::System)
        );
        assert_eq!(
            IntegrityLevel::from_sid("S-1-16-8192"),
            Some(IntegrityLevel::Medium)
        );
        assert_eq!(
            IntegrityLevel::from_sid("S-1-16-4096"),
            Some(IntegrityLevel::Low)
        );
        assert_eq!(
            IntegrityLevel::from_sid("S-1-16-0"),
            Some(IntegrityLevel::Untrusted)
        );
        assert_eq!(
            IntegrityLevel::from_sid("S-1-16-12289"),
            Some(IntegrityLevel::Other(12289))
        );
        assert_eq!(IntegrityLevel::from_sid("S-1-5-18"), None);
    }
}
