//! TOKEN facts: user and group SIDs, integrity level, privileges, session, logon id.

use serde::Serialize;

use crate::layout::Layout;
use crate::vmem::VirtualMemory;

/// Tokens hold tens of groups; far more means a corrupt count.
pub const MAX_GROUPS: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenFacts {
    pub token_va: u64,
    /// First entry of UserAndGroups.
    pub user_sid: Option<String>,
    /// Every UserAndGroups SID in token order (user, groups, integrity label).
    pub sids: Vec<String>,
    /// `UserAndGroups[IntegrityLevelIndex]`.
    pub integrity_sid: Option<String>,
    pub privileges_present: Option<u64>,
    pub privileges_enabled: Option<u64>,
    pub privileges_enabled_by_default: Option<u64>,
    pub session_id: Option<u32>,
    /// AuthenticationId LUID as one u64 (HighPart << 32 | LowPart).
    pub authentication_id: Option<u64>,
    /// 1 = primary, 2 = impersonation.
    pub token_type: Option<u32>,
    pub impersonation_level: Option<u32>,
    pub errors: Vec<String>,
}

/// Formats the SID at `va` (`S-1-5-18`); `None` if unreadable or malformed.
pub fn read_sid(vm: &VirtualMemory, va: u64) -> Option<String> {
    let head = vm.read_exact(va, 8)?;
    let (revision, count) = (head[0], head[1]);
    if revision != 1 || count > 15 {
        return None;
    }
    let authority = head[2..8].iter().fold(0u64, |a, &b| a << 8 | b as u64);
    let subs = vm.read_exact(va + 8, count as usize * 4)?;
    let mut s = format!("S-1-{authority}");
    for c in subs.chunks_exact(4) {
        s.push_str(&format!("-{}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    }
    Some(s)
}

/// Reads the TOKEN at `token_va` (an EX_FAST_REF already masked) with `layout`.
pub fn read_token(vm: &VirtualMemory, layout: &Layout, token_va: u64) -> TokenFacts {
    let at = |f: Option<u32>| f.map(|o| token_va + o as u64);
    let u32_of = |f: Option<u32>| at(f).and_then(|va| vm.read_u32(va));
    let privs = |f: Option<u32>| {
        let base = at(layout.token_privileges)?;
        vm.read_u64(base + f? as u64)
    };
    let mut facts = TokenFacts {
        token_va,
        user_sid: None,
        sids: Vec::new(),
        integrity_sid: None,
        privileges_present: privs(layout.privileges_present),
        privileges_enabled: privs(layout.privileges_enabled),
        privileges_enabled_by_default: privs(layout.privileges_enabled_by_default),
        session_id: u32_of(layout.token_session_id),
        authentication_id: at(layout.token_authentication_id).and_then(|va| vm.read_u64(va)),
        token_type: u32_of(layout.token_token_type),
        impersonation_level: u32_of(layout.token_impersonation_level),
        errors: Vec::new(),
    };
    let (Some(list), Some(count)) = (at(layout.token_user_and_groups).and_then(|va| vm.read_u64(va)), u32_of(layout.token_user_and_group_count)) else {
        facts.errors.push(format!("virtual {token_va:#x}: UserAndGroups unreadable"));
        return facts;
    };
    if count > MAX_GROUPS {
        facts.errors.push(format!("virtual {token_va:#x}: UserAndGroupCount {count} exceeds {MAX_GROUPS}"));
        return facts;
    }
    let entry = layout.sid_and_attributes_size.unwrap_or(16) as u64;
    for i in 0..count as u64 {
        match vm.read_u64(list + i * entry).and_then(|sid| read_sid(vm, sid)) {
            Some(s) => facts.sids.push(s),
            None => facts.errors.push(format!("virtual {:#x}: SID {i} unreadable", list + i * entry)),
        }
    }
    facts.user_sid = facts.sids.first().cloned();
    if let Some(idx) = u32_of(layout.token_integrity_level_index) {
        if idx < count {
            facts.integrity_sid = vm.read_u64(list + idx as u64 * entry).and_then(|sid| read_sid(vm, sid));
        }
    }
    facts
}
