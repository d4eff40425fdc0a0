//! The PE image checksum (what `CheckSumMappedFile` and pefile's
//! `generate_checksum` compute): the file summed as little-endian dwords with
//! end-around carry, the dword holding the CheckSum field left out, folded to
//! 16 bits, plus the file length.

/// `checksum_offset` is the file offset of OptionalHeader.CheckSum. Like the
/// reference implementations, the dword at index `checksum_offset / 4` is
/// skipped (they coincide whenever the field is dword aligned, i.e. always
/// for files produced by linkers).
pub fn pe_checksum(data: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u64 = 0;
    let mut dwords = data.chunks_exact(4);
    for d in &mut dwords {
        sum += u64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
    }
    let tail = dwords.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 4];
        last[..tail.len()].copy_from_slice(tail);
        sum += u64::from(u32::from_le_bytes(last));
    }
    let skip = checksum_offset / 4 * 4;
    if let Some(d) = data.get(skip..skip.saturating_add(4).min(data.len())) {
        let mut field = [0u8; 4];
        field[..d.len()].copy_from_slice(d);
        sum -= u64::from(u32::from_le_bytes(field));
    }
    // Folding a u64 sum of u32 words with end-around carry gives the same
    // value as the reference's fold after every addition.
    while sum >> 32 != 0 {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    let mut folded = (sum & 0xffff) + (sum >> 16);
    folded += folded >> 16;
    let folded = (folded & 0xffff) as u32;
    folded.wrapping_add(data.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::pe_checksum;

    /// Literal transcription of pefile's `generate_checksum` loop, as an
    /// independent reference for the vectorisable version above.
    fn reference(data: &[u8], checksum_offset: usize) -> u32 {
        let remainder = data.len() % 4;
        let data_len = data.len() + if remainder != 0 { 4 - remainder } else { 0 };
        let mut checksum: u64 = 0;
        for i in 0..data_len / 4 {
            if i == checksum_offset / 4 {
                continue;
            }
            let mut w = [0u8; 4];
            for (j, b) in w.iter_mut().enumerate() {
                *b = data.get(i * 4 + j).copied().unwrap_or(0);
            }
            checksum += u64::from(u32::from_le_bytes(w));
            if checksum >= 1 << 32 {
                checksum = (checksum & 0xffff_ffff) + (checksum >> 32);
            }
        }
        checksum = (checksum & 0xffff) + (checksum >> 16);
        checksum += checksum >> 16;
        checksum &= 0xffff;
        (checksum + data.len() as u64) as u32
    }

    #[test]
    fn matches_the_reference_loop_on_pseudo_random_data() {
        let mut x: u32 = 0x1234_5678;
        let data: Vec<u8> = (0..100_003)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        for (len, off) in [
            (100_003, 0xd8),
            (4096, 0x40),
            (7, 2),
            (0, 0),
            (100_000, 99_998),
        ] {
            assert_eq!(
                pe_checksum(&data[..len], off),
                reference(&data[..len], off),
                "len {len} off {off}"
            );
        }
        let ones = vec![0xffu8; 4096];
        assert_eq!(pe_checksum(&ones, 0x100), reference(&ones, 0x100));
    }
}
