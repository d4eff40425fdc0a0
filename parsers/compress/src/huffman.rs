//! Canonical Huffman decoding shared by XPRESS Huffman and LZX.
//!
//! Codes are assigned in (length, symbol) order and read MSB-first, as both formats
//! define. A table indexed by the next `table_bits` bits resolves short codes in one
//! look-up; longer codes (rare by construction) are resolved canonically, length by
//! length. Tables are rebuilt in place so a decoder allocates once per stream.

/// Why a set of code lengths is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadCode {
    /// The lengths claim more codes than bits allow.
    Oversubscribed,
    /// The lengths leave some bit strings without a symbol (and the code is not empty).
    Incomplete,
    /// No symbol has a code, where the format needs one.
    Empty,
}

impl BadCode {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            BadCode::Oversubscribed => "Huffman code lengths are over-subscribed",
            BadCode::Incomplete => "Huffman code lengths do not form a complete code",
            BadCode::Empty => "Huffman code has no symbols",
        }
    }
}

/// A decoder for one canonical code with codes of at most `max_len` bits.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    table_bits: u32,
    max_len: u32,
    /// `symbol << 8 | length` for codes of at most `table_bits`; 0 for the prefix of a
    /// longer code or of no code.
    table: Vec<u32>,
    first: [u32; 17],
    count: [u32; 17],
    offset: [u32; 17],
    sorted: Vec<u16>,
}

impl Decoder {
    pub(crate) fn new(table_bits: u32, max_len: u32) -> Decoder {
        debug_assert!(table_bits <= max_len && max_len <= 16);
        Decoder {
            table_bits,
            max_len,
            table: vec![0; 1 << table_bits],
            first: [0; 17],
            count: [0; 17],
            offset: [0; 17],
            sorted: Vec::new(),
        }
    }

    /// Rebuild for `lens` (one entry per symbol, 0 = unused; every length must be at
    /// most `max_len`, which the callers' 4-bit fields and clamps guarantee). An empty
    /// code is accepted only when `allow_empty`; decoding with it then fails.
    pub(crate) fn build(&mut self, lens: &[u8], allow_empty: bool) -> Result<(), BadCode> {
        let max = self.max_len as usize;
        self.count = [0; 17];
        for &l in lens {
            let l = usize::from(l);
            if l > max {
                return Err(BadCode::Oversubscribed);
            }
            self.count[l] += 1;
        }
        self.count[0] = 0;
        // Kraft sum in units of 2^-max_len.
        let mut space: i64 = 1 << max;
        for l in 1..=max {
            space -= i64::from(self.count[l]) << (max - l);
            if space < 0 {
                return Err(BadCode::Oversubscribed);
            }
        }
        let empty = space == 1 << max;
        if empty && !allow_empty {
            return Err(BadCode::Empty);
        }
        if space != 0 && !empty {
            return Err(BadCode::Incomplete);
        }
        let mut code = 0u32;
        let mut off = 0u32;
        for l in 1..=max {
            code = (code + self.count[l - 1]) << 1;
            self.first[l] = code;
            self.offset[l] = off;
            off += self.count[l];
        }
        self.sorted.clear();
        self.sorted.resize(off as usize, 0);
        let mut next = self.offset;
        for (sym, &l) in lens.iter().enumerate() {
            if l != 0 {
                let l = usize::from(l);
                self.sorted[next[l] as usize] = sym as u16;
                next[l] += 1;
            }
        }
        self.table.fill(0);
        let tb = self.table_bits as usize;
        for l in 1..=tb {
            let span = 1usize << (tb - l);
            for k in 0..self.count[l] {
                let sym = u32::from(self.sorted[(self.offset[l] + k) as usize]);
                let start = ((self.first[l] + k) as usize) << (tb - l);
                self.table[start..start + span].fill(sym << 8 | l as u32);
            }
        }
        Ok(())
    }

    /// Decode from `peek`, the next `max_len` bits of the stream (MSB first, in the low
    /// bits of the value). Returns (symbol, code length), or `None` when the bits are no
    /// code (only possible with an empty code).
    #[inline(always)]
    pub(crate) fn decode(&self, peek: u32) -> Option<(u32, u32)> {
        let e = self.table[(peek >> (self.max_len - self.table_bits)) as usize];
        if e != 0 {
            return Some((e >> 8, e & 0xFF));
        }
        self.decode_long(peek)
    }

    #[cold]
    fn decode_long(&self, peek: u32) -> Option<(u32, u32)> {
        for l in self.table_bits + 1..=self.max_len {
            let code = peek >> (self.max_len - l);
            let i = l as usize;
            let k = code.wrapping_sub(self.first[i]);
            if code >= self.first[i] && k < self.count[i] {
                let sym = self.sorted[(self.offset[i] + k) as usize];
                return Some((u32::from(sym), l));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_codes_decode_in_length_then_symbol_order() {
        // Lengths A=2, B=1, C=3, D=3: B=0, A=10, C=110, D=111.
        let mut d = Decoder::new(2, 3);
        d.build(&[2, 1, 3, 3], false).unwrap();
        assert_eq!(d.decode(0b000), Some((1, 1)));
        assert_eq!(d.decode(0b011), Some((1, 1)));
        assert_eq!(d.decode(0b100), Some((0, 2)));
        assert_eq!(d.decode(0b110), Some((2, 3)));
        assert_eq!(d.decode(0b111), Some((3, 3)));
    }

    #[test]
    fn bad_codes_are_refused() {
        let mut d = Decoder::new(4, 15);
        assert_eq!(d.build(&[1, 1, 1], false), Err(BadCode::Oversubscribed));
        assert_eq!(d.build(&[1, 2], false), Err(BadCode::Incomplete));
        assert_eq!(d.build(&[0, 0], false), Err(BadCode::Empty));
        assert_eq!(d.build(&[0, 0], true), Ok(()));
        assert_eq!(d.decode(0), None);
        assert_eq!(d.build(&[16], false), Err(BadCode::Oversubscribed));
    }
}
