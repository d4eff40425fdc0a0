//! The one time type of the records and the rules, and the one place FILETIMEs become
//! text: ISO 8601 UTC with 100 ns precision, the same in every record kind and every
//! format. Zero (never set) is an empty cell.
//!
//! Records keep their times as text for the writers, and as [`FileTime`] beside it for
//! the rules, which compare typed values and never parse their own output back.

use std::fmt;

/// 100 ns ticks between 1601-01-01 and 1970-01-01.
const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;
const TICKS_PER_SECOND: u64 = 10_000_000;

/// A Windows FILETIME: 100 ns ticks since 1601-01-01 UTC. `FileTime(0)` is "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Not set (zero): an empty cell, and no time for the rules.
    pub fn is_set(self) -> bool {
        self.0 != 0
    }

    /// `Some(self)` when set.
    pub fn get(self) -> Option<FileTime> {
        self.is_set().then_some(self)
    }

    /// `2024-03-12T08:14:04.2000000Z`, also for zero (`1601-01-01T00:00:00.0000000Z`).
    pub fn iso(self) -> String {
        triage_regf::filetime_to_iso8601(self.0)
    }

    /// Whole seconds since 1970 (negative before), for comparisons in seconds.
    pub fn unix_seconds(self) -> i64 {
        (self.0 / TICKS_PER_SECOND) as i64 - (UNIX_EPOCH_TICKS / TICKS_PER_SECOND) as i64
    }

    /// Seconds since 1970 with the fraction, for pictures (the HTML boot chain).
    pub fn unix_f64(self) -> f64 {
        (self.0 as f64 - UNIX_EPOCH_TICKS as f64) / TICKS_PER_SECOND as f64
    }

    /// The time `secs` whole seconds later (saturating).
    pub fn plus_seconds(self, secs: u64) -> FileTime {
        FileTime(self.0.saturating_add(secs.saturating_mul(TICKS_PER_SECOND)))
    }

    /// Read back a time this tool wrote (`YYYY-MM-DDTHH:MM:SS[.fffffff]Z`), for values
    /// that arrive as text (event logs store ISO strings). `None` for anything else.
    pub fn parse_iso(s: &str) -> Option<FileTime> {
        let b = s.as_bytes();
        if b.len() < 19 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y2 = if m <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
        // Up to seven fraction digits: 100 ns ticks.
        let mut frac: u64 = 0;
        if let Some(r) = s.get(19..).and_then(|r| r.strip_prefix('.')) {
            let digits: Vec<u8> = r.bytes().take_while(u8::is_ascii_digit).take(7).collect();
            for i in 0..7 {
                frac = frac * 10 + u64::from(digits.get(i).map_or(0, |c| c - b'0'));
            }
        }
        let ticks = i128::from(secs) * i128::from(TICKS_PER_SECOND)
            + i128::from(UNIX_EPOCH_TICKS)
            + i128::from(frac);
        u64::try_from(ticks).ok().map(FileTime)
    }
}

impl fmt::Display for FileTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

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
            133_547_000_123_456_7,
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
