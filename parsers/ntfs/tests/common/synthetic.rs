//! Synthetic `$MFT` records (512 bytes, valid update sequence arrays) for the rules a
//! sound volume never exercises: hostile structures and odd parent chains.

pub const RS: usize = 512;

pub fn resident(ty: u32, value: &[u8]) -> Vec<u8> {
    let mut a = vec![0u8; 0x18];
    a[0..4].copy_from_slice(&ty.to_le_bytes());
    a[0x10..0x14].copy_from_slice(&(value.len() as u32).to_le_bytes());
    a[0x14..0x16].copy_from_slice(&0x18u16.to_le_bytes());
    a.extend_from_slice(value);
    while !a.len().is_multiple_of(8) {
        a.push(0);
    }
    let len = a.len() as u32;
    a[4..8].copy_from_slice(&len.to_le_bytes());
    a
}

pub fn file_name(parent: u64, pseq: u16, name: &str) -> Vec<u8> {
    let mut v = vec![0u8; 66];
    v[0..8].copy_from_slice(&(parent | (pseq as u64) << 48).to_le_bytes());
    let u: Vec<u16> = name.encode_utf16().collect();
    v[64] = u.len() as u8;
    v[65] = 1;
    for c in u {
        v.extend_from_slice(&c.to_le_bytes());
    }
    resident(0x30, &v)
}

/// A 512-byte FILE record with a valid update sequence array.
pub fn record(seq: u16, flags: u16, base: u64, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut r = vec![0u8; RS];
    r[0..4].copy_from_slice(b"FILE");
    r[4..6].copy_from_slice(&0x30u16.to_le_bytes());
    r[6..8].copy_from_slice(&2u16.to_le_bytes());
    r[0x10..0x12].copy_from_slice(&seq.to_le_bytes());
    r[0x12..0x14].copy_from_slice(&1u16.to_le_bytes());
    r[0x14..0x16].copy_from_slice(&0x38u16.to_le_bytes());
    r[0x16..0x18].copy_from_slice(&flags.to_le_bytes());
    r[0x20..0x28].copy_from_slice(&base.to_le_bytes());
    let mut off = 0x38;
    for a in attrs {
        r[off..off + a.len()].copy_from_slice(a);
        off += a.len();
    }
    r[off..off + 4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    r[0x18..0x1C].copy_from_slice(&((off + 8) as u32).to_le_bytes());
    r[0x1C..0x20].copy_from_slice(&(RS as u32).to_le_bytes());
    // USN 1 at 0x30; the original last two bytes of the sector go in the array.
    r[0x30] = 1;
    let (a, b) = (r[RS - 2], r[RS - 1]);
    r[0x32] = a;
    r[0x33] = b;
    r[RS - 2] = 1;
    r[RS - 1] = 0;
    r
}
