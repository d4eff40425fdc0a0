#![allow(dead_code, unused_imports)]
pub use triage_testkit::{hives_dir, shared_dir};

pub fn read_hive(name: &str) -> Option<Vec<u8>> {
    hives_dir().map(|d| std::fs::read(d.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

pub fn expected() -> Option<serde_json::Value> {
    let p = hives_dir()?.join("EXPECTED.python-registry.json");
    Some(
        serde_json::from_slice(&std::fs::read(p).expect("EXPECTED json readable"))
            .expect("EXPECTED json parses"),
    )
}

/// python-registry prints FILETIMEs as naive ISO-8601 with microseconds.
pub fn iso_to_unix_micros(s: &str) -> i64 {
    let (date, time) = s.split_once('T').expect("date and time");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let micros: i64 = format!("{frac:0<6}")[..6].parse().unwrap();
    let (y, m, day) = (d[0], d[1], d[2]);
    // days from civil (Howard Hinnant), independent of the crate's own formatter
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1_000_000) + micros
}
