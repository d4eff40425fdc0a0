#![no_main]
//! Fuzzed bytes laid behind a valid x64 `PO_MEMORY_IMAGE` (build 19041 layout) whose
//! restore sets start at page 1, so the compression-set walk and the decoders are
//! reached, not just the signature check. The first byte picks the layout and whether
//! the fuzz bytes also overwrite the header fields.
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_physmem::PhysicalMemory;
use triage_source::{Location, MemorySource};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut d = vec![0u8; 0x1000];
    d[..4].copy_from_slice(b"HIBR");
    let x86 = selector & 1 != 0;
    if x86 {
        d[0xC..0x10].copy_from_slice(&0x340u32.to_le_bytes());
        d[0x14..0x18].copy_from_slice(&0x1000u32.to_le_bytes());
        d[0x48..0x50].copy_from_slice(&4u64.to_le_bytes());
        d[0x50..0x54].copy_from_slice(&1u32.to_le_bytes());
        d[0x54..0x58].copy_from_slice(&1u32.to_le_bytes());
        d[0x210..0x218].copy_from_slice(&64u64.to_le_bytes());
        d[0x310..0x314].copy_from_slice(&0xFFFFu32.to_le_bytes());
    } else {
        d[0xC..0x10].copy_from_slice(&0x3e0u32.to_le_bytes());
        d[0x18..0x1C].copy_from_slice(&0x1000u32.to_le_bytes());
        d[0x58..0x60].copy_from_slice(&4u64.to_le_bytes());
        d[0x68..0x70].copy_from_slice(&1u64.to_le_bytes());
        d[0x70..0x78].copy_from_slice(&1u64.to_le_bytes());
        d[0x230..0x238].copy_from_slice(&64u64.to_le_bytes());
        d[0x398..0x3A0].copy_from_slice(&0xFFFFu64.to_le_bytes());
    }
    if selector & 2 != 0 {
        // The fuzz bytes also replace the header after the signature.
        let n = rest.len().min(0x1000 - 4);
        d[4..4 + n].copy_from_slice(&rest[..n]);
    }
    d.extend_from_slice(rest);
    let src = Arc::new(MemorySource::new(Location::new("fuzz hiberfil.sys"), d));
    if let Ok(m) = triage_physmem::hiberfil::open_source(src) {
        let mut buf = vec![0u8; 0x11000];
        for r in m.ranges().iter().take(16) {
            let _ = m.read(r.start, &mut buf[..64]);
            let _ = m.read(r.start.saturating_sub(10), &mut buf);
            let _ = m.read(r.end.saturating_sub(8), &mut buf[..64]);
        }
        let _ = m.read(u64::MAX - 10, &mut buf[..64]);
        // The whole-memory pass (the pool scan's path), bounded to the first 64 MiB.
        let mut n = 0u64;
        let _ = m.for_each_page(0, 64 << 20, &mut |_, p| n += p.len() as u64);
        let _ = m.for_each_page(u64::MAX - 0x2000, u64::MAX, &mut |_, _| {});
        let _ = m.read_errors();
    }
});
