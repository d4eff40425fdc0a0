//! Arbitrary bytes as an NTFS volume and as a bare `$MFT`: open, enumerate, look up,
//! read. Nothing may panic, hang or allocate without bound.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_ntfs::{Mft, Ntfs};
use triage_source::{ByteSource, Location, MemorySource, Source};

fuzz_target!(|data: &[u8]| {
    let src: Source = Arc::new(MemorySource::new(Location::new("fuzz"), data.to_vec()));
    if let Ok(ntfs) = Ntfs::open(src.clone()) {
        let _ = ntfs.for_each_entry(|_| {});
        let _ = ntfs.lookup(r"\Windows\System32\smss.exe");
        for n in 0..ntfs.info().record_count.min(64) {
            let _ = ntfs.entry(n);
            if let Ok(d) = ntfs.open_stream(n, "") {
                let mut buf = vec![0u8; 4096];
                let mut off = 0u64;
                while off < d.len().min(1 << 20) {
                    match d.read_at(off, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => off += k as u64,
                    }
                }
            }
        }
    }
    if let Ok(m) = Mft::from_source(src, 1024) {
        let _ = m.for_each_entry(|_| {});
    }
});
