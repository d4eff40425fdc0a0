//! Everything known about one process, gathered from its EPROCESS and what it points to.

use serde::Serialize;

use crate::bytes::is_user_pointer;
use crate::eprocess::EprocessCore;
use crate::reader::{read_u64, read_unicode, Ctx, MemString, Unavailable};
use crate::time::FileTime;
use crate::token::{read_token, TokenFacts};

/// How a process was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    List,
    Scan,
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessFacts {
    pub pid: u64,
    pub ppid: u64,
    /// EPROCESS.ImageFileName (≤ 15 bytes) as UTF-8, invalid sequences replaced (the
    /// name is cut at 15 bytes, possibly inside a character): see `image_file_name_raw`.
    pub image_file_name: String,
    /// The same bytes as stored.
    pub image_file_name_raw: Vec<u8>,
    /// Kernel path from SeAuditProcessCreationInfo (`\Device\HarddiskVolumeN\…`).
    pub image_path: Option<String>,
    /// PEB ProcessParameters.ImagePathName, read through the process's own DTB.
    pub peb_image_path: MemString,
    pub command_line: MemString,
    /// MM_SESSION_SPACE.SessionId; `None` when the process has no session.
    pub session_id: Option<u32>,
    pub create_time: FileTime,
    pub exit_time: Option<FileTime>,
    pub wow64: bool,
    pub token: Option<TokenFacts>,
    pub dtb: u64,
    /// `None` for a list entry whose page is not in the dump.
    pub eprocess_pa: Option<u64>,
    pub eprocess_va: Option<u64>,
    pub found_by: FoundBy,
    /// Running (no exit time), found by the scan only, while the list walk completed:
    /// unlinked from ActiveProcessLinks.
    pub hiding_candidate: bool,
    /// What could not be read for this process.
    pub warnings: Vec<String>,
}

impl ProcessFacts {
    pub fn is_exited(&self) -> bool {
        self.exit_time.is_some()
    }
}

fn unavailable((what, vaddr, reason): (&'static str, u64, Unavailable)) -> MemString {
    MemString::Unavailable {
        what,
        vaddr,
        reason,
    }
}

/// Image path and command line from the PEB, through the process's page tables.
fn peb_strings(ctx: &Ctx, core: &EprocessCore) -> (MemString, MemString) {
    let Some(peb) = core.peb else {
        return (MemString::Absent, MemString::Absent);
    };
    if !is_user_pointer(peb) {
        let bad = MemString::Unavailable {
            what: "PEB",
            vaddr: peb,
            reason: Unavailable::BadPointer,
        };
        return (bad.clone(), bad);
    }
    let (Some(params_off), Some(image_off), Some(cmd_off)) = (
        ctx.l.params,
        ctx.l.params_image_path,
        ctx.l.params_command_line,
    ) else {
        return (MemString::Absent, MemString::Absent);
    };
    let space = ctx.process_space(core.dtb);
    let params = match read_u64(&space, peb + u64::from(params_off), "PEB") {
        Ok(p) => p,
        Err(f) => return (unavailable(f), unavailable(f)),
    };
    if !is_user_pointer(params) {
        let bad = MemString::Unavailable {
            what: "ProcessParameters",
            vaddr: params,
            reason: Unavailable::BadPointer,
        };
        return (bad.clone(), bad);
    }
    let get = |off: u32, what| match read_unicode(&space, params + u64::from(off), what, true) {
        Ok(s) => MemString::Read { value: s },
        Err(f) => unavailable(f),
    };
    (get(image_off, "ImagePathName"), get(cmd_off, "CommandLine"))
}

/// Builds the facts of one process from its checked core fields.
pub(crate) fn gather(
    ctx: &Ctx,
    core: EprocessCore,
    pa: Option<u64>,
    va: Option<u64>,
    found_by: FoundBy,
) -> ProcessFacts {
    let mut warnings = Vec::new();
    let image_path = core.audit_image_file_name.and_then(|p| {
        match read_unicode(&ctx.kernel, p, "audit image name", false) {
            Ok(s) => Some(s),
            Err((what, at, why)) => {
                warnings.push(format!("{what}: unreadable at {at:#x} ({why:?})"));
                None
            }
        }
    });
    let session_id = match (core.session, ctx.l.session_space_id) {
        (Some(s), Some(off)) => {
            let id = ctx.kernel.read_u32(s.wrapping_add(u64::from(off)));
            if id.is_none() {
                warnings.push(format!("session space {s:#x}: SessionId unreadable"));
            }
            id
        }
        _ => None,
    };
    let token = core
        .token
        .and_then(|raw| read_token(&ctx.kernel, ctx.l, raw & !0xF, &mut warnings));
    let (peb_image_path, command_line) = peb_strings(ctx, &core);
    ProcessFacts {
        pid: core.pid,
        ppid: core.ppid,
        image_file_name: String::from_utf8_lossy(&core.image_file_name).into_owned(),
        image_file_name_raw: core.image_file_name.clone(),
        image_path,
        peb_image_path,
        command_line,
        session_id,
        create_time: FileTime::new(core.create_time),
        exit_time: core.exit_time.map(FileTime::new),
        wow64: core.wow64.is_some(),
        token,
        dtb: core.dtb,
        eprocess_pa: pa,
        eprocess_va: va,
        found_by,
        hiding_candidate: false,
        warnings,
    }
}
