//! The one time type of the records and the rules, and the one place FILETIMEs become
//! text: ISO 8601 UTC with 100 ns precision, the same in every record kind and every
//! format. Zero (never set) is an empty cell.
//!
//! Records keep their times as text for the writers, and as [`FileTime`] beside it for
//! the rules, which compare typed values and never parse their own output back.

/// A Windows FILETIME: 100 ns ticks since 1601-01-01 UTC. `FileTime(0)` is "not set".
/// The workspace's one time type (`triage-bytes`), shared with the parsers.
pub use triage_bytes::FileTime;

/// A FILETIME (100 ns ticks since 1601-01-01 UTC) as `2024-03-12T08:14:04.2000000Z`;
/// empty for 0.
pub fn filetime(ft: u64) -> String {
    let t = FileTime(ft);
    if t.is_set() {
        t.iso()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::FileTime;

    #[test]
    fn zero_is_empty_and_epoch_is_exact() {
        assert_eq!(super::filetime(0), "");
        // 1970-01-01T00:00:00Z is 116444736000000000 ticks.
        assert_eq!(
            super::filetime(116_444_736_000_000_000),
            "1970-01-01T00:00:00.0000000Z"
        );
    }

    #[test]
    fn parse_is_the_inverse_of_format() {
        for ft in [
            116_444_736_000_000_000u64,
            1_335_470_001_234_567,
            133_547_000_000_000_001,
            1,
        ] {
            let t = FileTime(ft);
            assert_eq!(FileTime::parse_iso(&t.iso()), Some(t), "{}", t.iso());
        }
        assert_eq!(
            FileTime::parse_iso("1970-01-01T00:00:01Z").map(FileTime::unix_seconds),
            Some(1)
        );
        assert_eq!(
            FileTime::parse_iso("2024-05-01T08:00:01.5Z").map(FileTime::unix_seconds),
            Some(1_714_550_401)
        );
        assert_eq!(FileTime::parse_iso("garbage"), None);
        assert_eq!(FileTime::parse_iso("2024-13-01T00:00:00Z"), None);
        assert_eq!(FileTime::parse_iso("1500-01-01T00:00:00Z"), None);
    }
}
