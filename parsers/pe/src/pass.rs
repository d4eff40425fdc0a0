//! The single pass over the whole file: md5/sha1/sha256, every Authenticode
//! image digest the signature needs, the PE checksum and the entropy of the
//! sections that follow one another without overlapping.
//!
//! The hashes take the file 64 bytes (one compression block) at a time, in
//! turn. Each compression is one long dependency chain that leaves most of
//! the core idle. With SHA-NI (x86-64), `crate::fused` runs all streams'
//! rounds interleaved in one kernel (one thread, the 27 samples,
//! `examples/hash_parts.rs`: `analyze` 27 ms against 34.5 ms through the
//! crates; the three file hashes 14.6 ms against 22 ms), and each block's
//! histogram is counted right after its hashes, beside the md5 chain (1.3 ms
//! against 3.6 ms as a pass of its own). Otherwise the hash crates are fed in
//! turn, which lets the out-of-order core overlap a little (10 % against
//! three whole passes). The checksum reads each 16 KiB chunk while it is
//! still in L1.

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
    /// The entropy of each of the `sections` ranges.
    pub entropies: Vec<f64>,
}

/// `algorithms`: the image digests wanted (duplicates ignored); `sections`:
/// file ranges, in order and not overlapping, whose entropy is wanted.
pub fn whole_file(
    data: &[u8],
    checksum_offset: usize,
    ranges: &DigestRanges,
    hashes: bool,
    algorithms: &[DigestAlgorithm],
    sections: &[(usize, usize)],
) -> WholeFile {
    #[cfg(target_arch = "x86_64")]
    if let Some(engine) = crate::fused::Engine::detect() {
        let pass = fused::Pass {
            engine,
            checksum_offset,
            ranges,
            algorithms,
            sections,
        };
        if let Some(whole) = pass.run(data, hashes) {
            return whole;
        }
    }
    crates_whole_file(data, checksum_offset, ranges, hashes, algorithms, sections)
}

/// The pass through the hash crates: CPUs without SHA-NI, md5, SHA-384 and
/// SHA-512 signatures, and the image digests without the file hashes.
fn crates_whole_file(
    data: &[u8],
    checksum_offset: usize,
    ranges: &DigestRanges,
    hashes: bool,
    algorithms: &[DigestAlgorithm],
    sections: &[(usize, usize)],
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
        entropies: sections
            .iter()
            .map(|&(a, b)| data.get(a..b).map_or(0.0, crate::entropy::shannon_entropy))
            .collect(),
    }
}

/// The pass through the fused kernel (`crate::fused`): the file's md5, sha1
/// and sha256 and the Authenticode SHA-256 (and SHA-1) image digest advance
/// together, one 64-byte block of each stream per step.
#[cfg(target_arch = "x86_64")]
mod fused {
    use super::{WholeFile, CHUNK};
    use crate::authenticode::{DigestAlgorithm, DigestRanges};
    use crate::bytes::hex;
    use crate::checksum::Sum;
    use crate::entropy::Counter;
    use crate::fused::{Engine, INIT};
    use crate::hashes::FileHashes;

    pub(super) struct Pass<'a> {
        pub engine: Engine,
        pub checksum_offset: usize,
        pub ranges: &'a DigestRanges,
        pub algorithms: &'a [DigestAlgorithm],
        pub sections: &'a [(usize, usize)],
    }

    impl Pass<'_> {
        /// `None` where this pass does not apply (see `crates_whole_file`).
        pub(super) fn run(&self, data: &[u8], hashes: bool) -> Option<WholeFile> {
            let (engine, algorithms) = (self.engine, self.algorithms);
            let supported =
                |a: &DigestAlgorithm| matches!(a, DigestAlgorithm::Sha1 | DigestAlgorithm::Sha256);
            if !hashes || !algorithms.iter().all(supported) {
                return None;
            }
            let auth_sha1 = algorithms.contains(&DigestAlgorithm::Sha1);
            let mut auth = Stream::new(data, self.ranges)?;
            let mut entropy = Sections::new(self.sections, data.len())?;
            let mut st = INIT;
            let mut sum = Sum::new(self.checksum_offset);
            let mut buf = [0u8; 64];
            let mut off = 0usize;
            for chunk in data.chunks(CHUNK) {
                for block in chunk.chunks_exact(64) {
                    let Ok(file) = <&[u8; 64]>::try_from(block) else {
                        continue;
                    };
                    let a = auth.next_block(&mut buf);
                    engine.file_block(&mut st, file, a, auth_sha1);
                    // Counted right after the block's hashes, the histogram's
                    // loads and stores run beside the md5 chain.
                    entropy.block(off, file);
                    off += 64;
                }
                sum.add(chunk);
            }
            // Only a tiny file padded to a multiple of 8 has image bytes left.
            while let Some(a) = auth.next_block(&mut buf) {
                engine.auth_block(&mut st, a, auth_sha1);
            }
            let tail = data.get(off..).unwrap_or(&[]);
            entropy.block(off, tail);
            let n = data.len() as u64;
            let file = FileHashes {
                md5: hex(&engine.finish_md5(st.md5, tail, n)),
                sha1: hex(&engine.finish_sha1(st.sha1[0], tail, n)),
                sha256: hex(&engine.finish_sha256(st.sha256[0], tail, n)),
            };
            let (auth_tail, auth_len) = auth.tail(&mut buf);
            let mut digests = Vec::with_capacity(2);
            for &alg in algorithms {
                if digests.iter().any(|(a, _)| *a == alg) {
                    continue;
                }
                let d = match alg {
                    DigestAlgorithm::Sha1 => {
                        hex(&engine.finish_sha1(st.sha1[1], auth_tail, auth_len))
                    }
                    _ => hex(&engine.finish_sha256(st.sha256[1], auth_tail, auth_len)),
                };
                digests.push((alg, d));
            }
            Some(WholeFile {
                hashes: Some(file),
                checksum: sum.finish(data.len()),
                digests,
                entropies: entropy.finish(),
            })
        }
    }

    /// The histograms of the sections, counted block by block as the pass
    /// reaches them.
    struct Sections<'s> {
        ranges: &'s [(usize, usize)],
        /// The section being counted; those before it are done.
        cur: usize,
        counter: Counter,
        out: Vec<f64>,
    }

    impl<'s> Sections<'s> {
        /// `None` unless the ranges are in the file, in order and do not
        /// overlap.
        fn new(ranges: &'s [(usize, usize)], len: usize) -> Option<Sections<'s>> {
            let mut end = 0;
            for &(a, b) in ranges {
                if a > b || a < end || b > len {
                    return None;
                }
                end = b;
            }
            Some(Sections {
                ranges,
                cur: 0,
                counter: Counter::new(),
                out: Vec::with_capacity(ranges.len()),
            })
        }

        /// The file's bytes at `off`: the common case (inside the current
        /// section) inline, the rest out of line.
        #[inline(always)]
        fn block(&mut self, off: usize, bytes: &[u8]) {
            let end = off + bytes.len();
            if let Some(&(a, b)) = self.ranges.get(self.cur) {
                if a <= off && end < b {
                    self.counter.add(bytes);
                    return;
                }
            }
            self.across(off, bytes);
        }

        #[inline(never)]
        fn across(&mut self, off: usize, bytes: &[u8]) {
            let end = off + bytes.len();
            while let Some(&(a, b)) = self.ranges.get(self.cur) {
                if a >= end && a > off {
                    break;
                }
                let (s, e) = (a.max(off), b.min(end));
                if s < e {
                    self.counter.add(&bytes[s - off..e - off]);
                }
                if b > end {
                    break;
                }
                self.out.push(self.counter.take_entropy(b - a));
                self.cur += 1;
            }
        }

        fn finish(mut self) -> Vec<f64> {
            while let Some(&(a, b)) = self.ranges.get(self.cur) {
                self.out.push(self.counter.take_entropy(b - a));
                self.cur += 1;
            }
            self.out
        }
    }

    /// The image digest's byte stream (the ranges in order, then the signing
    /// padding of zeros) handed out 64 bytes at a time: a block inside one
    /// range is borrowed from the file, one across a hole is copied.
    struct Stream<'a> {
        data: &'a [u8],
        ranges: &'a [(usize, usize)],
        /// The range being read and the file offset reached in it.
        next: usize,
        at: usize,
        pad: usize,
        /// Bytes of the stream not yet handed out, and all of them.
        left: usize,
        total: usize,
    }

    impl<'a> Stream<'a> {
        /// `None` if a range is not inside the file (the crates' pass then
        /// does what it always did with it).
        fn new(data: &'a [u8], ranges: &'a DigestRanges) -> Option<Stream<'a>> {
            let mut total = 0usize;
            let mut end = 0usize;
            for &(a, b) in &ranges.0 {
                if a >= b || b > data.len() || a < end {
                    return None;
                }
                end = b;
                total += b - a;
            }
            let pad = ranges.1.min(8);
            total += pad;
            Some(Stream {
                data,
                ranges: &ranges.0,
                next: 0,
                at: ranges.0.first().map_or(0, |r| r.0),
                pad,
                left: total,
                total,
            })
        }

        /// Copies the next `out.len()` bytes of the stream (there are that many).
        fn take(&mut self, out: &mut [u8]) {
            let mut filled = 0;
            while filled < out.len() {
                let Some(&(_, b)) = self.ranges.get(self.next) else {
                    // The padding: zeros.
                    let n = (out.len() - filled).min(self.pad);
                    out[filled..filled + n].fill(0);
                    self.pad -= n;
                    filled += n;
                    if n == 0 {
                        break;
                    }
                    continue;
                };
                let n = (b - self.at).min(out.len() - filled);
                out[filled..filled + n].copy_from_slice(&self.data[self.at..self.at + n]);
                filled += n;
                self.at += n;
                if self.at >= b {
                    self.next += 1;
                    if let Some(&(a, _)) = self.ranges.get(self.next) {
                        self.at = a;
                    }
                }
            }
            self.left -= filled;
        }

        fn next_block<'b>(&mut self, buf: &'b mut [u8; 64]) -> Option<&'b [u8; 64]>
        where
            'a: 'b,
        {
            if self.left < 64 {
                return None;
            }
            if let Some(&(_, b)) = self.ranges.get(self.next) {
                if b - self.at > 64 {
                    let block = self.data.get(self.at..self.at + 64)?;
                    self.at += 64;
                    self.left -= 64;
                    return block.try_into().ok();
                }
            }
            self.take(buf);
            Some(buf)
        }

        /// The last (< 64) bytes and the stream's length.
        fn tail<'b>(&mut self, buf: &'b mut [u8; 64]) -> (&'b [u8], u64) {
            let n = self.left.min(63);
            self.take(&mut buf[..n]);
            (&buf[..n], self.total as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{crates_whole_file, whole_file};
    use crate::authenticode::{DigestAlgorithm, DigestRanges};

    /// The fused pass (where the CPU runs it) gives what the hash crates
    /// give: file hashes, checksum, every image digest and bit-identical
    /// section entropies, for files of every
    /// length class with the CheckSum field, the security entry and the
    /// certificate table anywhere (holes across block boundaries, back to
    /// back, at the start and at the end) and with the signing padding.
    #[test]
    fn the_fused_pass_equals_the_crates_pass() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let algs: [&[DigestAlgorithm]; 4] = [
            &[DigestAlgorithm::Sha256],
            &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha1],
            &[
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha1,
                DigestAlgorithm::Sha256,
            ],
            &[DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        ];
        let mut lens: Vec<usize> = vec![
            0, 1, 7, 63, 64, 65, 127, 128, 200, 1000, 16384, 16385, 40000,
        ];
        lens.extend((0..40).map(|_| (next() % 70_000) as usize));
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused))]
        let mut ran_fused = 0;
        for (i, &len) in lens.iter().enumerate() {
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let pick = |r: u64| {
                if len == 0 {
                    0
                } else {
                    (r % len as u64) as usize
                }
            };
            let checksum = if i % 5 == 0 { 0xd8 } else { pick(next()) };
            let security = if i % 7 == 0 {
                checksum + 4
            } else {
                pick(next())
            };
            let table = match i % 3 {
                0 => None,
                1 if len > 0 => {
                    let start = pick(next());
                    Some((start, len - start))
                }
                _ => {
                    let start = pick(next());
                    Some((start, (next() % 5000) as usize))
                }
            };
            let ranges = DigestRanges::new(len, checksum, security, table);
            // Sections: in order, not overlapping, of any size (empty, less
            // than a block, across blocks), with gaps, up to the end.
            let mut sections = Vec::new();
            let mut at = if i % 2 == 0 { 0 } else { pick(next()) / 2 };
            while at < len && sections.len() < 12 {
                let size = match next() % 4 {
                    0 => 0,
                    1 => (next() % 70) as usize,
                    _ => (next() % 9000) as usize,
                };
                let end = (at + size).min(len);
                sections.push((at, end));
                at = end + (next() % 3) as usize * (next() % 200) as usize;
            }
            if i % 4 == 1 {
                sections.push((len, len));
            }
            for a in algs {
                for hashes in [true, false] {
                    let got = whole_file(&data, checksum, &ranges, hashes, a, &sections);
                    let want = crates_whole_file(&data, checksum, &ranges, hashes, a, &sections);
                    // Where the fused pass applies, it must be the one that ran.
                    #[cfg(target_arch = "x86_64")]
                    if let Some(engine) = crate::fused::Engine::detect() {
                        let pass = super::fused::Pass {
                            engine,
                            checksum_offset: checksum,
                            ranges: &ranges,
                            algorithms: a,
                            sections: &sections,
                        };
                        let fused = pass.run(&data, hashes);
                        let applies = hashes && !a.contains(&DigestAlgorithm::Md5);
                        assert_eq!(
                            fused.is_some(),
                            applies,
                            "len {len}, {ranges:?}, {sections:?}"
                        );
                        if applies {
                            ran_fused += 1;
                        }
                    }
                    assert_eq!(got.hashes, want.hashes, "len {len}, {ranges:?}");
                    assert_eq!(got.checksum, want.checksum, "len {len}");
                    assert_eq!(got.digests, want.digests, "len {len}, {ranges:?}, {a:?}");
                    let bits = |v: &[f64]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got.entropies), bits(&want.entropies), "{sections:?}");
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if crate::fused::Engine::detect().is_some() {
            assert!(ran_fused > 100, "the fused pass ran {ran_fused} times");
        }
    }
}
