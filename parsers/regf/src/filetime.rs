//! FILETIME (100 ns ticks since 1601-01-01 UTC) helpers; timestamps stay `u64` in every struct.

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` (full 100 ns precision, UTC).
pub fn filetime_to_iso8601(ft: u64) -> String {
    triage_bytes::FileTime(ft).iso()
}

/// Microseconds since the Unix epoch (negative before 1970), for comparison with other tools.
pub fn filetime_to_unix_micros(ft: u64) -> i64 {
    triage_bytes::FileTime(ft).unix_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    const EPOCH_DIFF_TICKS: u64 = triage_bytes::UNIX_EPOCH_TICKS;
    #[test]
    fn known_instants() {
        assert_eq!(filetime_to_iso8601(0), "1601-01-01T00:00:00.0000000Z");
        assert_eq!(
            filetime_to_iso8601(EPOCH_DIFF_TICKS),
            "1970-01-01T00:00:00.0000000Z"
        );
        // 2000-02-29T12:34:56.789 UTC = unix 951827696.789
        let ft = EPOCH_DIFF_TICKS + 9_518_276_967_890_000;
        assert_eq!(filetime_to_iso8601(ft), "2000-02-29T12:34:56.7890000Z");
        assert_eq!(filetime_to_unix_micros(ft), 951_827_696_789_000);
        assert!(filetime_to_iso8601(u64::MAX).starts_with("60056-"));
    }
}
