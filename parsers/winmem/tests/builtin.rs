//! The built-in table agrees with the ISF files it was generated from, and with
//! offsets published independently (shared/notes/memory-facts.md).

mod common;

use triage_isf::{known_build, IsfDir};
use triage_winmem::{builtin_for, builtin_layouts, BuiltinMatch, Layout};

#[test]
fn every_shipped_isf_matches_its_builtin_entry() {
    let Some(symbols) = common::symbols_dir() else {
        return;
    };
    let dir = IsfDir::open(&symbols).unwrap();
    let mut checked = 0;
    for e in dir.entries.iter().filter(|e| e.pdb_name == "ntkrnlmp.pdb") {
        let isf = dir.load(&e.pdb_name, &e.guid, e.age).unwrap();
        let from_isf = Layout::from_isf(&isf);
        assert!(
            from_isf.missing_fields().is_empty(),
            "{}: {:?}",
            e.guid,
            from_isf.missing_fields()
        );
        let (entry, how) = builtin_for(Some(&e.guid), Some(e.age), None)
            .unwrap_or_else(|| panic!("no builtin for {}", e.guid));
        assert_eq!(how, BuiltinMatch::GuidAge);
        assert_eq!(entry.layout, from_isf, "{}", e.guid);
        assert_eq!(
            Some(entry.build),
            known_build(&e.guid, e.age).map(|k| k.build)
        );
        checked += 1;
    }
    // Every ntkrnlmp ISF in the directory was checked (per file, not a fixed count).
    assert_eq!(
        checked,
        dir.entries
            .iter()
            .filter(|e| e.pdb_name == "ntkrnlmp.pdb")
            .count()
    );
    assert!(checked > 0);
}

#[test]
fn builtin_agrees_with_published_offsets() {
    // memory-facts.md table (Vergilius/Volatility), independent of the ISF reader.
    let facts: &[(u32, [u32; 4])] = &[
        // build: UniqueProcessId, ActiveProcessLinks, ImageFileName, InheritedFromUniqueProcessId
        (17763, [0x2e0, 0x2e8, 0x450, 0x3e0]),
        (19041, [0x440, 0x448, 0x5a8, 0x540]),
        (7601, [0x180, 0x188, 0x2e0, 0x290]),
    ];
    for (build, [pid, links, name, ppid]) in facts {
        let (e, how) = builtin_for(None, None, Some(*build)).unwrap();
        assert_eq!(how, BuiltinMatch::BuildNumber);
        let l = &e.layout;
        assert_eq!(
            [
                l.eprocess_unique_process_id,
                l.eprocess_active_process_links,
                l.eprocess_image_file_name,
                l.eprocess_inherited_from_unique_process_id
            ],
            [Some(*pid), Some(*links), Some(*name), Some(*ppid)],
            "build {build}"
        );
    }
    let (win10, _) = builtin_for(None, None, Some(19041)).unwrap();
    assert_eq!(win10.layout.token_user_and_groups, Some(0x98));
    assert_eq!(win10.layout.token_integrity_level_index, Some(0xd0));
    assert_eq!(win10.layout.object_header_body, Some(0x30));
    assert_eq!(win10.layout.object_header_type_index, Some(0x18));
}

#[test]
fn every_entry_names_its_origin() {
    for e in builtin_layouts() {
        assert!(
            e.origin.starts_with("ISF ") || e.origin.starts_with("published:"),
            "{}",
            e.origin
        );
        assert!(e.layout.eprocess_unique_process_id.is_some());
    }
}

#[test]
fn stable_x64_offsets_hold_in_every_shipped_isf() {
    // The published entries share offsets assumed stable since Windows 7 (see
    // tools/gen_builtin.rs X64_STABLE); every real ISF must agree with the 7601 entry.
    let Some(symbols) = common::symbols_dir() else {
        return;
    };
    let (win7, _) = builtin_for(None, None, Some(7601)).unwrap();
    let w = &win7.layout;
    let dir = IsfDir::open(&symbols).unwrap();
    for e in &dir.entries {
        let l = Layout::from_isf(&dir.load(&e.pdb_name, &e.guid, e.age).unwrap());
        let pairs = [
            (
                l.eprocess_directory_table_base,
                w.eprocess_directory_table_base,
            ),
            (l.eprocess_signal_state, w.eprocess_signal_state),
            (l.peb_process_parameters, w.peb_process_parameters),
            (l.peb_image_base_address, w.peb_image_base_address),
            (l.peb_session_id, w.peb_session_id),
            (l.params_image_path_name, w.params_image_path_name),
            (l.params_command_line, w.params_command_line),
            (l.mm_session_space_session_id, w.mm_session_space_session_id),
            (l.object_header_body, w.object_header_body),
            (l.object_header_type_index, w.object_header_type_index),
            (l.object_header_info_mask, w.object_header_info_mask),
            (l.privileges_enabled, w.privileges_enabled),
            (l.sid_and_attributes_size, w.sid_and_attributes_size),
            (l.pool_header_size, w.pool_header_size),
        ];
        for (i, (isf, published)) in pairs.iter().enumerate() {
            assert_eq!(isf, published, "{} pair {i}", e.guid);
        }
    }
}
