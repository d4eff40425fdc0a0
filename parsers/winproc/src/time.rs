//! FILETIME (100 ns ticks since 1601-01-01 UTC) as a value plus ISO-8601 text.

use serde::Serialize;

const TICKS_PER_SECOND: u64 = 10_000_000;
const SECONDS_1601_TO_1970: i64 = 11_644_473_600;

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

/// FILETIME → RFC 3339 UTC. Sub-microsecond ticks are dropped.
pub fn filetime_to_iso(ft: u64) -> String {
    let secs = (ft / TICKS_PER_SECOND) as i64 - SECONDS_1601_TO_1970;
    let micros = (ft % TICKS_PER_SECOND) / 10;
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (y, m, d) = date_from_days_since_1970(days);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hms}+00:00")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hms}.{micros:06}+00:00")
    }
}

/// Proleptic Gregorian date of a day count from 1970-01-01, walking 400-year eras.
fn date_from_days_since_1970(days: i64) -> (i64, u32, u32) {
    // Shift to 0000-03-01 so leap days fall at the end of a year.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
