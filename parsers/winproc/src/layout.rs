//! The offsets this crate reads, resolved once from `triage-winmem`'s [`Layout`], plus
//! the object-manager facts the layout does not carry (x64 values, identical in every
//! build from Windows 7 to 11 in the ISFs checked: see the README).

use serde::Serialize;
use triage_winmem::Layout;

use crate::error::{Result, WinprocError};

/// Sizes of the optional object headers, indexed by InfoMask bit (x64): CreatorInfo,
/// NameInfo, HandleInfo, QuotaInfo, ProcessInfo, AuditInfo, ExtendedInfo (Windows 10+;
/// earlier kernels leave the bit clear), PaddingInfo.
pub const OPTIONAL_HEADER_SIZES: [u32; 8] = [0x20, 0x20, 0x10, 0x20, 0x10, 0x10, 0x10, 0x4];

/// Where a token keeps its privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrivilegeLayout {
    /// SEP_TOKEN_PRIVILEGES at `at`: Present, Enabled, EnabledByDefault u64 masks.
    Bitmasks {
        at: u32,
        present: u32,
        enabled: u32,
        enabled_by_default: u32,
    },
    /// Pre-Vista: a count and a pointer to LUID_AND_ATTRIBUTES entries.
    Array { count_at: u32, pointer_at: u32 },
}

/// Resolved offsets (bytes from the structure start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcLayout {
    pub build: Option<u32>,
    pub pool_tag: [u8; 4],
    pub pool_header_size: u32,
    /// OBJECT_HEADER size up to Body.
    pub object_header_size: u32,
    pub object_type_index: u32,
    pub object_info_mask: u32,
    /// Windows 10+: TypeIndex is XORed with ObHeaderCookie and a header-address byte.
    pub type_index_encoded: bool,
    /// Bytes of EPROCESS read per process.
    pub eprocess_size: u32,
    pub dtb: u32,
    pub pid: u32,
    pub ppid: u32,
    pub links: u32,
    pub image_file_name: u32,
    pub create_time: u32,
    pub exit_time: Option<u32>,
    pub token: Option<u32>,
    pub session: Option<u32>,
    pub peb: Option<u32>,
    pub audit_image_file_name: Option<u32>,
    pub wow64: Option<u32>,
    pub session_space_id: Option<u32>,
    pub params: Option<u32>,
    pub params_image_path: Option<u32>,
    pub params_command_line: Option<u32>,
    pub token_user_and_groups: Option<u32>,
    pub token_user_and_group_count: Option<u32>,
    pub token_integrity_level_index: Option<u32>,
    pub token_authentication_id: Option<u32>,
    pub token_type: Option<u32>,
    pub token_session_id: Option<u32>,
    pub token_privileges: Option<PrivilegeLayout>,
    pub sid_and_attributes_size: u32,
}

/// Windows 8 (9200) renamed the process pool tag from `Pro\xe3` (protected bit set) to `Proc`.
const FIRST_BUILD_WITH_PROC_TAG: u32 = 9200;
/// Windows 10 RTM introduced ObHeaderCookie.
const FIRST_BUILD_WITH_COOKIE: u32 = 10240;

fn need(v: Option<u32>, field: &'static str) -> Result<u32> {
    v.ok_or(WinprocError::MissingField { field })
}

impl ProcLayout {
    /// Resolves what the walk and the scan need; fails only when a field without which
    /// no process can be recognised is missing.
    pub fn from_layout(l: &Layout, build: Option<u32>) -> Result<ProcLayout> {
        let old = build.is_some_and(|b| b < FIRST_BUILD_WITH_PROC_TAG);
        let encoded = l.symbols.ob_header_cookie.is_some()
            || build.is_some_and(|b| b >= FIRST_BUILD_WITH_COOKIE);
        let links = need(
            l.eprocess_active_process_links,
            "EPROCESS.ActiveProcessLinks",
        )?;
        let image_file_name = need(l.eprocess_image_file_name, "EPROCESS.ImageFileName")?;
        let fields = [
            Some(links),
            Some(image_file_name),
            l.eprocess_exit_time,
            l.eprocess_se_audit_process_creation_info,
            l.eprocess_wow64_process,
            l.eprocess_token,
        ];
        // Without the ISF's structure size, read past the last field used.
        let last_field = fields.iter().flatten().max().copied().unwrap_or(0) + 0x20;
        let eprocess_size = l.eprocess_size.unwrap_or(last_field).max(last_field);
        let token_privileges = match (
            l.token_privileges,
            l.privileges_present,
            l.privileges_enabled,
            l.privileges_enabled_by_default,
        ) {
            (Some(at), Some(present), Some(enabled), Some(by_default)) => {
                Some(PrivilegeLayout::Bitmasks {
                    at,
                    present,
                    enabled,
                    enabled_by_default: by_default,
                })
            }
            // XP/2003: the layout names a PrivilegeCount beside a Privileges pointer.
            (Some(pointer_at), ..) => {
                l.token_privilege_count
                    .map(|count_at| PrivilegeLayout::Array {
                        count_at,
                        pointer_at,
                    })
            }
            _ => None,
        };
        Ok(ProcLayout {
            build,
            pool_tag: if old { *b"Pro\xe3" } else { *b"Proc" },
            pool_header_size: l.pool_header_size.unwrap_or(0x10),
            object_header_size: l.object_header_body.unwrap_or(0x30),
            object_type_index: l.object_header_type_index.unwrap_or(0x18),
            object_info_mask: l.object_header_info_mask.unwrap_or(0x1a),
            type_index_encoded: encoded,
            eprocess_size,
            dtb: need(
                l.eprocess_directory_table_base,
                "KPROCESS.DirectoryTableBase",
            )?,
            pid: need(l.eprocess_unique_process_id, "EPROCESS.UniqueProcessId")?,
            ppid: need(
                l.eprocess_inherited_from_unique_process_id,
                "EPROCESS.InheritedFromUniqueProcessId",
            )?,
            links,
            image_file_name,
            create_time: need(l.eprocess_create_time, "EPROCESS.CreateTime")?,
            exit_time: l.eprocess_exit_time,
            token: l.eprocess_token,
            session: l.eprocess_session,
            peb: l.eprocess_peb,
            audit_image_file_name: l
                .eprocess_se_audit_process_creation_info
                .map(|a| a + l.audit_info_image_file_name.unwrap_or(0)),
            wow64: l.eprocess_wow64_process,
            session_space_id: l.mm_session_space_session_id,
            params: l.peb_process_parameters,
            params_image_path: l.params_image_path_name,
            params_command_line: l.params_command_line,
            token_user_and_groups: l.token_user_and_groups,
            token_user_and_group_count: l.token_user_and_group_count,
            token_integrity_level_index: l.token_integrity_level_index,
            token_authentication_id: l.token_authentication_id,
            token_type: l.token_token_type,
            token_session_id: l.token_session_id,
            token_privileges,
            sid_and_attributes_size: l.sid_and_attributes_size.unwrap_or(0x10),
        })
    }

    /// Bytes of optional headers an InfoMask announces (PaddingInfo's own 4 bytes only).
    pub fn optional_headers_size(info_mask: u8) -> u32 {
        OPTIONAL_HEADER_SIZES
            .iter()
            .enumerate()
            .filter(|(bit, _)| info_mask >> bit & 1 == 1)
            .map(|(_, s)| s)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(build: u32) -> &'static Layout {
        &triage_winmem::builtin_layouts()
            .iter()
            .find(|e| e.build == build)
            .expect("builtin layout")
            .layout
    }

    #[test]
    fn windows_10_resolves_with_proc_tag_and_encoded_type() {
        let l = ProcLayout::from_layout(builtin(19041), Some(19041)).unwrap();
        assert_eq!(&l.pool_tag, b"Proc");
        assert!(l.type_index_encoded);
        // Offsets from the Windows 10 2004 column of shared/notes/memory-facts.md.
        assert_eq!(
            (l.pid, l.links, l.image_file_name, l.create_time, l.ppid),
            (0x440, 0x448, 0x5a8, 0x468, 0x540)
        );
        assert_eq!(l.token, Some(0x4b8));
        assert_eq!(l.audit_image_file_name, Some(0x5c0));
        assert!(matches!(
            l.token_privileges,
            Some(PrivilegeLayout::Bitmasks {
                at: 0x40,
                present: 0,
                enabled: 8,
                enabled_by_default: 0x10
            })
        ));
    }

    #[test]
    fn windows_7_uses_the_old_tag_and_plain_type_index() {
        let l = ProcLayout::from_layout(builtin(7601), Some(7601)).unwrap();
        assert_eq!(&l.pool_tag, b"Pro\xe3");
        assert!(!l.type_index_encoded);
    }

    #[test]
    fn missing_required_field_is_an_error() {
        let mut layout = builtin(19041).clone();
        layout.eprocess_create_time = None;
        let e = ProcLayout::from_layout(&layout, Some(19041)).unwrap_err();
        assert!(e.to_string().contains("CreateTime"), "{e}");
    }

    #[test]
    fn optional_header_sizes_add_up() {
        assert_eq!(ProcLayout::optional_headers_size(0), 0);
        assert_eq!(ProcLayout::optional_headers_size(0x08), 0x20, "QuotaInfo");
        assert_eq!(
            ProcLayout::optional_headers_size(0x0C),
            0x30,
            "QuotaInfo + HandleInfo"
        );
        assert_eq!(ProcLayout::optional_headers_size(0x7F), 0xA0);
    }
}
