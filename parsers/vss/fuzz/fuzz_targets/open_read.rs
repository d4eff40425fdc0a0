//! Arbitrary bytes as an NTFS volume (and, split in two, as a volume plus a storage
//! volume): open the catalog, list the stores, read every snapshot.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_source::{read_lossy, Location, MemorySource, Source};
use triage_vss::ShadowVolume;

fn exercise(sv: &ShadowVolume) {
    for i in 0..sv.stores().len().min(8) {
        if let Ok(s) = sv.snapshot(i) {
            let mut b = vec![0u8; (s.len() as usize).min(1 << 20)];
            let _ = read_lossy(&*s, 0, &mut b);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let vol: Source = Arc::new(MemorySource::new(Location::new("fuzz"), data.to_vec()));
    if let Ok(Some(sv)) = ShadowVolume::open(vol.clone()) {
        exercise(&sv);
    }
    let half = data.len() / 2;
    let a: Source = Arc::new(MemorySource::new(Location::new("a"), data[..half].to_vec()));
    let b: Source = Arc::new(MemorySource::new(Location::new("b"), data[half..].to_vec()));
    if let Ok(Some(sv)) = ShadowVolume::open_with_storage(a, &[b, vol]) {
        exercise(&sv);
    }
});
