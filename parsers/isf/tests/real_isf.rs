//! Every real kernel ISF in shared/symbols loads, and the offsets the memory readers rely
//! on agree with the published table in shared/notes/memory-facts.md (Vergilius-derived).
mod common;

use triage_isf::{known_build, Isf, IsfDir, TypeDesc};

/// Every shipped ISF with its (build, revision), loaded once for all tests in this file.
fn load_all() -> Option<&'static [(u32, u32, Isf)]> {
    static ALL: std::sync::OnceLock<Vec<(u32, u32, Isf)>> = std::sync::OnceLock::new();
    let sym = common::symbols_dir()?;
    Some(ALL.get_or_init(|| {
        let dir = IsfDir::open(&sym).expect("index symbols");
        dir.entries
            .iter()
            .map(|e| {
                let isf = Isf::load(&e.path).expect("load ISF");
                let known =
                    known_build(&e.guid, e.age).expect("every shipped ISF is in the build table");
                (known.build, known.revision, isf)
            })
            .collect()
    }))
}

#[test]
fn every_file_indexes_loads_and_matches_its_name() {
    let Some(all) = load_all() else { return };
    // Every ntkrnlmp ISF in the directory (per file, not a count of the set).
    let sym = common::symbols_dir().unwrap();
    let files = std::fs::read_dir(sym.join("windows/ntkrnlmp.pdb"))
        .unwrap()
        .count();
    assert_eq!(all.len(), files);
    for (build, _, isf) in all {
        let pdb = isf.pdb().expect("metadata.windows.pdb");
        assert_eq!(pdb.database, "ntkrnlmp.pdb");
        assert_eq!(pdb.machine_type, Some(0x8664));
        assert!(
            isf.source_name.contains(&pdb.guid),
            "{} vs {}",
            isf.source_name,
            pdb.guid
        );
        assert_eq!(isf.pointer_size(), Some(8));
        for sym in [
            "PsActiveProcessHead",
            "PsInitialSystemProcess",
            "NtBuildNumber",
            "ObHeaderCookie",
            "ObTypeIndexTable",
            "PsLoadedModuleList",
            "KdDebuggerDataBlock",
        ] {
            // The object-header cookie came with Windows 10.
            if sym == "ObHeaderCookie" && *build < 10240 {
                assert!(
                    isf.symbol_rva(sym).is_none(),
                    "{build}: {sym} before Windows 10"
                );
                continue;
            }
            assert!(isf.symbol_rva(sym).is_some(), "{build}: {sym} missing");
        }
        // Self-consistency: each embedded field fits inside its struct.
        let eproc = isf.struct_size("_EPROCESS").unwrap();
        let name = isf.field("_EPROCESS", "ImageFileName").unwrap();
        assert_eq!(name.size, Some(15));
        assert!(name.offset + 15 <= eproc);
    }
    // The builds the table maps these files to include every one the project supports;
    // files added later may add builds, never drop one.
    let builds: std::collections::BTreeSet<u32> = all.iter().map(|(b, _, _)| *b).collect();
    for want in [7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000] {
        assert!(
            builds.contains(&want),
            "no ISF for build {want}: {builds:?}"
        );
    }
}

/// memory-facts.md columns for 17763 and 19041 (19041 column also claims 19045).
#[test]
fn offsets_agree_with_published_table() {
    let Some(all) = load_all() else { return };
    type Facts<'a> = &'a [(&'a str, &'a str, u64)];
    let table: &[(u32, Facts)] = &[
        (
            17763,
            &[
                ("_KPROCESS", "DirectoryTableBase", 0x28),
                ("_EPROCESS", "CreateTime", 0x308),
                ("_EPROCESS", "ExitTime", 0x690),
                ("_EPROCESS", "UniqueProcessId", 0x2e0),
                ("_EPROCESS", "ActiveProcessLinks", 0x2e8),
                ("_EPROCESS", "ObjectTable", 0x418),
                ("_EPROCESS", "Token", 0x358),
                ("_EPROCESS", "InheritedFromUniqueProcessId", 0x3e0),
                ("_EPROCESS", "Session", 0x400),
                ("_EPROCESS", "Peb", 0x3f8),
                ("_EPROCESS", "ImageFileName", 0x450),
                ("_EPROCESS", "SeAuditProcessCreationInfo", 0x468),
            ],
        ),
        (
            19041,
            &[
                ("_KPROCESS", "DirectoryTableBase", 0x28),
                ("_KPROCESS", "UserDirectoryTableBase", 0x388),
                ("_EPROCESS", "CreateTime", 0x468),
                ("_EPROCESS", "ExitTime", 0x840),
                ("_EPROCESS", "UniqueProcessId", 0x440),
                ("_EPROCESS", "ActiveProcessLinks", 0x448),
                ("_EPROCESS", "ObjectTable", 0x570),
                ("_EPROCESS", "Token", 0x4b8),
                ("_EPROCESS", "InheritedFromUniqueProcessId", 0x540),
                ("_EPROCESS", "Session", 0x558),
                ("_EPROCESS", "Peb", 0x550),
                ("_EPROCESS", "ImageFileName", 0x5a8),
                ("_EPROCESS", "SeAuditProcessCreationInfo", 0x5c0),
                ("_TOKEN", "Privileges", 0x40),
                ("_TOKEN", "SessionId", 0x78),
                ("_TOKEN", "UserAndGroupCount", 0x7c),
                ("_TOKEN", "UserAndGroups", 0x98),
                ("_TOKEN", "IntegrityLevelIndex", 0xd0),
                ("_SEP_TOKEN_PRIVILEGES", "Enabled", 0x8),
                ("_SEP_TOKEN_PRIVILEGES", "EnabledByDefault", 0x10),
                ("_PEB", "ImageBaseAddress", 0x10),
                ("_PEB", "Ldr", 0x18),
                ("_PEB", "ProcessParameters", 0x20),
                ("_RTL_USER_PROCESS_PARAMETERS", "ImagePathName", 0x60),
                ("_RTL_USER_PROCESS_PARAMETERS", "CommandLine", 0x70),
                ("_MM_SESSION_SPACE", "SessionId", 0x8),
                ("_POOL_HEADER", "PoolTag", 0x4),
                ("_OBJECT_HEADER", "TypeIndex", 0x18),
                ("_OBJECT_HEADER", "InfoMask", 0x1a),
                ("_OBJECT_HEADER", "Body", 0x30),
            ],
        ),
    ];
    for (build, facts) in table {
        let mut checked = 0;
        for (_, _, isf) in all.iter().filter(|(b, _, _)| b == build) {
            for (s, f, want) in *facts {
                assert_eq!(isf.field_offset(s, f), Some(*want), "{build} {s}.{f}");
                checked += 1;
            }
        }
        assert!(checked > 0, "no ISF for {build}");
    }
}

#[test]
fn nested_paths_bitfields_enums_and_pointers() {
    let Some(all) = load_all() else { return };
    for (build, _, isf) in all {
        // Nested path equals the sum of the two steps.
        let pcb = isf.field_offset("_EPROCESS", "Pcb").unwrap();
        let dtb = isf.field_offset("_KPROCESS", "DirectoryTableBase").unwrap();
        assert_eq!(
            isf.field_offset("_EPROCESS", "Pcb.DirectoryTableBase"),
            Some(pcb + dtb),
            "{build}"
        );
        assert_eq!(
            isf.field_offset("_EPROCESS", "Pcb.Header.SignalState"),
            Some(4),
            "{build}"
        );
        assert_eq!(isf.field_offset("_EPROCESS", "Pcb.NoSuchField"), None);
        // A path through a non-struct field fails rather than guessing.
        assert_eq!(isf.field_offset("_EPROCESS", "UniqueProcessId.X"), None);
        // _EPROCESS.Session is a pointer: to _MM_SESSION_SPACE since Windows 10, untyped
        // (`void *`) in the Windows 7 and 8.1 symbols.
        match isf.field("_EPROCESS", "Session").unwrap().ty {
            TypeDesc::Pointer(inner) if *build >= 10240 => assert!(
                matches!(*inner, TypeDesc::User { ref name, .. } if name == "_MM_SESSION_SPACE"),
                "{build}: {inner:?}"
            ),
            TypeDesc::Pointer(_) => {}
            other => panic!("{build}: Session is {other:?}"),
        }
        // PTE bitfields: Valid is bit 0; PageFrameNumber starts at bit 12 (36 bits wide, 40 on builds
        // that allow 52-bit physical addresses).
        let valid = isf.bitfield("_MMPTE_HARDWARE", "Valid").unwrap();
        assert_eq!(
            (valid.bit_position, valid.bit_length, valid.storage_size),
            (0, 1, 8)
        );
        let pfn = isf.bitfield("_MMPTE_HARDWARE", "PageFrameNumber").unwrap();
        assert_eq!(pfn.bit_position, 12);
        assert!(matches!(pfn.bit_length, 36 | 40), "{build}: {pfn:?}");
        assert_eq!(isf.enum_value("_TOKEN_TYPE", "TokenPrimary"), Some(1));
        assert_eq!(isf.enum_value("_TOKEN_TYPE", "TokenImpersonation"), Some(2));
        assert_eq!(isf.struct_size("_LIST_ENTRY"), Some(16));
        assert_eq!(isf.struct_size("_POOL_HEADER"), Some(16));
    }
}

#[test]
fn dir_lookup_is_case_insensitive_and_reports_missing() {
    let Some(sym) = common::symbols_dir() else {
        return;
    };
    let dir = IsfDir::open(&sym).unwrap();
    // Lower case, braces and dashes are accepted (the way GUIDs are printed elsewhere).
    let hit = dir
        .find("NtKrnlMp.pdb", "{bbed7c29-55fb-e452-2aaa-23f4b8677ad9}", 1)
        .expect("case-insensitive GUID");
    assert!(hit
        .path
        .to_string_lossy()
        .ends_with("BBED7C2955FBE4522AAA23F4B8677AD9-1.json.xz"));
    assert!(
        dir.find("ntkrnlmp.pdb", "BBED7C2955FBE4522AAA23F4B8677AD9", 2)
            .is_none(),
        "age matters"
    );
    assert!(
        dir.find("ntoskrnl.pdb", "BBED7C2955FBE4522AAA23F4B8677AD9", 1)
            .is_none(),
        "pdb name matters"
    );
    let isf = dir
        .load("ntkrnlmp.pdb", "bbed7c2955fbe4522aaa23f4b8677ad9", 1)
        .unwrap();
    assert_eq!(isf.pdb().unwrap().guid, "BBED7C2955FBE4522AAA23F4B8677AD9");
    let err = dir
        .load("ntkrnlmp.pdb", "00000000000000000000000000000000", 1)
        .unwrap_err();
    assert!(
        err.to_string().contains("00000000000000000000000000000000"),
        "{err}"
    );
}

#[test]
fn plain_json_and_shape_errors_name_the_json_path() {
    let Some(sym) = common::symbols_dir() else {
        return;
    };
    let dir = IsfDir::open(&sym).unwrap();
    let src = &dir.entries[0].path;
    let json = triage_isf::decompress_xz(&std::fs::read(src).unwrap(), src).unwrap();
    // Same file as plain .json in a temp symbol tree loads to the same model.
    let tmp = tempfile::tempdir().unwrap();
    let pdb_dir = tmp.path().join("windows").join("ntkrnlmp.pdb");
    std::fs::create_dir_all(&pdb_dir).unwrap();
    let name = src
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(".json.xz", ".json");
    std::fs::write(pdb_dir.join(&name), &json).unwrap();
    let tdir = IsfDir::open(tmp.path()).unwrap();
    assert_eq!(tdir.entries.len(), 1);
    let e = &tdir.entries[0];
    let plain = tdir.load(&e.pdb_name, &e.guid, e.age).unwrap();
    let xz = Isf::load(src).unwrap();
    assert_eq!(plain.metadata, xz.metadata);
    assert_eq!(plain.symbols, xz.symbols);
    assert_eq!(plain.user_types.len(), xz.user_types.len());

    // Break one field offset: the error names the file and the JSON path.
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["user_types"]["_EPROCESS"]["fields"]["UniqueProcessId"]["offset"] = serde_json::json!("x");
    let bad = serde_json::to_vec(&v).unwrap();
    let err = Isf::from_json_bytes(&bad, "broken.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.json"), "{err}");
    assert!(
        err.contains("/user_types/_EPROCESS/fields/UniqueProcessId/offset"),
        "{err}"
    );
    // Truncated xz is an error, not a panic.
    let raw = std::fs::read(src).unwrap();
    assert!(triage_isf::decompress_xz(&raw[..raw.len() / 2], src).is_err());
}
