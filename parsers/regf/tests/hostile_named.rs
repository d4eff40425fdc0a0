//! Named hostile input (issue #14 §2): a hive with an hbin size of 0. The bin walk
//! stops at it with the field's offset (no endless loop on a zero step); the key walk,
//! which reaches cells by offset, still finds what python-registry finds in the intact
//! hive (`EXPECTED.python-registry.json`).
mod common;
use triage_regf::{Hive, RegfError};

#[test]
fn hbin_size_of_zero_stops_the_bin_walk_with_its_offset() {
    let (Some(orig), Some(expected)) = (common::read_hive("regipy__SYSTEM"), common::expected())
    else {
        return;
    };
    let walk = &expected["regipy__SYSTEM"]["walk"];
    let first = u32::from_le_bytes(orig[0x1008..0x100C].try_into().unwrap()) as usize;
    // (bins-data offset of the zeroed bin, how many bins come before it)
    for (bin, before) in [(0usize, 0usize), (first, 1)] {
        let mut b = orig.clone();
        let at = 0x1000 + bin;
        assert_eq!(&b[at..at + 4], b"hbin");
        b[at + 8..at + 12].copy_from_slice(&0u32.to_le_bytes());
        let hive = Hive::from_bytes(&b).unwrap();
        let bins: Vec<_> = hive.hbins().take(100_000).collect();
        assert_eq!(bins.len(), before + 1, "the walk ends at the bad bin");
        assert!(bins[..before].iter().all(|r| r.is_ok()));
        match &bins[before] {
            Err(RegfError::BadCellSize { offset, size, .. }) => {
                assert_eq!(*offset, (at + 8) as u64, "file offset of the size field");
                assert_eq!(*size, 0);
            }
            other => panic!("{other:?}"),
        }
        let report = hive.walk();
        assert_eq!(report.keys, walk["keys"].as_u64().unwrap());
        assert_eq!(report.values, walk["values"].as_u64().unwrap());
    }
}
