//! Big-endian integers at a byte offset (VHD headers), 0 when the slice is too short.

#[inline]
pub fn u32_or_zero(data: &[u8], offset: usize) -> u32 {
    super::le::slice(data, offset, 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

#[inline]
pub fn u64_or_zero(data: &[u8], offset: usize) -> u64 {
    super::le::slice(data, offset, 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_zero_outside() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u32_or_zero(&b, 0), 0x0102_0304);
        assert_eq!(u64_or_zero(&b, 1), 0x0203_0405_0607_0809);
        assert_eq!(u32_or_zero(&b, 6), 0);
        assert_eq!(u64_or_zero(&b, usize::MAX), 0);
    }
}
