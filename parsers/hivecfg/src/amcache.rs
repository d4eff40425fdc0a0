//! Amcache.hve: `Root\InventoryApplicationFile\*` (Windows 10+) and `Root\File\{volume}\{id}`
//! (Windows 8 / early 10) file records as [`ExecutionEntry`]s.
use crate::bam::{subkeys, ExecutionEntry, ExecutionFacts};
use crate::error::HiveCfgError;
use crate::keyvalues::KeyValues;
use crate::value::Data;
use triage_regf::{Hive, Key, RegfError};

const NEW_PATH: &str = "Root\\InventoryApplicationFile";
const OLD_PATH: &str = "Root\\File";

/// True when `Root\InventoryApplicationFile` or `Root\File` exists.
pub fn hive_is_amcache(hive: &Hive<'_>) -> bool {
    [NEW_PATH, OLD_PATH]
        .iter()
        .any(|p| hive.open_key(p).is_ok())
}

/// Every file record of both layouts. Never fails: unreadable keys and values go to `errors`.
pub fn amcache(hive: &Hive<'_>) -> ExecutionFacts {
    let mut facts = ExecutionFacts::default();
    if let Some(inv) = open(hive, NEW_PATH, &mut facts.errors) {
        for k in subkeys(&inv, NEW_PATH, &mut facts.errors) {
            let path = format!("{NEW_PATH}\\{}", k.name());
            let kv = KeyValues::read(&k, &path, &mut facts.errors);
            facts.entries.push(new_entry(&kv, path));
        }
    }
    if let Some(file) = open(hive, OLD_PATH, &mut facts.errors) {
        for vol in subkeys(&file, OLD_PATH, &mut facts.errors) {
            let vol_path = format!("{OLD_PATH}\\{}", vol.name());
            for k in subkeys(&vol, &vol_path, &mut facts.errors) {
                let path = format!("{vol_path}\\{}", k.name());
                let kv = KeyValues::read(&k, &path, &mut facts.errors);
                facts.entries.push(old_entry(&kv, path));
            }
        }
    }
    facts
}

fn open<'a>(hive: &Hive<'a>, path: &str, errors: &mut Vec<HiveCfgError>) -> Option<Key<'a>> {
    match hive.open_key(path) {
        Ok(k) => Some(k),
        Err(RegfError::KeyNotFound { .. }) => None,
        Err(e) => {
            errors.push(HiveCfgError::regf(path, e));
            None
        }
    }
}

fn text(kv: &KeyValues, name: &str) -> Option<String> {
    kv.get(name)
        .and_then(|v| v.as_text().map(str::to_string))
        .filter(|s| !s.is_empty())
}

fn number(kv: &KeyValues, name: &str) -> Option<u64> {
    match kv.get(name)?.data {
        Data::Number(n) => Some(n),
        // Some builds store Size as hex text ("0x1234").
        Data::Text(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        }
        Data::Bytes(b) if b.len() == 8 => b.try_into().ok().map(u64::from_le_bytes),
        _ => None,
    }
}

/// `0000` + 40 hex digits → the SHA-1 (anything else kept minus the four-character prefix).
fn sha1(s: Option<String>) -> Option<String> {
    s.and_then(|s| s.get(4..).map(str::to_string))
        .filter(|s| !s.is_empty())
}

fn new_entry(kv: &KeyValues, key: String) -> ExecutionEntry {
    let path = text(kv, "LowerCaseLongPath").unwrap_or_default();
    let mut e = ExecutionEntry::new("amcache:file", path, key);
    e.push_time("key_last_written", kv.last_written);
    if let Some(ft) = text(kv, "LinkDate").and_then(|s| parse_link_date(&s)) {
        e.push_time("link_date", ft);
    }
    e.sha1 = sha1(text(kv, "FileId"));
    e.original_file_name = text(kv, "OriginalFileName");
    e.product_name = text(kv, "ProductName");
    e.publisher = text(kv, "Publisher");
    e.bin_file_version = text(kv, "BinFileVersion");
    e.size = number(kv, "Size");
    e
}

fn old_entry(kv: &KeyValues, key: String) -> ExecutionEntry {
    let path = text(kv, "15").unwrap_or_default();
    let mut e = ExecutionEntry::new("amcache:file-old", path, key);
    e.push_time("key_last_written", kv.last_written);
    // Value names are hex: 11 = last modified, 12 = created, 17 = last modified (second copy).
    for (name, meaning) in [
        ("11", "file_modified"),
        ("12", "file_created"),
        ("17", "file_modified_2"),
    ] {
        if let Some(ft) = number(kv, name) {
            e.push_time(meaning, ft);
        }
    }
    e.sha1 = sha1(text(kv, "101"));
    e.product_name = text(kv, "0");
    e.publisher = text(kv, "1");
    e.bin_file_version = text(kv, "5");
    e.size = number(kv, "6");
    e
}

/// `MM/DD/YYYY HH:MM:SS` (UTC) → FILETIME; `None` for anything else or dates before 1601.
pub(crate) fn parse_link_date(s: &str) -> Option<u64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('/').map(|p| p.parse::<u32>().ok());
    let (mo, da, y) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<u32>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || h > 23
        || mi > 59
        || se > 60
        || !(1601..=30827).contains(&y)
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, da) - days_from_civil(1601, 1, 1);
    let secs = u64::try_from(days).ok()? * 86_400 + u64::from(h * 3600 + mi * 60 + se);
    secs.checked_mul(10_000_000)
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use triage_regf::filetime_to_iso8601;
    #[test]
    fn link_dates() {
        let ft = parse_link_date("02/26/2019 18:16:35").unwrap();
        assert_eq!(filetime_to_iso8601(ft), "2019-02-26T18:16:35.0000000Z");
        let ft = parse_link_date("02/29/2000 00:00:00").unwrap();
        assert_eq!(filetime_to_iso8601(ft), "2000-02-29T00:00:00.0000000Z");
        assert_eq!(parse_link_date("01/01/1601 00:00:00"), Some(0));
        for bad in [
            "",
            "0",
            "13/01/2019 00:00:00",
            "1/1/2019",
            "01/01/2019 24:00:00",
            "a/b/c d:e:f",
        ] {
            assert_eq!(parse_link_date(bad), None, "{bad}");
        }
    }
}
