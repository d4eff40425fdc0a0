#![no_main]
//! Any bytes: parse must return Ok or Err, never panic, loop or blow up.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = triage_prefetch::is_prefetch(data);
    if let Ok(pf) = triage_prefetch::parse(data) {
        // Touch every field, as the CLI's writers will.
        let _ = format!("{pf:?}");
    }
});
