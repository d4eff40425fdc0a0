//! Hostile input: bombs, truncation, references before the start, bad Huffman codes,
//! bad chunk tables, and arbitrary bytes. Every case must be an error naming the
//! algorithm (or a bounded result), never a panic or an allocation past the limit.

mod common;

use triage_compress::wof::{wof_algorithm, ChunkedStream};
use triage_compress::{decompress, lznt1, xpress, xpress_huffman, Algorithm, DecompressError};
use triage_source::{Location, SourceError};

fn lznt1_bomb_chunk() -> Vec<u8> {
    // Header: compressed, 6 bytes stored; flags 0b10: a literal then a reference
    // 1 byte back of 4095 bytes (12 length bits while under 16 bytes are decoded).
    let mut c = vec![];
    c.extend_from_slice(&(0xB000u16 | (6 - 3)).to_le_bytes());
    c.extend_from_slice(&[0b10, b'a']);
    c.extend_from_slice(&0x0FFCu16.to_le_bytes());
    c
}

#[test]
fn lznt1_bomb_stops_at_the_limit() {
    let bomb: Vec<u8> = (0..1000).flat_map(|_| lznt1_bomb_chunk()).collect();
    assert_eq!(
        lznt1::decompress(&bomb[..6], 4096).unwrap(),
        vec![b'a'; 4096]
    );
    match lznt1::decompress(&bomb, 10_000) {
        Err(DecompressError::TooLarge {
            algorithm,
            offset,
            limit,
        }) => {
            assert_eq!((algorithm, limit), ("LZNT1", 10_000));
            assert_eq!(offset, 16, "the third chunk's reference is at 16");
        }
        other => panic!("{other:?}"),
    }
    // Exactly at a chunk boundary the stream is cut, as NTFS units are.
    assert_eq!(lznt1::decompress(&bomb, 8192).unwrap().len(), 8192);
}

#[test]
fn lznt1_corruption_names_the_offset() {
    // A reference as the first item of a chunk.
    let mut c = vec![];
    c.extend_from_slice(&(0xB000u16 | (5 - 3)).to_le_bytes());
    c.extend_from_slice(&[0b1, 0x00, 0x10]);
    match lznt1::decompress(&c, 4096) {
        Err(DecompressError::Corrupt {
            algorithm: "LZNT1",
            offset: 3,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // A reference further back than the chunk has decoded: 'a', then distance 2.
    let mut c = vec![];
    c.extend_from_slice(&(0xB000u16 | (6 - 3)).to_le_bytes());
    c.extend_from_slice(&[0b10, b'a', 0x00, 0x10]);
    assert!(matches!(
        lznt1::decompress(&c, 4096),
        Err(DecompressError::Corrupt { offset: 4, .. })
    ));
    // A chunk declaring more bytes than the input has.
    let mut c = vec![];
    c.extend_from_slice(&(0xB000u16 | 100).to_le_bytes());
    c.extend_from_slice(&[0, 1, 2, 3]);
    assert!(matches!(
        lznt1::decompress(&c, 4096),
        Err(DecompressError::Truncated {
            algorithm: "LZNT1",
            ..
        })
    ));
    // A stored (uncompressed) chunk and the end marker.
    let mut c = vec![];
    c.extend_from_slice(&(0x3000u16 | (5 + 2 - 3)).to_le_bytes());
    c.extend_from_slice(b"hello\0\0garbage");
    assert_eq!(lznt1::decompress(&c, 4096).unwrap(), b"hello");
}

#[test]
fn xpress_bomb_is_refused_without_allocating() {
    // Flags: literal, match, then literals that never come. The match: distance 1,
    // length field 7 -> half byte 15 -> byte 255 -> u16 0 -> u32 length.
    let mut s = vec![];
    s.extend_from_slice(&0x4000_0000u32.to_le_bytes());
    s.push(b'a');
    s.extend_from_slice(&0x0007u16.to_le_bytes());
    s.extend_from_slice(&[0x0F, 0xFF, 0x00, 0x00]);
    s.extend_from_slice(&u32::MAX.to_le_bytes());
    match xpress::decompress(&s, 1 << 20) {
        Err(DecompressError::TooLarge {
            algorithm: "XPRESS",
            offset: 5,
            limit,
        }) => {
            assert_eq!(limit, 1 << 20)
        }
        other => panic!("{other:?}"),
    }
    // Cut inside the length bytes.
    assert!(matches!(
        xpress::decompress(&s[..9], 1 << 20),
        Err(DecompressError::Truncated {
            algorithm: "XPRESS",
            offset: 9,
            ..
        })
    ));
    // A match before any output.
    let mut s = vec![];
    s.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    s.extend_from_slice(&0x0000u16.to_le_bytes());
    assert!(matches!(
        xpress::decompress(&s, 100),
        Err(DecompressError::Corrupt { offset: 4, .. })
    ));
}

/// An XPRESS Huffman block whose code has two 1-bit symbols: literal 'a' (0) and the
/// long-match symbol 256+15 (1, distance bits 0), followed by `bits` and `bytes`.
fn huffman_block(words: [u16; 2], bytes: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 256];
    t[97 / 2] |= 1 << 4; // 97 is odd: high nibble
    t[271 / 2] |= 1 << 4; // 271 is odd
    for w in words {
        t.extend_from_slice(&w.to_le_bytes());
    }
    t.extend_from_slice(bytes);
    t
}

#[test]
fn xpress_huffman_bomb_and_bad_codes() {
    // Bits 0 (literal 'a'), 1 (long match); length bytes 255, u16 0, u32 huge.
    let mut len = vec![0xFF, 0x00, 0x00];
    len.extend_from_slice(&u32::MAX.to_le_bytes());
    let s = huffman_block([0x4000, 0], &len);
    match xpress_huffman::decompress(&s, 1 << 20) {
        Err(DecompressError::TooLarge {
            algorithm: "XPRESS Huffman",
            limit,
            ..
        }) => {
            assert_eq!(limit, 1 << 20)
        }
        other => panic!("{other:?}"),
    }
    // The same with a u16 length of 300: a match of 303, 304 bytes of 'a' in all.
    let s = huffman_block([0x4000, 0], &[0xFF, 0x2C, 0x01, 0, 0, 0, 0]);
    assert_eq!(
        xpress_huffman::decompress(&s, 304).unwrap(),
        vec![b'a'; 304]
    );
    // A u16 length below 15 is corrupt.
    let s = huffman_block([0x4000, 0], &[0xFF, 0x05, 0x00]);
    assert!(matches!(
        xpress_huffman::decompress(&s, 301),
        Err(DecompressError::Corrupt { .. })
    ));
    // An empty code, an over-subscribed code and an incomplete code: corrupt at 0.
    for table in [vec![0u8; 256], vec![0x11u8; 256], {
        let mut t = vec![0u8; 256];
        t[0] = 0x21;
        t
    }] {
        let mut s = table;
        s.extend_from_slice(&[0; 8]);
        assert!(matches!(
            xpress_huffman::decompress(&s, 10),
            Err(DecompressError::Corrupt { offset: 0, .. })
        ));
    }
    // No table at all.
    assert!(matches!(
        xpress_huffman::decompress(&[0; 100], 10),
        Err(DecompressError::Truncated { .. })
    ));
    // Nothing to produce: empty output whatever the input.
    assert!(xpress_huffman::decompress(&[], 0).unwrap().is_empty());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut r = common::Rng::new(99);
    for round in 0..3000 {
        let len = (r.next() % 600) as usize;
        let mut input = r.bytes(len);
        // Make some inputs look like streams: plausible LZNT1 headers, Huffman tables
        // with few long codes.
        if round % 3 == 0 && input.len() >= 2 {
            input[1] = 0xB0 | (input[1] & 0x0F);
        }
        if round % 3 == 1 && input.len() > 256 {
            for b in &mut input[..256] {
                *b &= 0x33;
            }
        }
        let max_out = (r.next() % 70_000) as usize;
        for alg in [
            Algorithm::Lznt1,
            Algorithm::Xpress,
            Algorithm::XpressHuffman,
            Algorithm::Lzx,
        ] {
            match decompress(alg, &input, max_out) {
                Ok(out) => {
                    assert!(out.len() <= max_out);
                    if matches!(alg, Algorithm::XpressHuffman | Algorithm::Lzx) {
                        assert_eq!(out.len(), max_out);
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with(alg.name()), "{msg}");
                    assert!(e.offset().unwrap() as usize <= input.len(), "{msg}");
                }
            }
        }
    }
}

#[test]
fn wof_algorithms() {
    assert_eq!(wof_algorithm(0), Some((Algorithm::XpressHuffman, 4096)));
    assert_eq!(wof_algorithm(1), Some((Algorithm::Lzx, 32768)));
    assert_eq!(wof_algorithm(2), Some((Algorithm::XpressHuffman, 8192)));
    assert_eq!(wof_algorithm(3), Some((Algorithm::XpressHuffman, 16384)));
    assert_eq!(wof_algorithm(4), None);
}

fn table_reader(table: Vec<u8>) -> impl FnOnce(u64, usize) -> Result<Vec<u8>, DecompressError> {
    move |off, len| {
        assert_eq!(off, 0);
        Ok(table[..len.min(table.len())].to_vec())
    }
}

#[test]
fn chunk_tables() {
    // 3 chunks of 4 KiB (the last 1808 bytes): a table of 2 u32 offsets.
    let mut t = vec![];
    t.extend_from_slice(&100u32.to_le_bytes());
    t.extend_from_slice(&4196u32.to_le_bytes());
    let cs = ChunkedStream::parse(8 + 4196 + 50, 10_000, 4096, table_reader(t.clone())).unwrap();
    assert_eq!(cs.chunk_count(), 3);
    assert_eq!(cs.chunk_range(0), Some((8, 100, 4096)));
    assert_eq!(cs.chunk_range(1), Some((108, 4096, 4096)));
    assert_eq!(cs.chunk_range(2), Some((8 + 4196, 50, 10_000 - 8192)));
    assert_eq!(cs.chunk_range(3), None);
    assert_eq!(cs.chunk_range(u64::MAX), None);
    // Chunk 1 is stored raw: returned as is.
    let raw = common::Rng::new(1).bytes(4096);
    assert_eq!(cs.decode_chunk(Algorithm::Lzx, 1, &raw).unwrap(), raw);
    // A short read of a chunk is an error, as is a chunk that does not exist.
    assert!(matches!(
        cs.decode_chunk(Algorithm::Lzx, 1, &raw[..10]),
        Err(DecompressError::Truncated { .. })
    ));
    assert!(cs.decode_chunk(Algorithm::Lzx, 3, &[]).is_err());
    // A corrupt chunk's error offset is an offset in the stream (chunk 0 is at 8).
    let e = cs
        .decode_chunk(Algorithm::XpressHuffman, 0, &[0u8; 100])
        .unwrap_err();
    assert_eq!(e.offset(), Some(8), "{e}");

    // The table does not fit the stream.
    assert!(ChunkedStream::parse(7, 10_000, 4096, table_reader(t.clone())).is_err());
    // Offsets going backwards, or past the data.
    let mut bad = t.clone();
    bad[4..8].copy_from_slice(&50u32.to_le_bytes());
    match ChunkedStream::parse(8 + 4196 + 50, 10_000, 4096, table_reader(bad)) {
        Err(DecompressError::Corrupt { offset: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(ChunkedStream::parse(8 + 4000, 10_000, 4096, table_reader(t.clone())).is_err());
    // A reader returning less than asked, and a reader error passed through.
    assert!(
        ChunkedStream::parse(8 + 4196 + 50, 10_000, 4096, table_reader(t[..5].to_vec())).is_err()
    );
    let failing = |_, _| {
        Err(DecompressError::Source(SourceError::corrupt(
            &Location::new("test"),
            "reader",
            0,
            "boom",
        )))
    };
    assert!(ChunkedStream::parse(8 + 4196 + 50, 10_000, 4096, failing).is_err());
    // Bounded: a huge declared size with a small stream is refused before any read.
    assert!(ChunkedStream::parse(1000, 1 << 40, 4096, |_, _| unreachable!()).is_err());
    // Empty and one-chunk streams have no table.
    let cs = ChunkedStream::parse(0, 0, 4096, |_, _| unreachable!()).unwrap();
    assert_eq!(cs.chunk_count(), 0);
    let cs = ChunkedStream::parse(30, 4096, 4096, table_reader(vec![])).unwrap();
    assert_eq!(cs.chunk_range(0), Some((0, 30, 4096)));
    assert!(ChunkedStream::parse(30, 4096, 0, table_reader(vec![])).is_err());
}

#[test]
fn chunk_tables_of_streams_over_4_gib_use_u64_entries() {
    let size: u64 = 5 << 30;
    let chunk: u32 = 1 << 20;
    let n = size.div_ceil(u64::from(chunk));
    let table: Vec<u8> = (1..n).flat_map(|i| (i * 1000).to_le_bytes()).collect();
    let table_len = table.len() as u64;
    assert_eq!(table_len, (n - 1) * 8);
    let total = table_len + n * 1000;
    let cs = ChunkedStream::parse(total, size, chunk, table_reader(table)).unwrap();
    assert_eq!(cs.chunk_count(), n);
    assert_eq!(cs.chunk_range(0), Some((table_len, 1000, 1 << 20)));
    assert_eq!(
        cs.chunk_range(n - 1),
        Some((table_len + (n - 1) * 1000, 1000, 1 << 20))
    );
}

#[test]
fn types_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ChunkedStream>();
    send_sync::<DecompressError>();
    send_sync::<Algorithm>();
}
