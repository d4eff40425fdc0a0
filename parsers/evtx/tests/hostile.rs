//! Damaged logs: the broken chunk is reported with its offset and skipped, every other chunk
//! is still read. Expected record counts come from the chunk headers' record-number ranges
//! (read here, not by the `evtx` crate) and from `evtxexport` on the intact file.

use std::path::PathBuf;
use triage_evtx::{scan, EvtxFile, Scan, CHUNK_SIZE, FILE_HEADER_SIZE};
use triage_source::Location;

/// The plaso System log: 33 chunks, 5009 records.
fn sample() -> Option<(PathBuf, Vec<u8>)> {
    let path = triage_testkit::sample_dir("evtx")?.join("log2timeline__plaso__System.evtx");
    let bytes = std::fs::read(&path).expect("read sample");
    Some((path, bytes))
}

fn chunk_off(n: usize) -> usize {
    FILE_HEADER_SIZE + n * CHUNK_SIZE
}

/// Records in chunk `n` by its header: last minus first record number, plus one (none in
/// an unused, zeroed chunk).
fn chunk_records(bytes: &[u8], n: usize) -> u64 {
    let h = &bytes[chunk_off(n)..];
    if !h.starts_with(b"ElfChnk\0") {
        return 0;
    }
    let first = u64::from_le_bytes(h[8..16].try_into().unwrap());
    let last = u64::from_le_bytes(h[16..24].try_into().unwrap());
    last - first + 1
}

fn run(bytes: Vec<u8>) -> Scan {
    scan(&EvtxFile::from_bytes(Location::new("damaged.evtx"), bytes).expect("still EVTX"))
}

fn reported_at(s: &Scan, offset: usize) -> bool {
    s.errors.iter().any(|e| e.offset() == Some(offset as u64))
}

#[test]
fn chunk_records_add_up_on_the_intact_file() {
    let Some((_, bytes)) = sample() else { return };
    let chunks = (bytes.len() - FILE_HEADER_SIZE) / CHUNK_SIZE;
    let sum: u64 = (0..chunks).map(|n| chunk_records(&bytes, n)).sum();
    let s = run(bytes);
    assert_eq!(s.records, sum);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

#[test]
fn flipped_byte_breaks_one_chunk_checksum() {
    let Some((_, mut bytes)) = sample() else {
        return;
    };
    let clean = run(bytes.clone()).records;
    let n = 5;
    let lost = chunk_records(&bytes, n);
    bytes[chunk_off(n) + 4000] ^= 0x40;
    let s = run(bytes);
    assert!(reported_at(&s, chunk_off(n)), "{:?}", s.errors);
    assert_eq!(s.records, clean - lost);
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
}

#[test]
fn garbage_chunk_is_skipped() {
    let Some((_, mut bytes)) = sample() else {
        return;
    };
    let clean = run(bytes.clone()).records;
    let n = 17;
    let lost = chunk_records(&bytes, n);
    // A xorshift stream over the whole chunk, magic included.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in &mut bytes[chunk_off(n)..chunk_off(n + 1)] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let s = run(bytes);
    assert!(reported_at(&s, chunk_off(n)), "{:?}", s.errors);
    assert_eq!(s.records, clean - lost);
}

/// Garbage in a chunk's records behind valid checksums reaches the record parser itself:
/// whatever it makes of it, the other chunks are read and nothing panics.
#[test]
fn garbage_records_behind_valid_checksums() {
    let Some((_, mut bytes)) = sample() else {
        return;
    };
    let clean = run(bytes.clone()).records;
    let n = 3;
    let lost = chunk_records(&bytes, n);
    let start = chunk_off(n);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    // Keep the first records, overwrite the middle of the chunk's record area.
    for b in &mut bytes[start + 20_000..start + 40_000] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    fix_checksums(&mut bytes[start..start + CHUNK_SIZE]);
    let s = run(bytes);
    assert!(
        s.records >= clean - lost && s.records < clean,
        "{} of {clean}",
        s.records
    );
    let chunk_errors = s
        .errors
        .iter()
        .filter(|e| {
            e.offset()
                .is_some_and(|o| (start as u64..(start + CHUNK_SIZE) as u64).contains(&o))
        })
        .count();
    assert!(
        chunk_errors >= 1 && chunk_errors == s.errors.len(),
        "{:?}",
        s.errors
    );
}

/// A template whose definition instantiates itself: the records built on it are reported
/// (at their chunk's offset) and skipped, every other record is read.
#[test]
fn template_loop_is_reported() {
    let Some((_, mut bytes)) = sample() else {
        return;
    };
    let clean = run(bytes.clone()).records;
    let n = 2;
    let start = chunk_off(n);
    let chunk = &mut bytes[start..start + CHUNK_SIZE];
    // The first record (at 512) opens with a fragment header and a template instance:
    // 0x0c, 1, template id (u32), definition offset (u32). Its definition follows inline:
    // next (4), GUID (16), size (4), then the template's own fragment header (4).
    let token = 512 + 24 + 4;
    assert_eq!(chunk[token], 0x0c, "template instance token");
    let def = u32::from_le_bytes(chunk[token + 6..token + 10].try_into().unwrap()) as usize;
    let body = def + 24 + 4;
    let mut instance = vec![0x0c, 0x01];
    instance.extend_from_slice(&chunk[token + 2..token + 10]);
    chunk[body..body + 10].copy_from_slice(&instance);
    fix_checksums(chunk);
    let s = run(bytes);
    assert!(!s.errors.is_empty());
    assert!(
        s.errors.iter().all(|e| e.offset() == Some(start as u64)),
        "{:?}",
        s.errors
    );
    assert!(s.broken_records > 0 && s.errors.len() as u64 == s.broken_records.min(32));
    assert_eq!(s.records + s.broken_records, clean);
}

#[test]
fn truncated_file_keeps_the_whole_chunks() {
    let Some((_, bytes)) = sample() else { return };
    for keep in [12usize, 20] {
        let cut = chunk_off(keep) + 30_000;
        let want: u64 = (0..keep).map(|n| chunk_records(&bytes, n)).sum();
        let s = run(bytes[..cut].to_vec());
        // The cut chunk's records before the cut are read too, none after it.
        let cut_chunk = chunk_records(&bytes, keep);
        assert!(
            s.records > want && s.records < want + cut_chunk,
            "cut at {cut:#x}: {} records, {want} in whole chunks, {cut_chunk} in the cut one",
            s.records
        );
        assert!(reported_at(&s, chunk_off(keep)), "{:?}", s.errors);
    }
    // Inside the file header: still an EVTX file, with nothing in it.
    let s = run(bytes[..100].to_vec());
    assert_eq!(s.records, 0);
    assert!(!s.errors.is_empty());
}

/// Random damage anywhere must never panic (a cheap, deterministic stand-in for the fuzzer).
#[test]
fn random_damage_never_panics() {
    let Some((_, bytes)) = sample() else { return };
    let mut x: u64 = 0xdead_beef_cafe_f00d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..12 {
        let mut b = bytes.clone();
        for _ in 0..64 {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        let s = run(b);
        assert!(s.records <= 5009);
    }
}

/// Rewrites a chunk's record-data and header CRC32s so the damage gets past them.
fn fix_checksums(chunk: &mut [u8]) {
    let free = u32::from_le_bytes(chunk[48..52].try_into().unwrap()) as usize;
    let data_crc = crc32(&chunk[512..free]);
    chunk[52..56].copy_from_slice(&data_crc.to_le_bytes());
    let header_crc = crc32(&[&chunk[..120], &chunk[128..512]].concat());
    chunk[124..128].copy_from_slice(&header_crc.to_le_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
