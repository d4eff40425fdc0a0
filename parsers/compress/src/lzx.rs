//! LZX as WIM and WOF store it: each chunk is compressed on its own (window = chunk
//! size, at least 32 KiB; no state carried between chunks), the block size field is one
//! "default 32 KiB" bit or 16 bits (24 when the window is 64 KiB or more), and E8 call
//! translation is always undone with the WIM file size 12 000 000.
//!
//! The bit stream is little-endian 16-bit words read MSB first. Blocks are verbatim,
//! aligned-offset or uncompressed; code lengths are delta-coded against the previous
//! block's through a 20-symbol pre-code. As in wimlib, a match may not run past the end
//! of its block.
//!
//! An uncompressed block's header is followed by 1 to 16 bits of padding up to a 16-bit
//! boundary, counted from the bits actually consumed (as the LZX documents say).
//! wimlib and libmspack instead drop whatever their bit buffer holds, which is the same
//! whenever it holds at most 16 bits. wimlib never writes uncompressed blocks, so the
//! unit tests below, not the wimlib oracle, cover them.

use crate::huffman::Decoder;
use crate::util::copy_match;
use crate::DecompressError;

const ALG: &str = "LZX";
const NUM_CHARS: usize = 256;
const MIN_MATCH: usize = 2;
const NUM_PRIMARY_LENS: u32 = 7;
const LEN_SYMS: usize = 249;
const PRE_SYMS: usize = 20;
const ALIGNED_SYMS: usize = 8;
const MAX_MAIN_SYMS: usize = NUM_CHARS + 50 * 8;
const DEFAULT_BLOCK: usize = 32768;
const E8_FILE_SIZE: i32 = 12_000_000;
/// Smallest and largest windows (2^15 and 2^21, as WIM allows).
const MIN_ORDER: u32 = 15;
const MAX_ORDER: u32 = 21;
/// Zero words the reader may load past the end: it keeps up to 64 bits buffered.
const MAX_OVERRUN_WORDS: usize = 4;

const SLOT_BASE: [u32; 50] = [
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536,
    2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072, 196608,
    262144, 393216, 524288, 655360, 786432, 917504, 1048576, 1179648, 1310720, 1441792, 1572864,
    1703936, 1835008, 1966080,
];
const EXTRA_BITS: [u8; 50] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13, 14, 14, 15, 15, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
];

/// Decompress one WIM/WOF LZX chunk into exactly `out_len` bytes, with the window a
/// chunk of `out_len` bytes implies (32 KiB, or the next power of two above). Right for
/// WOF (32 KiB chunks) and WIM's default 32 KiB chunks; for other WIM chunk sizes use
/// [`decompress_window`] with the resource's chunk size, since the last, shorter
/// chunk still uses the full window's alphabet.
pub fn decompress_wim(input: &[u8], out_len: usize) -> Result<Vec<u8>, DecompressError> {
    decompress_window(input, out_len, out_len)
}

/// Decompress one LZX chunk into exactly `out_len` bytes, for a window (chunk size) of
/// `window` bytes (rounded up to a power of two, 32 KiB to 2 MiB).
pub fn decompress_window(
    input: &[u8],
    out_len: usize,
    window: usize,
) -> Result<Vec<u8>, DecompressError> {
    let order = window_order(window.max(out_len)).ok_or_else(|| {
        DecompressError::corrupt(
            ALG,
            0,
            format!("window of {} bytes is over 2 MiB", window.max(out_len)),
        )
    })?;
    let mut out = Vec::with_capacity(out_len);
    let mut st = State::new(order);
    st.run(input, &mut out, out_len)?;
    undo_e8(&mut out);
    Ok(out)
}

fn window_order(size: usize) -> Option<u32> {
    let order = size
        .max(1)
        .next_power_of_two()
        .trailing_zeros()
        .max(MIN_ORDER);
    (order <= MAX_ORDER).then_some(order)
}

/// How many main-code symbols a window has: 256 literals plus 8 per offset slot, with
/// enough slots for the largest offset (one fewer than a naive count: see wimlib's
/// `lzx_get_num_main_syms`, which WIMGAPI agrees with).
fn num_main_syms(order: u32) -> usize {
    let max_adjusted = (1u32 << order) - MIN_MATCH as u32 - 1 + 2;
    let mut slots = 30;
    while slots < 50 && max_adjusted >= SLOT_BASE[slots] {
        slots += 1;
    }
    NUM_CHARS + slots * 8
}

/// The bit reader: 64 bits buffered MSB-first, zeros past the end (bounded).
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load (counts virtual zero words past the end too).
    pos: usize,
    buf: u64,
    avail: u32,
    overrun: usize,
}

impl Bits<'_> {
    #[inline(always)]
    fn refill(&mut self) -> Result<(), DecompressError> {
        while self.avail <= 48 {
            let w = match self.data.get(self.pos..self.pos + 2) {
                Some(&[a, b]) => u64::from(u16::from_le_bytes([a, b])),
                _ => {
                    self.overrun += 1;
                    if self.overrun > MAX_OVERRUN_WORDS {
                        return Err(DecompressError::truncated(
                            ALG,
                            self.data.len(),
                            "bit stream ends before the output is complete",
                        ));
                    }
                    0
                }
            };
            self.pos += 2;
            self.buf |= w << (48 - self.avail);
            self.avail += 16;
        }
        Ok(())
    }

    /// The next `n` (1..=32) bits without consuming them; at least `n` must be loaded.
    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.avail -= n;
    }

    /// Read `n` (0..=17) bits.
    #[inline(always)]
    fn read(&mut self, n: u32) -> Result<u32, DecompressError> {
        if n == 0 {
            return Ok(0);
        }
        if self.avail < n {
            self.refill()?;
        }
        let v = self.peek(n);
        self.consume(n);
        Ok(v)
    }

    /// Byte offset of the next unread bit (for error messages).
    fn offset(&self) -> usize {
        (self.pos - (self.avail as usize / 8)).min(self.data.len())
    }

    /// Bits consumed since the start of the chunk.
    fn consumed_bits(&self) -> usize {
        self.pos * 8 - self.avail as usize
    }

    #[inline(always)]
    fn symbol(&mut self, d: &Decoder, max_len: u32, what: &str) -> Result<u32, DecompressError> {
        if self.avail < 16 {
            self.refill()?;
        }
        match d.decode(self.peek(max_len)) {
            Some((sym, len)) => {
                self.consume(len);
                Ok(sym)
            }
            None => Err(DecompressError::corrupt(
                ALG,
                self.offset(),
                format!("bits match no {what} code"),
            )),
        }
    }

    /// Skip to the next 16-bit boundary, or 16 bits if already on one (the padding of
    /// an uncompressed block), and drop the buffer: raw bytes follow.
    fn align(&mut self) {
        let at = self.consumed_bits();
        self.pos = (at / 16 + 1) * 2;
        self.buf = 0;
        self.avail = 0;
    }

    fn raw(&mut self, n: usize) -> Result<&[u8], DecompressError> {
        let s = self
            .data
            .get(self.pos..)
            .and_then(|r| r.get(..n))
            .ok_or_else(|| {
                DecompressError::truncated(
                    ALG,
                    self.pos.min(self.data.len()),
                    format!("{n} bytes of an uncompressed block"),
                )
            })?;
        self.pos += n;
        Ok(s)
    }
}

struct State {
    order: u32,
    num_main: usize,
    main_lens: [u8; MAX_MAIN_SYMS],
    len_lens: [u8; LEN_SYMS],
    main: Decoder,
    lens: Decoder,
    aligned: Decoder,
    pre: Decoder,
    r: [u32; 3],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Verbatim,
    Aligned,
    Uncompressed,
}

impl State {
    fn new(order: u32) -> State {
        State {
            order,
            num_main: num_main_syms(order),
            main_lens: [0; MAX_MAIN_SYMS],
            len_lens: [0; LEN_SYMS],
            main: Decoder::new(11, 16),
            lens: Decoder::new(10, 16),
            aligned: Decoder::new(7, 7),
            pre: Decoder::new(6, 15),
            r: [1; 3],
        }
    }

    fn run(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        out_len: usize,
    ) -> Result<(), DecompressError> {
        let mut bits = Bits {
            data,
            pos: 0,
            buf: 0,
            avail: 0,
            overrun: 0,
        };
        match self.blocks(&mut bits, out, out_len) {
            // Garbage decoded from the zeros past the end: the input was cut short.
            Err(DecompressError::Corrupt { .. }) if bits.consumed_bits() > data.len() * 8 => {
                Err(DecompressError::truncated(
                    ALG,
                    data.len(),
                    "bit stream ends before the output is complete",
                ))
            }
            r => r,
        }
    }

    fn blocks(
        &mut self,
        bits: &mut Bits,
        out: &mut Vec<u8>,
        out_len: usize,
    ) -> Result<(), DecompressError> {
        let data = bits.data;
        while out.len() < out_len {
            let header_at = bits.offset();
            let (kind, size) = self.block_header(bits)?;
            if size == 0 || size > out_len - out.len() {
                return Err(DecompressError::corrupt(
                    ALG,
                    header_at,
                    format!(
                        "block of {size} bytes with {} of {out_len} left",
                        out_len - out.len()
                    ),
                ));
            }
            if kind == Kind::Uncompressed {
                bits.align();
                let r = bits.raw(12)?;
                for (k, v) in r.chunks_exact(4).enumerate() {
                    self.r[k] = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                }
                if self.r.contains(&0) {
                    return Err(DecompressError::corrupt(
                        ALG,
                        header_at,
                        "repeat offset of 0",
                    ));
                }
                out.extend_from_slice(bits.raw(size)?);
                if size % 2 == 1 {
                    bits.pos += 1;
                }
                continue;
            }
            self.decode_block(bits, kind, out, out.len() + size)?;
        }
        if bits.consumed_bits() > data.len() * 8 {
            return Err(DecompressError::truncated(
                ALG,
                data.len(),
                "bit stream ends before the output is complete",
            ));
        }
        Ok(())
    }

    fn block_header(&mut self, bits: &mut Bits) -> Result<(Kind, usize), DecompressError> {
        let at = bits.offset();
        let kind = match bits.read(3)? {
            1 => Kind::Verbatim,
            2 => Kind::Aligned,
            3 => Kind::Uncompressed,
            t => {
                return Err(DecompressError::corrupt(
                    ALG,
                    at,
                    format!("block type {t} is not LZX's 1, 2 or 3"),
                ))
            }
        };
        let size = if bits.read(1)? == 1 {
            DEFAULT_BLOCK
        } else {
            let mut s = (bits.read(8)? << 8 | bits.read(8)?) as usize;
            if self.order >= 16 {
                s = s << 8 | bits.read(8)? as usize;
            }
            s
        };
        let bad = |e: crate::huffman::BadCode, what: &str| {
            DecompressError::corrupt(ALG, at, format!("{what}: {}", e.describe()))
        };
        if kind == Kind::Aligned {
            let mut al = [0u8; ALIGNED_SYMS];
            for l in &mut al {
                *l = bits.read(3)? as u8;
            }
            self.aligned
                .build(&al, true)
                .map_err(|e| bad(e, "aligned offset code"))?;
        }
        if kind != Kind::Uncompressed {
            let (lit, rest) = self.main_lens.split_at_mut(NUM_CHARS);
            read_lens(bits, &mut self.pre, lit)?;
            read_lens(bits, &mut self.pre, &mut rest[..self.num_main - NUM_CHARS])?;
            self.main
                .build(&self.main_lens[..self.num_main], true)
                .map_err(|e| bad(e, "main code"))?;
            read_lens(bits, &mut self.pre, &mut self.len_lens)?;
            self.lens
                .build(&self.len_lens, true)
                .map_err(|e| bad(e, "length code"))?;
        }
        Ok((kind, size))
    }

    fn decode_block(
        &mut self,
        bits: &mut Bits,
        kind: Kind,
        out: &mut Vec<u8>,
        block_end: usize,
    ) -> Result<(), DecompressError> {
        let aligned = kind == Kind::Aligned;
        while out.len() < block_end {
            if bits.avail <= 48 {
                bits.refill()?;
            }
            let sym = bits.symbol(&self.main, 16, "main")? as usize;
            if sym < NUM_CHARS {
                out.push(sym as u8);
                continue;
            }
            let s = (sym - NUM_CHARS) as u32;
            let mut len = (s & 7) as usize;
            let slot = (s >> 3) as usize;
            if len == NUM_PRIMARY_LENS as usize {
                len += bits.symbol(&self.lens, 16, "length")? as usize;
            }
            len += MIN_MATCH;
            let dist = if slot < 3 {
                // Not a true LRU: R2 swaps with R0 and R1 stays (as LZX defines).
                self.r.swap(slot, 0);
                self.r[0]
            } else {
                let extra = u32::from(EXTRA_BITS[slot]);
                let mut d = SLOT_BASE[slot];
                if aligned && extra >= 3 {
                    d += bits.read(extra - 3)? << 3;
                    d += bits.symbol(&self.aligned, 7, "aligned offset")?;
                } else {
                    d += bits.read(extra)?;
                }
                let d = d - 2;
                self.r[2] = self.r[1];
                self.r[1] = self.r[0];
                self.r[0] = d;
                d
            } as usize;
            if dist == 0 || dist > out.len() {
                return Err(DecompressError::corrupt(
                    ALG,
                    bits.offset(),
                    format!(
                        "match {dist} bytes back at output {:#x} reaches before the start",
                        out.len()
                    ),
                ));
            }
            if len > block_end - out.len() {
                return Err(DecompressError::corrupt(
                    ALG,
                    bits.offset(),
                    format!("match of {len} runs past the end of its block"),
                ));
            }
            copy_match(out, dist, len);
        }
        Ok(())
    }
}

/// Read code lengths for `lens` (delta-coded against their previous values) through a
/// freshly transmitted pre-code.
fn read_lens(bits: &mut Bits, pre: &mut Decoder, lens: &mut [u8]) -> Result<(), DecompressError> {
    let at = bits.offset();
    let mut pl = [0u8; PRE_SYMS];
    for l in &mut pl {
        *l = bits.read(4)? as u8;
    }
    pre.build(&pl, true)
        .map_err(|e| DecompressError::corrupt(ALG, at, format!("pre-code: {}", e.describe())))?;
    let delta = |old: u8, sym: u32| ((u32::from(old) + 17 - sym) % 17) as u8;
    let mut i = 0;
    while i < lens.len() {
        let sym = bits.symbol(pre, 15, "pre-code")?;
        let (run, value) = match sym {
            0..=16 => (1, delta(lens[i], sym)),
            17 => (4 + bits.read(4)? as usize, 0),
            18 => (20 + bits.read(5)? as usize, 0),
            _ => {
                let run = 4 + bits.read(1)? as usize;
                let s = bits.symbol(pre, 15, "pre-code")?;
                if s > 16 {
                    return Err(DecompressError::corrupt(
                        ALG,
                        bits.offset(),
                        "run of equal lengths with no length",
                    ));
                }
                (run, delta(lens[i], s))
            }
        };
        // A run past the end is invalid; ignore its excess, as wimlib does.
        let end = (i + run).min(lens.len());
        lens[i..end].fill(value);
        i = end;
    }
    Ok(())
}

/// Undo the E8 (x86 CALL) translation over the whole chunk, positions relative to the
/// chunk's start; a CALL cannot start in the last 10 bytes.
fn undo_e8(data: &mut [u8]) {
    if data.len() <= 10 {
        return;
    }
    let end = data.len() - 10;
    let mut i = 0;
    while i < end {
        if data[i] != 0xE8 {
            i += 1;
            continue;
        }
        let t = &mut data[i + 1..i + 5];
        let abs = i32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let pos = i as i32;
        let rel = if abs >= 0 {
            (abs < E8_FILE_SIZE).then(|| abs - pos)
        } else {
            (abs >= -pos).then(|| abs + E8_FILE_SIZE)
        };
        if let Some(rel) = rel {
            t.copy_from_slice(&rel.to_le_bytes());
        }
        i += 5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uncompressed blocks: a 20-bit header (type 3, explicit 16-bit size) padded to
    /// 32 bits, the three repeat offsets, the bytes, a pad byte when the size is odd.
    fn stored_block(data: &[u8]) -> Vec<u8> {
        let bits: u32 = (0b011 << 17) | (data.len() as u32); // 3 + 1 + 16 bits
        let w0 = (bits >> 4) as u16;
        let w1 = ((bits & 0xF) << 12) as u16;
        let mut v = vec![];
        v.extend_from_slice(&w0.to_le_bytes());
        v.extend_from_slice(&w1.to_le_bytes());
        for _ in 0..3 {
            v.extend_from_slice(&1u32.to_le_bytes());
        }
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    #[test]
    fn uncompressed_blocks() {
        let mut s = stored_block(b"hello");
        s.extend(stored_block(b"abc"));
        assert_eq!(decompress_wim(&s, 8).unwrap(), b"helloabc");
        // Cut inside the second block's bytes.
        assert!(matches!(
            decompress_wim(&s[..s.len() - 3], 8),
            Err(DecompressError::Truncated { .. })
        ));
        // A block larger than the output left.
        assert!(matches!(
            decompress_wim(&s, 6),
            Err(DecompressError::Corrupt { .. })
        ));
        // Repeat offsets of 0 are invalid.
        let mut z = stored_block(b"hello");
        z[4..8].fill(0);
        assert!(decompress_wim(&z, 5).is_err());
    }

    #[test]
    fn uncompressed_default_size_block_pads_a_whole_word() {
        // Type 3 and the "32 KiB" bit: 4 bits, then 12 bits of padding.
        let mut s = vec![0x00, 0x70];
        for _ in 0..3 {
            s.extend_from_slice(&1u32.to_le_bytes());
        }
        let data: Vec<u8> = (0..32768u32).map(|i| (i % 200) as u8).collect();
        s.extend_from_slice(&data);
        assert_eq!(decompress_wim(&s, 32768).unwrap(), data);
    }

    #[test]
    fn e8_translation_is_undone_relative_to_the_chunk() {
        // Absolute 0x100 at position 0 becomes relative 0x100; a negative absolute
        // within reach becomes +file size; calls in the last 10 bytes stay.
        let mut d = vec![0xE8, 0x00, 0x01, 0x00, 0x00];
        d.extend_from_slice(&[0xE8]);
        d.extend_from_slice(&(-3i32).to_le_bytes());
        d.extend_from_slice(&[0u8; 4]);
        d.extend_from_slice(&[0xE8, 1, 2, 3, 4, 0, 0, 0, 0, 0]);
        let mut got = d.clone();
        undo_e8(&mut got);
        assert_eq!(&got[1..5], &0x100i32.to_le_bytes());
        assert_eq!(&got[6..10], &(E8_FILE_SIZE - 3).to_le_bytes());
        assert_eq!(&got[14..], &d[14..]);
    }

    #[test]
    fn main_alphabet_sizes() {
        assert_eq!(num_main_syms(15), 256 + 30 * 8);
        assert_eq!(num_main_syms(16), 256 + 32 * 8);
        assert_eq!(num_main_syms(21), 256 + 50 * 8);
        assert_eq!(window_order(100), Some(15));
        assert_eq!(window_order(40_000), Some(16));
        assert_eq!(window_order(3 << 20), None);
    }
}
