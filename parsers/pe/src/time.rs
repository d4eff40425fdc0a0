//! Unix seconds to an ISO-8601 UTC string, without a date crate.

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's
/// `civil_from_days`, valid for the whole u32 range of PE timestamps.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn iso8601_utc(unix_seconds: u32) -> String {
    let secs = i64::from(unix_seconds);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
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
