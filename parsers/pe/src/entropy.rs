//! Shannon entropy in bits per byte (0..=8) from a byte histogram.

/// Counts bytes into four interleaved histograms so consecutive equal bytes
/// do not serialise on one counter, then merges them.
pub fn histogram(data: &[u8]) -> [u64; 256] {
    let mut h = [[0u32; 256]; 4];
    // u32 counters are flushed every block so they can never overflow.
    const BLOCK: usize = 1 << 24;
    let mut total = [0u64; 256];
    for block in data.chunks(BLOCK) {
        let mut quads = block.chunks_exact(4);
        for q in &mut quads {
            h[0][usize::from(q[0])] += 1;
            h[1][usize::from(q[1])] += 1;
            h[2][usize::from(q[2])] += 1;
            h[3][usize::from(q[3])] += 1;
        }
        for &b in quads.remainder() {
            h[0][usize::from(b)] += 1;
        }
        for (i, t) in total.iter_mut().enumerate() {
            *t += u64::from(h[0][i]) + u64::from(h[1][i]) + u64::from(h[2][i]) + u64::from(h[3][i]);
        }
        h = [[0u32; 256]; 4];
    }
    total
}

pub fn shannon_entropy(data: &[u8]) -> f64 {
    from_histogram(&histogram(data), data.len())
}

/// The entropy of `len` bytes whose byte counts are `h`.
pub(crate) fn from_histogram(h: &[u64; 256], len: usize) -> f64 {
    if len == 0 {
        return 0.0;
    }
    let len = len as f64;
    h.iter()
        .filter(|&&c| c != 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// A histogram counted block by block, by the single pass: 64-byte blocks
/// go into four interleaved tables as in [`histogram`].
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Counter {
    h: Box<[[u32; 256]; 4]>,
    total: [u64; 256],
    /// Bytes in `h` since the last flush (u32 counters must not overflow).
    pending: usize,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl Counter {
    pub(crate) fn new() -> Counter {
        Counter {
            h: Box::new([[0u32; 256]; 4]),
            total: [0u64; 256],
            pending: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        if let Ok(block) = <&[u8; 64]>::try_from(bytes) {
            // The pass's case: one whole block, unrolled, no bounds checks.
            for q in block.as_chunks::<4>().0 {
                self.h[0][usize::from(q[0])] += 1;
                self.h[1][usize::from(q[1])] += 1;
                self.h[2][usize::from(q[2])] += 1;
                self.h[3][usize::from(q[3])] += 1;
            }
            self.pending += 64;
            if self.pending >= 1 << 30 {
                self.flush();
            }
            return;
        }
        let mut quads = bytes.chunks_exact(4);
        for q in &mut quads {
            self.h[0][usize::from(q[0])] += 1;
            self.h[1][usize::from(q[1])] += 1;
            self.h[2][usize::from(q[2])] += 1;
            self.h[3][usize::from(q[3])] += 1;
        }
        for &b in quads.remainder() {
            self.h[0][usize::from(b)] += 1;
        }
        self.pending += bytes.len();
        if self.pending >= 1 << 30 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        for (i, t) in self.total.iter_mut().enumerate() {
            *t += (0..4).map(|k| u64::from(self.h[k][i])).sum::<u64>();
        }
        *self.h = [[0u32; 256]; 4];
        self.pending = 0;
    }

    /// The entropy of the bytes counted since the last call, and a reset.
    pub(crate) fn take_entropy(&mut self, len: usize) -> f64 {
        // Empty sections (a forged table may hold 65535 of them) cost nothing.
        if len == 0 && self.pending == 0 {
            return 0.0;
        }
        self.flush();
        let e = from_histogram(&self.total, len);
        self.total = [0u64; 256];
        e
    }
}

#[cfg(test)]
mod tests {
    use super::shannon_entropy;

    /// Counted in pieces of any size, the entropy is bit for bit the one of
    /// the whole slice.
    #[test]
    fn the_counter_equals_the_whole_histogram() {
        let data: Vec<u8> = (0..100_000u64)
            .map(|i| (i * i / 7 + i / 300) as u8)
            .collect();
        for step in [1usize, 3, 64, 100, 4096] {
            let mut c = super::Counter::new();
            for piece in data[..77_777].chunks(step) {
                c.add(piece);
            }
            assert_eq!(
                c.take_entropy(77_777).to_bits(),
                shannon_entropy(&data[..77_777]).to_bits()
            );
            c.add(&data[5..9]);
            assert_eq!(
                c.take_entropy(4).to_bits(),
                shannon_entropy(&data[5..9]).to_bits()
            );
        }
    }

    #[test]
    fn extremes_and_a_known_value() {
        assert_eq!(shannon_entropy(&[]), 0.0);
        assert_eq!(shannon_entropy(&[7; 1000]), 0.0);
        let all: Vec<u8> = (0..=255u8).cycle().take(256 * 9 + 3).collect();
        assert!((shannon_entropy(&all[..256 * 9]) - 8.0).abs() < 1e-12);
        // Two symbols with p = 1/4 and 3/4: 0.811278... bits.
        let mix = [0u8, 1, 1, 1];
        assert!((shannon_entropy(&mix) - 0.811_278_124_459_132_8).abs() < 1e-12);
    }
}
