#![no_main]
//! Any bytes as a hive: every fact extractor must return (facts + errors), never panic
//! or loop. Seed the corpus with the real SYSTEM hive for useful coverage.
use libfuzzer_sys::fuzz_target;
use triage_regf::Hive;

fuzz_target!(|data: &[u8]| {
    let Ok(hive) = Hive::from_bytes(data) else { return };
    let _ = triage_hivecfg::hive_type(&hive);
    let _ = triage_hivecfg::system_config(&hive);
    let _ = triage_hivecfg::software_config(&hive);
    if let Ok(rows) = triage_hivecfg::dump(&hive, "", 8) {
        for _ in rows.take(10_000) {}
    }
});
