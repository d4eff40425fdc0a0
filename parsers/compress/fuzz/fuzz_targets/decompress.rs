#![no_main]
//! Any bytes: every decoder and the WOF chunk table must return Ok or Err, never panic,
//! loop, or write past the declared size. The first 4 bytes choose the algorithm and
//! the declared size; the rest is the stream, read through a `MemorySource` as the NTFS
//! reader reads a `WofCompressedData` stream.

use libfuzzer_sys::fuzz_target;
use triage_compress::wof::ChunkedStream;
use triage_compress::{decompress, Algorithm, DecompressError};
use triage_source::{read_exact_at, ByteSource, Location, MemorySource};

const ALGS: [Algorithm; 4] = [
    Algorithm::Lznt1,
    Algorithm::Xpress,
    Algorithm::XpressHuffman,
    Algorithm::Lzx,
];

fuzz_target!(|data: &[u8]| {
    let [sel, a, b, c, rest @ ..] = data else {
        return;
    };
    let alg = ALGS[usize::from(sel & 3)];
    let max_out = usize::from(u16::from_le_bytes([*a, *b])) << (c & 7);
    let src = MemorySource::new(Location::new("fuzz"), rest.to_vec());

    // The whole stream as one buffer.
    let mut buf = vec![0u8; src.len() as usize];
    read_exact_at(&src, 0, &mut buf).unwrap();
    match decompress(alg, &buf, max_out) {
        Ok(out) => {
            assert!(out.len() <= max_out);
            if matches!(alg, Algorithm::XpressHuffman | Algorithm::Lzx) {
                assert_eq!(out.len(), max_out);
            }
        }
        Err(e) => assert!(e.offset().is_some_and(|o| o <= buf.len() as u64)),
    }

    // The same bytes as a chunked WOF stream, read piecewise.
    let chunk_size = [4096u32, 8192, 16384, 32768][usize::from(sel >> 2 & 3)];
    let read = |off: u64, len: usize| -> Result<Vec<u8>, DecompressError> {
        let mut v = vec![0u8; len];
        read_exact_at(&src, off, &mut v)?;
        Ok(v)
    };
    let Ok(cs) = ChunkedStream::parse(src.len(), max_out as u64 * 3, chunk_size, read) else {
        return;
    };
    for i in 0..cs.chunk_count().min(16) {
        let (off, len, ulen) = cs.chunk_range(i).unwrap();
        let mut stored = vec![0u8; len as usize];
        read_exact_at(&src, off, &mut stored).unwrap();
        if let Ok(out) = cs.decode_chunk(alg, i, &stored) {
            assert_eq!(out.len(), ulen);
        }
    }
});
