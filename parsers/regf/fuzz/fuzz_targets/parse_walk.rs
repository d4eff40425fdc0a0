#![no_main]
//! Any bytes: parse, walk, look up, decode. Must never panic or loop.
use libfuzzer_sys::fuzz_target;
use triage_regf::Hive;

fuzz_target!(|data: &[u8]| {
    let Ok(hive) = Hive::from_bytes(data) else { return };
    let _ = hive.dirty_state();
    let _ = hive.walk();
    let _ = hive.open_key("ControlSet001\\Control\\Session Manager");
    if let Ok(root) = hive.root() {
        let _ = root.class_name();
        let _ = root.security_descriptor();
        for v in root.values().flatten() {
            let _ = v.data();
        }
    }
    for bin in hive.hbins().flatten() {
        for _ in bin.cells(&hive.cells()) {}
    }
});
