//! Hand-built VSS volumes: forwarders and bitmaps checked against libvshadow
//! (`vshadowinfo`, `vshadowmount`), and hostile catalogs and block lists that must give
//! errors, never a panic or a hang.

mod common;

use std::sync::Arc;

use triage_source::{read_exact_at, read_lossy, ByteSource, Location, MemorySource, Source};
use triage_vss::ShadowVolume;

const B: usize = 0x4000;
const VSS_ID: [u8; 16] = [
    0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e, 0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52,
];
const VOL: usize = 4 << 20;

fn put64(v: &mut [u8], at: usize, x: u64) {
    v[at..at + 8].copy_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut [u8], at: usize, x: u32) {
    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
}

/// A 16 KiB block header: VSS id, version 1, `kind`, and the next block.
fn block_header(v: &mut [u8], at: usize, kind: u32, next: u64) {
    v[at..at + 16].copy_from_slice(&VSS_ID);
    put32(v, at + 16, 1);
    put32(v, at + 20, kind);
    put64(v, at + 32, at as u64);
    put64(v, at + 40, next);
}

/// One store's structures at `base` (block list, header, range list, bitmap, data).
struct StoreSpec {
    id: u8,
    base: usize,
    time: u64,
    descriptors: Vec<(u64, u64, u64, u32, u32)>,
    free_blocks: Vec<usize>,
}

/// A 4 MiB volume whose block `i` is filled with byte `i`, with the given stores.
fn build(stores: &[StoreSpec]) -> Vec<u8> {
    let mut v = vec![0u8; VOL];
    for (i, b) in v.chunks_mut(B).enumerate() {
        b.fill(i as u8);
    }
    // The VSS header sits inside block 0, as in $Boot.
    v[0..B].fill(0);
    let h = 0x1e00;
    v[h..h + 16].copy_from_slice(&VSS_ID);
    put32(&mut v, h + 16, 1);
    put32(&mut v, h + 20, 1);
    put64(&mut v, h + 24, 0x1e00);
    put64(&mut v, h + 48, 0x4000);
    // Catalog at 0x4000, one block.
    v[0x4000..0x8000].fill(0);
    block_header(&mut v, 0x4000, 2, 0);
    for (n, s) in stores.iter().enumerate() {
        let mut guid = [0u8; 16];
        guid[0] = s.id;
        guid[15] = 0xee;
        let e2 = 0x4000 + 128 * (1 + 2 * n);
        put64(&mut v, e2, 2);
        put64(&mut v, e2 + 8, VOL as u64);
        v[e2 + 16..e2 + 32].copy_from_slice(&guid);
        put64(&mut v, e2 + 32, n as u64 + 1);
        put64(&mut v, e2 + 40, 0x40);
        put64(&mut v, e2 + 48, s.time);
        let e3 = e2 + 128;
        let (list, hdr, range, bitmap) = (s.base, s.base + B, s.base + 2 * B, s.base + 3 * B);
        put64(&mut v, e3, 3);
        put64(&mut v, e3 + 8, list as u64);
        v[e3 + 16..e3 + 32].copy_from_slice(&guid);
        put64(&mut v, e3 + 32, hdr as u64);
        put64(&mut v, e3 + 40, range as u64);
        put64(&mut v, e3 + 48, bitmap as u64);
        for blk in [list, hdr, range, bitmap] {
            v[blk..blk + B].fill(0);
        }
        block_header(&mut v, list, 3, 0);
        for (k, &(o, r, st, f, bm)) in s.descriptors.iter().enumerate() {
            let at = list + 128 + 32 * k;
            put64(&mut v, at, o);
            put64(&mut v, at + 8, r);
            put64(&mut v, at + 16, st);
            put32(&mut v, at + 24, f);
            put32(&mut v, at + 28, bm);
        }
        block_header(&mut v, hdr, 4, 0);
        let mut copy = guid;
        copy[1] = 0xc0;
        v[hdr + 128 + 16..hdr + 128 + 32].copy_from_slice(&copy);
        copy[1] = 0x5e;
        v[hdr + 128 + 32..hdr + 128 + 48].copy_from_slice(&copy);
        put32(&mut v, hdr + 128 + 56, 0x0042_0009);
        block_header(&mut v, range, 5, 0);
        put64(&mut v, range + 128, s.base as u64);
        put64(&mut v, range + 128 + 16, 8 * B as u64);
        block_header(&mut v, bitmap, 6, 0);
        for &f in &s.free_blocks {
            v[bitmap + 128 + f / 8] |= 1 << (f % 8);
        }
    }
    v
}

fn source(v: Vec<u8>) -> Source {
    Arc::new(MemorySource::new(Location::new("synthetic"), v))
}

/// Two stores: the older copies block 0x40 and forwards block 0x48 to 0x50; the newer
/// copies block 0x40 again, forwards 0x60 to 0x68 and marks blocks 0x70-0x71 free.
fn two_stores() -> Vec<u8> {
    let blk = |i: u64| i * B as u64;
    build(&[
        StoreSpec {
            id: 1,
            base: 0x20 * B,
            time: 130_305_261_097_363_787,
            descriptors: vec![
                (blk(0x40), 0x4000, blk(0x24), 0, 0),
                (blk(0x48), blk(0x50), 0, 1, 0),
                // an overlay of the first 2 sectors of block 0x42
                (blk(0x42), 1, blk(0x25), 2, 0b11),
            ],
            free_blocks: vec![0x70],
        },
        StoreSpec {
            id: 2,
            base: 0x30 * B,
            time: 130_305_262_689_190_583,
            descriptors: vec![
                (blk(0x40), 0x4000, blk(0x34), 0, 0),
                (blk(0x60), blk(0x68), 0, 1, 0),
                (blk(0x44), 0x8000, blk(0x35), 4, 0), // not used
            ],
            free_blocks: vec![0x70, 0x71],
        },
    ])
}

#[test]
fn forwarders_overlays_and_bitmaps_match_libvshadow() {
    let img = two_stores();
    let sv = ShadowVolume::open(source(img.clone())).unwrap().unwrap();
    assert_eq!(sv.stores().len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.raw");
    std::fs::write(&path, &img).unwrap();
    let Some(oracle) = common::vshadowinfo(&path, 0) else {
        return;
    };
    assert_eq!(oracle.len(), 2);
    for (s, o) in sv.stores().iter().zip(&oracle) {
        assert_eq!((&s.store_id, &s.shadow_copy_id), (&o.id, &o.copy_id));
        assert_eq!(common::filetime_text(s.creation_time), o.created);
        assert_eq!(Some(s.attribute_flags), o.flags);
        assert_eq!(s.store_size, 8 * B as u64);
    }
    let Some(mnt) = common::Mount::new(&path, 0) else {
        return;
    };
    for i in 0..2 {
        common::assert_same(&*sv.snapshot(i).unwrap(), &*mnt.snapshot(i), 1, &[]);
    }
}

#[test]
fn reads_take_the_documented_paths() {
    // Without an oracle: the rules of the format document, byte by byte.
    let sv = ShadowVolume::open(source(two_stores())).unwrap().unwrap();
    let block = |s: &Source, i: usize| {
        let mut b = vec![0u8; B];
        read_exact_at(&**s, (i * B) as u64, &mut b).unwrap();
        b
    };
    let (old, new) = (sv.snapshot(0).unwrap(), sv.snapshot(1).unwrap());
    assert_eq!(block(&old, 0x40), vec![0x24; B], "older store's own copy");
    assert_eq!(block(&new, 0x40), vec![0x34; B], "newer store's copy");
    assert_eq!(
        block(&old, 0x48),
        vec![0x50; B],
        "forwarder to the live volume"
    );
    assert_eq!(block(&old, 0x60), vec![0x68; B], "newer store's forwarder");
    assert_eq!(
        block(&new, 0x44),
        vec![0x44; B],
        "not-used descriptor ignored"
    );
    assert_eq!(block(&new, 0x70), vec![0; B], "free in both bitmaps: zeros");
    assert_eq!(
        block(&new, 0x71),
        vec![0; B],
        "no previous bitmap: current decides"
    );
    assert_eq!(
        block(&old, 0x70),
        vec![0x70; B],
        "older snapshots read the volume"
    );
    let b42 = block(&old, 0x42);
    assert!(b42[..1024].iter().all(|&x| x == 0x25) && b42[1024..].iter().all(|&x| x == 0x42));
    assert_eq!(
        block(&new, 0x42),
        vec![0x42; B],
        "overlays apply to their store only"
    );
    // An unaligned read across blocks.
    let mut b = vec![0u8; B];
    read_exact_at(&*old, (0x40 * B + B / 2) as u64, &mut b).unwrap();
    assert!(b[..B / 2].iter().all(|&x| x == 0x24) && b[B / 2..].iter().all(|&x| x == 0x41));
    assert_eq!(old.len(), VOL as u64);
    assert!(old
        .location()
        .to_string()
        .contains("VSS 1 2013-12-03 06:35:09 UTC"));
}

#[test]
fn no_header_or_no_catalog_is_none() {
    assert!(ShadowVolume::open(source(vec![0u8; VOL]))
        .unwrap()
        .is_none());
    assert!(ShadowVolume::open(source(vec![0u8; 100]))
        .unwrap()
        .is_none());
    let mut v = two_stores();
    put64(&mut v, 0x1e00 + 48, 0);
    assert!(ShadowVolume::open(source(v)).unwrap().is_none());
}

#[test]
fn catalog_pointing_to_itself_is_an_error() {
    let mut v = two_stores();
    put64(&mut v, 0x4000 + 40, 0x4000);
    assert!(ShadowVolume::open(source(v)).is_err());
    let mut v = two_stores();
    put64(&mut v, 0x1e00 + 48, (VOL + B) as u64);
    assert!(
        ShadowVolume::open(source(v)).is_err(),
        "catalog past the end"
    );
}

#[test]
fn looping_block_list_is_an_error() {
    let mut v = two_stores();
    let list = 0x30 * B; // the newer store's block list
    put64(&mut v, list + 40, list as u64);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    assert!(sv.snapshot(1).is_err());
    assert!(
        sv.snapshot(0).is_err(),
        "the older snapshot needs the newer store"
    );
    // Two blocks pointing to each other.
    let mut v = two_stores();
    let other = 0x3c * B;
    v[other..other + B].fill(0);
    block_header(&mut v, other, 3, list as u64);
    put64(&mut v, list + 40, other as u64);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    assert!(sv.snapshot(1).is_err());
}

#[test]
fn forwarder_cycles_end() {
    let blk = |i: u64| i * B as u64;
    let v = build(&[
        StoreSpec {
            id: 1,
            base: 0x20 * B,
            time: 1,
            descriptors: vec![
                (blk(0x40), blk(0x41), 0, 1, 0),
                (blk(0x41), blk(0x40), 0, 1, 0),
                (blk(0x42), blk(0x42), 0, 1, 0),
            ],
            free_blocks: vec![],
        },
        StoreSpec {
            id: 2,
            base: 0x30 * B,
            time: 2,
            descriptors: vec![
                (blk(0x41), blk(0x40), 0, 1, 0),
                (blk(0x40), blk(0x41), 0, 1, 0),
            ],
            free_blocks: vec![],
        },
    ]);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    for i in 0..2 {
        let s = sv.snapshot(i).unwrap();
        let mut b = vec![0u8; 8 * B];
        assert!(read_lossy(&*s, (0x3e * B) as u64, &mut b).is_empty());
    }
}

#[test]
fn offsets_past_the_end_are_errors() {
    let big = (VOL as u64) * 16;
    // Store data past the end: a hole, reported at the snapshot's offset.
    let v = build(&[StoreSpec {
        id: 1,
        base: 0x20 * B,
        time: 1,
        descriptors: vec![
            (0x40 * B as u64, 0x4000, big, 0, 0),
            (0x41 * B as u64, u64::MAX - 10, 0, 1, 0),
        ],
        free_blocks: vec![],
    }]);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    let s = sv.snapshot(0).unwrap();
    let mut b = vec![0u8; 512];
    match s.read_at((0x40 * B) as u64, &mut b) {
        Err(e) => assert_eq!(e.offset(), Some((0x40 * B) as u64), "{e}"),
        Ok(n) => panic!("read {n} bytes past the end"),
    }
    assert!(s.read_at((0x41 * B) as u64, &mut b).is_err());
    // Good bytes before it come back short.
    let n = s.read_at((0x40 * B - 100) as u64, &mut b).unwrap();
    assert_eq!(n, 100);
    // Block list, header and bitmap past the end.
    let mut v = two_stores();
    let e3 = 0x4000 + 128 * 4; // the newer store's type-3 entry
    put64(&mut v, e3 + 8, big);
    put64(&mut v, e3 + 32, big);
    put64(&mut v, e3 + 40, u64::MAX);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    assert_eq!(sv.stores()[1].shadow_copy_id, "");
    assert!(sv.snapshot(1).is_err());
    let mut v = two_stores();
    put64(&mut v, e3 + 48, u64::MAX - 3);
    let sv = ShadowVolume::open(source(v)).unwrap().unwrap();
    assert!(sv.snapshot(1).is_err(), "bitmap past the end");
    assert!(
        sv.snapshot(0).is_ok(),
        "the older snapshot does not use the bitmap"
    );
    assert!(sv.snapshot(2).is_err());
}

#[test]
fn mutated_volumes_never_panic() {
    // A small deterministic mutation fuzz over the structures (the fuzz target does more).
    let base = two_stores();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let hot: Vec<usize> = [0x1e00usize, 0x4000, 0x20 * B, 0x30 * B, 0x23 * B, 0x33 * B]
        .iter()
        .flat_map(|&s| s..s + 512)
        .collect();
    for _ in 0..300 {
        let mut v = base.clone();
        for _ in 0..1 + next() % 8 {
            let at = hot[(next() % hot.len() as u64) as usize];
            v[at] = next() as u8;
        }
        let Ok(Some(sv)) = ShadowVolume::open(source(v)) else {
            continue;
        };
        for i in 0..sv.stores().len() {
            if let Ok(s) = sv.snapshot(i) {
                let mut b = vec![0u8; 0x80 * B];
                let _ = read_lossy(&*s, 0, &mut b);
            }
        }
    }
}

#[test]
fn snapshots_are_send_sync_and_read_in_parallel() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ShadowVolume>();
    let sv = Arc::new(ShadowVolume::open(source(two_stores())).unwrap().unwrap());
    let snap = sv.snapshot(0).unwrap();
    let mut whole = vec![0u8; VOL];
    read_exact_at(&*snap, 0, &mut whole).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (snap, whole) = (snap.clone(), &whole);
            s.spawn(move || {
                let mut b = vec![0u8; 3 * B + 7];
                for k in 0..50 {
                    let at = (t * 7919 + k * 104_729) % (VOL - b.len());
                    read_exact_at(&*snap, at as u64, &mut b).unwrap();
                    assert_eq!(&b[..], &whole[at..at + b.len()]);
                }
            });
        }
    });
}
