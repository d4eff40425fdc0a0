//! The Windows 10+ `MAM` container: `MAM` + a type byte (0x04 = LZXPRESS Huffman), the
//! uncompressed size (u32 at 4), then one Huffman stream of 64 KiB blocks.

use crate::Error;

/// The largest uncompressed size accepted (64 MiB; real prefetch files are < 10 MiB).
/// Checked before anything is allocated.
pub const MAX_UNCOMPRESSED: u32 = 64 << 20;

const LAYER: &str = "MAM header";

fn err(offset: u64, what: String) -> Error {
    Error::Corrupt {
        layer: LAYER,
        offset,
        what,
        decompressed: false,
    }
}

/// The SCCA stream inside a MAM file.
pub(crate) fn decompress(data: &[u8]) -> Result<Vec<u8>, Error> {
    let header = data.get(..8).ok_or_else(|| {
        err(
            0,
            format!("header needs 8 bytes, the file has {}", data.len()),
        )
    })?;
    let kind = header[3];
    if kind != 0x04 {
        let name = match kind {
            0x01 => "LZNT1",
            0x02 => "plain LZXPRESS",
            0x03 => "LZXPRESS Huffman with a checksum? (0x03)",
            k if k & 0x80 != 0 => "checksummed",
            _ => "unknown",
        };
        return Err(Error::Unsupported {
            layer: LAYER,
            offset: 3,
            what: format!(
                "MAM compression type {kind:#04x} ({name}); only 0x04 (LZXPRESS Huffman) is read"
            ),
            decompressed: false,
        });
    }
    let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if size > MAX_UNCOMPRESSED {
        return Err(Error::Unsupported {
            layer: LAYER,
            offset: 4,
            what: format!(
                "uncompressed size {size} bytes (above the {MAX_UNCOMPRESSED}-byte limit)"
            ),
            decompressed: false,
        });
    }
    if size < 8 {
        return Err(err(
            4,
            format!("uncompressed size {size} is too small for an SCCA header"),
        ));
    }
    triage_compress::xpress_huffman::decompress(&data[8..], size as usize).map_err(|e| {
        // The decoder's offsets are in its input, which starts after the 8-byte header.
        let at = e.offset().map_or(8, |o| o.saturating_add(8));
        err(
            at,
            format!("LZXPRESS Huffman stream of {size} bytes does not decode: {e}"),
        )
    })
}
