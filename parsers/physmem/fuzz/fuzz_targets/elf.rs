#![no_main]
use libfuzzer_sys::fuzz_target;
use triage_physmem::PhysicalMemory;

fuzz_target!(|data: &[u8]| {
    let d = data.to_vec();
    if let Ok(m) = triage_physmem::parse_elf_core(d) {
        // Whatever was parsed must read without panicking, inside and outside its ranges.
        let mut buf = [0u8; 64];
        for r in m.ranges().iter().take(16) {
            let _ = m.read(r.start, &mut buf);
            let _ = m.read(r.end.saturating_sub(8), &mut buf);
            let _ = m.page(r.start);
        }
        let _ = m.read(u64::MAX - 10, &mut buf);
    }
});
