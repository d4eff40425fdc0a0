//! FILETIME (100 ns ticks since 1601-01-01 UTC) helpers; timestamps stay `u64` in every struct.

/// Ticks between 1601-01-01 and 1970-01-01.
const EPOCH_DIFF_TICKS: u64 = 116_444_736_000_000_000;

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` (full 100 ns precision, UTC).
pub fn filetime_to_iso8601(ft: u64) -> String {
    let secs_since_1601 = ft / 10_000_000;
    let frac = ft % 10_000_000;
    let days = (secs_since_1601 / 86_400) as i64;
    let rem = secs_since_1601 % 86_400;
    let (y, m, d) = civil_from_days(days - 134_774); // 134774 days from 1601-01-01 to 1970-01-01
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Microseconds since the Unix epoch (negative before 1970), for comparison with other tools.
pub fn filetime_to_unix_micros(ft: u64) -> i64 {
    (ft as i128 / 10 - (EPOCH_DIFF_TICKS / 10) as i128) as i64
}

/// Howard Hinnant's days-from-civil inverse; days relative to 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
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
