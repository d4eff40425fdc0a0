//! Plain LZ77 LZXPRESS ([MS-XCA] 2.3/2.4), as hiberfil.sys stores its pages.
//!
//! 32-bit little-endian flag words, read from bit 31 down, each say whether the next
//! item is a literal byte (0) or a 16-bit match token (1): distance `token / 8 + 1`
//! (up to 8 KiB), length `token % 8 + 3`, where a length field of 7 continues in a
//! half byte (two matches share one byte), then a byte, then 16 or 32 bits.
//! The stream ends where the input does (compressors pad the last flags with ones).

use crate::util::{copy_match, reserve_for};
use crate::DecompressError;

const ALG: &str = "XPRESS";

/// Decompress `input` into at most `max_out` bytes; the result is as long as the stream
/// says (it may be shorter than `max_out`). Output past `max_out` is
/// [`DecompressError::TooLarge`].
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::with_capacity(reserve_for(input.len(), max_out, 64));
    let mut pos = 0usize;
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    let mut half_byte_at: Option<usize> = None;
    let truncated = |at: usize, what: &str| DecompressError::truncated(ALG, at, what.to_string());
    loop {
        if flag_count == 0 {
            if pos == input.len() {
                break;
            }
            let f = input
                .get(pos..pos + 4)
                .ok_or_else(|| truncated(pos, "flag word cut by the end of the input"))?;
            flags = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
            pos += 4;
            flag_count = 32;
        }
        flag_count -= 1;
        if flags & (1 << flag_count) == 0 {
            let Some(&b) = input.get(pos) else { break };
            if out.len() >= max_out {
                return Err(DecompressError::too_large(ALG, pos, max_out));
            }
            out.push(b);
            pos += 1;
            continue;
        }
        if pos == input.len() {
            break;
        }
        let token_at = pos;
        let t = input
            .get(pos..pos + 2)
            .ok_or_else(|| truncated(pos, "match token cut by the end of the input"))?;
        let token = usize::from(u16::from_le_bytes([t[0], t[1]]));
        pos += 2;
        let dist = token / 8 + 1;
        let mut len = token % 8;
        if len == 7 {
            len = match half_byte_at.take() {
                Some(at) => usize::from(input[at] >> 4),
                None => {
                    let b = *input
                        .get(pos)
                        .ok_or_else(|| truncated(pos, "match length"))?;
                    half_byte_at = Some(pos);
                    pos += 1;
                    usize::from(b & 0x0F)
                }
            };
            if len == 15 {
                let b = *input
                    .get(pos)
                    .ok_or_else(|| truncated(pos, "match length"))?;
                pos += 1;
                len = usize::from(b);
                if len == 255 {
                    let w = input
                        .get(pos..pos + 2)
                        .ok_or_else(|| truncated(pos, "match length"))?;
                    pos += 2;
                    len = usize::from(u16::from_le_bytes([w[0], w[1]]));
                    if len == 0 {
                        let d = input
                            .get(pos..pos + 4)
                            .ok_or_else(|| truncated(pos, "match length"))?;
                        pos += 4;
                        len = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize;
                    }
                    len = len.checked_sub(15 + 7).ok_or_else(|| {
                        DecompressError::corrupt(ALG, token_at, "long match length below 22")
                    })?;
                }
                len += 15;
            }
            len += 7;
        }
        let len = len.saturating_add(3);
        if dist > out.len() {
            return Err(DecompressError::corrupt(
                ALG,
                token_at,
                format!(
                    "match {dist} bytes back at output {:#x} reaches before the start",
                    out.len()
                ),
            ));
        }
        if len > max_out - out.len() {
            return Err(DecompressError::too_large(ALG, token_at, max_out));
        }
        copy_match(&mut out, dist, len);
    }
    Ok(out)
}
