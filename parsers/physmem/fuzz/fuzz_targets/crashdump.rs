#![no_main]
//! Fuzzed bytes are laid over a valid-looking header template so the run table, the
//! bitmap summary and the page data are all reached, not just the signature check.
use libfuzzer_sys::fuzz_target;
use triage_physmem::PhysicalMemory;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let bits64 = selector & 1 == 0;
    let header_len = if bits64 { 0x2000 } else { 0x1000 };
    let mut d = b"PAGE".repeat(header_len / 4);
    d[..8].copy_from_slice(if bits64 { b"PAGEDU64" } else { b"PAGEDUMP" });
    let dump_type_at = if bits64 { 0xF98 } else { 0xF88 };
    d[dump_type_at..dump_type_at + 4].copy_from_slice(&1u32.to_le_bytes());
    // The first 0x100 fuzz bytes become the run descriptor.
    let runs_at = if bits64 { 0x88 } else { 0x64 };
    let (runs, rest) = rest.split_at(rest.len().min(0x100));
    d[runs_at..runs_at + runs.len()].copy_from_slice(runs);
    if selector & 2 != 0 {
        // A bitmap dump: summary header and bitmap from the fuzz bytes.
        d.extend_from_slice(b"SDMPDUMP");
    }
    d.extend_from_slice(rest);
    if let Ok(m) = triage_physmem::parse_crashdump(d) {
        let mut buf = [0u8; 64];
        for r in m.ranges().iter().take(16) {
            let _ = m.read(r.start, &mut buf);
            let _ = m.read(r.end.saturating_sub(8), &mut buf);
            let _ = m.page(r.start);
        }
        let _ = m.read(u64::MAX - 10, &mut buf);
    }
});
