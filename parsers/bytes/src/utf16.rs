//! UTF-16 text from evidence. Unpaired surrogates become U+FFFD (never an error), and an odd
//! trailing byte is dropped: names in evidence are what they are, and a reader must show
//! them rather than fail.

/// Little-endian code units of `raw` (an odd last byte is ignored).
pub fn units(raw: &[u8]) -> impl Iterator<Item = u16> + '_ {
    raw.chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

/// All of `raw` as UTF-16LE text, NULs included.
pub fn lossy(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len() / 2);
    push_lossy(&mut s, raw);
    s
}

/// Appends `raw` as UTF-16LE text to `out` (path building without a String per part).
pub fn push_lossy(out: &mut String, raw: &[u8]) {
    let raw = &raw[..raw.len() & !1];
    // Most names in evidence are ASCII (registry values and MFT names are millions of them):
    // narrow those bytewise and decode UTF-16 only when a unit is not ASCII.
    if raw.chunks_exact(2).all(|c| c[1] == 0 && c[0] < 0x80) {
        out.extend(raw.iter().step_by(2).map(|&b| char::from(b)));
        return;
    }
    out.extend(char::decode_utf16(units(raw)).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
}

/// Byte index of the first NUL code unit.
pub fn nul_position(raw: &[u8]) -> Option<usize> {
    raw.chunks_exact(2).position(|c| c == [0, 0]).map(|i| i * 2)
}

/// UTF-16LE text up to the first NUL code unit (or all of `raw` when there is none).
pub fn until_nul(raw: &[u8]) -> String {
    lossy(&raw[..nul_position(raw).unwrap_or(raw.len())])
}

/// Big-endian UTF-16 (VHD parent names), up to the first NUL.
pub fn be_until_nul(raw: &[u8]) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn decodes_names_and_stops_at_nul() {
        let mut b = enc("\\SystemRoot\\System32\\smss.exe");
        b.extend([0, 0, b'x', 0]);
        assert_eq!(until_nul(&b), "\\SystemRoot\\System32\\smss.exe");
        assert_eq!(lossy(&b), "\\SystemRoot\\System32\\smss.exe\0x");
        // Astral characters survive; a lone surrogate becomes U+FFFD; odd byte dropped.
        assert_eq!(until_nul(&enc("s\u{1F600}")), "s\u{1F600}");
        assert_eq!(lossy(&[0x00, 0xD8, b'a', 0, 7]), "\u{FFFD}a");
        let be: Vec<u8> = "C:\\p.vhd"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(be_until_nul(&be), "C:\\p.vhd");
    }
}
