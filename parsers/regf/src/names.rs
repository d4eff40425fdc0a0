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
        Cow::Owned(triage_bytes::utf16::lossy(raw))
    }
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
