//! Helpers shared by the LZ77 decoders.

/// Append `len` bytes copied from `dist` bytes back in `out` (the ranges may overlap:
/// `dist < len` repeats the last `dist` bytes). The caller has checked
/// `1 <= dist <= out.len()`.
#[inline]
pub(crate) fn copy_match(out: &mut Vec<u8>, dist: usize, len: usize) {
    let start = out.len() - dist;
    if dist >= len {
        out.extend_from_within(start..start + len);
        return;
    }
    if dist == 1 {
        let b = out[start];
        out.resize(out.len() + len, b);
        return;
    }
    // The bytes from `start` on are periodic with period `dist`, so copying what is
    // already there doubles the run each time and stays correct.
    let mut left = len;
    while left > 0 {
        let n = (out.len() - start).min(left);
        out.extend_from_within(start..start + n);
        left -= n;
    }
}

/// How much output to reserve up front: the declared size, but never more than the input
/// could expand to at `max_ratio`, so a forged size cannot make us allocate.
#[inline]
pub(crate) fn reserve_for(input_len: usize, max_out: usize, max_ratio: usize) -> usize {
    max_out.min(input_len.saturating_mul(max_ratio).saturating_add(4096))
}
