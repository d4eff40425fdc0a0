//! SYSTEM hive: Background / Desktop Activity Moderator (BAM/DAM) last-execution times per user,
//! and the [`ExecutionEntry`] record shared by the Amcache, ShimCache and BAM readers.
use crate::error::HiveCfgError;
use serde::Serialize;
use triage_regf::{names_equal, Hive, Key, RegfError, REG_BINARY};

/// One "this binary was seen / ran" fact from a registry source of execution evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionEntry {
    /// `"amcache:file"` (InventoryApplicationFile), `"amcache:file-old"` (`Root\File\{volume}\{id}`),
    /// `"shimcache"`, `"bam"` or `"dam"`.
    pub source: &'static str,
    /// The path as recorded (Amcache LowerCaseLongPath / old value `15`, ShimCache path, BAM value
    /// name such as `\Device\HarddiskVolume3\Windows\System32\csrss.exe`).
    pub path: String,
    /// Last `\`-separated component of `path`.
    pub name: String,
    /// FILETIMEs with their meaning: `key_last_written`, `link_date`, `file_modified`,
    /// `file_created`, `file_modified_2` (Amcache); `last_modified` (the file's $SI mtime) and
    /// `last_update` (XP) for ShimCache; `last_executed` for BAM/DAM. Zero times are left out.
    pub times: Vec<(&'static str, u64)>,
    /// SHA-1 hex (Amcache FileId / old value `101` without the `0000` prefix).
    pub sha1: Option<String>,
    pub original_file_name: Option<String>,
    pub product_name: Option<String>,
    pub publisher: Option<String>,
    pub bin_file_version: Option<String>,
    pub size: Option<u64>,
    /// ShimCache's insert/executed flag (0x2) where the format records it (Vista, 7, 8/8.1);
    /// `None` for XP, 2003 and Windows 10+.
    pub executed: Option<bool>,
    /// BAM/DAM: the `UserSettings\{SID}` key name.
    pub user_sid: Option<String>,
    /// ShimCache, BAM/DAM: `ControlSet00N`.
    pub control_set: Option<String>,
    /// Registry key the fact came from.
    pub key: String,
}

impl ExecutionEntry {
    pub(crate) fn new(source: &'static str, path: String, key: String) -> ExecutionEntry {
        ExecutionEntry {
            source,
            name: last_component(&path).to_string(),
            path,
            times: Vec::new(),
            sha1: None,
            original_file_name: None,
            product_name: None,
            publisher: None,
            bin_file_version: None,
            size: None,
            executed: None,
            user_sid: None,
            control_set: None,
            key,
        }
    }

    /// The first time recorded under `meaning`.
    pub fn time(&self, meaning: &str) -> Option<u64> {
        self.times.iter().find(|(m, _)| *m == meaning).map(|t| t.1)
    }

    pub(crate) fn push_time(&mut self, meaning: &'static str, ft: u64) {
        if ft != 0 {
            self.times.push((meaning, ft));
        }
    }
}

/// Entries from one hive plus everything that could not be read (never fatal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecutionFacts {
    pub entries: Vec<ExecutionEntry>,
    pub errors: Vec<HiveCfgError>,
}

fn last_component(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// `ControlSetNNN` keys below the root, in name order.
pub(crate) fn control_sets<'a>(
    hive: &Hive<'a>,
    errors: &mut Vec<HiveCfgError>,
) -> Vec<(String, Key<'a>)> {
    let root = match hive.root() {
        Ok(r) => r,
        Err(e) => {
            errors.push(HiveCfgError::regf("(root)", e));
            return Vec::new();
        }
    };
    let mut sets: Vec<(String, Key<'a>)> = Vec::new();
    for k in root.subkeys() {
        match k {
            Ok(k) => {
                let name = k.name().into_owned();
                let digits = name.get(10..).unwrap_or("");
                if name.len() == 13
                    && name
                        .get(..10)
                        .is_some_and(|p| p.eq_ignore_ascii_case("ControlSet"))
                    && digits.bytes().all(|b| b.is_ascii_digit())
                {
                    sets.push((name, k));
                }
            }
            Err(e) => errors.push(HiveCfgError::regf("(root)", e)),
        }
    }
    sets.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    sets
}

/// Direct subkeys of `key` (errors recorded against `path`).
pub(crate) fn subkeys<'a>(
    key: &Key<'a>,
    path: &str,
    errors: &mut Vec<HiveCfgError>,
) -> Vec<Key<'a>> {
    key.subkeys()
        .filter_map(|k| match k {
            Ok(k) => Some(k),
            Err(e) => {
                errors.push(HiveCfgError::regf(path, e));
                None
            }
        })
        .collect()
}

/// Opens `rel` below `key`: `None` when absent, errors recorded.
pub(crate) fn below<'a>(
    key: &Key<'a>,
    rel: &str,
    full: &str,
    errors: &mut Vec<HiveCfgError>,
) -> Option<Key<'a>> {
    crate::keyvalues::open_below(key, rel, full, errors)
}

/// BAM/DAM `UserSettings` locations below `Services`: Windows 10 1809+ and 1709/1803.
const USER_SETTINGS: [&str; 2] = ["State\\UserSettings", "UserSettings"];
const SKIPPED_VALUES: [&str; 2] = ["Version", "SequenceNumber"];

/// Every control set's `Services\{bam,dam}\State\UserSettings\{SID}` and
/// `Services\{bam,dam}\UserSettings\{SID}`: one entry per REG_BINARY value whose data starts with
/// a FILETIME (`Version` and `SequenceNumber` skipped). Never fails.
pub fn bam(hive: &Hive<'_>) -> ExecutionFacts {
    let mut facts = ExecutionFacts::default();
    let errors = &mut facts.errors;
    for (set, cs) in control_sets(hive, errors) {
        for (service, source) in [("bam", "bam"), ("dam", "dam")] {
            for rel in USER_SETTINGS {
                let rel = format!("Services\\{service}\\{rel}");
                let us_path = format!("{set}\\{rel}");
                let Some(us) = below(&cs, &rel, &us_path, errors) else {
                    continue;
                };
                for sid_key in subkeys(&us, &us_path, errors) {
                    let sid = sid_key.name().into_owned();
                    let path = format!("{us_path}\\{sid}");
                    read_sid_key(
                        &sid_key,
                        source,
                        &set,
                        &sid,
                        &path,
                        &mut facts.entries,
                        errors,
                    );
                }
            }
        }
    }
    facts
}

fn read_sid_key(
    key: &Key<'_>,
    source: &'static str,
    set: &str,
    sid: &str,
    path: &str,
    out: &mut Vec<ExecutionEntry>,
    errors: &mut Vec<HiveCfgError>,
) {
    for v in key.values() {
        let v = match v {
            Ok(v) => v,
            Err(e) => {
                errors.push(HiveCfgError::regf(path, e));
                continue;
            }
        };
        let name = v.name().into_owned();
        if SKIPPED_VALUES.iter().any(|s| names_equal(s, &name)) || v.data_type() != REG_BINARY {
            continue;
        }
        let raw = match v.raw_data() {
            Ok(r) => r,
            Err(e) => {
                errors.push(HiveCfgError::regf(format!("{path}\\{name}"), e));
                continue;
            }
        };
        let Some(ft) = raw
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            errors.push(HiveCfgError::regf(
                format!("{path}\\{name}"),
                RegfError::BadValueData {
                    offset: v.file_offset(),
                    data_type: REG_BINARY,
                    len: raw.len() as u64,
                    expected: "at least 8 bytes (a FILETIME)",
                },
            ));
            continue;
        };
        let mut e = ExecutionEntry::new(source, name, path.to_string());
        e.push_time("last_executed", ft);
        e.user_sid = Some(sid.to_string());
        e.control_set = Some(set.to_string());
        out.push(e);
    }
}
