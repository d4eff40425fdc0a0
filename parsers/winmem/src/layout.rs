//! Structure layouts ("profiles"): every field offset and kernel symbol RVA the process
//! work needs, from an ISF file, the built-in table, or discovery in the image.

use serde::Serialize;
use triage_isf::Isf;

/// Where a [`Layout`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LayoutSource {
    /// An ISF file from `--symbols`, matched by PDB GUID and age.
    SymbolsDir { path: String },
    /// The built-in table, matched by GUID and age (exact) or by build number.
    Builtin {
        matched_by: BuiltinMatch,
        origin: &'static str,
    },
    /// Found by relations between System and the next process in the image.
    Discovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BuiltinMatch {
    GuidAge,
    BuildNumber,
}

macro_rules! layout_struct {
    ($( $field:ident : $strukt:literal , [$($path:literal),+] ;)*) => {
        /// Field offsets (bytes from the start of the named structure). `None`: unknown
        /// for this source (discovery finds only some fields).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
        pub struct Layout {
            $( #[doc = concat!($strukt, ".", $($path, " "),+)] pub $field: Option<u32>, )*
            /// Size of `_SID_AND_ATTRIBUTES`.
            pub sid_and_attributes_size: Option<u32>,
            /// Size of `_POOL_HEADER`.
            pub pool_header_size: Option<u32>,
            /// Size of `_EPROCESS`.
            pub eprocess_size: Option<u32>,
            /// `_TOKEN.PrivilegeCount`, only where `_TOKEN.Privileges` is a pointer to a
            /// LUID_AND_ATTRIBUTES array (XP/2003) rather than the SEP_TOKEN_PRIVILEGES
            /// bitmasks (Vista and later). Not counted by `missing_fields`: modern kernels
            /// have none.
            pub token_privilege_count: Option<u32>,
            pub symbols: KernelSymbols,
        }

        impl Layout {
            /// Reads every field from an ISF. Fields the ISF lacks stay `None`.
            pub fn from_isf(isf: &Isf) -> Layout {
                let size = |s: &str| isf.struct_size(s).and_then(|v| u32::try_from(v).ok());
                Layout {
                    $( $field: [$($path),+].iter().find_map(|p| isf.field_offset($strukt, p)).and_then(|v| u32::try_from(v).ok()), )*
                    sid_and_attributes_size: size("_SID_AND_ATTRIBUTES"),
                    pool_header_size: size("_POOL_HEADER"),
                    eprocess_size: size("_EPROCESS"),
                    token_privilege_count: privilege_array_count(isf),
                    symbols: KernelSymbols::from_isf(isf),
                }
            }

            /// Fills this layout's unknown fields from `other`; returns the names filled.
            pub fn fill_missing_from(&mut self, other: &Layout) -> Vec<&'static str> {
                let mut filled = Vec::new();
                $( if self.$field.is_none() && other.$field.is_some() {
                    self.$field = other.$field;
                    filled.push(stringify!($field));
                } )*
                filled
            }

            /// Names of the fields that are `None` (symbols excluded).
            pub fn missing_fields(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $( if self.$field.is_none() { v.push(stringify!($field)); } )*
                v
            }
        }
    };
}

layout_struct! {
    eprocess_directory_table_base: "_EPROCESS", ["Pcb.DirectoryTableBase"];
    eprocess_signal_state: "_EPROCESS", ["Pcb.Header.SignalState"];
    eprocess_unique_process_id: "_EPROCESS", ["UniqueProcessId"];
    eprocess_active_process_links: "_EPROCESS", ["ActiveProcessLinks"];
    eprocess_inherited_from_unique_process_id: "_EPROCESS", ["InheritedFromUniqueProcessId"];
    eprocess_create_time: "_EPROCESS", ["CreateTime"];
    eprocess_exit_time: "_EPROCESS", ["ExitTime"];
    eprocess_exit_status: "_EPROCESS", ["ExitStatus"];
    eprocess_token: "_EPROCESS", ["Token"];
    eprocess_session: "_EPROCESS", ["Session"];
    eprocess_peb: "_EPROCESS", ["Peb"];
    eprocess_image_file_name: "_EPROCESS", ["ImageFileName"];
    eprocess_se_audit_process_creation_info: "_EPROCESS", ["SeAuditProcessCreationInfo"];
    eprocess_object_table: "_EPROCESS", ["ObjectTable"];
    eprocess_vad_root: "_EPROCESS", ["VadRoot"];
    eprocess_wow64_process: "_EPROCESS", ["WoW64Process", "Wow64Process"];
    token_user_and_groups: "_TOKEN", ["UserAndGroups"];
    token_user_and_group_count: "_TOKEN", ["UserAndGroupCount"];
    token_privileges: "_TOKEN", ["Privileges"];
    token_integrity_level_index: "_TOKEN", ["IntegrityLevelIndex"];
    token_session_id: "_TOKEN", ["SessionId"];
    token_authentication_id: "_TOKEN", ["AuthenticationId"];
    token_token_type: "_TOKEN", ["TokenType"];
    token_impersonation_level: "_TOKEN", ["ImpersonationLevel"];
    privileges_present: "_SEP_TOKEN_PRIVILEGES", ["Present"];
    privileges_enabled: "_SEP_TOKEN_PRIVILEGES", ["Enabled"];
    privileges_enabled_by_default: "_SEP_TOKEN_PRIVILEGES", ["EnabledByDefault"];
    peb_process_parameters: "_PEB", ["ProcessParameters"];
    peb_image_base_address: "_PEB", ["ImageBaseAddress"];
    peb_session_id: "_PEB", ["SessionId"];
    params_image_path_name: "_RTL_USER_PROCESS_PARAMETERS", ["ImagePathName"];
    params_command_line: "_RTL_USER_PROCESS_PARAMETERS", ["CommandLine"];
    mm_session_space_session_id: "_MM_SESSION_SPACE", ["SessionId"];
    object_header_body: "_OBJECT_HEADER", ["Body"];
    object_header_type_index: "_OBJECT_HEADER", ["TypeIndex"];
    object_header_info_mask: "_OBJECT_HEADER", ["InfoMask"];
    audit_info_image_file_name: "_SE_AUDIT_PROCESS_CREATION_INFO", ["ImageFileName"];
}

/// `_TOKEN.PrivilegeCount` when the ISF's `_TOKEN.Privileges` is a pointer (the pre-Vista
/// array layout); `None` for the embedded SEP_TOKEN_PRIVILEGES.
fn privilege_array_count(isf: &Isf) -> Option<u32> {
    let privileges = isf.field("_TOKEN", "Privileges")?;
    if !matches!(privileges.ty, triage_isf::TypeDesc::Pointer(_)) {
        return None;
    }
    isf.field_offset("_TOKEN", "PrivilegeCount")
        .and_then(|v| u32::try_from(v).ok())
}

macro_rules! symbols_struct {
    ($( $field:ident : $name:literal ;)*) => {
        /// Kernel symbol RVAs (add the kernel base).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
        pub struct KernelSymbols {
            $( #[doc = $name] pub $field: Option<u64>, )*
        }

        impl KernelSymbols {
            pub fn from_isf(isf: &Isf) -> KernelSymbols {
                KernelSymbols { $( $field: isf.symbol_rva($name), )* }
            }
        }
    };
}

symbols_struct! {
    ps_active_process_head: "PsActiveProcessHead";
    ps_initial_system_process: "PsInitialSystemProcess";
    ps_loaded_module_list: "PsLoadedModuleList";
    ob_header_cookie: "ObHeaderCookie";
    ob_type_index_table: "ObTypeIndexTable";
    nt_build_number: "NtBuildNumber";
    kd_debugger_data_block: "KdDebuggerDataBlock";
}

/// An entry of the built-in table.
#[derive(Debug, Clone)]
pub struct BuiltinLayout {
    /// PDB GUID (upper-case hex, no dashes) and age, when the entry is for one exact kernel.
    pub pdb: Option<(&'static str, u32)>,
    pub build: u32,
    /// Where the facts came from.
    pub origin: &'static str,
    pub layout: Layout,
}

pub use crate::builtin_layouts::builtin_layouts;

/// The built-in layout for a kernel: exact GUID/age first, then the newest entry for
/// the same build number.
pub fn builtin_for(
    guid: Option<&str>,
    age: Option<u32>,
    build: Option<u32>,
) -> Option<(&'static BuiltinLayout, BuiltinMatch)> {
    let table = builtin_layouts();
    if let (Some(g), Some(a)) = (guid, age) {
        if let Some(e) = table.iter().find(|e| {
            e.pdb
                .is_some_and(|(eg, ea)| eg.eq_ignore_ascii_case(g) && ea == a)
        }) {
            return Some((e, BuiltinMatch::GuidAge));
        }
    }
    let b = build?;
    table
        .iter()
        .rev()
        .find(|e| e.build == b)
        .map(|e| (e, BuiltinMatch::BuildNumber))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ISF whose `_TOKEN.Privileges` is `privileges` (an ISF type object).
    fn isf_with_token(privileges: serde_json::Value) -> Isf {
        let doc = serde_json::json!({
            "metadata": {"format": "6.2.0"},
            "base_types": {"unsigned long": {"size": 4, "signed": false, "kind": "int", "endian": "little"},
                           "pointer": {"size": 8, "signed": false, "kind": "int", "endian": "little"}},
            "user_types": {
                "_TOKEN": {"kind": "struct", "size": 0xd0, "fields": {
                    "PrivilegeCount": {"offset": 0x54, "type": {"kind": "base", "name": "unsigned long"}},
                    "Privileges": {"offset": 0x80, "type": privileges}}},
                "_LUID_AND_ATTRIBUTES": {"kind": "struct", "size": 12, "fields": {}},
                "_SEP_TOKEN_PRIVILEGES": {"kind": "struct", "size": 0x18, "fields": {}}},
            "enums": {},
            "symbols": {}
        });
        Isf::from_json_bytes(&serde_json::to_vec(&doc).unwrap(), "test").unwrap()
    }

    #[test]
    fn privilege_count_only_where_privileges_is_a_pointer() {
        // XP x64 / 2003 x64: Privileges is a pointer to LUID_AND_ATTRIBUTES (0x80), the
        // count beside it (0x54), as in Volatility 2's win2003_sp2_x64 vtypes.
        let xp = isf_with_token(serde_json::json!({"kind": "pointer",
            "subtype": {"kind": "struct", "name": "_LUID_AND_ATTRIBUTES"}}));
        let l = Layout::from_isf(&xp);
        assert_eq!(l.token_privileges, Some(0x80));
        assert_eq!(l.token_privilege_count, Some(0x54));
        // Vista+: the embedded SEP_TOKEN_PRIVILEGES; a PrivilegeCount field is ignored.
        let vista =
            isf_with_token(serde_json::json!({"kind": "struct", "name": "_SEP_TOKEN_PRIVILEGES"}));
        let l = Layout::from_isf(&vista);
        assert_eq!(l.token_privileges, Some(0x80));
        assert_eq!(l.token_privilege_count, None);
        assert!(!l.missing_fields().contains(&"token_privilege_count"));
    }
}
