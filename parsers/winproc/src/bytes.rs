//! Bounds-checked little-endian reads from input bytes: `None` instead of a panic.

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(u32::from_le_bytes(a))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Field at an optional layout offset.
pub(crate) fn u64_field(b: &[u8], off: Option<u32>) -> Option<u64> {
    u64_at(b, off? as usize)
}

pub(crate) fn u32_field(b: &[u8], off: Option<u32>) -> Option<u32> {
    u32_at(b, off? as usize)
}

/// x64 kernel-half canonical address, pointer aligned.
pub(crate) fn is_kernel_pointer(v: u64) -> bool {
    v >= 0xFFFF_8000_0000_0000 && v & 0x7 == 0
}

/// x64 user-half address (non-zero).
pub(crate) fn is_user_pointer(v: u64) -> bool {
    v != 0 && v < 0x0000_8000_0000_0000
}
