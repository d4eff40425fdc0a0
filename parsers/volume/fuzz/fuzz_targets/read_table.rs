#![no_main]
//! Any bytes as a disk: the partition table reader and the file-system identifier must
//! return, never panic, loop on an EBR chain or allocate by what the input claims.

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_source::{Location, MemorySource, Source};

fuzz_target!(|data: &[u8]| {
    let disk: Source = Arc::new(MemorySource::new(Location::new("fuzz"), data.to_vec()));
    if let Ok(t) = triage_volume::read_table(&*disk) {
        for p in &t.partitions {
            let _ = triage_volume::identify(&*disk, p.offset);
        }
    }
    let _ = triage_volume::identify(&*disk, 0);
});
