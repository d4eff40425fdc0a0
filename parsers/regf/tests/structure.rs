//! Base block, hive bins and cells of the shared hives.
mod common;
use triage_regf::{Hive, BASE_BLOCK_SIZE};

#[test]
fn base_blocks_and_bins_are_consistent() {
    let Some(dir) = common::hives_dir() else {
        return;
    };
    let mut seen = 0;
    let mut hives = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".LOG") || name.ends_with(".json") {
            continue;
        }
        hives += 1;
        let bytes = std::fs::read(&path).unwrap();
        let hive = Hive::from_bytes(&bytes).unwrap();
        let bb = hive.base_block();
        // Every shared hive has a correct XOR checksum (verified independently with a Python one-liner).
        assert!(bb.checksum_ok(), "{name}");
        assert_eq!(bb.major_version, 1);
        assert!((3..=6).contains(&bb.minor_version), "{name}");
        assert!(bb.hive_bins_data_size as usize + BASE_BLOCK_SIZE <= bytes.len());
        if name.contains("corrupted") {
            // This one has zeroed bins: the bin walk stops there, naming the offset.
            let err = hive
                .hbins()
                .find_map(|b| b.err())
                .expect("a broken bin header");
            assert!(
                err.to_string().starts_with("offset 0x1a000: expected hbin"),
                "{err}"
            );
            seen += 1;
            continue;
        }
        // The bins tile the declared hive bins data exactly.
        let bins: Vec<_> = hive
            .hbins()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            bins.iter().map(|b| b.size as u64).sum::<u64>(),
            bb.hive_bins_data_size as u64,
            "{name}"
        );
        assert_eq!(bins[0].offset, 0);
        // Cells tile every bin; each key reached by the walk is an allocated nk cell.
        let mut allocated_nk = 0u64;
        for bin in &bins {
            let mut covered = 0x20u64;
            for cell in bin.cells(&hive.cells()) {
                let cell = cell.unwrap_or_else(|e| panic!("{name}: {e}"));
                covered += cell.size as u64;
                allocated_nk += (cell.allocated && &cell.signature == b"nk") as u64;
            }
            assert_eq!(covered, bin.size as u64, "{name}: bin at {:#x}", bin.offset);
        }
        assert!(allocated_nk >= hive.walk().keys, "{name}");
        seen += 1;
    }
    // Every hive in the folder went through every check (per file, not a fixed count).
    assert_eq!(seen, hives, "every shared hive");
    assert!(hives > 0);
}

#[test]
fn a_damaged_base_block_is_dirty_by_checksum() {
    let Some(mut bytes) = common::read_hive("regipy__SAM") else {
        return;
    };
    let hive = Hive::from_bytes(&bytes).unwrap();
    assert_eq!(
        hive.base_block().file_name,
        r"\SystemRoot\System32\Config\SAM"
    );
    assert!(!hive.is_dirty());
    bytes[0x40] ^= 1;
    let state = Hive::from_bytes(&bytes).unwrap().dirty_state();
    assert!(state.checksum_mismatch && !state.sequence_mismatch && state.is_dirty());
    bytes[0] = b'x';
    assert!(matches!(
        Hive::from_bytes(&bytes),
        Err(triage_regf::RegfError::Signature { offset: 0, .. })
    ));
}

/// Values above 16344 bytes: db big-data records (hive 1.5) and single large cells (hive 1.3).
/// SHA-256 of the raw data as returned by python-registry's `VKRecord.raw_data()`.
#[test]
fn large_values_match_python_registry_bytes() {
    use sha2::{Digest, Sha256};
    let Some(dir) = common::hives_dir() else {
        return;
    };
    for (hive_name, key, value, len, sha) in [
        (
            "regipy__SYSTEM",
            r"ControlSet002\services\rdyboost\Parameters",
            "BootPlan",
            197_444,
            "eb076e1e4c95830d2767070deb35c16867d07f8a687e931651b6a380b6c5f1ce",
        ),
        (
            "regipy__SYSTEM",
            r"ControlSet002\services\mfehidk",
            "VTPCerts",
            50_892,
            "3c494d8ed8364a69a39c3cfb05d0f85addd406c1a02767e47252b81c328f68b4",
        ),
        (
            "regipy__SYSTEM_2",
            r"ControlSet001\Control\Session Manager\AppCompatCache",
            "AppCompatCache",
            22_224,
            "3d971da91b4f19e662aa0762d92e49ba0b4a9559fdd031d30a39a074f865dde8",
        ),
        (
            "regipy__amcache.hve",
            r"Root\Programs\0000ef102566ebfe23b1eb764609c40e56b70000ffff",
            "Files",
            20_738,
            "717bdcde9004b8c5a89328e4bf7d50aff617375701305a2ff516c4bffef125db",
        ),
        (
            "regipy__NTUSER.DAT",
            r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartPage2",
            "ProgramsCache",
            73_315,
            "e8c0cfda2e7f39a9168bede5b9e1f3d650e441fc3f613ab19ac50b8323f07f06",
        ),
    ] {
        let bytes = std::fs::read(dir.join(hive_name)).unwrap();
        let hive = Hive::from_bytes(&bytes).unwrap();
        let v = hive
            .open_key(key)
            .unwrap()
            .value(value)
            .unwrap()
            .expect("value present");
        let raw = v.raw_data().unwrap();
        assert_eq!(raw.len(), len, "{hive_name} {value}");
        assert_eq!(
            format!("{:x}", Sha256::digest(&raw)),
            sha,
            "{hive_name} {value}"
        );
    }
}
