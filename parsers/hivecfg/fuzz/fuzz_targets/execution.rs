#![no_main]
//! Any bytes, twice: as a raw AppCompatCache value (every ShimCache layout is picked by its
//! header, so mutations reach each parser) and as a hive for the Amcache / ShimCache / BAM
//! readers. All must return facts + errors, never panic or loop. Seed with the shared Amcache
//! and SYSTEM hives, and with AppCompatCache values exported from them.
use libfuzzer_sys::fuzz_target;
use triage_regf::Hive;

fuzz_target!(|data: &[u8]| {
    let _ = triage_hivecfg::parse_appcompatcache(data, "fuzz", "ControlSet001");
    let Ok(hive) = Hive::from_bytes(data) else {
        return;
    };
    let _ = triage_hivecfg::hive_is_amcache(&hive);
    let _ = triage_hivecfg::amcache(&hive);
    let _ = triage_hivecfg::shimcache(&hive);
    let _ = triage_hivecfg::bam(&hive);
});
