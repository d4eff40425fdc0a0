//! Cluster and grain decoders: raw deflate / zlib (qcow2, VMDK) and zstd (qcow2
//! compression type 1), each bounded to one cluster of output.

/// Decode zstd frames from `input` until exactly `out_len` bytes are out, as qemu does
/// (a cluster may hold several frames; the last must end where the cluster does).
/// `None` when the data is bad, ends short, or would produce more.
pub(super) fn unzstd_exact(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    // ruzstd is fuzzed upstream, but a decoder panic must not take the image down.
    std::panic::catch_unwind(|| {
        let mut out = vec![0u8; out_len];
        let mut rest: &[u8] = input;
        let mut pos = 0usize;
        // Every frame must add output, so this runs at most `out_len` times.
        while pos < out_len {
            let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut rest).ok()?;
            let start = pos;
            while pos < out_len {
                match dec.read(&mut out[pos..]) {
                    Ok(0) => break,
                    Ok(n) => pos += n,
                    Err(_) => return None,
                }
            }
            if pos == start {
                return None;
            }
            if pos == out_len {
                // Full: the frame must end here.
                let mut one = [0u8; 1];
                if !matches!(dec.read(&mut one), Ok(0)) {
                    return None;
                }
            }
        }
        Some(out)
    })
    .ok()
    .flatten()
}

/// Inflate `input` (zlib when `zlib`, raw deflate otherwise) to exactly `out_len` bytes:
/// `None` when it ends short, is truncated, or would produce more.
pub(crate) fn inflate_exact(input: &[u8], out_len: usize, zlib: bool) -> Option<Vec<u8>> {
    let (out, ended) = inflate_upto(input, out_len, zlib)?;
    (ended && out.len() == out_len).then_some(out)
}

/// Inflate at most `out_len` bytes; `None` when the data is bad or would produce more
/// than `out_len`; the flag says whether the stream ended.
pub(crate) fn inflate_upto(input: &[u8], out_len: usize, zlib: bool) -> Option<(Vec<u8>, bool)> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut out = vec![0u8; out_len];
    let mut d = Decompress::new(zlib);
    let st = d
        .decompress(input, &mut out, FlushDecompress::Finish)
        .ok()?;
    let produced = d.total_out() as usize;
    match st {
        Status::StreamEnd => {
            out.truncate(produced);
            Some((out, true))
        }
        _ if produced == out_len => {
            // Output full but the stream did not end: is there more?
            let used = d.total_in() as usize;
            let mut more = [0u8; 64];
            let rest = input.get(used..).unwrap_or(&[]);
            match d.decompress(rest, &mut more, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) if d.total_out() as usize == out_len => Some((out, true)),
                _ => None,
            }
        }
        _ => None,
    }
}
