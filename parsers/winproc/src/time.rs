//! FILETIME (100 ns ticks since 1601-01-01 UTC) as a value plus ISO-8601 text.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileTime {
    pub filetime: u64,
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` (microseconds only when non-zero).
    pub iso: String,
}

impl FileTime {
    pub fn new(filetime: u64) -> FileTime {
        FileTime {
            filetime,
            iso: filetime_to_iso(filetime),
        }
    }
}

/// FILETIME → RFC 3339 UTC. Sub-microsecond ticks are dropped (as Volatility prints).
pub fn filetime_to_iso(ft: u64) -> String {
    triage_bytes::FileTime(ft).rfc3339_micros()
}

/// 1990-01-01 and 2100-01-01 as FILETIME: outside this a creation time is not plausible.
pub(crate) const PLAUSIBLE_MIN: u64 = 0x01B4_1E2A_18D6_4000;
pub(crate) const PLAUSIBLE_MAX: u64 = 0x022F_7163_7764_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // 1970-01-01 (the Unix epoch) is 116444736000000000 ticks after 1601-01-01.
        assert_eq!(
            filetime_to_iso(116_444_736_000_000_000),
            "1970-01-01T00:00:00+00:00"
        );
        // `date -u -d @1710231243` = 2024-03-12 08:14:03
        assert_eq!(
            filetime_to_iso((1_710_231_243 + 11_644_473_600) * 10_000_000),
            "2024-03-12T08:14:03+00:00"
        );
        // Leap day, with microseconds: `date -u -d @951782400` = 2000-02-29 00:00:00
        assert_eq!(
            filetime_to_iso((951_782_400 + 11_644_473_600) * 10_000_000 + 1_234_567),
            "2000-02-29T00:00:00.123456+00:00"
        );
        assert_eq!(filetime_to_iso(0), "1601-01-01T00:00:00+00:00");
    }

    #[test]
    fn plausible_bounds_are_the_years_they_claim() {
        assert!(filetime_to_iso(PLAUSIBLE_MIN).starts_with("1990-01-01T00:00:00"));
        assert!(filetime_to_iso(PLAUSIBLE_MAX).starts_with("2100-01-01T00:00:00"));
    }
}
