//! Bounds-checked little-endian reads from input bytes: `None` instead of a panic.

pub(crate) use triage_bytes::le::{u16_at, u32_at, u64_at};

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
