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

fn run<D: Digest>(data: &[u8], ranges: &DigestRanges) -> String {
    let mut d = D::new();
    for &(a, b) in &ranges.0 {
        if let Some(part) = data.get(a..b) {
            d.update(part);
        }
    }
    d.update(&[0u8; 8][..ranges.1.min(8)]);
    hex(&d.finalize())
}

pub fn image_digest(data: &[u8], ranges: &DigestRanges, alg: DigestAlgorithm) -> String {
    match alg {
        DigestAlgorithm::Md5 => run::<Md5>(data, ranges),
        DigestAlgorithm::Sha1 => run::<Sha1>(data, ranges),
        DigestAlgorithm::Sha256 => run::<Sha256>(data, ranges),
        DigestAlgorithm::Sha384 => run::<Sha384>(data, ranges),
        DigestAlgorithm::Sha512 => run::<Sha512>(data, ranges),
    }
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
}
