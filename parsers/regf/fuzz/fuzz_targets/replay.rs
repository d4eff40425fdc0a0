#![no_main]
//! Input = primary hive + log, split at a position taken from the first two bytes.
use libfuzzer_sys::fuzz_target;
use triage_regf::{replay, Hive};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (u16::from_le_bytes([data[0], data[1]]) as usize * 16).min(data.len() - 2);
    let (primary, log) = data[2..].split_at(split);
    if let Ok((image, _)) = replay(primary, &[("LOG1", log), ("LOG2", log)]) {
        if let Ok(h) = Hive::from_bytes(&image) {
            let _ = h.walk();
        }
    }
});
