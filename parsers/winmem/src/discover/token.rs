//! TOKEN fields from System's token, whose SIDs (S-1-5-18 first, an S-1-16- label among
//! the groups), logon session (SYSTEM, 0x3e7) and privileges (SeTcb, SeDebug present) are
//! known; each candidate offset is then confirmed on every other process's token.

use std::collections::HashMap;

use super::eprocess::Procs;
use super::{d, is_kernel_ptr, q, read_lossy, Discovery};
use crate::vmem::VirtualMemory;

/// TOKEN bytes searched (every field used sits below 0x100 in the kernels known).
const HEAD: usize = 0x200;
/// SIDs a token may hold (the LSA limit is 1024 groups plus the user).
const MAX_SIDS: usize = 1025;
const SYSTEM_LUID: u64 = 0x3e7;
const SE_TCB: u32 = 7;
const SE_DEBUG: u32 = 20;
/// Privilege LUIDs run from 2 (SeCreateToken) to 36 (SeDelegateSessionUserImpersonate).
const PRIVILEGE_BITS: u64 = ((1u64 << 41) - 1) & !3;

pub(super) struct Tokens {
    /// Process index → TOKEN head bytes.
    pub heads: HashMap<usize, Vec<u8>>,
    pub head_len: usize,
}

/// `S-R-A-S1-…` of the binary SID at `va`.
fn read_sid(vm: &VirtualMemory, va: u64) -> Option<String> {
    if !is_kernel_ptr(va & !0x3) {
        return None;
    }
    let head = vm.read_exact(va, 8)?;
    let (rev, count) = (head[0], head[1] as usize);
    if rev != 1 || count > 15 {
        return None;
    }
    let sid = vm.read_exact(va, 8 + 4 * count)?;
    let auth = sid[2..8].iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
    let mut s = format!("S-1-{auth}");
    for i in 0..count {
        s.push_str(&format!("-{}", d(&sid, 8 + 4 * i)));
    }
    Some(s)
}

/// The SIDs of SID_AND_ATTRIBUTES entries at `array`, up to the first that is not one.
fn sid_run(vm: &VirtualMemory, array: u64, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    if !is_kernel_ptr(array) {
        return out;
    }
    // Read the array in pages' worth of entries so a long token costs few reads.
    let mut i = 0;
    while i < max {
        let n = (max - i).min(256);
        let raw = read_lossy(vm, array + 16 * i as u64, 16 * n);
        for e in raw.chunks_exact(16) {
            match read_sid(vm, q(e, 0)) {
                Some(s) => out.push(s),
                None => return out,
            }
        }
        i += n;
    }
    out
}

struct Sample {
    head: Vec<u8>,
    /// The SIDs the entries at UserAndGroups form, up to the first non-SID.
    run: Vec<String>,
}

pub(super) fn discover(vm: &VirtualMemory, procs: &Procs, disc: &mut Discovery) -> Tokens {
    let mut tokens = Tokens {
        heads: HashMap::new(),
        head_len: HEAD,
    };
    let Some(tok_off) = procs.off(disc.layout.eprocess_token) else {
        for f in TOKEN_FIELDS {
            disc.missing(f, "needs EPROCESS.Token");
        }
        return tokens;
    };
    for (i, p) in procs.all.iter().enumerate() {
        let va = q(&p.body, tok_off) & !0xF;
        if is_kernel_ptr(va) {
            if let Some(h) = vm.read_exact(va, HEAD) {
                tokens.heads.insert(i, h);
            }
        }
    }
    let Some(sys_head) = tokens.heads.get(&0).cloned() else {
        for f in TOKEN_FIELDS {
            disc.missing(f, "System's token is unreadable");
        }
        return tokens;
    };
    // UserAndGroups: a pointer to entries whose first SID is S-1-5-18.
    let uag = match disc.layout.token_user_and_groups {
        Some(o) => Some(o as usize),
        None => (0..HEAD - 8).step_by(8).find(|&o| {
            let p = q(&sys_head, o);
            is_kernel_ptr(p)
                && vm
                    .read_u64(p)
                    .and_then(|s| read_sid(vm, s))
                    .is_some_and(|s| s == "S-1-5-18")
        }),
    };
    let Some(uag) = uag else {
        for f in TOKEN_FIELDS {
            disc.missing(f, "no pointer in System's token leads to S-1-5-18");
        }
        return tokens;
    };
    let mut samples: Vec<Sample> = Vec::new();
    let mut order: Vec<usize> = tokens.heads.keys().copied().collect();
    order.sort_unstable();
    for i in order {
        let head = tokens.heads[&i].clone();
        let run = sid_run(vm, q(&head, uag), MAX_SIDS);
        samples.push(Sample { head, run });
    }
    if disc.layout.token_user_and_groups.is_none() {
        let parsed = samples.iter().filter(|s| !s.run.is_empty()).count();
        disc.layout.token_user_and_groups = Some(uag as u32);
        disc.found(
            "token_user_and_groups",
            uag as u32,
            format!(
                "leads to S-1-5-18 in System's token; SIDs parse in {parsed} of {}",
                samples.len()
            ),
        );
    }
    let n = samples.len();
    let mut taken = vec![uag, uag + 4];

    // UserAndGroupCount: every token's count of entries parses; the largest total wins
    // (a smaller field of the same kind, e.g. a count of 1, would also parse).
    if disc.layout.token_user_and_group_count.is_none() {
        let best = (0..HEAD - 4)
            .step_by(4)
            .filter(|o| !taken.contains(o))
            .filter(|&o| {
                samples.iter().all(|s| {
                    let c = d(&s.head, o) as usize;
                    c >= 1 && c <= s.run.len()
                })
            })
            .max_by_key(|&o| {
                let total: usize = samples.iter().map(|s| d(&s.head, o) as usize).sum();
                (total, std::cmp::Reverse(o))
            });
        match best {
            Some(o) => {
                disc.layout.token_user_and_group_count = Some(o as u32);
                disc.found(
                    "token_user_and_group_count",
                    o as u32,
                    format!("in all {n} tokens that many entries are SIDs"),
                );
            }
            None => disc.missing("token_user_and_group_count", "no count fits the SID arrays"),
        }
    }
    let Some(count_off) = disc.layout.token_user_and_group_count.map(|c| c as usize) else {
        return tokens;
    };
    taken.push(count_off);
    let sids = |s: &Sample| -> Vec<String> {
        let c = (d(&s.head, count_off) as usize).min(s.run.len());
        s.run[..c].to_vec()
    };
    let all_sids: Vec<Vec<String>> = samples.iter().map(sids).collect();

    // IntegrityLevelIndex: the index of an S-1-16- label in every token, unambiguously.
    if disc.layout.token_integrity_level_index.is_none() {
        let fits: Vec<usize> = (0..HEAD - 4)
            .step_by(4)
            .filter(|o| !taken.contains(o))
            .filter(|&o| {
                samples.iter().zip(&all_sids).all(|(s, ids)| {
                    ids.get(d(&s.head, o) as usize)
                        .is_some_and(|x| x.starts_with("S-1-16-"))
                })
            })
            .collect();
        unique(disc, "token_integrity_level_index", &fits, || {
            format!("indexes an S-1-16- label in all {n} tokens")
        });
    }
    if let Some(o) = disc.layout.token_integrity_level_index {
        taken.push(o as usize);
    }

    // Privileges: Present, Enabled, EnabledByDefault masks of privilege bits, the last
    // two within the first; System holds SeTcb and SeDebug.
    if disc.layout.token_privileges.is_none() {
        let masks_ok = |h: &[u8], o: usize| {
            let (p, e, b) = (q(h, o), q(h, o + 8), q(h, o + 16));
            p & !PRIVILEGE_BITS == 0 && e & !p == 0 && b & !p == 0
        };
        let found = (0..HEAD - 24)
            .step_by(8)
            .filter(|o| !taken.contains(o))
            .find(|&o| {
                let p = q(&sys_head, o);
                masks_ok(&sys_head, o)
                    && p >> SE_TCB & 1 == 1
                    && p >> SE_DEBUG & 1 == 1
                    && samples.iter().all(|s| masks_ok(&s.head, o))
            });
        match found {
            Some(o) => {
                let l = &mut disc.layout;
                l.token_privileges = Some(o as u32);
                l.privileges_present.get_or_insert(0);
                l.privileges_enabled.get_or_insert(8);
                l.privileges_enabled_by_default.get_or_insert(16);
                disc.found(
                    "token_privileges",
                    o as u32,
                    format!("three privilege masks (Enabled, EnabledByDefault within Present) in all {n}; System's has SeTcb and SeDebug"),
                );
            }
            None => disc.missing("token_privileges", "no privilege masks fit System's token"),
        }
    }
    if let Some(o) = disc.layout.token_privileges {
        taken.extend([o as usize, o as usize + 8, o as usize + 16]);
    }

    // AuthenticationId: SYSTEM's logon session in System's token, and the service
    // accounts' well-known sessions in theirs.
    if disc.layout.token_authentication_id.is_none() {
        let fits: Vec<usize> = (0..HEAD - 8)
            .step_by(8)
            .filter(|o| !taken.contains(o))
            .filter(|&o| q(&sys_head, o) == SYSTEM_LUID)
            .filter(|&o| {
                samples.iter().zip(&all_sids).all(|(s, ids)| {
                    let v = q(&s.head, o);
                    match ids.first().map(String::as_str) {
                        Some("S-1-5-18") => v == SYSTEM_LUID,
                        Some("S-1-5-19") => v == 0x3e5,
                        Some("S-1-5-20") => v == 0x3e4,
                        _ => v != 0 && v >> 48 == 0,
                    }
                })
            })
            .collect();
        unique(disc, "token_authentication_id", &fits, || {
            format!("0x3e7 in System's token; the logon session of each account in all {n}")
        });
    }
    if let Some(o) = disc.layout.token_authentication_id {
        taken.push(o as usize);
        taken.push(o as usize + 4);
    }

    // TokenType: process tokens are primary (1), never other than primary/impersonation.
    if disc.layout.token_token_type.is_none() {
        let fits: Vec<usize> = (0..HEAD - 4)
            .step_by(4)
            .filter(|o| !taken.contains(o))
            .filter(|&o| d(&sys_head, o) == 1)
            .filter(|&o| samples.iter().all(|s| matches!(d(&s.head, o), 1 | 2)))
            // ImpersonationLevel follows it: SecurityAnonymous..SecurityDelegation.
            .filter(|&o| samples.iter().all(|s| d(&s.head, o + 4) <= 3))
            .collect();
        unique(disc, "token_token_type", &fits, || {
            format!("TokenPrimary in System's token, primary or impersonation in all {n}")
        });
    }
    tokens
}

/// Sets a field from exactly one candidate; none or several leave it empty.
fn unique(disc: &mut Discovery, field: &'static str, fits: &[usize], how: impl Fn() -> String) {
    match fits {
        [o] => {
            let o = *o as u32;
            match field {
                "token_integrity_level_index" => disc.layout.token_integrity_level_index = Some(o),
                "token_authentication_id" => disc.layout.token_authentication_id = Some(o),
                "token_token_type" => disc.layout.token_token_type = Some(o),
                _ => return,
            }
            disc.found(field, o, how());
        }
        [] => disc.missing(field, "no offset fits every token"),
        many => disc.missing(
            field,
            format!("{} offsets fit every token: not confirmed", many.len()),
        ),
    }
}

const TOKEN_FIELDS: [&str; 7] = [
    "token_user_and_groups",
    "token_user_and_group_count",
    "token_integrity_level_index",
    "token_privileges",
    "token_authentication_id",
    "token_token_type",
    "token_session_id",
];
