//! Every real sample against libscca's `sccainfo` (Debian `libscca-utils`), an
//! independent reader: executable, hash, run count, last-run times, volumes and the
//! whole file-name list must be what it prints.

use std::path::Path;
use std::process::Command;

/// What `sccainfo` prints about one file.
#[derive(Debug, Default)]
struct Oracle {
    version: u32,
    hash: u32,
    executable: String,
    run_count: u32,
    /// Set last-run times as printed ("Jan 12, 2016 20:07:03.981069400 UTC").
    last_runs: Vec<String>,
    files: Vec<String>,
    /// (device path, creation time as printed, serial).
    volumes: Vec<(String, String, u32)>,
}

fn sccainfo(tool: &Path, file: &Path) -> Option<Oracle> {
    let out = Command::new(tool)
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .expect("sccainfo runs");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut o = Oracle::default();
    let mut volume: Option<(String, String, u32)> = None;
    for line in text.lines() {
        // "\tKey[: n]\t\t: value"; times and paths hold ':' but never "\t: ".
        let Some((key, value)) = line.split_once("\t: ") else {
            continue;
        };
        let key = key.split(':').next().unwrap().trim();
        let value = value.trim();
        match key {
            "Format version" => o.version = value.parse().unwrap(),
            "Prefetch hash" => o.hash = hex(value),
            "Executable filename" => o.executable = value.to_string(),
            "Run count" => o.run_count = value.parse().unwrap(),
            "Last run time" if !value.starts_with("Not set") => o.last_runs.push(value.to_string()),
            "Filename" => o.files.push(value.to_string()),
            "Device path" => {
                if let Some(v) = volume.take() {
                    o.volumes.push(v);
                }
                volume = Some((value.to_string(), String::new(), 0));
            }
            "Creation time" => volume.as_mut().unwrap().1 = value.to_string(),
            "Serial number" => volume.as_mut().unwrap().2 = hex(value),
            _ => {}
        }
    }
    o.volumes.extend(volume);
    Some(o)
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// A FILETIME the way libfdatetime prints it in UTC.
fn sccainfo_time(ft: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ticks = ft % 10_000_000;
    let secs = ft / 10_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1601-01-01 to a civil date (Howard Hinnant's algorithm, shifted from
    // 1970: 1601-01-01 is 134774 days before the Unix epoch).
    let z = days as i64 - 134_774 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {:02}, {} {:02}:{:02}:{:02}.{:07}00 UTC",
        MONTHS[(m - 1) as usize],
        d,
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ticks
    )
}

#[test]
fn time_format_matches_known_value() {
    // 0x01d1217a9c4c6779 is in a volume GUID of the samples; sccainfo prints it as
    // the volume's creation time.
    assert_eq!(
        sccainfo_time(0x01d1_217a_9c4c_6779),
        "Nov 17, 2015 20:57:46.243468100 UTC"
    );
}

#[test]
fn every_sample_matches_sccainfo() {
    let Some(dir) = triage_testkit::sample_dir("prefetch") else {
        return;
    };
    let Some(tool) = triage_testkit::tool("sccainfo") else {
        return;
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("prefetch samples")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let (mut compared, mut versions) = (0, std::collections::BTreeSet::new());
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy();
        let data = std::fs::read(path).unwrap();
        let ours = triage_prefetch::parse(&data);
        let oracle = sccainfo(&tool, path);
        let (ours, oracle) = match (ours, oracle) {
            (Err(e), None) => {
                eprintln!("{name}: both refuse ({e})");
                continue;
            }
            (Ok(pf), None) => {
                // sccainfo 20200717 predates format version 31 (Windows 11).
                assert_eq!(pf.version, 31, "{name}: sccainfo refuses a file we read");
                eprintln!("{name}: version 31, sccainfo cannot read it");
                continue;
            }
            (Err(e), Some(_)) => panic!("{name}: sccainfo reads it, we fail: {e}"),
            (Ok(pf), Some(o)) => (pf, o),
        };
        assert_eq!(ours.version, oracle.version, "{name}: version");
        assert_eq!(ours.compressed, data.starts_with(b"MAM"), "{name}");
        assert_eq!(ours.hash, oracle.hash, "{name}: hash");
        assert_eq!(ours.executable, oracle.executable, "{name}: executable");
        assert_eq!(ours.run_count, oracle.run_count, "{name}: run count");
        let runs: Vec<String> = ours.last_runs.iter().map(|&t| sccainfo_time(t)).collect();
        assert_eq!(runs, oracle.last_runs, "{name}: last runs");
        assert_eq!(ours.files, oracle.files, "{name}: file names");
        let vols: Vec<(String, String, u32)> = ours
            .volumes
            .iter()
            .map(|v| {
                let serial = u32::from_str_radix(&v.serial, 16).unwrap();
                (v.device_path.clone(), sccainfo_time(v.created), serial)
            })
            .collect();
        assert_eq!(vols, oracle.volumes, "{name}: volumes");
        // The executable path, when found, is one of the names and ends with the
        // executable's (possibly truncated) name.
        if let Some(p) = &ours.executable_path {
            assert!(ours.files.contains(p));
            let last = p.rsplit('\\').next().unwrap().to_uppercase();
            assert!(
                last.starts_with(&ours.executable.to_uppercase()),
                "{name}: {p}"
            );
        }
        assert!(ours.warnings.is_empty(), "{name}: {:?}", ours.warnings);
        compared += 1;
        versions.insert(ours.version);
    }
    eprintln!("{compared} samples equal to sccainfo; versions {versions:?}");
    assert!(compared >= 10, "only {compared} samples compared");
    for v in [17, 23, 26, 30] {
        assert!(versions.contains(&v), "no version {v} sample compared");
    }
}

#[test]
fn bad_sample_is_an_error() {
    let Some(dir) = triage_testkit::sample_dir("prefetch") else {
        return;
    };
    let data = std::fs::read(dir.join("EricZimmerman__Prefetch__Bad--notAPrefetch.pf")).unwrap();
    assert!(!triage_prefetch::is_prefetch(&data));
    let e = triage_prefetch::parse(&data).unwrap_err();
    assert!(matches!(e, triage_prefetch::Error::NotPrefetch(_)), "{e}");
}
