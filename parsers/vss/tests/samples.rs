//! Real shadow copies made by Windows, checked against libvshadow (`vshadowinfo` for the
//! catalog, `vshadowmount` for the snapshot bytes) and, where libvshadow cannot read the
//! store (diff area on another volume), against sleuthkit reading our snapshot.

mod common;

use std::sync::Arc;

use common::*;
use triage_source::{ByteSource, FileSource, Source};
use triage_vss::ShadowVolume;

/// Our stores against `vshadowinfo`'s: ids, times, sizes, flags, and order.
fn check_stores(sv: &ShadowVolume, oracle: &[OracleStore]) {
    assert_eq!(sv.stores().len(), oracle.len(), "number of stores");
    for (s, o) in sv.stores().iter().zip(oracle) {
        assert_eq!(s.store_id, o.id);
        assert_eq!(filetime_text(s.creation_time), o.created);
        assert_eq!(s.volume_size, o.volume_size);
        assert_eq!(s.stored_outside, o.outside);
        if !o.outside {
            assert_eq!(s.shadow_copy_id, o.copy_id);
            assert_eq!(s.shadow_copy_set_id, o.set_id);
            assert_eq!(Some(s.attribute_flags), o.flags);
            assert!(s.store_size > 0 && s.store_size % 0x4000 == 0, "{s:?}");
        }
    }
}

#[test]
fn vsstest_matches_vshadowinfo_and_vshadowmount() {
    let Some((_dir, raw)) = vsstest() else { return };
    let Some(oracle) = vshadowinfo(&raw, 0) else {
        return;
    };
    let vol: Source = Arc::new(FileSource::open(&raw).unwrap());
    let sv = ShadowVolume::open(vol.clone())
        .unwrap()
        .expect("VSS catalog");
    check_stores(&sv, &oracle);
    assert_eq!(oracle.len(), 2);

    // sleuthkit reads each snapshot as an NTFS volume (no FUSE needed): between the two
    // copies `syslog` was gzipped, and `password.txt` came after both.
    let blocks = listed_blocks(&raw, 0);
    let tmp = tempfile::tempdir().unwrap();
    let snaps: Vec<_> = (0..2)
        .map(|i| tmp.path().join(format!("snap{i}.raw")))
        .collect();
    for (i, p) in snaps.iter().enumerate() {
        write_sparse(&*sv.snapshot(i).unwrap(), &raw, 0, &blocks, p);
    }
    let (live, s0, s1) = (
        root_names(&raw),
        root_names(&snaps[0]),
        root_names(&snaps[1]),
    );
    assert!(live.iter().any(|n| n == "password.txt"));
    assert!(!s1.iter().any(|n| n == "password.txt"), "{s1:?}");
    assert!(s0.iter().any(|n| n == "syslog") && !s0.iter().any(|n| n == "syslog.gz"));
    let syslog = icat_root_file(&snaps[0], 0, "syslog");
    assert!(syslog.len() > 1000);
    assert_eq!(gunzip(&icat_root_file(&snaps[1], 0, "syslog.gz")), syslog);

    let Some(mnt) = Mount::new(&raw, 0) else {
        return;
    };
    for i in 0..sv.stores().len() {
        let snap = sv.snapshot(i).unwrap();
        assert_eq!(snap.len(), vol.len());
        assert!(snap
            .location()
            .to_string()
            .contains(&format!("VSS {}", i + 1)));
        assert_same(&*snap, &*mnt.snapshot(i), 1, &[]);
    }
}

/// Extract `name` into a new subdirectory of `dir`.
fn extract(name: &str, dir: &std::path::Path, sub: &str) -> Option<std::path::PathBuf> {
    let d = dir.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    dfir_tar(name, &d)
}

/// A copy of the storage disk whose catalog lists `wanted` type-2 entries, each followed
/// by the type-3 entry of the same store, found in `type3` (what libvshadow can read).
fn oracle_disk(copy: &std::path::Path, vol: u64, wanted: &[Vec<u8>], type3: &[Vec<u8>]) {
    let mut entries = Vec::new();
    for e2 in wanted {
        entries.push(e2.clone());
        let e3 = type3
            .iter()
            .find(|e| e[0] == 3 && entry_store(e) == entry_store(e2))
            .expect("type-3 entry of the store");
        entries.push(e3.clone());
    }
    rewrite_catalog(copy, vol, &entries);
}

#[test]
fn dfir_cross_volume_stores_match_libvshadow() {
    let dir = tempfile::tempdir().unwrap();
    let Some(vol1) = extract("vss_1_vol", dir.path(), "a") else {
        return;
    };
    let Some(stor) = extract("vss_2_stor", dir.path(), "a") else {
        return;
    };
    let Some(copy) = extract("vss_2_stor", dir.path(), "b") else {
        return;
    };
    let &(s1, l1) = mmls(&vol1).last().unwrap();
    let &(s2, l2) = mmls(&stor).last().unwrap();
    let (v1, st) = (volume(&vol1, s1, l1), volume(&stor, s2, l2));

    // The storage volume alone: only its own store, read the way libvshadow reads it
    // once the other volume's type-3 entries are out of its catalog.
    let (own, _) = catalog_entries(&stor, s2 * 512);
    let own2: Vec<Vec<u8>> = own.iter().filter(|e| e[0] == 2).cloned().collect();
    oracle_disk(&copy, s2 * 512, &own2, &own);
    let sv = ShadowVolume::open(st.clone()).unwrap().unwrap();
    let Some(oracle) = vshadowinfo(&copy, s2 * 512) else {
        return;
    };
    check_stores(&sv, &oracle);
    assert_eq!(sv.stores().len(), 1);
    if let Some(mnt) = Mount::new(&copy, s2 * 512) {
        let blocks = listed_blocks(&copy, s2 * 512);
        assert!(!blocks.is_empty());
        assert_same(&*sv.snapshot(0).unwrap(), &*mnt.snapshot(0), 16, &blocks);
    }

    // The shadowed volume without its storage: stores listed, not readable.
    let alone = ShadowVolume::open(v1.clone()).unwrap().unwrap();
    check_stores(&alone, &vshadowinfo(&vol1, s1 * 512).unwrap());
    assert!(alone
        .stores()
        .iter()
        .all(|s| s.stored_outside && !s.data_available));
    assert!(alone.snapshot(0).is_err());

    // With the storage volume: the stores of volume 1 read from volume 2.
    cross_volume(&vol1, s1 * 512, v1, st, &copy, s2 * 512, &own, 2);
}

/// The stores of the volume at `vol_off` of `vol_disk` (source `v`), with their data on
/// storage volume `st`. The oracle is libvshadow on `copy` (a copy of the storage disk at
/// `copy_off`) whose catalog is rewritten to list the shadowed volume's stores beside
/// their type-3 entries (`type3`): the store data are the same, the live volume under them
/// is not, so the blocks the stores hold are compared.
#[allow(clippy::too_many_arguments)]
fn cross_volume(
    vol_disk: &std::path::Path,
    vol_off: u64,
    v: Source,
    st: Source,
    copy: &std::path::Path,
    copy_off: u64,
    type3: &[Vec<u8>],
    n: usize,
) {
    // A volume that is not the storage comes first: it must be passed over.
    let sv = ShadowVolume::open_with_storage(v.clone(), &[v.clone(), st])
        .unwrap()
        .unwrap();
    assert_eq!(sv.stores().len(), n);
    let (e1, _) = catalog_entries(vol_disk, vol_off);
    let mine2: Vec<Vec<u8>> = e1.iter().filter(|e| e[0] == 2).cloned().collect();
    oracle_disk(copy, copy_off, &mine2, type3);
    let oracle = vshadowinfo(copy, copy_off).unwrap();
    assert_eq!(oracle.len(), n);
    for (s, o) in sv.stores().iter().zip(&oracle) {
        assert!(s.stored_outside && s.data_available);
        assert_eq!(
            (&s.store_id, &s.shadow_copy_id, &s.shadow_copy_set_id),
            (&o.id, &o.copy_id, &o.set_id)
        );
        assert_eq!(filetime_text(s.creation_time), o.created);
        assert_eq!(Some(s.attribute_flags), o.flags);
    }
    let blocks = listed_blocks(copy, copy_off);
    assert!(!blocks.is_empty());
    // Independent of FUSE: sleuthkit reads each snapshot. The sample's test.txt was
    // filled with '1's, shadow-copied, refilled with '2's, copied again, then with '3's.
    let live = icat_root_file(vol_disk, vol_off / 512, "test.txt");
    assert!(!live.is_empty() && live.iter().all(|&b| b == b'3'));
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..n {
        let raw = tmp.path().join(format!("snap{i}.raw"));
        write_sparse(&*sv.snapshot(i).unwrap(), vol_disk, vol_off, &blocks, &raw);
        let text = icat_root_file(&raw, 0, "test.txt");
        assert_eq!(text.len(), live.len());
        assert!(text.iter().all(|&b| b == b'1' + i as u8), "snapshot {i}");
    }
    if let Some(mnt) = Mount::new(copy, copy_off) {
        for i in 0..n {
            let snap = sv.snapshot(i).unwrap();
            assert_eq!(snap.len(), v.len());
            assert_same(&*snap, &*mnt.snapshot(i), 0, &blocks);
        }
    }
}

#[test]
fn dfir_volstor_second_partition_stores_on_first() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = extract("vss_3_volstor", dir.path(), "a") else {
        return;
    };
    let Some(copy) = extract("vss_3_volstor", dir.path(), "b") else {
        return;
    };
    let parts = mmls(&disk);
    assert_eq!(parts.len(), 2);
    let (p1, p2) = (parts[0], parts[1]);
    let (stor, vol) = (volume(&disk, p1.0, p1.1), volume(&disk, p2.0, p2.1));
    // The storage partition has no stores of its own (vshadowinfo: 0).
    let own = ShadowVolume::open(stor.clone()).unwrap().unwrap();
    assert_eq!(
        own.stores().len(),
        vshadowinfo(&disk, p1.0 * 512).unwrap().len()
    );
    let alone = ShadowVolume::open(vol.clone()).unwrap().unwrap();
    check_stores(&alone, &vshadowinfo(&disk, p2.0 * 512).unwrap());
    let (type3, _) = catalog_entries(&disk, p1.0 * 512);
    cross_volume(&disk, p2.0 * 512, vol, stor, &copy, p1.0 * 512, &type3, 2);
}
