//! The PE image checksum (what `CheckSumMappedFile` and pefile's
//! `generate_checksum` compute): the file summed as little-endian dwords with
//! end-around carry, the dword holding the CheckSum field left out, folded to
//! 16 bits, plus the file length.

/// `checksum_offset` is the file offset of OptionalHeader.CheckSum. Like the
/// reference implementations, the dword at index `checksum_offset / 4` is
/// skipped (they coincide whenever the field is dword aligned, i.e. always
/// for files produced by linkers).
pub fn pe_checksum(data: &[u8], checksum_offset: usize) -> u32 {
    let mut sum = Sum::new(checksum_offset);
    sum.add(data);
    sum.finish(data.len())
}

/// The running dword sum, fed block by block by the single pass. Every block
/// but the last must be a multiple of 4 bytes long so dwords stay aligned to
/// the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sum {
    sum: u64,
    /// Bytes fed so far.
    at: usize,
    /// File offset of the dword left out.
    skip: usize,
}

impl Sum {
    pub(crate) fn new(checksum_offset: usize) -> Sum {
        Sum {
            sum: 0,
            at: 0,
            skip: checksum_offset / 4 * 4,
        }
    }

    pub(crate) fn add(&mut self, block: &[u8]) {
        let mut sum = 0u64;
        let mut dwords = block.chunks_exact(4);
        for d in &mut dwords {
            sum += u64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
        }
        let tail = dwords.remainder();
        if !tail.is_empty() {
            sum += u64::from(dword(tail));
        }
        // The CheckSum dword was added above with the others: take it out
        // again (exactly, before any folding, as the reference never adds it).
        if let Some(rel) = self.skip.checked_sub(self.at) {
            if let Some(d) = block.get(rel..rel.saturating_add(4).min(block.len())) {
                if !d.is_empty() {
                    sum -= u64::from(dword(d));
                }
            }
        }
        self.at = self.at.saturating_add(block.len());
        // Folding with end-around carry after each block keeps the sum far
        // from overflow and gives the reference's value: zero only for an
        // all-zero sum, otherwise the same residue modulo 2^32 - 1.
        let sum = self.sum + sum;
        self.sum = (sum & 0xffff_ffff) + (sum >> 32);
    }

    pub(crate) fn finish(self, len: usize) -> u32 {
        let mut sum = self.sum;
        while sum >> 32 != 0 {
            sum = (sum & 0xffff_ffff) + (sum >> 32);
        }
        let mut folded = (sum & 0xffff) + (sum >> 16);
        folded += folded >> 16;
        let folded = (folded & 0xffff) as u32;
        folded.wrapping_add(len as u32)
    }
}

/// Up to four bytes as a little-endian dword, zero-padded.
fn dword(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    let n = b.len().min(4);
    w[..n].copy_from_slice(&b[..n]);
    u32::from_le_bytes(w)
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
        // Fed in blocks, as the single pass does: the same value, also when
        // the CheckSum dword sits on either side of a block boundary.
        for off in [0, 0xd8, 32_764, 32_768, 99_996, 100_000] {
            let mut sum = super::Sum::new(off);
            for block in data.chunks(32 * 1024) {
                sum.add(block);
            }
            assert_eq!(
                sum.finish(data.len()),
                reference(&data, off),
                "blocks, off {off}"
            );
        }
        let zeros = vec![0u8; 4096];
        assert_eq!(pe_checksum(&zeros, 0xd8), reference(&zeros, 0xd8));
        let ones = vec![0xffu8; 4096];
        assert_eq!(pe_checksum(&ones, 0x100), reference(&ones, 0x100));
    }
}
