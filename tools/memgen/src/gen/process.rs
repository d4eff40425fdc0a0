//! Sessions, process objects with their tokens and user space, and the active process list.
use super::ctx::{sid_bytes, utf16, Ctx, PROCESS_TYPE_INDEX, TOKEN_TYPE_INDEX};
use super::{KUSER_KERNEL, KUSER_USER};
use crate::error::MemgenError;
use crate::paging::{AddressSpace, USER_DATA, USER_READONLY};
use crate::phys::PAGE;
use crate::rng::Rng;
use crate::scenario::{ProcessSpec, Scenario, TokenType};
use crate::truth::{filetime_iso, ProcessTruth};

/// Returns the per-process truths, PsActiveProcessHead and System's EPROCESS.
pub(super) fn write_processes(
    cx: &mut Ctx,
    sc: &Scenario,
) -> Result<(Vec<ProcessTruth>, u64, u64), MemgenError> {
    let ks = cx.kernel_base;
    // ---- sessions ----
    let mut sessions: Vec<(u32, u64)> = Vec::new();
    for p in &sc.processes {
        if let Some(s) = p.session_id {
            if !sessions.iter().any(|x| x.0 == s) {
                let size = cx.l.size("_MM_SESSION_SPACE")?;
                let va = cx.pool.alloc(&cx.k, &mut cx.mem, b"MmSt", size)? + 16;
                cx.field32(va, "_MM_SESSION_SPACE", "SessionId", s)?;
                cx.empty_list(va, "_MM_SESSION_SPACE", "ProcessList")?;
                sessions.push((s, va));
            }
        }
    }

    // ---- processes ----
    let eproc_size = cx.l.size("_EPROCESS")?;
    let mut placed = Vec::new();
    for _ in &sc.processes {
        let decoy_roll = cx.rng.next_u64() % 3;
        if decoy_roll == 0 {
            let mut r = Rng::new(cx.rng.next_u64());
            cx.pool.decoys(&cx.k, &mut cx.mem, &mut r)?;
        }
        let (pool_va, body) = cx.object(b"Proc", PROCESS_TYPE_INDEX, 0x08, eproc_size)?;
        placed.push((pool_va, body));
    }
    let head = ks + cx.l.sym("PsActiveProcessHead")?;
    let links = cx.l.off("_EPROCESS", "ActiveProcessLinks")?;
    let linked: Vec<u64> = sc
        .processes
        .iter()
        .zip(&placed)
        .filter(|(p, _)| p.linked_in_active_list)
        .map(|(_, (_, b))| b + links)
        .collect();
    let mut ring = vec![head];
    ring.extend(&linked);
    for i in 0..ring.len() {
        let next = ring[(i + 1) % ring.len()];
        let prev = ring[(i + ring.len() - 1) % ring.len()];
        cx.kw64(ring[i], next)?;
        cx.kw64(ring[i] + 8, prev)?;
    }
    let system = sc
        .processes
        .iter()
        .zip(&placed)
        .find(|(p, _)| p.pid == 4)
        .map(|(_, (_, b))| *b);
    let system = system.ok_or_else(|| MemgenError::Scenario("no System (PID 4) process".into()))?;
    cx.kw64(ks + cx.l.sym("PsInitialSystemProcess")?, system)?;

    let mut truths = Vec::new();
    for (p, (pool_va, body)) in sc.processes.iter().zip(&placed) {
        let session_va = p
            .session_id
            .and_then(|s| sessions.iter().find(|x| x.0 == s))
            .map(|x| x.1)
            .unwrap_or(0);
        truths.push(write_process(cx, p, *pool_va, *body, session_va)?);
    }
    write_system_handles(cx, &truths)?;

    Ok((truths, head, system))
}

/// System's handle table holds a handle to every other process object (one level-0 page,
/// 255 usable entries), so readers that enumerate processes through handles also reach
/// processes that were unlinked from the active list.
fn write_system_handles(cx: &mut Ctx, truths: &[ProcessTruth]) -> Result<(), MemgenError> {
    let Some(system) = truths.iter().find(|t| t.pid == 4) else {
        return Ok(());
    };
    let table_field = cx.l.off("_EPROCESS", "ObjectTable")?;
    let ht = read_u64(cx, system.eprocess_va + table_field)?;
    if ht == 0 {
        return Ok(());
    }
    let page = cx.pool.alloc_page(&cx.k, &mut cx.mem)?;
    let header_size = cx.l.off("_OBJECT_HEADER", "Body")?;
    let entry = handle_entry_format(cx)?;
    // Slot 0 (handle 0) is never valid.
    for (slot, t) in (1u64..).zip(truths.iter().filter(|t| t.pid != 4).take(255)) {
        let header = t.eprocess_va - header_size;
        let (low, high) = entry.encode(header, 0x001F_FFFF); // PROCESS_ALL_ACCESS
        cx.kw64(page + 16 * slot, low)?;
        cx.kw64(page + 16 * slot + 8, high)?;
    }
    cx.field32(ht, "_HANDLE_TABLE", "NextHandleNeedingPool", 0x400)?;
    cx.field64(ht, "_HANDLE_TABLE", "TableCode", page)?;
    Ok(())
}

/// How a `_HANDLE_TABLE_ENTRY` holds its object.
enum HandleEntry {
    /// Windows 8.1+: header bits 4..47 in `ObjectPointerBits`, an unlocked bit and a
    /// reference count in the low qword; `GrantedAccessBits` in the high one.
    Bits {
        ptr: u32,
        refs: u32,
        unlocked: u32,
        access: u32,
    },
    /// Windows 7: `Object` is the OBJECT_HEADER address with the unlocked bit (bit 0) set;
    /// `GrantedAccess` is a plain ULONG at +8.
    Pointer,
}

impl HandleEntry {
    fn encode(&self, header: u64, access: u64) -> (u64, u64) {
        match *self {
            HandleEntry::Bits {
                ptr,
                refs,
                unlocked,
                access: at,
            } => (
                (1u64 << unlocked)
                    | (0x7FFFu64 << refs)
                    | (((header & 0x0000_FFFF_FFFF_FFF0) >> 4) << ptr),
                access << at,
            ),
            HandleEntry::Pointer => (header | 1, access),
        }
    }
}

fn handle_entry_format(cx: &Ctx) -> Result<HandleEntry, MemgenError> {
    let e = "_HANDLE_TABLE_ENTRY";
    if !cx.era.handle_pointer_bits {
        cx.l.off(e, "Object")?;
        cx.l.off(e, "GrantedAccess")?;
        return Ok(HandleEntry::Pointer);
    }
    Ok(HandleEntry::Bits {
        ptr: cx.isf_bitfield(e, "ObjectPointerBits")?.bit_position,
        refs: cx.isf_bitfield(e, "RefCnt")?.bit_position,
        unlocked: cx.isf_bitfield(e, "Unlocked")?.bit_position,
        access: cx.isf_bitfield(e, "GrantedAccessBits")?.bit_position,
    })
}

fn read_u64(cx: &Ctx, va: u64) -> Result<u64, MemgenError> {
    let pa =
        cx.k.translate(&cx.mem, va)
            .ok_or(MemgenError::Unmapped { va })?;
    Ok(cx.mem.read_u64(pa))
}

/// SE_PRIVILEGE_ENABLED_BY_DEFAULT | SE_PRIVILEGE_ENABLED.
const PRIVILEGE_ENABLED: u32 = 0x3;

/// The privileges as a LUID_AND_ATTRIBUTES array (pre-Vista): one 12-byte entry per
/// present bit, LUID = bit number, enabled ones enabled by default too (as the bitmask
/// path writes EnabledByDefault = Enabled).
fn privilege_array(present: u64, enabled: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for bit in (0..64u32).filter(|b| present >> b & 1 == 1) {
        out.extend_from_slice(&u64::from(bit).to_le_bytes());
        let attr = if enabled >> bit & 1 == 1 {
            PRIVILEGE_ENABLED
        } else {
            0
        };
        out.extend_from_slice(&attr.to_le_bytes());
    }
    out
}

/// The TOKEN object with its SID_AND_ATTRIBUTES array and SIDs after the body. Where the
/// ISF's `_TOKEN.Privileges` is a pointer (XP/2003) the privileges follow as a
/// LUID_AND_ATTRIBUTES array with PrivilegeCount; else the SEP_TOKEN_PRIVILEGES masks.
/// Kernels without IntegrityLevelIndex (pre-Vista) get no integrity label.
fn write_token(cx: &mut Ctx, p: &ProcessSpec) -> Result<(u64, u64, Vec<String>), MemgenError> {
    let t = "_TOKEN";
    let size = cx.l.size(t)?;
    let legacy_privileges = matches!(
        cx.l.isf.field(t, "Privileges").map(|f| f.ty),
        Some(triage_isf::TypeDesc::Pointer(_))
    );
    let has_integrity = cx.l.opt(t, "IntegrityLevelIndex").is_some();
    let mut sids: Vec<(String, u32)> = vec![(p.user_sid.clone(), 0)];
    sids.extend(p.groups.iter().map(|g| (g.sid.clone(), g.attributes)));
    if has_integrity {
        sids.push((p.integrity_sid.clone(), crate::scenario::GROUP_INTEGRITY));
    }
    let bins: Vec<Vec<u8>> = sids
        .iter()
        .map(|(s, _)| sid_bytes(s))
        .collect::<Result<_, _>>()?;
    let array_len = 16 * sids.len() as u64;
    let sid_len: u64 = bins.iter().map(|b| (b.len() as u64).div_ceil(8) * 8).sum();
    let privs = if legacy_privileges {
        privilege_array(p.privileges_present, p.privileges_enabled)
    } else {
        Vec::new()
    };
    let privs_len = (privs.len() as u64).div_ceil(8) * 8;
    let (_, body) = cx.object(
        b"Toke",
        TOKEN_TYPE_INDEX,
        0x08,
        size + array_len + sid_len + privs_len,
    )?;
    let array = body + size;
    let mut sid_va = array + array_len;
    for (i, ((_, attr), bin)) in sids.iter().zip(&bins).enumerate() {
        let e = array + 16 * i as u64;
        cx.kw64(e, sid_va)?;
        cx.kw32(e + 8, *attr)?;
        cx.kw(sid_va, bin)?;
        sid_va += (bin.len() as u64).div_ceil(8) * 8;
    }
    if legacy_privileges {
        let at = sid_va;
        cx.kw(at, &privs)?;
        cx.field64(body, t, "Privileges", at)?;
        let count = (privs.len() / 12) as u32;
        cx.field32(body, t, "PrivilegeCount", count)?;
    } else {
        cx.field64(body, t, "Privileges.Present", p.privileges_present)?;
        cx.field64(body, t, "Privileges.Enabled", p.privileges_enabled)?;
        cx.field64(body, t, "Privileges.EnabledByDefault", p.privileges_enabled)?;
    }
    let token_id = cx.rng.range(0x1000, 0x100000);
    cx.field64(body, t, "TokenId", token_id)?;
    cx.field64(body, t, "AuthenticationId", p.logon_id)?;
    cx.field64(body, t, "ParentTokenId", 0)?;
    cx.field64(body, t, "ExpirationTime", 0x7FFF_FFFF_FFFF_FFFF)?;
    cx.field32(body, t, "SessionId", p.session_id.unwrap_or(0))?;
    cx.field32(body, t, "UserAndGroupCount", sids.len() as u32)?;
    cx.field64(body, t, "UserAndGroups", array)?;
    cx.field32(
        body,
        t,
        "TokenType",
        if p.token_type == TokenType::Primary {
            1
        } else {
            2
        },
    )?;
    cx.field32(
        body,
        t,
        "ImpersonationLevel",
        if p.token_type == TokenType::Primary {
            0
        } else {
            2
        },
    )?;
    if has_integrity {
        cx.field32(body, t, "IntegrityLevelIndex", (sids.len() - 1) as u32)?;
    }
    cx.field32(body, t, "DynamicCharged", 0x1000)?;
    let mut src = *b"*SYSTEM*";
    if p.user_sid != "S-1-5-18" {
        src = *b"User32 \0";
    }
    cx.field(body, t, "TokenSource.SourceName", &src)?;
    Ok((body, token_id, sids.into_iter().map(|s| s.0).collect()))
}

fn write_process(
    cx: &mut Ctx,
    p: &ProcessSpec,
    pool_va: u64,
    e: u64,
    session_va: u64,
) -> Result<ProcessTruth, MemgenError> {
    let s = "_EPROCESS";
    let (token, token_id, sids) = write_token(cx, p)?;
    let is_system = p.pid == 4;
    let has_user_space = !is_system && !p.image_path.is_empty();

    // Address space: System runs on the kernel DTB; every other process gets its own PML4.
    let dtb = if is_system {
        cx.era.kernel_dtb()
    } else {
        AddressSpace::new(&mut cx.mem)?.pml4
    };
    let space = AddressSpace { pml4: dtb };
    let mut peb = 0;
    if has_user_space {
        cx.mem.alloc_page(false)?; // a gap keeps user pages from abutting the PML4
        let kuser_pa =
            cx.k.translate(&cx.mem, KUSER_KERNEL)
                .ok_or(MemgenError::Unmapped { va: KUSER_KERNEL })?;
        space.map_4k(&mut cx.mem, KUSER_USER, kuser_pa, USER_READONLY)?;
        peb = cx.rng.range(0x0100_0000, 0x07FF_FFFF) << 12;
        let params = cx.rng.range(0x100, 0x7FF) << 20;
        let image_base = 0x7FF0_0000_0000 + (cx.rng.range(0x6000, 0xFFFF) << 16);
        space.map_fresh(&mut cx.mem, peb, PAGE, USER_DATA, true)?;
        space.map_fresh(&mut cx.mem, params, 2 * PAGE, USER_DATA, true)?;
        let pp = "_PEB";
        let po = |cx: &Ctx, f: &str| cx.l.off(pp, f);
        {
            let o = po(cx, "ImageBaseAddress")?;
            space.write_u64(&mut cx.mem, peb + o, image_base)?;
        }
        {
            let o = po(cx, "ProcessParameters")?;
            space.write_u64(&mut cx.mem, peb + o, params)?;
        }
        {
            let o = po(cx, "Ldr")?;
            space.write_u64(&mut cx.mem, peb + o, 0)?;
        }
        {
            let o = po(cx, "SessionId")?;
            space.write_u32(&mut cx.mem, peb + o, p.session_id.unwrap_or(0))?;
        }
        let (major, minor) = cx.era.nt_version();
        {
            let o = po(cx, "OSMajorVersion")?;
            space.write_u32(&mut cx.mem, peb + o, major)?;
        }
        if !cx.era.is_win10() {
            // Before Windows 10 the version is filled in whole (MemProcFS reads it from
            // smss's PEB first); Windows 10 images keep the build out of the PEB as before.
            let o = po(cx, "OSMinorVersion")?;
            space.write_u32(&mut cx.mem, peb + o, minor)?;
            let o = po(cx, "OSBuildNumber")?;
            space.write_u16(&mut cx.mem, peb + o, cx.era.build as u16)?;
        } else {
            let o = po(cx, "OSBuildNumber")?;
            space.write_u16(&mut cx.mem, peb + o, 0)?;
        }
        let r = "_RTL_USER_PROCESS_PARAMETERS";
        let rsize = cx.l.size(r)?;
        let image = p.peb_path();
        let mut buf = params + rsize.div_ceil(16) * 16;
        space.write_u32(&mut cx.mem, params, 0x1000)?; // MaximumLength
        space.write_u32(&mut cx.mem, params + 4, 0x1000)?; // Length
        let o = cx.l.off(r, "Flags")?;
        space.write_u32(&mut cx.mem, params + o, 1)?; // PARAMETERS_NORMALIZED
        let at = params + cx.l.off(r, "ImagePathName")?;
        cx.unicode(space, at, buf, &image)?;
        buf += (utf16(&image).len() as u64 + 2).div_ceil(16) * 16;
        let at = params + cx.l.off(r, "CommandLine")?;
        cx.unicode(space, at, buf, &p.command_line)?;
        if !p.environment.is_empty() {
            let mut block = Vec::new();
            for var in &p.environment {
                block.extend(utf16(var));
                block.extend_from_slice(&[0, 0]);
            }
            block.extend_from_slice(&[0, 0]);
            if block.len() as u64 > PAGE {
                return Err(MemgenError::Scenario(format!(
                    "pid {}: environment over 4 KiB",
                    p.pid
                )));
            }
            let env = params + PAGE;
            space.write(&mut cx.mem, env, &block)?;
            let o = cx.l.off(r, "Environment")?;
            space.write_u64(&mut cx.mem, params + o, env)?;
            if let Some(o) = cx.l.opt(r, "EnvironmentSize") {
                space.write_u64(&mut cx.mem, params + o, block.len() as u64)?;
            }
        }
        if p.peb_paged_out {
            // Paged out afterwards by crate::pagefile; this draw keeps the layout of the
            // processes after it as it was.
            let _ = cx.rng.range(0x100, 0x40000);
        }
    }

    let ep = |cx: &Ctx, f: &str| cx.l.off(s, f);
    cx.field(e, s, "Pcb.Header.Type", &[3])?;
    cx.field32(e, s, "Pcb.Header.SignalState", p.is_exited() as u32)?;
    cx.empty_list(e, s, "Pcb.Header.WaitListHead")?;
    cx.empty_list(e, s, "Pcb.ProfileListHead")?;
    cx.empty_list(e, s, "Pcb.ThreadListHead")?;
    cx.empty_list(e, s, "Pcb.ReadyListHead")?;
    cx.field64(e, s, "Pcb.DirectoryTableBase", dtb)?;
    cx.field64(e, s, "UniqueProcessId", p.pid)?;
    if !p.linked_in_active_list {
        cx.empty_list(e, s, "ActiveProcessLinks")?;
    }
    cx.empty_list(e, s, "ThreadListHead")?;
    cx.field64(e, s, "InheritedFromUniqueProcessId", p.ppid)?;
    cx.field64(e, s, "CreateTime", p.create_time)?;
    if let Some(x) = p.exit_time {
        cx.field64(e, s, "ExitTime", x)?;
    }
    cx.field32(e, s, "ExitStatus", if p.is_exited() { 0 } else { 0x103 })?;
    let refs = cx.rng.range(1, 16);
    cx.field64(e, s, "Token", token | refs)?;
    cx.field64(e, s, "Session", session_va)?;
    cx.field64(e, s, "Peb", peb)?;
    cx.field32(
        e,
        s,
        "ActiveThreads",
        if p.is_exited() { 0 } else { p.threads },
    )?;
    let mut name = [0u8; 15];
    let nb = p.name.as_bytes();
    name[..nb.len().min(15)].copy_from_slice(&nb[..nb.len().min(15)]);
    cx.field(e, s, "ImageFileName", &name)?;
    if !p.image_path.is_empty() {
        let w = utf16(&p.image_path).len() as u64 + 2;
        let oni = cx.pool.alloc(&cx.k, &mut cx.mem, b"SeOn", 16 + w)? + 16;
        let k = cx.k;
        cx.unicode(k, oni, oni + 16, &p.image_path)?;
        cx.field64(e, s, "SeAuditProcessCreationInfo.ImageFileName", oni)?;
    }
    if !p.is_exited() {
        let hsize = cx.l.size("_HANDLE_TABLE")?;
        let ht = cx.pool.alloc(&cx.k, &mut cx.mem, b"Obtb", hsize)? + 16;
        cx.field64(ht, "_HANDLE_TABLE", "QuotaProcess", e)?;
        cx.field64(ht, "_HANDLE_TABLE", "UniqueProcessId", p.pid)?;
        cx.empty_list(ht, "_HANDLE_TABLE", "HandleTableList")?;
        cx.field64(e, s, "ObjectTable", ht)?;
        let vad = cx.pool.alloc(&cx.k, &mut cx.mem, b"VadS", 0x40)? + 16;
        cx.kw64(e + ep(cx, "VadRoot")?, vad)?;
    }
    if p.wow64 {
        let peb32 = peb.saturating_sub(0x1000);
        if cx.l.opt(s, "WoW64Process").is_some() {
            // Windows 10+: an EWOW64PROCESS (Peb, Machine) in pool.
            let w = cx.pool.alloc(&cx.k, &mut cx.mem, b"PsWo", 0x10)? + 16;
            cx.kw64(w, peb32)?;
            cx.kw(w + 8, &0x14Cu16.to_le_bytes())?;
            cx.field64(e, s, "WoW64Process", w)?;
        } else {
            // Windows 7/8.1: Wow64Process is the 32-bit PEB's address itself.
            cx.field64(e, s, "Wow64Process", peb32)?;
        }
    }
    let has_label = sids.last() == Some(&p.integrity_sid);
    let eprocess_pa =
        cx.k.translate(&cx.mem, e)
            .ok_or(MemgenError::Unmapped { va: e })?;
    Ok(ProcessTruth {
        pid: p.pid,
        ppid: p.ppid,
        name: p.name.clone(),
        image_file_name: String::from_utf8_lossy(&nb[..nb.len().min(15)]).into_owned(),
        image_path: p.image_path.clone(),
        peb_image_path: if has_user_space {
            p.peb_path()
        } else {
            String::new()
        },
        command_line: if has_user_space {
            p.command_line.clone()
        } else {
            String::new()
        },
        environment: if has_user_space {
            p.environment.clone()
        } else {
            Vec::new()
        },
        session_id: p.session_id,
        create_time: p.create_time,
        create_time_iso: filetime_iso(p.create_time),
        exit_time: p.exit_time,
        exit_time_iso: p.exit_time.map(filetime_iso),
        threads: if p.is_exited() { 0 } else { p.threads },
        wow64: p.wow64,
        linked_in_active_list: p.linked_in_active_list,
        peb_paged_out: p.peb_paged_out && has_user_space,
        eprocess_va: e,
        eprocess_pa,
        pool_header_va: pool_va,
        dtb,
        peb_va: peb,
        token_va: token,
        token_id,
        sids,
        user_sid: p.user_sid.clone(),
        integrity_sid: if has_label {
            p.integrity_sid.clone()
        } else {
            String::new()
        },
        logon_id: p.logon_id,
        privileges_present: p.privileges_present,
        privileges_enabled: p.privileges_enabled,
    })
}
