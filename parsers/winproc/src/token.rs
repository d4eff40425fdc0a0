//! The process token: user and group SIDs, integrity level, logon session, type and
//! privileges. Counts read from memory are bounded before they size anything.

use serde::Serialize;
use triage_winmem::VirtualMemory;

use crate::bytes::{u32_at, u32_field, u64_at, u64_field};
use crate::layout::{PrivilegeLayout, ProcLayout};
use crate::privileges::{self, Privilege, LUID_AND_ATTRIBUTES_SIZE};
use crate::reader::read_exact;
use crate::sid::{format_sid, sid_len, well_known_name, IntegrityLevel};

/// More SIDs than a token can hold (the LSA limit is 1024 groups plus the user).
pub const MAX_USER_AND_GROUPS: u32 = 1025;
/// More privileges than Windows defines.
pub const MAX_LEGACY_PRIVILEGES: u32 = 64;
/// A token whose SIDs keep failing is damaged: stop after this many.
const MAX_SID_FAILURES: usize = 8;
/// TOKEN header bytes read: covers every field used in the builds known (< 0x100),
/// more when a legacy privilege layout places its fields further.
const TOKEN_HEAD: usize = 0x200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TokenType {
    Primary,
    Impersonation,
    Other(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidEntry {
    pub sid: String,
    pub name: Option<&'static str>,
    /// SE_GROUP_* attributes (0 for the user).
    pub attributes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenFacts {
    /// TOKEN address (EX_FAST_REF with the reference bits masked off).
    pub address: u64,
    pub user: Option<SidEntry>,
    /// UserAndGroups after the user, in token order (the integrity label included).
    pub groups: Vec<SidEntry>,
    /// UserAndGroupCount as stored (may exceed what was read).
    pub user_and_group_count: u32,
    pub integrity_sid: Option<String>,
    pub integrity: Option<IntegrityLevel>,
    /// AuthenticationId: the logon session LUID (0x3e7 = SYSTEM).
    pub logon_id: Option<u64>,
    pub token_type: Option<TokenType>,
    pub session_id: Option<u32>,
    pub privileges: Vec<Privilege>,
    /// SEP_TOKEN_PRIVILEGES masks, when the token has them.
    pub privileges_present: Option<u64>,
    pub privileges_enabled: Option<u64>,
}

fn read_sid(vm: &VirtualMemory, va: u64) -> Result<String, String> {
    let mut head = [0u8; 8];
    read_exact(vm, va, &mut head, "SID")
        .map_err(|(_, at, why)| format!("SID at {at:#x} unreadable ({why:?})"))?;
    let len = sid_len(&head).map_err(|e| format!("SID at {va:#x}: {e}"))?;
    let mut sid = vec![0u8; len];
    read_exact(vm, va, &mut sid, "SID")
        .map_err(|(_, at, why)| format!("SID at {at:#x} unreadable ({why:?})"))?;
    format_sid(&sid).map_err(|e| format!("SID at {va:#x}: {e}"))
}

/// Reads the token at `address`; what can't be read becomes `warnings`.
pub(crate) fn read_token(
    vm: &VirtualMemory,
    l: &ProcLayout,
    address: u64,
    warnings: &mut Vec<String>,
) -> Option<TokenFacts> {
    let legacy_end = match l.token_privileges {
        Some(PrivilegeLayout::Array {
            count_at,
            pointer_at,
        }) => count_at.max(pointer_at) as usize + 8,
        _ => 0,
    };
    let mut head = vec![0u8; TOKEN_HEAD.max(legacy_end)];
    if let Err((_, at, why)) = read_exact(vm, address, &mut head, "TOKEN") {
        warnings.push(format!(
            "token {address:#x}: unreadable at {at:#x} ({why:?})"
        ));
        return None;
    }
    let stored_count = u32_field(&head, l.token_user_and_group_count).unwrap_or(0);
    let count = if stored_count > MAX_USER_AND_GROUPS {
        warnings.push(format!(
            "token {address:#x}: UserAndGroupCount {stored_count} exceeds {MAX_USER_AND_GROUPS}; read the first {MAX_USER_AND_GROUPS}"
        ));
        MAX_USER_AND_GROUPS
    } else {
        stored_count
    };
    let entry_size = l.sid_and_attributes_size.max(12) as usize;
    let array = u64_field(&head, l.token_user_and_groups).unwrap_or(0);
    let mut entries: Vec<SidEntry> = Vec::new();
    if count > 0 {
        let mut raw = vec![0u8; count as usize * entry_size];
        match read_exact(vm, array, &mut raw, "UserAndGroups") {
            Ok(()) => {
                let mut failures = 0;
                for (i, e) in raw.chunks_exact(entry_size).enumerate() {
                    let sid_va = u64_at(e, 0).unwrap_or(0);
                    let attributes = u32_at(e, 8).unwrap_or(0);
                    match read_sid(vm, sid_va) {
                        Ok(sid) => entries.push(SidEntry {
                            name: well_known_name(&sid),
                            sid,
                            attributes,
                        }),
                        Err(e) => {
                            warnings.push(format!("token {address:#x}: group {i}: {e}"));
                            entries.push(SidEntry {
                                sid: String::new(),
                                name: None,
                                attributes,
                            });
                            failures += 1;
                            if failures >= MAX_SID_FAILURES {
                                warnings.push(format!("token {address:#x}: {failures} unreadable SIDs; groups after {i} not read"));
                                break;
                            }
                        }
                    }
                }
            }
            Err((_, at, why)) => warnings.push(format!(
                "token {address:#x}: UserAndGroups unreadable at {at:#x} ({why:?})"
            )),
        }
    }
    let integrity_sid = u32_field(&head, l.token_integrity_level_index)
        .and_then(|i| entries.get(i as usize))
        .map(|e| e.sid.clone())
        .filter(|s| s.starts_with("S-1-16-"));
    let (privileges, present, enabled) = read_privileges(vm, l, &head, address, warnings);
    let mut entries = entries.into_iter();
    let user = entries.next();
    Some(TokenFacts {
        address,
        user,
        groups: entries.collect(),
        user_and_group_count: stored_count,
        integrity: integrity_sid.as_deref().and_then(IntegrityLevel::from_sid),
        integrity_sid,
        logon_id: u64_field(&head, l.token_authentication_id),
        token_type: u32_field(&head, l.token_type).map(|t| match t {
            1 => TokenType::Primary,
            2 => TokenType::Impersonation,
            other => TokenType::Other(other),
        }),
        session_id: u32_field(&head, l.token_session_id),
        privileges,
        privileges_present: present,
        privileges_enabled: enabled,
    })
}

fn read_privileges(
    vm: &VirtualMemory,
    l: &ProcLayout,
    head: &[u8],
    address: u64,
    warnings: &mut Vec<String>,
) -> (Vec<Privilege>, Option<u64>, Option<u64>) {
    match l.token_privileges {
        Some(PrivilegeLayout::Bitmasks {
            at,
            present,
            enabled,
            enabled_by_default,
        }) => {
            let mask = |o: u32| u64_at(head, (at + o) as usize);
            match (mask(present), mask(enabled), mask(enabled_by_default)) {
                (Some(p), Some(e), Some(d)) => {
                    (privileges::from_bitmasks(p, e, d), Some(p), Some(e))
                }
                _ => (Vec::new(), None, None),
            }
        }
        Some(PrivilegeLayout::Array {
            count_at,
            pointer_at,
        }) => {
            let count = u32_at(head, count_at as usize).unwrap_or(0);
            let count = if count > MAX_LEGACY_PRIVILEGES {
                warnings.push(format!(
                    "token {address:#x}: PrivilegeCount {count} exceeds {MAX_LEGACY_PRIVILEGES}"
                ));
                MAX_LEGACY_PRIVILEGES
            } else {
                count
            };
            let Some(ptr) = u64_at(head, pointer_at as usize) else {
                return (Vec::new(), None, None);
            };
            let mut raw = vec![0u8; count as usize * LUID_AND_ATTRIBUTES_SIZE];
            match read_exact(vm, ptr, &mut raw, "Privileges") {
                Ok(()) => (privileges::from_array(&raw), None, None),
                Err((_, at, why)) => {
                    warnings.push(format!(
                        "token {address:#x}: privileges unreadable at {at:#x} ({why:?})"
                    ));
                    (Vec::new(), None, None)
                }
            }
        }
        None => (Vec::new(), None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(build: u32) -> triage_winmem::Layout {
        triage_winmem::builtin_layouts()
            .iter()
            .rev()
            .find(|e| e.build == build && e.pdb.is_some())
            .expect("builtin layout")
            .layout
            .clone()
    }

    #[test]
    fn windows_7_and_8_1_tokens_use_the_bitmasks() {
        // memory-facts.md: SEP_TOKEN_PRIVILEGES at TOKEN+0x40 from Windows 7 on.
        for build in [7601, 9600] {
            let l = ProcLayout::from_layout(&builtin(build), Some(build)).unwrap();
            assert_eq!(
                l.token_privileges,
                Some(PrivilegeLayout::Bitmasks {
                    at: 0x40,
                    present: 0,
                    enabled: 8,
                    enabled_by_default: 0x10
                }),
                "{build}"
            );
        }
    }

    #[test]
    fn a_layout_with_privilege_count_reads_the_legacy_array() {
        // The XP x64 TOKEN (Volatility 2 win2003_sp2_x64 vtypes): count 0x54, pointer 0x80,
        // no SEP_TOKEN_PRIVILEGES.
        let mut layout = builtin(7601);
        layout.token_privileges = Some(0x80);
        layout.token_privilege_count = Some(0x54);
        layout.privileges_present = None;
        layout.privileges_enabled = None;
        layout.privileges_enabled_by_default = None;
        let l = ProcLayout::from_layout(&layout, Some(3790)).unwrap();
        assert_eq!(
            l.token_privileges,
            Some(PrivilegeLayout::Array {
                count_at: 0x54,
                pointer_at: 0x80
            })
        );
        // Neither shape known: no privileges rather than a guess.
        layout.token_privilege_count = None;
        let l = ProcLayout::from_layout(&layout, Some(3790)).unwrap();
        assert_eq!(l.token_privileges, None);
    }
}
