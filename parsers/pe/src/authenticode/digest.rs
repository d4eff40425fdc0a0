//! The Authenticode image digest: the whole file except the CheckSum field,
//! the security data-directory entry and the certificate table.
//!
//! The Microsoft spec describes it as headers, then sections sorted by file
//! offset, then the bytes after the last section up to the certificate table
//! (the trailing-bytes rule). For files whose sections are laid out back to
//! back after the headers that is exactly the contiguous range below; Windows,
//! osslsigncode and signify hash the contiguous range, and it is the one that
//! agrees with them on files with gaps between sections, so it is used here.

use md5::Md5;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::bytes::hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.113549.2.5" => Self::Md5,
            "1.3.14.3.2.26" => Self::Sha1,
            "2.16.840.1.101.3.4.2.1" => Self::Sha256,
            "2.16.840.1.101.3.4.2.2" => Self::Sha384,
            "2.16.840.1.101.3.4.2.3" => Self::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

/// File ranges that enter the digest, in order, then `.1` zero bytes of padding.
///
/// An unsigned file whose length is not a multiple of 8 is padded with zeros to one
/// when it is signed (the certificate table is 8-aligned), and the signed digest covers
/// that padding: osslsigncode, signify and goblin hash it, so the digest of the unsigned
/// file is the one its signature will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRanges(pub Vec<(usize, usize)>, pub usize);

impl DigestRanges {
    /// `cert_table` is the (offset, length) of the certificate table if the
    /// security directory names one inside the file.
    pub fn new(
        len: usize,
        checksum_offset: usize,
        security_dir_offset: usize,
        cert_table: Option<(usize, usize)>,
    ) -> Self {
        let mut holes = vec![(checksum_offset, 4), (security_dir_offset, 8)];
        if let Some(t) = cert_table {
            holes.push(t);
        }
        holes.sort_unstable();
        let mut ranges = Vec::with_capacity(4);
        let mut at = 0usize;
        for (start, size) in holes {
            let start = start.min(len);
            if start > at {
                ranges.push((at, start));
            }
            at = at.max(start.saturating_add(size).min(len));
        }
        if at < len {
            ranges.push((at, len));
        }
        let pad = if cert_table.is_none() && !len.is_multiple_of(8) {
            8 - len % 8
        } else {
            0
        };
        DigestRanges(ranges, pad)
    }
}

/// A running image digest of one algorithm over the ranges of one file,
/// advanced by the single pass a number of bytes *of its own stream* at a
/// time: its blocks stay aligned to the stream, so after the 4-byte CheckSum
/// hole each update is still one whole compression block (no buffering).
pub struct ImageDigest {
    alg: DigestAlgorithm,
    state: State,
    /// Index of the range being read, and the file offset reached in it.
    next: usize,
    at: usize,
}

enum State {
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl ImageDigest {
    pub fn new(alg: DigestAlgorithm) -> Self {
        let state = match alg {
            DigestAlgorithm::Md5 => State::Md5(Md5::new()),
            DigestAlgorithm::Sha1 => State::Sha1(Sha1::new()),
            DigestAlgorithm::Sha256 => State::Sha256(Sha256::new()),
            DigestAlgorithm::Sha384 => State::Sha384(Sha384::new()),
            DigestAlgorithm::Sha512 => State::Sha512(Sha512::new()),
        };
        ImageDigest {
            alg,
            state,
            next: 0,
            at: 0,
        }
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        self.alg
    }

    fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Md5(d) => d.update(bytes),
            State::Sha1(d) => d.update(bytes),
            State::Sha256(d) => d.update(bytes),
            State::Sha384(d) => d.update(bytes),
            State::Sha512(d) => d.update(bytes),
        }
    }

    /// Feeds the next `n` bytes of the digest's stream (the ranges' bytes in
    /// order) from `data`, fewer at the end of the last range.
    pub fn advance(&mut self, data: &[u8], ranges: &DigestRanges, mut n: usize) {
        while n > 0 {
            let Some(&(a, b)) = ranges.0.get(self.next) else {
                return;
            };
            let from = self.at.max(a);
            let to = b.min(from.saturating_add(n));
            if let Some(part) = data.get(from..to) {
                self.update(part);
            }
            n -= to.saturating_sub(from);
            self.at = to;
            if to >= b {
                self.next += 1;
            }
            if to == from {
                return; // cannot happen (a < b); never loop on it
            }
        }
    }

    /// The digest in hex, after the signing padding.
    pub fn finish(mut self, ranges: &DigestRanges) -> String {
        self.update(&[0u8; 8][..ranges.1.min(8)]);
        match self.state {
            State::Md5(d) => hex(&d.finalize()),
            State::Sha1(d) => hex(&d.finalize()),
            State::Sha256(d) => hex(&d.finalize()),
            State::Sha384(d) => hex(&d.finalize()),
            State::Sha512(d) => hex(&d.finalize()),
        }
    }
}

/// The image digest of `data` in one call (the ranges fed in order).
pub fn image_digest(data: &[u8], ranges: &DigestRanges, alg: DigestAlgorithm) -> String {
    let mut d = ImageDigest::new(alg);
    d.advance(data, ranges, usize::MAX);
    d.finish(ranges)
}

#[cfg(test)]
mod tests {
    use super::DigestRanges;

    #[test]
    fn holes_are_cut_out_and_clamped() {
        let r = DigestRanges::new(1000, 0xd8, 0x128, Some((800, 200)));
        assert_eq!(r.0, vec![(0, 0xd8), (0xdc, 0x128), (0x130, 800)]);
        let r = DigestRanges::new(1000, 0xd8, 0x128, Some((600, 100)));
        assert_eq!(
            r.0,
            vec![(0, 0xd8), (0xdc, 0x128), (0x130, 600), (700, 1000)]
        );
        let r = DigestRanges::new(0x100, 0xd8, 0x128, None);
        assert_eq!(r.0, vec![(0, 0xd8), (0xdc, 0x100)]);
        assert_eq!(r.1, 0);
        // Unsigned, odd length: padded to a multiple of 8 as signing does.
        assert_eq!(DigestRanges::new(0x103, 0xd8, 0x128, None).1, 5);
        assert_eq!(DigestRanges::new(1003, 0xd8, 0x128, Some((800, 200))).1, 0);
    }

    /// Advanced in steps of any size, the digest is that of the ranges'
    /// bytes concatenated (hashed here directly, range by range).
    #[test]
    fn block_feeding_equals_the_concatenated_ranges() {
        use super::{image_digest, DigestAlgorithm, ImageDigest};
        use sha2::{Digest, Sha256};
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for ranges in [
            DigestRanges::new(5000, 0xd8, 0x128, Some((4000, 1000))),
            DigestRanges::new(5000, 0xd8, 0x128, Some((1000, 64))),
            DigestRanges::new(4999, 0x40, 0x1000, None),
        ] {
            let mut want = Sha256::new();
            for &(a, b) in &ranges.0 {
                want.update(&data[a..b]);
            }
            want.update(&[0u8; 8][..ranges.1]);
            let want = crate::bytes::hex(&want.finalize());
            assert_eq!(image_digest(&data, &ranges, DigestAlgorithm::Sha256), want);
            for step in [1, 4, 64, 100, 4096, 5000, 8192] {
                let mut d = ImageDigest::new(DigestAlgorithm::Sha256);
                for _ in 0..data.len() / step + 2 {
                    d.advance(&data, &ranges, step);
                }
                assert_eq!(d.finish(&ranges), want, "step {step}");
            }
        }
    }
}
