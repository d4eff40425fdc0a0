//! FILETIME: 100 ns ticks since 1601-01-01 UTC, the time type of Windows evidence (NTFS,
//! registry, EVTX, prefetch, EPROCESS, VSS). The calendar conversion is written once, here;
//! every crate formats through it.

use std::fmt;

/// Ticks in one second.
pub const TICKS_PER_SECOND: u64 = 10_000_000;
/// FILETIME of 1970-01-01T00:00:00Z.
pub const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;

/// A FILETIME as read from evidence. Zero means "never set" to Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

/// The UTC calendar fields of a FILETIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 100 ns ticks within the second, 0..10,000,000.
    pub ticks: u32,
}

impl FileTime {
    /// The FILETIME of a Unix time in seconds (`None` before 1601).
    pub fn from_unix_seconds(secs: i64) -> Option<FileTime> {
        let ticks = i128::from(secs) * i128::from(TICKS_PER_SECOND) + i128::from(UNIX_EPOCH_TICKS);
        u64::try_from(ticks).ok().map(FileTime)
    }

    /// Whether Windows left it unset.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whole seconds since 1970-01-01 (negative before), rounding down.
    pub fn unix_seconds(self) -> i64 {
        (i128::from(self.0) - i128::from(UNIX_EPOCH_TICKS)).div_euclid(i128::from(TICKS_PER_SECOND))
            as i64
    }

    /// Microseconds since 1970-01-01 (negative before), rounding down.
    pub fn unix_micros(self) -> i64 {
        (i128::from(self.0) - i128::from(UNIX_EPOCH_TICKS)).div_euclid(10) as i64
    }

    /// The calendar fields (proleptic Gregorian, UTC).
    pub fn civil(self) -> Civil {
        let secs = self.0 / TICKS_PER_SECOND;
        let ticks = (self.0 % TICKS_PER_SECOND) as u32;
        let days = (secs / 86_400) as i64 - 134_774; // 1601-01-01 → 1970-01-01
        let rem = (secs % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            ticks,
        }
    }

    /// `2024-03-12T08:14:04.2000000Z`: ISO 8601 UTC at full 100 ns precision, the form of
    /// every output column.
    pub fn iso(self) -> String {
        self.to_string()
    }

    /// ISO 8601 UTC, empty for zero (an unset time is an empty cell).
    pub fn iso_or_empty(self) -> String {
        if self.is_zero() {
            String::new()
        } else {
            self.iso()
        }
    }

    /// RFC 3339 with microseconds and `+00:00`, omitted when zero (as Volatility prints).
    pub fn rfc3339_micros(self) -> String {
        let c = self.civil();
        let micros = c.ticks / 10;
        let date = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        if micros == 0 {
            format!("{date}+00:00")
        } else {
            format!("{date}.{micros:06}+00:00")
        }
    }

    /// `2012-12-10 08:15:09 UTC`: seconds only, for labels a person reads.
    pub fn human(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

impl fmt::Display for FileTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.ticks
        )
    }
}

/// Howard Hinnant's civil_from_days: (year, month, day) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_points() {
        assert_eq!(FileTime(0).iso(), "1601-01-01T00:00:00.0000000Z");
        assert_eq!(FileTime(0).iso_or_empty(), "");
        assert_eq!(
            FileTime(UNIX_EPOCH_TICKS).iso(),
            "1970-01-01T00:00:00.0000000Z"
        );
        assert_eq!(FileTime(UNIX_EPOCH_TICKS).unix_seconds(), 0);
        assert_eq!(FileTime(UNIX_EPOCH_TICKS - 1).unix_seconds(), -1);
        assert_eq!(
            FileTime::from_unix_seconds(0),
            Some(FileTime(UNIX_EPOCH_TICKS))
        );
        assert_eq!(FileTime::from_unix_seconds(-11_644_473_601), None);
        assert!(FileTime(u64::MAX).iso().starts_with("60056-"));
        assert_eq!(
            FileTime(UNIX_EPOCH_TICKS + 15).rfc3339_micros(),
            "1970-01-01T00:00:00.000001+00:00"
        );
        // vshadowinfo: Dec 03, 2013 06:35:09.736378700 UTC
        assert_eq!(
            FileTime(130305261097363787).human(),
            "2013-12-03 06:35:09 UTC"
        );
    }
}
