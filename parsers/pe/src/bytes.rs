//! Bounds-checked little-endian reads: every read from input goes through
//! these so that a short or hostile file yields `None`, never a panic.

#[inline]
pub fn slice(data: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    data.get(offset..offset.checked_add(len)?)
}

#[inline]
pub fn u16_at(data: &[u8], offset: usize) -> Option<u16> {
    let b = slice(data, offset, 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

#[inline]
pub fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    let b = slice(data, offset, 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[inline]
pub fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    let b = slice(data, offset, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Lowercase hex without an allocation per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}
