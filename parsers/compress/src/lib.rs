//! Windows decompressors, pure Rust, bounded by the declared output size.
//!
//! - [`lznt1`]: NTFS compressed files (compression units of 4 KiB chunks).
//! - [`xpress_huffman`]: LZXPRESS Huffman ([MS-XCA] 2.1/2.2): WOF XPRESS4K/8K/16K,
//!   WIM "XPRESS", prefetch MAM.
//! - [`lzx`]: LZX as WIM and WOF use it (one independent chunk at a time).
//! - [`xpress`]: plain LZ77 LZXPRESS ([MS-XCA] 2.3/2.4): hiberfil.sys.
//! - [`wof`]: the chunk table of a WofCompressedData stream / non-solid WIM resource.
//!
//! Every decoder writes at most `max_out` bytes: a stream that wants more is an error
//! ([`DecompressError::TooLarge`]), never an allocation. Errors name the algorithm and
//! the offset in the *compressed input* where decoding failed; no input panics.
//!
//! What `max_out` means differs with the format's framing: LZNT1 and plain XPRESS end
//! with their input and may return less; XPRESS Huffman and LZX have no trustworthy end
//! marker, so `max_out` is the exact size and they return exactly that or an error.
//!
//! The decoders are plain functions over slices (no shared state), so any number of
//! threads may decode at once; [`wof::ChunkedStream`] is `Send + Sync` and only read.
#![forbid(unsafe_code)]

use triage_source::{Location, SourceError};

mod huffman;
mod util;

pub mod lznt1;
pub mod lzx;
pub mod wof;
pub mod xpress;
pub mod xpress_huffman;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// NTFS LZNT1 (`COMPRESSION_FORMAT_LZNT1`).
    Lznt1,
    /// Plain LZ77 LZXPRESS (`COMPRESSION_FORMAT_XPRESS`).
    Xpress,
    /// LZ77+Huffman LZXPRESS (`COMPRESSION_FORMAT_XPRESS_HUFF`).
    XpressHuffman,
    /// LZX as WIM/WOF store it (one chunk, window = chunk size).
    Lzx,
}

impl Algorithm {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Lznt1 => "LZNT1",
            Algorithm::Xpress => "XPRESS",
            Algorithm::XpressHuffman => "XPRESS Huffman",
            Algorithm::Lzx => "LZX",
        }
    }
}

/// Why a stream could not be decompressed. `offset` is a byte offset in the compressed
/// input (for WOF: in the stream).
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The stream breaks the format (a bad header, a match before the start of the
    /// output, a Huffman table that is not a valid code, …).
    #[error("{algorithm}: corrupt at input offset {offset:#x}: {what}")]
    Corrupt {
        algorithm: &'static str,
        offset: usize,
        what: String,
    },
    /// The input ends before the stream does.
    #[error("{algorithm}: input truncated at offset {offset:#x}: {what}")]
    Truncated {
        algorithm: &'static str,
        offset: usize,
        what: String,
    },
    /// The stream would produce more than the declared `limit` bytes (a decompression
    /// bomb or a wrong declared size).
    #[error("{algorithm}: output exceeds the declared {limit} bytes (input offset {offset:#x})")]
    TooLarge {
        algorithm: &'static str,
        offset: usize,
        limit: usize,
    },
    /// Reading the compressed stream failed (from a [`wof::ChunkedStream`] table reader).
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl DecompressError {
    pub(crate) fn corrupt(algorithm: &'static str, offset: usize, what: impl Into<String>) -> Self {
        DecompressError::Corrupt {
            algorithm,
            offset,
            what: what.into(),
        }
    }

    pub(crate) fn truncated(
        algorithm: &'static str,
        offset: usize,
        what: impl Into<String>,
    ) -> Self {
        DecompressError::Truncated {
            algorithm,
            offset,
            what: what.into(),
        }
    }

    pub(crate) fn too_large(algorithm: &'static str, offset: usize, limit: usize) -> Self {
        DecompressError::TooLarge {
            algorithm,
            offset,
            limit,
        }
    }

    /// The input offset the error is about, if it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            DecompressError::Corrupt { offset, .. }
            | DecompressError::Truncated { offset, .. }
            | DecompressError::TooLarge { offset, .. } => Some(*offset as u64),
            DecompressError::Source(e) => e.offset(),
        }
    }

    /// As a [`SourceError::Corrupt`] of `location`, with the input offset moved by `base`
    /// (the position of the compressed bytes in that source), for readers that report
    /// everything as `SourceError`.
    pub fn into_source_error(self, location: &Location, base: u64) -> SourceError {
        match self {
            DecompressError::Source(e) => e,
            DecompressError::Corrupt {
                algorithm,
                offset,
                what,
                ..
            }
            | DecompressError::Truncated {
                algorithm,
                offset,
                what,
                ..
            } => SourceError::corrupt(
                location,
                algorithm,
                base.saturating_add(offset as u64),
                what,
            ),
            DecompressError::TooLarge {
                algorithm,
                offset,
                limit,
            } => SourceError::corrupt(
                location,
                algorithm,
                base.saturating_add(offset as u64),
                format!("output exceeds the declared {limit} bytes"),
            ),
        }
    }
}

/// Decompress `input` into at most `max_out` bytes (the declared uncompressed size).
/// Output past `max_out` is an error (a decompression bomb), never an allocation.
///
/// LZNT1 and plain XPRESS end with their input and may return fewer than `max_out`
/// bytes (NTFS: the rest of a compression unit is zeros). XPRESS Huffman and LZX have no
/// end marker a decoder can trust, so `max_out` is the exact size and they return
/// exactly `max_out` bytes or an error.
pub fn decompress(
    alg: Algorithm,
    input: &[u8],
    max_out: usize,
) -> Result<Vec<u8>, DecompressError> {
    match alg {
        Algorithm::Lznt1 => lznt1::decompress(input, max_out),
        Algorithm::Xpress => xpress::decompress(input, max_out),
        Algorithm::XpressHuffman => xpress_huffman::decompress(input, max_out),
        Algorithm::Lzx => lzx::decompress_wim(input, max_out),
    }
}
