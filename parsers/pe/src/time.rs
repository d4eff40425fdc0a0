//! A PE `TimeDateStamp` (Unix seconds) as ISO 8601 UTC, through the workspace's one
//! time type.

use triage_bytes::FileTime;

pub fn iso8601_utc(unix_seconds: u32) -> String {
    FileTime::from_unix_seconds(i64::from(unix_seconds))
        .map(FileTime::iso_seconds)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::iso8601_utc;

    #[test]
    fn known_instants() {
        // Values checked with `date -u -d @N +%FT%TZ`.
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(1_234_567_890), "2009-02-13T23:31:30Z");
        assert_eq!(iso8601_utc(u32::MAX), "2106-02-07T06:28:15Z");
    }
}
