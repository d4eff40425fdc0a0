//! The chunked layout of a `WofCompressedData` stream, which is also the layout of a
//! non-solid WIM resource: a table of `n - 1` chunk offsets (the first chunk starts at
//! 0), relative to the end of the table, then the `n` chunks. Entries are u32 when the
//! uncompressed size fits in a u32, else u64. A chunk whose stored length equals its
//! uncompressed length is stored raw.
//!
//! Only the table is held in memory; chunks are read by the caller (the stream lives
//! in an NTFS attribute or a WIM file, read piecewise) and handed to
//! [`ChunkedStream::decode_chunk`].

use crate::{decompress, Algorithm, DecompressError};

const LAYER: &str = "WOF chunk table";

/// Chunk sizes above this are not produced by WOF or WIM (WIM LZX allows 2 MiB, LZMS
/// more, but LZMS is not supported here); the bound keeps one chunk's output small.
pub const MAX_CHUNK_SIZE: u32 = 1 << 26;

/// A parsed chunk table. `Send + Sync`; decoding a chunk only reads it.
#[derive(Debug, Clone)]
pub struct ChunkedStream {
    uncompressed_size: u64,
    chunk_size: u32,
    /// Where the chunks begin (the table's length).
    data_start: u64,
    /// `n + 1` chunk boundaries, relative to `data_start`, non-decreasing; the last is
    /// the end of the stream.
    bounds: Vec<u64>,
}

impl ChunkedStream {
    /// Parse the chunk table of a stream of `table_and_data_len` bytes that decodes to
    /// `uncompressed_size` bytes in chunks of `chunk_size`. `read_table(offset, len)`
    /// returns `len` bytes of the stream at `offset` (the table is at offset 0); it is
    /// called once, with a length bounded by `table_and_data_len`.
    pub fn parse(
        table_and_data_len: u64,
        uncompressed_size: u64,
        chunk_size: u32,
        read_table: impl FnOnce(u64, usize) -> Result<Vec<u8>, DecompressError>,
    ) -> Result<Self, DecompressError> {
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(DecompressError::corrupt(
                LAYER,
                0,
                format!("chunk size {chunk_size} is not supported"),
            ));
        }
        let n = uncompressed_size.div_ceil(u64::from(chunk_size));
        if n == 0 {
            return Ok(ChunkedStream {
                uncompressed_size,
                chunk_size,
                data_start: 0,
                bounds: vec![0],
            });
        }
        let entry: u64 = if uncompressed_size > u64::from(u32::MAX) {
            8
        } else {
            4
        };
        let table_len = (n - 1)
            .checked_mul(entry)
            .filter(|&t| t <= table_and_data_len)
            .ok_or_else(|| {
                DecompressError::corrupt(
                    LAYER,
                    0,
                    format!(
                        "{n} chunks need a table larger than the {table_and_data_len}-byte stream"
                    ),
                )
            })?;
        let table_len_usize = usize::try_from(table_len)
            .map_err(|_| DecompressError::corrupt(LAYER, 0, "chunk table too large"))?;
        let table = read_table(0, table_len_usize)?;
        if table.len() != table_len_usize {
            return Err(DecompressError::truncated(
                LAYER,
                table.len(),
                format!("read {} of {table_len} table bytes", table.len()),
            ));
        }
        let data_len = table_and_data_len - table_len;
        let mut bounds = Vec::with_capacity(table_len_usize / entry as usize + 2);
        bounds.push(0u64);
        let mut prev = 0u64;
        for (k, e) in table.chunks_exact(entry as usize).enumerate() {
            let off = e.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b));
            if off < prev || off > data_len {
                return Err(DecompressError::corrupt(
                    LAYER,
                    k * entry as usize,
                    format!(
                        "chunk {} starts at {off:#x}, before chunk {k} ({prev:#x}) or past the \
                         {data_len}-byte data",
                        k + 1
                    ),
                ));
            }
            bounds.push(off);
            prev = off;
        }
        bounds.push(data_len);
        Ok(ChunkedStream {
            uncompressed_size,
            chunk_size,
            data_start: table_len,
            bounds,
        })
    }

    /// How many chunks the stream has.
    pub fn chunk_count(&self) -> u64 {
        (self.bounds.len() - 1) as u64
    }

    /// The uncompressed size of the whole stream.
    pub fn uncompressed_size(&self) -> u64 {
        self.uncompressed_size
    }

    /// The uncompressed size of every chunk but the last.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Where the chunk data begins in the stream (the length of the table).
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// Chunk `i`: (offset in the stream, stored length, uncompressed length).
    pub fn chunk_range(&self, i: u64) -> Option<(u64, u64, usize)> {
        let i_us = usize::try_from(i).ok()?;
        let start = *self.bounds.get(i_us)?;
        let end = *self.bounds.get(i_us.checked_add(1)?)?;
        let first = i.checked_mul(u64::from(self.chunk_size))?;
        let ulen = (self.uncompressed_size - first).min(u64::from(self.chunk_size));
        Some((self.data_start + start, end - start, ulen as usize))
    }

    /// Decode chunk `i` from its `stored` bytes (exactly the stored length of
    /// [`chunk_range`](Self::chunk_range)). Error offsets are offsets in the stream.
    pub fn decode_chunk(
        &self,
        alg: Algorithm,
        i: u64,
        stored: &[u8],
    ) -> Result<Vec<u8>, DecompressError> {
        let (off, slen, ulen) = self.chunk_range(i).ok_or_else(|| {
            DecompressError::corrupt(
                LAYER,
                0,
                format!("chunk {i} of {} does not exist", self.chunk_count()),
            )
        })?;
        if stored.len() as u64 != slen {
            return Err(DecompressError::truncated(
                alg.name(),
                (off as usize).saturating_add(stored.len()),
                format!("chunk {i}: got {} of {slen} stored bytes", stored.len()),
            ));
        }
        if stored.len() == ulen {
            return Ok(stored.to_vec());
        }
        if stored.len() > ulen {
            return Err(DecompressError::corrupt(
                alg.name(),
                off as usize,
                format!("chunk {i}: {slen} stored bytes for {ulen} uncompressed"),
            ));
        }
        let r = match alg {
            // The last, shorter chunk still uses the whole chunk's LZX alphabet.
            Algorithm::Lzx => crate::lzx::decompress_window(stored, ulen, self.chunk_size as usize),
            _ => decompress(alg, stored, ulen),
        };
        let out = r.map_err(|e| shift(e, off))?;
        if out.len() != ulen {
            return Err(DecompressError::corrupt(
                alg.name(),
                off as usize,
                format!("chunk {i} decoded to {} of {ulen} bytes", out.len()),
            ));
        }
        Ok(out)
    }
}

/// Move a chunk-relative error offset to a stream offset.
fn shift(e: DecompressError, base: u64) -> DecompressError {
    let b = usize::try_from(base).unwrap_or(usize::MAX);
    match e {
        DecompressError::Corrupt {
            algorithm,
            offset,
            what,
        } => DecompressError::Corrupt {
            algorithm,
            offset: offset.saturating_add(b),
            what,
        },
        DecompressError::Truncated {
            algorithm,
            offset,
            what,
        } => DecompressError::Truncated {
            algorithm,
            offset: offset.saturating_add(b),
            what,
        },
        DecompressError::TooLarge {
            algorithm,
            offset,
            limit,
        } => DecompressError::TooLarge {
            algorithm,
            offset: offset.saturating_add(b),
            limit,
        },
        other => other,
    }
}

/// WOF algorithm numbers (reparse data / `WOF_FILE_PROVIDER`): 0 XPRESS4K, 1 LZX (32 KiB),
/// 2 XPRESS8K, 3 XPRESS16K, as (algorithm, chunk size). XPRESS here is XPRESS Huffman.
pub fn wof_algorithm(code: u32) -> Option<(Algorithm, u32)> {
    match code {
        0 => Some((Algorithm::XpressHuffman, 4096)),
        1 => Some((Algorithm::Lzx, 32768)),
        2 => Some((Algorithm::XpressHuffman, 8192)),
        3 => Some((Algorithm::XpressHuffman, 16384)),
        _ => None,
    }
}
