//! The single pass over the whole file: md5/sha1/sha256, every Authenticode
//! image digest the signature needs and the PE checksum.
//!
//! The hashes take the file 64 bytes (one compression block) at a time, in
//! turn. Each compression is one long dependency chain that leaves most of
//! the core idle; fed in turn, the out-of-order core runs the next hash's
//! block beside the previous one's chain. Measured on the samples
//! (`examples/hash_parts.rs`): md5+sha1+sha256 10 % faster than three whole
//! passes, 12 % with the Authenticode SHA-256 as a fourth stream. The
//! checksum then reads each 16 KiB chunk while it is still in L1.

use crate::authenticode::{DigestAlgorithm, DigestRanges, ImageDigest};
use crate::checksum::Sum;
use crate::hashes::{FileHashes, Hashers};

/// One compression block of every hash here (md5, sha1, sha256; sha384 and
/// sha512 take two of them).
const BLOCK: usize = 64;
/// The chunk the checksum reads once the hashes are through it: well inside L1.
const CHUNK: usize = 16 * 1024;

pub struct WholeFile {
    pub hashes: Option<FileHashes>,
    pub checksum: u32,
    /// The Authenticode image digest of each requested algorithm, hex.
    pub digests: Vec<(DigestAlgorithm, String)>,
}

/// `algorithms`: the image digests wanted (duplicates ignored).
pub fn whole_file(
    data: &[u8],
    checksum_offset: usize,
    ranges: &DigestRanges,
    hashes: bool,
    algorithms: &[DigestAlgorithm],
) -> WholeFile {
    let mut file = hashes.then(Hashers::new);
    let mut sum = Sum::new(checksum_offset);
    let mut images: Vec<ImageDigest> = Vec::with_capacity(algorithms.len());
    for &alg in algorithms {
        if !images.iter().any(|d| d.algorithm() == alg) {
            images.push(ImageDigest::new(alg));
        }
    }
    for chunk in data.chunks(CHUNK) {
        for block in chunk.chunks(BLOCK) {
            if let Some(h) = &mut file {
                h.update(block);
            }
            for d in &mut images {
                d.advance(data, ranges, BLOCK);
            }
        }
        sum.add(chunk);
    }
    // The image digests' streams are never longer than the file: the loop
    // above has fed them all; this only makes that plain.
    for d in &mut images {
        d.advance(data, ranges, usize::MAX);
    }
    WholeFile {
        hashes: file.map(Hashers::finish),
        checksum: sum.finish(data.len()),
        digests: images
            .into_iter()
            .map(|d| (d.algorithm(), d.finish(ranges)))
            .collect(),
    }
}
