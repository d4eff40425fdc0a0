//! What the generator placed where: the ground truth an independent reader must reproduce.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub format: String,
    pub memory_size: u64,
    /// RAM runs (start, end) in physical address space; the rest is a hole.
    pub runs: Vec<(u64, u64)>,
    pub build: u32,
    pub nt_build_number: u32,
    pub pdb_name: String,
    pub pdb_guid: String,
    pub pdb_age: u32,
    pub isf_file: String,
    pub kernel_base: u64,
    pub kernel_base_pa: u64,
    pub kernel_size: u64,
    /// Kernel CR3 (System's DirectoryTableBase).
    pub dtb: u64,
    pub self_ref_index: u64,
    pub low_stub_pa: u64,
    pub ps_active_process_head: u64,
    pub ps_initial_system_process: u64,
    /// ObHeaderCookie; 0 before Windows 10, which has none.
    pub ob_header_cookie: u8,
    /// OBJECT_HEADER.TypeIndex is stored XORed with the cookie and a header-address byte
    /// (Windows 10+); else plain.
    #[serde(default = "yes")]
    pub type_index_encoded: bool,
    pub process_type_index: u8,
    pub system_time: u64,
    pub system_time_iso: String,
    pub processes: Vec<ProcessTruth>,
    /// PsLoadedModuleList in order.
    pub modules: Vec<ModuleTruth>,
    /// Pages placed in paging files (their PTEs are software PTEs).
    #[serde(default)]
    pub paged_out: Vec<crate::pagefile::PagedOutTruth>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleTruth {
    pub name: String,
    pub path: String,
    pub base: u64,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessTruth {
    pub pid: u64,
    pub ppid: u64,
    pub name: String,
    /// The 15 bytes Windows keeps in EPROCESS.ImageFileName.
    pub image_file_name: String,
    pub image_path: String,
    pub peb_image_path: String,
    pub command_line: String,
    /// Environment block as placed (empty when the process has no user space).
    pub environment: Vec<String>,
    pub session_id: Option<u32>,
    pub create_time: u64,
    pub create_time_iso: String,
    pub exit_time: Option<u64>,
    pub exit_time_iso: Option<String>,
    pub threads: u32,
    pub wow64: bool,
    pub linked_in_active_list: bool,
    pub peb_paged_out: bool,
    pub eprocess_va: u64,
    pub eprocess_pa: u64,
    /// Pool header of the allocation holding the EPROCESS.
    pub pool_header_va: u64,
    pub dtb: u64,
    pub peb_va: u64,
    pub token_va: u64,
    /// TOKEN.TokenId (MemProcFS reports it as the process "LUID").
    pub token_id: u64,
    /// SIDs in token order: user, groups, integrity label.
    pub sids: Vec<String>,
    pub user_sid: String,
    pub integrity_sid: String,
    pub logon_id: u64,
    pub privileges_present: u64,
    pub privileges_enabled: u64,
}

/// FILETIME → RFC 3339 in UTC with microseconds, the way Volatility's JSON renderer prints.
pub fn filetime_iso(ft: u64) -> String {
    let micros_total = ft / 10;
    let secs = micros_total / 1_000_000;
    let micros = micros_total % 1_000_000;
    // 1601-01-01 → 1970-01-01 is 11644473600 s.
    let unix = secs as i64 - 11_644_473_600;
    let days = unix.div_euclid(86_400);
    let sod = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn filetime_iso_known_values() {
        // 0x01D9_5B9C_3D9A_8000 is not used; known anchor: Unix epoch = 116444736000000000.
        assert_eq!(
            super::filetime_iso(116_444_736_000_000_000),
            "1970-01-01T00:00:00+00:00"
        );
        // 2024-03-12 08:14:03 UTC (date -d @1710231243)
        assert_eq!(
            super::filetime_iso(133_547_048_430_000_000),
            "2024-03-12T08:14:03+00:00"
        );
    }
}
