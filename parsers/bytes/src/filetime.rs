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

    /// Set (not zero): a time for the rules, a filled cell for the writers.
    pub fn is_set(self) -> bool {
        self.0 != 0
    }

    /// `Some(self)` when set.
    pub fn get(self) -> Option<FileTime> {
        self.is_set().then_some(self)
    }

    /// Seconds since 1970 with the fraction, for pictures (the HTML boot chain).
    pub fn unix_f64(self) -> f64 {
        (self.0 as f64 - UNIX_EPOCH_TICKS as f64) / TICKS_PER_SECOND as f64
    }

    /// The time `secs` whole seconds later (saturating).
    pub fn plus_seconds(self, secs: u64) -> FileTime {
        FileTime(self.0.saturating_add(secs.saturating_mul(TICKS_PER_SECOND)))
    }

    /// Reads back a time in the form [`FileTime::iso`] writes
    /// (`YYYY-MM-DDTHH:MM:SS[.fffffff]Z`), for values that arrive as text (event logs
    /// store ISO strings). `None` for anything else.
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
        let secs = days_from_civil(y, m as u32, d as u32) * 86_400 + hh * 3600 + mm * 60 + ss;
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

    /// `2009-02-13T23:31:30Z`: ISO 8601 UTC to the second, for times that have no finer
    /// part (a PE header's `TimeDateStamp`).
    pub fn iso_seconds(self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
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

/// Howard Hinnant's days_from_civil: days from 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        for ft in [
            0,
            1,
            UNIX_EPOCH_TICKS,
            133_547_048_431_234_567,
            2_650_467_743_999_999_999,
        ] {
            assert_eq!(FileTime::parse_iso(&FileTime(ft).iso()), Some(FileTime(ft)));
        }
        assert_eq!(FileTime::parse_iso("2024-13-01T00:00:00Z"), None);
        assert_eq!(FileTime::parse_iso("not a time"), None);
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
