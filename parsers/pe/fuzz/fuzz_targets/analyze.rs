#![no_main]
//! Any bytes: analyze must return Ok or Err, never panic, loop or blow up.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(facts) = triage_pe::analyze(data, &triage_pe::Options { hashes: false }) {
        // Serialising walks every field, as the CLI's writers will.
        serde_json::to_vec(&facts).expect("facts always serialise");
    }
});
