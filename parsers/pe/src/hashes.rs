//! Whole-file md5/sha1/sha256 in one pass over the data, chunk by chunk, so
//! each chunk is hashed three times while it is still in cache.

use md5::Md5;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::bytes::hex;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHashes {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
}

pub fn file_hashes(data: &[u8]) -> FileHashes {
    const CHUNK: usize = 32 * 1024;
    let mut md5 = Md5::new();
    let mut sha1 = Sha1::new();
    let mut sha256 = Sha256::new();
    for chunk in data.chunks(CHUNK) {
        md5.update(chunk);
        sha1.update(chunk);
        sha256.update(chunk);
    }
    FileHashes {
        md5: hex(&md5.finalize()),
        sha1: hex(&sha1.finalize()),
        sha256: hex(&sha256.finalize()),
    }
}

#[cfg(test)]
mod tests {
    use super::file_hashes;

    #[test]
    fn empty_input_gives_the_well_known_digests() {
        let h = file_hashes(b"");
        assert_eq!(h.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(h.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            h.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
