//! Little-endian integers at a byte offset, `None` when the slice is too short (the offset
//! comes from evidence, so it may point anywhere).

/// `len` bytes at `offset`, or `None` when they are not all inside `data`.
#[inline]
pub fn slice(data: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    data.get(offset..offset.checked_add(len)?)
}

#[inline]
fn array<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    slice(data, offset, N)?.try_into().ok()
}

#[inline]
pub fn u16_at(data: &[u8], offset: usize) -> Option<u16> {
    array(data, offset).map(u16::from_le_bytes)
}

#[inline]
pub fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    array(data, offset).map(u32::from_le_bytes)
}

#[inline]
pub fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    array(data, offset).map(u64::from_le_bytes)
}

#[inline]
pub fn i64_at(data: &[u8], offset: usize) -> Option<i64> {
    array(data, offset).map(i64::from_le_bytes)
}

/// The same reads with 0 for bytes outside `data`: for fields of a structure whose
/// length was checked before, or whose absence reads as zero.
#[inline]
pub fn u16_or_zero(data: &[u8], offset: usize) -> u16 {
    u16_at(data, offset).unwrap_or(0)
}

#[inline]
pub fn u32_or_zero(data: &[u8], offset: usize) -> u32 {
    u32_at(data, offset).unwrap_or(0)
}

#[inline]
pub fn u64_or_zero(data: &[u8], offset: usize) -> u64 {
    u64_at(data, offset).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&b, 0), Some(0x0201));
        assert_eq!(u32_at(&b, 5), Some(0x0908_0706));
        assert_eq!(u64_at(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u32_at(&b, 6), None);
        assert_eq!(u64_at(&b, usize::MAX - 2), None);
        assert_eq!(slice(&b, usize::MAX, 2), None);
        assert_eq!(u32_or_zero(&b, 6), 0);
        assert_eq!(u64_or_zero(&b, usize::MAX), 0);
        assert_eq!(u16_or_zero(&b, 7), 0x0908);
    }
}
