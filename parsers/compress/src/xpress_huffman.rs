//! LZXPRESS Huffman ([MS-XCA] 2.1/2.2): WOF XPRESS4K/8K/16K, WIM "XPRESS", prefetch MAM.
//!
//! The stream is blocks of 64 KiB of output (a match may run past a block's end; the
//! next block then starts where it stopped). Each block starts with 256 bytes holding
//! 512 4-bit code lengths (symbols 0-255 are literals, 256-511 matches), then a bit
//! stream of little-endian 16-bit words read MSB first. The decoder keeps 16 to 31 bits
//! loaded exactly as [MS-XCA]'s pseudo-code does, because the extra length bytes of long
//! matches are taken from the byte stream at the position after the last loaded word.

use crate::huffman::Decoder;
use crate::util::{copy_match, reserve_for};
use crate::DecompressError;

const ALG: &str = "XPRESS Huffman";
const BLOCK: usize = 65536;
const TABLE_BITS: u32 = 11;
const MAX_LEN: u32 = 15;
/// Bytes of zeros the bit reader may load past the end of the input: [MS-XCA]'s
/// decoder keeps up to two words it never consumes.
const MAX_OVERRUN: usize = 4;

/// Decompress `input` into exactly `max_out` bytes (the declared uncompressed size).
///
/// The format has no reliable end marker (symbol 256 is also "match of 3 at distance
/// 1"), so decoding stops when `max_out` bytes are written; an input that ends first is
/// [`DecompressError::Truncated`], a match running past `max_out` is
/// [`DecompressError::TooLarge`].
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::with_capacity(reserve_for(input.len(), max_out, 1 << 14));
    let mut decoder = Decoder::new(TABLE_BITS, MAX_LEN);
    let mut lens = [0u8; 512];
    let mut pos = 0usize;
    while out.len() < max_out {
        let table = input
            .get(pos..)
            .and_then(|rest| rest.get(..256))
            .ok_or_else(|| {
                DecompressError::truncated(
                    ALG,
                    pos.min(input.len()),
                    format!("no Huffman table for the block at output {:#x}", out.len()),
                )
            })?;
        for (i, &b) in table.iter().enumerate() {
            lens[2 * i] = b & 0x0F;
            lens[2 * i + 1] = b >> 4;
        }
        decoder
            .build(&lens, false)
            .map_err(|e| DecompressError::corrupt(ALG, pos, e.describe()))?;
        let block_end = out.len().saturating_add(BLOCK).min(max_out);
        pos = decode_block(input, pos + 256, &decoder, &mut out, block_end, max_out)?;
    }
    Ok(out)
}

/// [MS-XCA]'s bit reader: `bits` holds `16 + extra` valid bits, MSB-aligned.
struct Bits<'a> {
    data: &'a [u8],
    /// Where the next word or byte is read ("CurrentPosition"); may pass the end by
    /// up to [`MAX_OVERRUN`] while zeros are loaded.
    pos: usize,
    bits: u32,
    extra: i32,
}

impl Bits<'_> {
    #[inline(always)]
    fn word(&mut self) -> Result<u32, DecompressError> {
        let p = self.pos;
        self.pos += 2;
        match self.data.get(p..p + 2) {
            Some(&[a, b]) => Ok(u32::from(u16::from_le_bytes([a, b]))),
            _ => {
                if self.pos > self.data.len() + MAX_OVERRUN {
                    Err(DecompressError::truncated(
                        ALG,
                        self.data.len(),
                        "bit stream ends before the output is complete",
                    ))
                } else {
                    Ok(0)
                }
            }
        }
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) -> Result<(), DecompressError> {
        // n <= 15, and at least 16 bits are valid.
        self.bits <<= n;
        self.extra -= n as i32;
        if self.extra < 0 {
            let w = self.word()?;
            self.bits |= w << (-self.extra) as u32;
            self.extra += 16;
        }
        Ok(())
    }

    fn byte(&mut self) -> Result<u32, DecompressError> {
        let b = *self.data.get(self.pos).ok_or_else(|| {
            DecompressError::truncated(ALG, self.pos.min(self.data.len()), "match length byte")
        })?;
        self.pos += 1;
        Ok(u32::from(b))
    }

    fn bytes<const N: usize>(&mut self) -> Result<u32, DecompressError> {
        let p = self.pos;
        let s = self.data.get(p..p + N).ok_or_else(|| {
            DecompressError::truncated(ALG, p.min(self.data.len()), "match length bytes")
        })?;
        self.pos += N;
        Ok(s.iter().rev().fold(0u32, |v, &b| v << 8 | u32::from(b)))
    }
}

/// Decode one block's bit stream starting at `pos` until `out` reaches `block_end`
/// (or a match passes it). Returns the input position of the next block.
fn decode_block(
    data: &[u8],
    pos: usize,
    dec: &Decoder,
    out: &mut Vec<u8>,
    block_end: usize,
    max_out: usize,
) -> Result<usize, DecompressError> {
    let mut r = Bits {
        data,
        pos,
        bits: 0,
        extra: 16,
    };
    match decode_symbols(&mut r, dec, out, block_end, max_out) {
        Ok(()) => Ok(r.pos),
        // Garbage decoded from the zeros past the end: the input was cut short.
        Err(DecompressError::Corrupt { .. }) if r.pos > data.len() => {
            Err(DecompressError::truncated(
                ALG,
                data.len(),
                "bit stream ends before the output is complete",
            ))
        }
        Err(e) => Err(e),
    }
}

fn decode_symbols(
    r: &mut Bits,
    dec: &Decoder,
    out: &mut Vec<u8>,
    block_end: usize,
    max_out: usize,
) -> Result<(), DecompressError> {
    let data = r.data;
    r.bits = r.word()? << 16;
    r.bits |= r.word()?;
    while out.len() < block_end {
        let sym_at = r.pos;
        let (sym, len) = dec
            .decode(r.bits >> (32 - MAX_LEN))
            .ok_or_else(|| DecompressError::corrupt(ALG, sym_at, "bits match no code"))?;
        r.consume(len)?;
        if sym < 256 {
            out.push(sym as u8);
            continue;
        }
        let sym = sym - 256;
        let mut length = sym & 15;
        let dist_bits = sym >> 4;
        if length == 15 {
            length = r.byte()?;
            if length == 255 {
                length = r.bytes::<2>()?;
                if length == 0 {
                    length = r.bytes::<4>()?;
                }
                length = length.checked_sub(15).ok_or_else(|| {
                    DecompressError::corrupt(ALG, r.pos, "long match length below 15")
                })?;
            }
            length = length.saturating_add(15);
        }
        let length = (length as usize).saturating_add(3);
        let dist = if dist_bits == 0 {
            1
        } else {
            let d = (r.bits >> (32 - dist_bits)) + (1 << dist_bits);
            r.consume(dist_bits)?;
            d as usize
        };
        if dist > out.len() {
            return Err(DecompressError::corrupt(
                ALG,
                r.pos.min(data.len()),
                format!(
                    "match {dist} bytes back at output {:#x} reaches before the start",
                    out.len()
                ),
            ));
        }
        if length > max_out - out.len() {
            return Err(DecompressError::too_large(
                ALG,
                r.pos.min(data.len()),
                max_out,
            ));
        }
        copy_match(out, dist, length);
    }
    Ok(())
}
