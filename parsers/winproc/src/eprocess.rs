//! Recognising an EPROCESS from its bytes alone (no pool header needed) and pulling out
//! the fields that need no further reads.

use serde::Serialize;

use crate::bytes::{is_kernel_pointer, u64_at, u64_field};
use crate::layout::ProcLayout;
use crate::time::{PLAUSIBLE_MAX, PLAUSIBLE_MIN};

/// PIDs are multiples of 4 below 2^24 (handle-table indexes).
const PID_LIMIT: u64 = 1 << 24;
pub const IMAGE_FILE_NAME_LEN: usize = 15;

/// The fields of an EPROCESS read straight from its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EprocessCore {
    pub pid: u64,
    pub ppid: u64,
    /// ImageFileName up to its NUL (at most 15 bytes), as stored.
    pub image_file_name: Vec<u8>,
    /// DirectoryTableBase with the low 12 bits (flags) cleared.
    pub dtb: u64,
    pub flink: u64,
    pub blink: u64,
    pub create_time: u64,
    /// `None` when zero (still running) or the layout has no ExitTime.
    pub exit_time: Option<u64>,
    pub token: Option<u64>,
    pub session: Option<u64>,
    pub peb: Option<u64>,
    pub audit_image_file_name: Option<u64>,
    pub wow64: Option<u64>,
}

/// Why bytes are not an EPROCESS (one reason, the first check that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reject {
    Truncated,
    BadDtb,
    BadLinks,
    BadName,
    BadPid,
    BadCreateTime,
    BadExitTime,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reject::Truncated => "expected the EPROCESS fields, bytes end first",
            Reject::BadDtb => "expected a page-aligned DirectoryTableBase inside the image",
            Reject::BadLinks => "expected canonical kernel pointers in ActiveProcessLinks",
            Reject::BadName => "expected a printable ImageFileName",
            Reject::BadPid => "expected PID and parent PID multiples of 4 below 2^24",
            Reject::BadCreateTime => "expected a CreateTime between 1990 and 2100",
            Reject::BadExitTime => "expected no ExitTime, or one after CreateTime",
        })
    }
}

fn printable_name(raw: &[u8]) -> Option<Vec<u8>> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let name = &raw[..end];
    // Bytes >= 0x80 are allowed: names are stored in the ANSI code page.
    let ok = !name.is_empty() && name.iter().all(|&b| b >= 0x20 && b != 0x7F);
    ok.then(|| name.to_vec())
}

/// Checks `body` (an EPROCESS from its first byte) and returns its core fields.
/// `phys_end` bounds the DirectoryTableBase.
pub fn check_eprocess(body: &[u8], l: &ProcLayout, phys_end: u64) -> Result<EprocessCore, Reject> {
    check_fields(body, l, phys_end, true)
}

/// The same, with `require_links` false for a list entry: its own links may be the
/// damage that ends the walk, and the process is still worth reporting.
pub(crate) fn check_fields(
    body: &[u8],
    l: &ProcLayout,
    phys_end: u64,
    require_links: bool,
) -> Result<EprocessCore, Reject> {
    let at = |off: u32| u64_at(body, off as usize).ok_or(Reject::Truncated);
    let raw_dtb = at(l.dtb)?;
    // The low bits may carry PCID/KVA-shadow flags on Windows 10; the frame must be real.
    let dtb = raw_dtb & !0xFFF;
    if dtb == 0 || dtb >= phys_end || raw_dtb & 0xFFC != 0 {
        return Err(Reject::BadDtb);
    }
    let (flink, blink) = (at(l.links)?, at(l.links + 8)?);
    if require_links && (!is_kernel_pointer(flink) || !is_kernel_pointer(blink)) {
        return Err(Reject::BadLinks);
    }
    let name_start = l.image_file_name as usize;
    let raw_name = body
        .get(name_start..name_start + IMAGE_FILE_NAME_LEN)
        .ok_or(Reject::Truncated)?;
    let image_file_name = printable_name(raw_name).ok_or(Reject::BadName)?;
    let (pid, ppid) = (at(l.pid)?, at(l.ppid)?);
    if pid == 0 || pid % 4 != 0 || pid >= PID_LIMIT || ppid % 4 != 0 || ppid >= PID_LIMIT {
        return Err(Reject::BadPid);
    }
    let create_time = at(l.create_time)?;
    if !(PLAUSIBLE_MIN..PLAUSIBLE_MAX).contains(&create_time) {
        return Err(Reject::BadCreateTime);
    }
    let exit_time = match l.exit_time {
        Some(off) => match u64_at(body, off as usize).ok_or(Reject::Truncated)? {
            0 => None,
            t if t >= create_time && t < PLAUSIBLE_MAX => Some(t),
            _ => return Err(Reject::BadExitTime),
        },
        None => None,
    };
    let nonzero = |v: Option<u64>| v.filter(|&x| x != 0);
    Ok(EprocessCore {
        pid,
        ppid,
        image_file_name,
        dtb,
        flink,
        blink,
        create_time,
        exit_time,
        token: nonzero(u64_field(body, l.token)),
        session: nonzero(u64_field(body, l.session)),
        peb: nonzero(u64_field(body, l.peb)),
        audit_image_file_name: nonzero(u64_field(body, l.audit_image_file_name)),
        wow64: nonzero(u64_field(body, l.wow64)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> ProcLayout {
        let entry = triage_winmem::builtin_layouts()
            .iter()
            .find(|e| e.build == 19041)
            .expect("19041 layout");
        ProcLayout::from_layout(&entry.layout, Some(19041)).unwrap()
    }

    /// A plausible EPROCESS written at the 19041 offsets from the Windows 10 table in
    /// shared/notes/memory-facts.md (independent of the layout code under test).
    fn body() -> Vec<u8> {
        let mut b = vec![0u8; 0xa40];
        let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
        put(0x28, 0x1AD000); // DirectoryTableBase
        put(0x440, 388); // UniqueProcessId
        put(0x448, 0xFFFF_A000_0000_1448); // ActiveProcessLinks.Flink
        put(0x450, 0xFFFF_A000_0000_2448); // .Blink
        put(0x468, 133_547_048_430_000_000); // CreateTime 2024-03-12
        put(0x540, 4); // InheritedFromUniqueProcessId
        b[0x5a8..0x5a8 + 8].copy_from_slice(b"smss.exe");
        b
    }

    #[test]
    fn accepts_a_plausible_eprocess() {
        let core = check_eprocess(&body(), &layout(), 1 << 30).unwrap();
        assert_eq!((core.pid, core.ppid, core.dtb), (388, 4, 0x1AD000));
        assert_eq!(core.image_file_name, b"smss.exe");
        assert_eq!(core.exit_time, None);
        assert_eq!(core.token, None);
    }

    #[test]
    fn each_check_rejects() {
        let l = layout();
        let case = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = body();
            f(&mut b);
            check_eprocess(&b, &l, 1 << 30).unwrap_err()
        };
        let put =
            |b: &mut Vec<u8>, off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
        assert_eq!(
            case(&|b| put(b, 0x28, 0x1AD800)),
            Reject::BadDtb,
            "not page aligned"
        );
        assert_eq!(
            case(&|b| put(b, 0x28, 0x8000_0000)),
            Reject::BadDtb,
            "beyond the image"
        );
        assert_eq!(case(&|b| put(b, 0x28, 0)), Reject::BadDtb);
        assert_eq!(
            case(&|b| put(b, 0x448, 0x0000_7FFF_0000_0000)),
            Reject::BadLinks,
            "user address"
        );
        assert_eq!(
            case(&|b| put(b, 0x450, 0xFFFF_A000_0000_2449)),
            Reject::BadLinks,
            "misaligned"
        );
        assert_eq!(case(&|b| b[0x5a8] = 0), Reject::BadName, "empty");
        assert_eq!(case(&|b| b[0x5a9] = 0x07), Reject::BadName, "control byte");
        assert_eq!(case(&|b| put(b, 0x440, 390)), Reject::BadPid);
        assert_eq!(case(&|b| put(b, 0x440, 1 << 24)), Reject::BadPid);
        assert_eq!(case(&|b| put(b, 0x540, 6)), Reject::BadPid, "parent");
        assert_eq!(case(&|b| put(b, 0x468, 0)), Reject::BadCreateTime);
        assert_eq!(case(&|b| put(b, 0x468, u64::MAX)), Reject::BadCreateTime);
        assert_eq!(
            case(&|b| put(b, 0x840, 1)),
            Reject::BadExitTime,
            "exit before create"
        );
        assert_eq!(case(&|b| b.truncate(0x500)), Reject::Truncated);
    }

    #[test]
    fn flags_in_the_low_dtb_bits_and_ansi_names_pass() {
        let mut b = body();
        b[0x28] |= 0x2; // KVA-shadow/PCID style low bits
        b[0x5a8] = 0xD1; // a byte of a non-ASCII name
        let core = check_eprocess(&b, &layout(), 1 << 30).unwrap();
        assert_eq!(core.dtb, 0x1AD000);
        assert_eq!(core.image_file_name[0], 0xD1);
        b[0x840..0x848].copy_from_slice(&(133_547_048_430_000_000u64 + 1).to_le_bytes());
        assert_eq!(
            check_eprocess(&b, &layout(), 1 << 30).unwrap().exit_time,
            Some(133_547_048_430_000_001)
        );
    }
}
