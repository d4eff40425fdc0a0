//! Writes `src/builtin_layouts.rs` from a Volatility symbol directory (the JPCERT/CC
//! ISFs in shared/symbols) plus published layouts for builds that directory lacks.
//! Only facts (offsets, RVAs) are written, never the ISF files themselves.
//!
//! cargo run -p triage-winmem --example gen_builtin -- ../shared/symbols > parsers/winmem/src/builtin_layouts.rs

use std::path::PathBuf;

use serde_json::Value;
use triage_isf::{known_build, IsfDir};
use triage_winmem::Layout;

/// (build, origin, (field, offset) pairs)
type Published = (u32, &'static str, &'static [(&'static str, u32)]);

/// x64 offsets that have not moved since Windows 7 (memory-facts.md; every shipped ISF
/// agrees, which `tests/builtin.rs` checks): added to each published entry.
const X64_STABLE: &[(&str, u32)] = &[
    ("eprocess_directory_table_base", 0x28),
    ("eprocess_signal_state", 0x4),
    ("privileges_present", 0x0),
    ("privileges_enabled", 0x8),
    ("privileges_enabled_by_default", 0x10),
    ("peb_image_base_address", 0x10),
    ("peb_process_parameters", 0x20),
    ("peb_session_id", 0x2c0),
    ("params_image_path_name", 0x60),
    ("params_command_line", 0x70),
    ("mm_session_space_session_id", 0x8),
    ("object_header_type_index", 0x18),
    ("object_header_info_mask", 0x1a),
    ("object_header_body", 0x30),
    ("audit_info_image_file_name", 0x0),
    ("sid_and_attributes_size", 0x10),
    ("pool_header_size", 0x10),
];

const VERGILIUS_TABLE: &str =
    "published: Vergilius Project offsets as tabulated in github.com/I3r1h0n/eprocess_offsets (PID, links, Token, Peb only)";

/// Published layouts (x64) for builds without a shipped ISF. Fields not listed stay
/// unknown; `mem_info` completes them by discovery.
const PUBLISHED: &[Published] = &[
    (
        7601,
        "published: Windows 7 SP1 x64 offsets from shared/notes/memory-facts.md (Vergilius Project, Volatility 3)",
        &[
            ("eprocess_create_time", 0x168),
            ("eprocess_exit_time", 0x170),
            ("eprocess_unique_process_id", 0x180),
            ("eprocess_active_process_links", 0x188),
            ("eprocess_object_table", 0x200),
            ("eprocess_token", 0x208),
            ("eprocess_inherited_from_unique_process_id", 0x290),
            ("eprocess_session", 0x2d8),
            ("eprocess_image_file_name", 0x2e0),
            ("eprocess_peb", 0x338),
            ("eprocess_se_audit_process_creation_info", 0x390),
            ("token_privileges", 0x40),
            ("token_session_id", 0x74),
            ("token_user_and_group_count", 0x78),
            ("token_user_and_groups", 0x90),
            ("token_integrity_level_index", 0xc8),
        ],
    ),
    (
        9600,
        "published: Windows 8.1 x64 _EPROCESS from github.com/ntdiff/headers Win8.1/x64 ntoskrnl.exe (size 0x6b8, as Geoff Chappell lists for 6.3)",
        &[
            ("eprocess_create_time", 0x2d0),
            ("eprocess_unique_process_id", 0x2e0),
            ("eprocess_active_process_links", 0x2e8),
            ("eprocess_token", 0x348),
            ("eprocess_inherited_from_unique_process_id", 0x3d0),
            ("eprocess_peb", 0x3e8),
            ("eprocess_session", 0x3f0),
            ("eprocess_object_table", 0x408),
            ("eprocess_wow64_process", 0x418),
            ("eprocess_image_file_name", 0x438),
            ("eprocess_se_audit_process_creation_info", 0x450),
            ("eprocess_exit_status", 0x5d4),
            ("eprocess_vad_root", 0x5d8),
            ("eprocess_exit_time", 0x640),
            ("eprocess_size", 0x6b8),
        ],
    ),
    (10240, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x2e8), ("eprocess_active_process_links", 0x2f0), ("eprocess_token", 0x358), ("eprocess_peb", 0x3f8)]),
    (10586, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x2e8), ("eprocess_active_process_links", 0x2f0), ("eprocess_token", 0x358), ("eprocess_peb", 0x3f8)]),
    (15063, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x2e0), ("eprocess_active_process_links", 0x2e8), ("eprocess_token", 0x358), ("eprocess_peb", 0x3f8)]),
    (16299, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x2e0), ("eprocess_active_process_links", 0x2e8), ("eprocess_token", 0x358), ("eprocess_peb", 0x3f8)]),
    (17134, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x2e0), ("eprocess_active_process_links", 0x2e8), ("eprocess_token", 0x358), ("eprocess_peb", 0x3f8)]),
    (22621, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x440), ("eprocess_active_process_links", 0x448), ("eprocess_token", 0x4b8), ("eprocess_peb", 0x550)]),
    (22631, VERGILIUS_TABLE, &[("eprocess_unique_process_id", 0x440), ("eprocess_active_process_links", 0x448), ("eprocess_token", 0x4b8), ("eprocess_peb", 0x550)]),
    (
        26100,
        "published: Vergilius Project offsets as tabulated in github.com/I3r1h0n/eprocess_offsets (PID, links, Token, Peb); ImageFileName and VadRoot from a public 24H2 offset header extracted from PDB symbols",
        &[
            ("eprocess_unique_process_id", 0x1d0),
            ("eprocess_active_process_links", 0x1d8),
            ("eprocess_token", 0x248),
            ("eprocess_peb", 0x2e0),
            ("eprocess_image_file_name", 0x338),
            ("eprocess_vad_root", 0x558),
        ],
    ),
];

fn emit_fields(obj: &serde_json::Map<String, Value>, indent: &str, out: &mut String) {
    for (k, v) in obj {
        match v {
            Value::Null => out.push_str(&format!("{indent}{k}: None,\n")),
            Value::Number(n) => out.push_str(&format!(
                "{indent}{k}: Some({:#x}),\n",
                n.as_u64().unwrap_or(0)
            )),
            Value::Object(inner) => {
                out.push_str(&format!("{indent}{k}: KernelSymbols {{\n"));
                emit_fields(inner, &format!("{indent}    "), out);
                out.push_str(&format!("{indent}}},\n"));
            }
            other => panic!("unexpected value for {k}: {other}"),
        }
    }
}

fn emit(out: &mut String, pdb: Option<(&str, u32)>, build: u32, origin: &str, layout: &Layout) {
    let v = serde_json::to_value(layout).expect("layout serialises");
    let Value::Object(obj) = v else {
        panic!("layout is an object")
    };
    out.push_str("    BuiltinLayout {\n");
    match pdb {
        Some((g, a)) => out.push_str(&format!("        pdb: Some((\"{g}\", {a})),\n")),
        None => out.push_str("        pdb: None,\n"),
    }
    out.push_str(&format!(
        "        build: {build},\n        origin: {origin:?},\n        layout: Layout {{\n"
    ));
    let mut body = String::new();
    emit_fields(&obj, "            ", &mut body);
    out.push_str(&body);
    out.push_str("        },\n    },\n");
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: gen_builtin SYMBOLS_DIR"),
    );
    let dir = IsfDir::open(&root).expect("symbols directory");
    let mut entries: Vec<_> = dir
        .entries
        .iter()
        .filter(|e| e.pdb_name == "ntkrnlmp.pdb")
        .collect();
    entries.sort_by_key(|e| known_build(&e.guid, e.age).map(|k| (k.build, k.revision)));
    let mut out = String::from(
        "//! Generated by tools/gen_builtin.rs from the JPCERT/CC Volatility 3 ISFs in shared/symbols\n\
         //! (BSD-3-Clause) and published layouts; facts only. Do not edit: regenerate.\n\
         use crate::layout::{BuiltinLayout, KernelSymbols, Layout};\n\n\
         static BUILTIN: &[BuiltinLayout] = &[\n",
    );
    for (build, origin, fields) in PUBLISHED {
        let mut obj = serde_json::to_value(Layout::default()).expect("layout serialises");
        for (k, v) in X64_STABLE.iter().chain(fields.iter()) {
            let slot = obj
                .get_mut(*k)
                .unwrap_or_else(|| panic!("unknown field {k}"));
            *slot = Value::from(*v);
        }
        let layout: Layout = serde_from_value(obj);
        emit(&mut out, None, *build, origin, &layout);
    }
    for e in entries {
        let k = known_build(&e.guid, e.age).expect("every shipped ISF has a known build");
        let isf = dir.load(&e.pdb_name, &e.guid, e.age).expect("ISF loads");
        let layout = Layout::from_isf(&isf);
        assert!(
            layout.missing_fields().is_empty(),
            "{}: missing {:?}",
            e.guid,
            layout.missing_fields()
        );
        let origin = format!(
            "ISF {}-{} (JPCERT/CC Windows-Symbol-Tables), build {}.{}",
            e.guid, e.age, k.build, k.revision
        );
        emit(&mut out, Some((&e.guid, e.age)), k.build, &origin, &layout);
    }
    out.push_str("];\n\npub fn builtin_layouts() -> &'static [BuiltinLayout] {\n    BUILTIN\n}\n");
    print!("{out}");
}

/// Layout only derives Serialize; rebuild it field by field from the JSON object.
fn serde_from_value(v: Value) -> Layout {
    let mut l = Layout::default();
    let get = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as u32);
    macro_rules! set { ($($f:ident),*) => { $( l.$f = get(stringify!($f)); )* } }
    set!(
        eprocess_directory_table_base,
        eprocess_signal_state,
        eprocess_unique_process_id,
        eprocess_active_process_links,
        eprocess_inherited_from_unique_process_id,
        eprocess_create_time,
        eprocess_exit_time,
        eprocess_exit_status,
        eprocess_token,
        eprocess_session,
        eprocess_peb,
        eprocess_image_file_name,
        eprocess_se_audit_process_creation_info,
        eprocess_object_table,
        eprocess_vad_root,
        eprocess_wow64_process,
        token_user_and_groups,
        token_user_and_group_count,
        token_privileges,
        token_integrity_level_index,
        token_session_id,
        token_authentication_id,
        token_token_type,
        token_impersonation_level,
        privileges_present,
        privileges_enabled,
        privileges_enabled_by_default,
        peb_process_parameters,
        peb_image_base_address,
        peb_session_id,
        params_image_path_name,
        params_command_line,
        mm_session_space_session_id,
        object_header_body,
        object_header_type_index,
        object_header_info_mask,
        audit_info_image_file_name,
        sid_and_attributes_size,
        pool_header_size,
        eprocess_size,
        token_privilege_count
    );
    l
}
