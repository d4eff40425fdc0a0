//! The one place FILETIMEs become text: ISO 8601 UTC with 100 ns precision, the same in
//! every record kind and every format. Zero (never set) is an empty cell.

/// A FILETIME (100 ns ticks since 1601-01-01 UTC) as `2024-03-12T08:14:04.2000000Z`;
/// empty for 0.
pub fn filetime(ft: u64) -> String {
    if ft == 0 {
        String::new()
    } else {
        triage_regf::filetime_to_iso8601(ft)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_is_empty_and_epoch_is_exact() {
        assert_eq!(super::filetime(0), "");
        // 1970-01-01T00:00:00Z is 116444736000000000 ticks.
        assert_eq!(
            super::filetime(116_444_736_000_000_000),
            "1970-01-01T00:00:00.0000000Z"
        );
    }
}
