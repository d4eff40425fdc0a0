//! Arbitrary bytes through a `MemorySource` into `scan`: it must never panic, and what it
//! reports must stay within the input (records fit in the chunks there are).
#![no_main]

use libfuzzer_sys::fuzz_target;
use triage_evtx::{scan, EvtxFile, CHUNK_SIZE, FILE_HEADER_SIZE, MAX_CHUNK_ERRORS};
use triage_source::{ByteSource, Location, MemorySource};

fuzz_target!(|data: &[u8]| {
    // Most inputs would stop at the signature; give every input a header so the fuzzer
    // spends its time in the chunks.
    let mut bytes = b"ElfFile\0".to_vec();
    bytes.extend_from_slice(data);
    let src = MemorySource::new(Location::new("fuzz.evtx"), bytes);
    let src: &dyn ByteSource = &src;
    let Ok(file) = EvtxFile::from_source(src, 1 << 28) else {
        return;
    };
    let s = scan(&file);
    // A record takes at least its 24-byte header and size copy; a cut-off last chunk is
    // read too.
    let chunks = file
        .bytes()
        .len()
        .saturating_sub(FILE_HEADER_SIZE)
        .div_ceil(CHUNK_SIZE);
    assert!(s.records <= (chunks * CHUNK_SIZE / 28) as u64);
    // Per chunk: its records' errors, the "more" line and a truncation note; plus the header.
    assert!(s.errors.len() <= chunks * (MAX_CHUNK_ERRORS + 2) + 1);
});
