//! Key and value names: "compressed" names are Latin-1 bytes, the others UTF-16LE.
use std::borrow::Cow;

pub(crate) fn decode_name(raw: &[u8], compressed: bool) -> Cow<'_, str> {
    if compressed {
        if raw.is_ascii() {
            // ASCII is valid UTF-8: borrow without copying (the common case).
            Cow::Borrowed(std::str::from_utf8(raw).unwrap_or_default())
        } else {
            Cow::Owned(raw.iter().map(|&b| b as char).collect())
        }
    } else {
        Cow::Owned(utf16_lossy(raw))
    }
}

pub(crate) fn utf16_lossy(raw: &[u8]) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Registry name comparison is case-insensitive (Windows upcases both sides).
pub fn names_equal(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}
