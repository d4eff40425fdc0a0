//! EPROCESS fields from System and the processes on its ActiveProcessLinks list.

use std::collections::{HashMap, HashSet};

use memchr::memmem;

use super::token::Tokens;
use super::{
    d, is_kernel_ptr, is_user_ptr, plausible_time, pool_tag_before, q, read_lossy, Discovery,
    MAX_SAMPLES, SPAN,
};
use crate::vmem::VirtualMemory;

/// STATUS_PENDING: the ExitStatus of a process that has not exited.
const STATUS_PENDING: u32 = 0x103;
/// DISPATCHER_HEADER.SignalState is at 4 in every x64 kernel.
const SIGNAL_STATE: u32 = 4;
/// x64 KPROCESS.DirectoryTableBase, the same in every x64 kernel.
const DIRECTORY_TABLE_BASE: usize = 0x28;

pub(super) struct Proc {
    pub body: Vec<u8>,
}

/// System first, then the list in order.
pub(super) struct Procs {
    pub all: Vec<Proc>,
    /// Offsets already taken (a field is never found twice at one offset).
    pub taken: HashSet<usize>,
    pub exited: Vec<bool>,
}

impl Procs {
    fn others(&self) -> &[Proc] {
        self.all.get(1..).unwrap_or(&[])
    }
    pub fn system(&self) -> &Proc {
        &self.all[0]
    }
    pub fn off(&self, v: Option<u32>) -> Option<usize> {
        v.map(|v| v as usize)
    }
}

fn name_at(body: &[u8], at: usize) -> Option<String> {
    let raw = body.get(at..at + 15)?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(15);
    let n = &raw[..end];
    (!n.is_empty() && n.iter().all(|&b| (0x20..0x7F).contains(&b) || b >= 0x80))
        .then(|| String::from_utf8_lossy(n).into_owned())
}

/// The name at ImageFileName of a sampled process.
pub(super) fn image_name(p: &Proc, disc: &Discovery) -> Option<String> {
    name_at(&p.body, disc.layout.eprocess_image_file_name? as usize)
}

fn candidates(taken: &HashSet<usize>, step: usize) -> impl Iterator<Item = usize> + '_ {
    (0x30..SPAN - 8)
        .step_by(step)
        .filter(move |o| !taken.contains(o))
}

/// Locates System's name, PID and list entry, then reads the list.
pub(super) fn discover(vm: &VirtualMemory, system: u64, disc: &mut Discovery) -> Option<Procs> {
    let sys = read_lossy(vm, system, SPAN);
    let l = &mut disc.layout;
    let name = match l.eprocess_image_file_name {
        Some(n) => n as usize,
        None => memmem::find(&sys, b"System\0\0")?,
    };
    let links = match (
        l.eprocess_unique_process_id,
        l.eprocess_active_process_links,
    ) {
        (_, Some(links)) => links as usize,
        _ => (0x80..SPAN - 24).step_by(8).find_map(|o| {
            let (v, f, b) = (q(&sys, o), q(&sys, o + 8), q(&sys, o + 16));
            if v != 4 || !is_kernel_ptr(f) || !is_kernel_ptr(b) {
                return None;
            }
            // The next entry's Blink must point back at System's list entry.
            (vm.read_u64(f + 8) == Some(system + o as u64 + 8)).then_some(o + 8)
        })?,
    };
    let pid = l
        .eprocess_unique_process_id
        .map(|p| p as usize)
        .unwrap_or(links - 8);
    let head = q(&sys, links + 8);
    let mut all = vec![Proc { body: sys }];
    let mut seen = HashSet::new();
    let mut cursor = q(&all[0].body, links);
    while is_kernel_ptr(cursor) && cursor != head && all.len() < MAX_SAMPLES {
        if !seen.insert(cursor) {
            break;
        }
        let va = cursor - links as u64;
        let body = read_lossy(vm, va, SPAN);
        if name_at(&body, name).is_none() || !q(&body, pid).is_multiple_of(4) {
            break;
        }
        cursor = q(&body, links);
        all.push(Proc { body });
    }
    if all.len() < 2 {
        return None;
    }
    let n = all.len();
    let mut taken: HashSet<usize> = HashSet::new();
    if l.eprocess_image_file_name.is_none() {
        l.eprocess_image_file_name = Some(name as u32);
        disc.found(
            "eprocess_image_file_name",
            name as u32,
            format!("System's \"System\"; {n} list entries have printable names there"),
        );
    }
    if disc.layout.eprocess_unique_process_id.is_none() {
        disc.layout.eprocess_unique_process_id = Some(pid as u32);
        disc.found(
            "eprocess_unique_process_id",
            pid as u32,
            "4 in System, followed by a LIST_ENTRY whose next entry links back",
        );
    }
    if disc.layout.eprocess_active_process_links.is_none() {
        disc.layout.eprocess_active_process_links = Some(links as u32);
        disc.found(
            "eprocess_active_process_links",
            links as u32,
            format!("a circular list through {n} processes back to System's Blink"),
        );
    }
    for o in [name, name + 8, pid, links, links + 8] {
        taken.insert(o);
    }
    disc.ps_active_process_head = Some(head);
    let mut procs = Procs {
        all,
        taken,
        exited: Vec::new(),
    };
    fields(vm, &mut procs, disc);
    Some(procs)
}

/// Sets `field` (when the seed lacks it) to the first candidate `pick` returns.
macro_rules! settle {
    ($disc:expr, $procs:expr, $field:ident, $pick:expr, $why_not:expr) => {
        match $disc.layout.$field {
            Some(o) => {
                $procs.taken.insert(o as usize);
            }
            None => match $pick {
                Some((o, how)) => {
                    $disc.layout.$field = Some(o as u32);
                    $procs.taken.insert(o);
                    $disc.found(stringify!($field), o as u32, how);
                }
                None => $disc.missing(stringify!($field), $why_not),
            },
        }
    };
}

fn fields(vm: &VirtualMemory, procs: &mut Procs, disc: &mut Discovery) {
    let n = procs.all.len();
    let phys_end = vm.phys.size_hint();
    let pids: HashSet<u64> = procs
        .all
        .iter()
        .map(|p| {
            q(
                &p.body,
                disc.layout.eprocess_unique_process_id.unwrap_or(0) as usize,
            )
        })
        .collect();
    let dtb_ok = |p: &Proc| {
        let v = q(&p.body, DIRECTORY_TABLE_BASE) & !0xFFF;
        v != 0 && v < phys_end
    };
    let sys_dtb = q(&procs.system().body, DIRECTORY_TABLE_BASE) & !0xFFF == vm.dtb & !0xFFF;
    settle!(
        disc,
        procs,
        eprocess_directory_table_base,
        (sys_dtb && procs.all.iter().all(dtb_ok)).then(|| (
            DIRECTORY_TABLE_BASE,
            format!("System's is the kernel DTB; all {n} are page frames in the image")
        )),
        "System's KPROCESS.DirectoryTableBase is not the kernel DTB"
    );
    if disc.layout.eprocess_signal_state.is_none() {
        disc.layout.eprocess_signal_state = Some(SIGNAL_STATE);
    }

    // Parent PID: 0 in System, 4 in the process System started first, PIDs of the list
    // in most others.
    let first = procs
        .others()
        .first()
        .map(|p| p.body.clone())
        .unwrap_or_default();
    let ppid = candidates(&procs.taken, 8)
        .filter(|&o| q(&procs.system().body, o) == 0 && q(&first, o) == 4)
        .filter(|&o| {
            procs.others().iter().all(|p| {
                let v = q(&p.body, o);
                v != 0 && v.is_multiple_of(4) && v < 1 << 24
            })
        })
        .map(|o| {
            let hits = procs
                .others()
                .iter()
                .filter(|p| pids.contains(&q(&p.body, o)))
                .count();
            (o, hits)
        })
        .filter(|&(_, hits)| hits * 2 >= n - 1)
        .max_by_key(|&(o, hits)| (hits, std::cmp::Reverse(o)))
        .map(|(o, hits)| {
            (
                o,
                format!(
                    "0 in System, 4 in the first process; {hits} of {} name a listed PID",
                    n - 1
                ),
            )
        });
    settle!(
        disc,
        procs,
        eprocess_inherited_from_unique_process_id,
        ppid,
        "no offset holds 0 in System, 4 in its first child and PIDs elsewhere"
    );

    // CreateTime: a plausible FILETIME everywhere, System's the earliest.
    let create = candidates(&procs.taken, 8)
        .find(|&o| {
            let sys = q(&procs.system().body, o);
            let values: Vec<u64> = procs.all.iter().map(|p| q(&p.body, o)).collect();
            values.iter().all(|&t| plausible_time(t) && t >= sys)
                && values.iter().any(|&t| t != sys)
        })
        .map(|o| {
            (
                o,
                format!("a FILETIME (1990–2100) in all {n}, System's the earliest"),
            )
        });
    settle!(
        disc,
        procs,
        eprocess_create_time,
        create,
        "no offset holds a plausible FILETIME in every listed process"
    );

    // ExitStatus: STATUS_PENDING in System and in most others; the rest have exited.
    let status = candidates(&procs.taken, 4)
        .filter(|&o| d(&procs.system().body, o) == STATUS_PENDING)
        .map(|o| {
            let pending = procs
                .all
                .iter()
                .filter(|p| d(&p.body, o) == STATUS_PENDING)
                .count();
            (o, pending)
        })
        .filter(|&(_, pending)| pending * 2 > n)
        .max_by_key(|&(o, pending)| (pending, std::cmp::Reverse(o)))
        .map(|(o, pending)| {
            (
                o,
                format!("STATUS_PENDING (0x103) in System and {pending} of {n}"),
            )
        });
    settle!(
        disc,
        procs,
        eprocess_exit_status,
        status,
        "no offset holds STATUS_PENDING in System and most processes"
    );
    procs.exited = procs
        .all
        .iter()
        .map(|p| match disc.layout.eprocess_exit_status {
            Some(o) => d(&p.body, o as usize) != STATUS_PENDING,
            None => d(&p.body, SIGNAL_STATE as usize) != 0,
        })
        .collect();
    exit_time(procs, disc);
    pointers(vm, procs, disc);
}

/// Why ExitTime is left empty when no listed process has exited. A running process holds
/// 0 there, as do many other qwords, so only an exited one (a FILETIME ≥ its CreateTime)
/// tells the offset. No structural relation stands in for it: across the ten x64
/// ntkrnlmp ISFs in shared/symbols (7601, 9600, 14393, 17763, 18362, 19041 ×2, 20348,
/// 22000 ×2) ExitTime keeps no fixed distance to any field discovery finds, nor to any
/// other EPROCESS field: ExitTime − CreateTime is 0x8, 0x370, 0x388, 0x388, 0x3b0 and
/// 0x3d8 from 19041 on; − ExitStatus −0x2d4, −0xbc, +0x64, then +0x6c; − VadRoot −0x2d8,
/// +0x68, +0x70, then +0x68. A relation true on most builds would be a guess on the next.
const NO_EXITED: &str = "no exited process on the list to find it by (0 in every running process, \
     like many other fields; across the ten x64 ISFs its distance to CreateTime, ExitStatus \
     and VadRoot changes with the build, so no relation places it)";

fn exit_time(procs: &mut Procs, disc: &mut Discovery) {
    if disc.layout.eprocess_exit_time.is_some() {
        return;
    }
    let exited = procs.exited.iter().filter(|&&x| x).count();
    let Some(create) = disc.layout.eprocess_create_time.map(|c| c as usize) else {
        disc.missing("eprocess_exit_time", "needs CreateTime");
        return;
    };
    if exited == 0 {
        disc.missing("eprocess_exit_time", NO_EXITED);
        return;
    }
    // Every offset that fits, not the first: two would be a guess between them.
    let fits: Vec<usize> = candidates(&procs.taken, 8)
        .filter(|&o| {
            procs.all.iter().zip(&procs.exited).all(|(p, &x)| {
                let t = q(&p.body, o);
                if x {
                    plausible_time(t) && t >= q(&p.body, create)
                } else {
                    t == 0
                }
            })
        })
        .collect();
    match fits[..] {
        [o] => {
            disc.layout.eprocess_exit_time = Some(o as u32);
            procs.taken.insert(o);
            disc.found(
                "eprocess_exit_time",
                o as u32,
                format!(
                    "0 in the {} running processes, a time after CreateTime in the {exited} exited",
                    procs.all.len() - exited
                ),
            );
        }
        [] => disc.missing(
            "eprocess_exit_time",
            "no offset is 0 when running and a time after CreateTime when exited",
        ),
        _ => disc.missing(
            "eprocess_exit_time",
            format!(
                "{} offsets are 0 when running and a time after CreateTime in the {exited} exited ({:#x?}): ambiguous",
                fits.len(),
                &fits[..fits.len().min(8)]
            ),
        ),
    }
}

/// Pointer fields: Token, ObjectTable, VadRoot (by the pool tags of what they point to),
/// SeAuditProcessCreationInfo (a `\Device\` path), Peb candidates are left to the PEB step.
fn pointers(vm: &VirtualMemory, procs: &mut Procs, disc: &mut Discovery) {
    let n = procs.all.len();
    let live: Vec<&Proc> = procs
        .all
        .iter()
        .zip(&procs.exited)
        .filter(|(_, &x)| !x)
        .map(|(p, _)| p)
        .collect();
    // Token: an EX_FAST_REF whose object sits in a pool block tagged `Toke`, in (nearly) all.
    let token = candidates(&procs.taken, 8)
        .filter(|&o| {
            let v = q(&procs.system().body, o) & !0xF;
            is_kernel_ptr(v) && pool_tag_before(vm, v, b"Toke", 0x80)
        })
        .find_map(|o| {
            let ok = procs
                .others()
                .iter()
                .filter(|p| {
                    let v = q(&p.body, o) & !0xF;
                    is_kernel_ptr(v) && pool_tag_before(vm, v, b"Toke", 0x80)
                })
                .count();
            (ok * 10 >= (n - 1) * 9).then(|| {
                (
                    o,
                    format!(
                        "an EX_FAST_REF to a `Toke` pool block in System and {ok} of {}",
                        n - 1
                    ),
                )
            })
        });
    settle!(
        disc,
        procs,
        eprocess_token,
        token,
        "no pointer to a `Toke` pool block in System"
    );

    let tagged = |o: usize, tag: &[u8]| {
        live.iter()
            .filter(|p| {
                let v = q(&p.body, o);
                is_kernel_ptr(v) && pool_tag_before(vm, v, tag, 0x10)
            })
            .count()
    };
    let by_tag = |taken: &HashSet<usize>, tag: &[u8], after: Option<usize>| {
        // Nearest to `after` first (VadRoot sits next to ExitStatus since Windows 10 1703).
        let mut range: Vec<usize> = candidates(taken, 8).collect();
        if let Some(a) = after {
            range.sort_by_key(|&o| o.abs_diff(a));
        }
        range
            .into_iter()
            .filter(|o| !taken.contains(o))
            .find_map(|o| {
                // Most offsets fail on the first running processes: test those first.
                let early = live.iter().take(3).any(|p| {
                    let v = q(&p.body, o);
                    is_kernel_ptr(v) && pool_tag_before(vm, v, tag, 0x10)
                });
                if !early {
                    return None;
                }
                let hits = tagged(o, tag);
                (hits * 2 > live.len()).then(|| {
                    (
                        o,
                        format!(
                            "points just past a `{}` pool header in {hits} of {} running",
                            String::from_utf8_lossy(tag),
                            live.len()
                        ),
                    )
                })
            })
    };
    let table = by_tag(&procs.taken, b"Obtb", None);
    settle!(
        disc,
        procs,
        eprocess_object_table,
        table,
        "no pointer to an `Obtb` block"
    );
    let status = disc.layout.eprocess_exit_status.map(|s| s as usize);
    let vad = status.and_then(|s| by_tag(&procs.taken, b"Vad", Some(s)));
    settle!(
        disc,
        procs,
        eprocess_vad_root,
        vad,
        "no pointer to a `Vad` block"
    );

    // SeAuditProcessCreationInfo: a pointer to a UNICODE_STRING `\Device\…\NAME`.
    let audit = candidates(&procs.taken, 8).find_map(|o| {
        let mut hits = 0;
        for p in procs.others() {
            let ptr = q(&p.body, o);
            if ptr == 0 {
                continue;
            }
            let path = kernel_unicode(vm, ptr)?;
            let Some(name) = image_name(p, disc) else {
                continue;
            };
            let file = path.rsplit('\\').next().unwrap_or("").to_ascii_lowercase();
            if path.starts_with("\\Device\\") && file.starts_with(&name.to_ascii_lowercase()) {
                hits += 1;
            }
        }
        (hits * 2 > n - 1).then(|| {
            (
                o,
                format!(
                    "a \\Device\\ path ending in ImageFileName in {hits} of {}",
                    n - 1
                ),
            )
        })
    });
    settle!(
        disc,
        procs,
        eprocess_se_audit_process_creation_info,
        audit,
        "no pointer to a \\Device\\ path naming the image"
    );
    if disc
        .layout
        .eprocess_se_audit_process_creation_info
        .is_some()
        && disc.layout.audit_info_image_file_name.is_none()
    {
        // SE_AUDIT_PROCESS_CREATION_INFO holds only that pointer.
        disc.layout.audit_info_image_file_name = Some(0);
    }
}

/// A kernel UNICODE_STRING pointed to by `ptr` (Length, MaximumLength, Buffer).
fn kernel_unicode(vm: &VirtualMemory, ptr: u64) -> Option<String> {
    if !is_kernel_ptr(ptr) {
        return None;
    }
    let us = vm.read_exact(ptr, 16)?;
    let len = u16::from_le_bytes([us[0], us[1]]) as usize;
    let max = u16::from_le_bytes([us[2], us[3]]) as usize;
    let buf = q(&us, 8);
    if len == 0 || !len.is_multiple_of(2) || len > max || !is_kernel_ptr(buf & !1) {
        return None;
    }
    let text = vm.read_exact(buf, len)?;
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// EPROCESS.Session, MM_SESSION_SPACE.SessionId and TOKEN.SessionId together: for every
/// process, the id in its session space equals its token's; processes without a session
/// (System, the master smss) have session 0 in their token.
pub(super) fn discover_session(
    vm: &VirtualMemory,
    procs: &Procs,
    tokens: &Tokens,
    disc: &mut Discovery,
) {
    let l = &disc.layout;
    if l.eprocess_session.is_some()
        && l.mm_session_space_session_id.is_some()
        && l.token_session_id.is_some()
    {
        return;
    }
    if tokens.heads.is_empty() {
        for f in [
            "eprocess_session",
            "mm_session_space_session_id",
            "token_session_id",
        ] {
            disc.missing(f, "needs the tokens");
        }
        return;
    }
    let sys = &procs.system().body;
    // Session pointers: 0 in System, kernel pointers shared by several processes.
    let sessions: Vec<usize> = match l.eprocess_session {
        Some(o) => vec![o as usize],
        None => candidates(&procs.taken, 8)
            .filter(|&o| q(sys, o) == 0)
            .filter(|&o| {
                let vals: Vec<u64> = procs.all.iter().map(|p| q(&p.body, o)).collect();
                let nonzero: Vec<u64> = vals.iter().copied().filter(|&v| v != 0).collect();
                let distinct: HashSet<u64> = nonzero.iter().copied().collect();
                vals.iter().all(|&v| v == 0 || is_kernel_ptr(v))
                    && !nonzero.is_empty()
                    && distinct.len() < nonzero.len()
            })
            .collect(),
    };
    let ks: Vec<usize> = match l.mm_session_space_session_id {
        Some(k) => vec![k as usize],
        None => (0..0x40).step_by(4).collect(),
    };
    let ts: Vec<usize> = match l.token_session_id {
        Some(t) => vec![t as usize],
        None => (0..tokens.head_len).step_by(4).collect(),
    };
    let mut space: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut fits = Vec::new();
    for &s in &sessions {
        for p in &procs.all {
            let v = q(&p.body, s);
            if v != 0 && !space.contains_key(&v) {
                space.insert(v, read_lossy(vm, v, 0x40));
            }
        }
        for &k in &ks {
            for &t in &ts {
                let mut ids = HashSet::new();
                let ok = procs.all.iter().enumerate().all(|(i, p)| {
                    let Some(head) = tokens.heads.get(&i) else {
                        return true;
                    };
                    let tid = d(head, t);
                    let v = q(&p.body, s);
                    let sid = if v == 0 {
                        0
                    } else {
                        match space.get(&v) {
                            Some(b) => d(b, k),
                            None => return false,
                        }
                    };
                    ids.insert(tid);
                    sid == tid && tid < 0x10000
                });
                if ok && ids.len() >= 2 {
                    fits.push((s, k, t, ids.len()));
                }
            }
        }
    }
    let sessions_seen = fits.first().map(|f| f.3).unwrap_or(0);
    if fits.len() == 1 {
        let (s, k, t, _) = fits[0];
        let how = format!(
            "session space id equals the token's in all {} processes ({sessions_seen} sessions)",
            procs.all.len()
        );
        if disc.layout.eprocess_session.is_none() {
            disc.layout.eprocess_session = Some(s as u32);
            disc.found("eprocess_session", s as u32, how.clone());
        }
        if disc.layout.mm_session_space_session_id.is_none() {
            disc.layout.mm_session_space_session_id = Some(k as u32);
            disc.found("mm_session_space_session_id", k as u32, how.clone());
        }
        if disc.layout.token_session_id.is_none() {
            disc.layout.token_session_id = Some(t as u32);
            disc.found("token_session_id", t as u32, how);
        }
    } else {
        let why = if fits.is_empty() {
            "no session pointer whose id matches the tokens' across two sessions".to_string()
        } else {
            format!("{} ambiguous session/token offset pairs", fits.len())
        };
        for f in [
            "eprocess_session",
            "mm_session_space_session_id",
            "token_session_id",
        ] {
            let known = match f {
                "eprocess_session" => disc.layout.eprocess_session.is_some(),
                "mm_session_space_session_id" => disc.layout.mm_session_space_session_id.is_some(),
                _ => disc.layout.token_session_id.is_some(),
            };
            if !known {
                disc.missing(f, why.clone());
            }
        }
    }
}

/// Candidate Peb offsets: 0 in System, page-aligned user pointers (or 0) elsewhere.
pub(super) fn peb_candidates(procs: &Procs) -> Vec<usize> {
    candidates(&procs.taken, 8)
        .filter(|&o| q(&procs.system().body, o) == 0)
        .filter(|&o| {
            let vals: Vec<u64> = procs.others().iter().map(|p| q(&p.body, o)).collect();
            vals.iter()
                .all(|&v| v == 0 || (is_user_ptr(v) && v & 0xFFF == 0))
                && vals.iter().filter(|&&v| v != 0).count() * 2 > vals.len()
        })
        .collect()
}
