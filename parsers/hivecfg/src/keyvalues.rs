//! Reading one key's values into facts, collecting (not propagating) per-value errors.
use crate::error::HiveCfgError;
use crate::value::RegValue;
use triage_regf::{names_equal, Key};

pub(crate) struct KeyValues {
    pub last_written: u64,
    pub values: Vec<RegValue>,
}

impl KeyValues {
    pub fn read(key: &Key<'_>, path: &str, errors: &mut Vec<HiveCfgError>) -> KeyValues {
        let mut values = Vec::new();
        for v in key.values() {
            match v.and_then(|v| RegValue::from_value(&v)) {
                Ok(rv) => values.push(rv),
                Err(e) => errors.push(HiveCfgError::regf(path, e)),
            }
        }
        KeyValues {
            last_written: key.last_written(),
            values,
        }
    }

    pub fn get(&self, name: &str) -> Option<RegValue> {
        self.values
            .iter()
            .find(|v| names_equal(&v.name, name))
            .cloned()
    }

    /// Values whose names are not in `known`.
    pub fn others(&self, known: &[&str]) -> Vec<RegValue> {
        self.values
            .iter()
            .filter(|v| !known.iter().any(|k| names_equal(&v.name, k)))
            .cloned()
            .collect()
    }
}

/// Opens `path` below `key`; `Ok(None)` when a component is missing, errors recorded.
pub(crate) fn open_below<'a>(
    key: &Key<'a>,
    path: &str,
    full: &str,
    errors: &mut Vec<HiveCfgError>,
) -> Option<Key<'a>> {
    let mut cur = *key;
    for part in path.split('\\').filter(|p| !p.is_empty()) {
        match cur.subkey(part) {
            Ok(Some(k)) => cur = k,
            Ok(None) => return None,
            Err(e) => {
                errors.push(HiveCfgError::regf(full, e));
                return None;
            }
        }
    }
    Some(cur)
}
