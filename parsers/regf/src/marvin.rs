//! Marvin32, the keyed hash guarding new-format (HvLE) log entries.

/// Seed for registry log entries: the documented 14219357686671994754 read as little-endian bytes
/// (checked against the hashes of real .LOG1/.LOG2 entries).
pub const LOG_ENTRY_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

#[inline]
fn mix(p0: &mut u32, p1: &mut u32) {
    *p1 ^= *p0;
    *p0 = p0.rotate_left(20);
    *p0 = p0.wrapping_add(*p1);
    *p1 = p1.rotate_left(9);
    *p1 ^= *p0;
    *p0 = p0.rotate_left(27);
    *p0 = p0.wrapping_add(*p1);
    *p1 = p1.rotate_left(19);
}

pub fn marvin32(seed: u64, data: &[u8]) -> u64 {
    let mut p0 = seed as u32;
    let mut p1 = (seed >> 32) as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        p0 = p0.wrapping_add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        mix(&mut p0, &mut p1);
    }
    let tail = chunks.remainder();
    let last = match tail.len() {
        0 => 0x80,
        1 => 0x8000 | tail[0] as u32,
        2 => 0x80_0000 | u16::from_le_bytes([tail[0], tail[1]]) as u32,
        _ => 0x8000_0000 | (tail[2] as u32) << 16 | u16::from_le_bytes([tail[0], tail[1]]) as u32,
    };
    p0 = p0.wrapping_add(last);
    mix(&mut p0, &mut p1);
    mix(&mut p0, &mut p1);
    (p1 as u64) << 32 | p0 as u64
}
