//! LZNT1, the compression of NTFS compressed files (`COMPRESSION_FORMAT_LZNT1`).
//!
//! A stream is a run of chunks, each decoding to at most 4 KiB. A chunk starts with a
//! u16 header: bits 0-11 are the chunk's stored size minus 3 (header included), bit 15
//! says it is compressed. An all-zero header (or the end of the input) ends the stream.
//! A stored chunk holds `size - 2` raw bytes. A compressed chunk is groups of a flag
//! byte and eight items (bit 0 first): a literal byte (flag 0) or a u16 back-reference
//! (flag 1) whose split between offset and length bits depends on how much of the chunk
//! has been decoded. References never reach before the chunk's start. A compressed chunk
//! that decodes to less than 4 KiB is padded with zeros when another chunk follows (as
//! ntfs-3g and Windows do), so chunk `k` always starts at output offset `k * 4096`.
//!
//! For NTFS: a compression unit (16 clusters) with all 16 clusters allocated is stored
//! raw; one with fewer allocated clusters (the file's last unit too: ntfs-3g and
//! Windows compress it whenever that saves a cluster of the 16) holds LZNT1 data in
//! those clusters. Call `decompress(&clusters, unit_bytes)` and zero-fill the result to
//! the unit size; a unit with no clusters allocated is zeros.

use crate::util::{copy_match, reserve_for};
use crate::DecompressError;

const ALG: &str = "LZNT1";
const CHUNK: usize = 4096;

/// Decompress `input` into at most `max_out` bytes.
///
/// Decoding stops at an all-zero chunk header, at the end of the input, or when the
/// output has reached `max_out` exactly at a chunk boundary (an NTFS compression unit
/// is followed by slack). The result may be shorter than `max_out`: for NTFS the rest of
/// the compression unit is zeros. A chunk that would write past `max_out` is
/// [`DecompressError::TooLarge`].
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::with_capacity(reserve_for(input.len(), max_out, 1400));
    let mut pos = 0usize;
    while input.len() - pos >= 2 && out.len() < max_out {
        let header = u16::from_le_bytes([input[pos], input[pos + 1]]);
        if header == 0 {
            break;
        }
        // Chunks after the first begin on a 4 KiB boundary of the output.
        let aligned = out.len().div_ceil(CHUNK) * CHUNK;
        if aligned > max_out {
            return Err(DecompressError::too_large(ALG, pos, max_out));
        }
        out.resize(aligned, 0);
        let size = usize::from(header & 0x0FFF) + 3;
        let body = input.get(pos + 2..pos + size).ok_or_else(|| {
            DecompressError::truncated(
                ALG,
                input.len(),
                format!(
                    "chunk at {pos:#x} declares {size} bytes, {} left",
                    input.len() - pos
                ),
            )
        })?;
        if header & 0x8000 == 0 {
            if out.len() + body.len() > max_out {
                return Err(DecompressError::too_large(ALG, pos, max_out));
            }
            out.extend_from_slice(body);
        } else {
            decode_chunk(body, pos + 2, &mut out, max_out)?;
        }
        pos += size;
    }
    Ok(out)
}

/// Decode one compressed chunk `body` (whose first byte is at input offset `base`),
/// appending to `out`.
fn decode_chunk(
    body: &[u8],
    base: usize,
    out: &mut Vec<u8>,
    max_out: usize,
) -> Result<(), DecompressError> {
    let chunk_start = out.len();
    let chunk_end = (chunk_start + CHUNK).min(max_out);
    let mut i = 0usize;
    // Offset/length split: 12 length bits while fewer than 16 bytes are decoded, one
    // fewer for each doubling after that.
    let mut len_mask: usize = 0x0FFF;
    let mut off_shift: u32 = 12;
    let mut split_limit: usize = 16;
    while i < body.len() {
        let flags = body[i];
        i += 1;
        for bit in 0..8 {
            if i >= body.len() {
                break;
            }
            let done = out.len() - chunk_start;
            if flags & (1 << bit) == 0 {
                if out.len() >= chunk_end {
                    return Err(overflow(base + i, done, max_out, chunk_start));
                }
                out.push(body[i]);
                i += 1;
                continue;
            }
            let (Some(&lo), Some(&hi)) = (body.get(i), body.get(i + 1)) else {
                return Err(DecompressError::truncated(
                    ALG,
                    base + i,
                    "back-reference cut by the end of the chunk",
                ));
            };
            if done == 0 {
                return Err(DecompressError::corrupt(
                    ALG,
                    base + i,
                    "back-reference before any output in the chunk",
                ));
            }
            while done > split_limit {
                split_limit <<= 1;
                len_mask >>= 1;
                off_shift -= 1;
            }
            let token = usize::from(u16::from_le_bytes([lo, hi]));
            let dist = (token >> off_shift) + 1;
            let len = (token & len_mask) + 3;
            if dist > done {
                return Err(DecompressError::corrupt(
                    ALG,
                    base + i,
                    format!("back-reference {dist} bytes back with {done} decoded in the chunk"),
                ));
            }
            if out.len() + len > chunk_end {
                return Err(overflow(base + i, done, max_out, chunk_start));
            }
            copy_match(out, dist, len);
            i += 2;
        }
    }
    Ok(())
}

fn overflow(offset: usize, done: usize, max_out: usize, chunk_start: usize) -> DecompressError {
    if chunk_start + CHUNK > max_out {
        DecompressError::too_large(ALG, offset, max_out)
    } else {
        DecompressError::corrupt(
            ALG,
            offset,
            format!("chunk decodes past 4096 bytes ({done} so far)"),
        )
    }
}
