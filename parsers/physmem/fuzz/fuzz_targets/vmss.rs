#![no_main]
use libfuzzer_sys::fuzz_target;
use triage_physmem::PhysicalMemory;

fuzz_target!(|data: &[u8]| {
    if let Ok(regions) = triage_physmem::parse_vmss_regions(data) {
        if let Ok(m) = triage_physmem::vmem_with_regions(vec![0u8; 0x4000], &regions) {
            let mut buf = [0u8; 16];
            let _ = m.read(0, &mut buf);
        }
    }
});
