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
    if data.is_empty() {
        return 0.0;
    }
    let len = data.len() as f64;
    histogram(data)
        .iter()
        .filter(|&&c| c != 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon_entropy;

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
