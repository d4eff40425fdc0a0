//! Whole-file md5/sha1/sha256. The analyser feeds them from its single pass
//! (`pass.rs`), block by block, beside the Authenticode digests.

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

/// md5, sha1 and sha256 of `data`: through the fused SHA-NI kernel where the
/// CPU has one (`fused`), else the hash crates fed 64 bytes at a time in turn
/// as the single pass does (see `pass.rs` for why).
pub fn file_hashes(data: &[u8]) -> FileHashes {
    #[cfg(target_arch = "x86_64")]
    if let Some(engine) = crate::fused::Engine::detect() {
        let (md5, sha1, sha256) = engine.file_hashes(data);
        return FileHashes {
            md5: hex(&md5),
            sha1: hex(&sha1),
            sha256: hex(&sha256),
        };
    }
    let mut h = Hashers::new();
    for block in data.chunks(64) {
        h.update(block);
    }
    h.finish()
}

/// The three running hashes, fed block by block by the single pass.
pub(crate) struct Hashers {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
}

impl Hashers {
    pub(crate) fn new() -> Hashers {
        Hashers {
            md5: Md5::new(),
            sha1: Sha1::new(),
            sha256: Sha256::new(),
        }
    }

    pub(crate) fn update(&mut self, block: &[u8]) {
        self.md5.update(block);
        self.sha1.update(block);
        self.sha256.update(block);
    }

    pub(crate) fn finish(self) -> FileHashes {
        FileHashes {
            md5: hex(&self.md5.finalize()),
            sha1: hex(&self.sha1.finalize()),
            sha256: hex(&self.sha256.finalize()),
        }
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
