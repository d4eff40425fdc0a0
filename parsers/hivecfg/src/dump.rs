//! Flat rows for a subtree: one per value, one per key without values.
use crate::error::{HiveCfgError, Result};
use crate::value::{Data, RegValue};
use serde::Serialize;
use triage_regf::{Hive, Key};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpRow {
    /// Path from the dumped key (its own name first).
    pub key_path: String,
    pub key_last_written: u64,
    /// `None` for a key without values; `Some("")` for a default value.
    pub value_name: Option<String>,
    pub value_type: Option<String>,
    /// Display form: binary as hex, REG_MULTI_SZ joined with ` | `.
    pub data: String,
    /// REG_MULTI_SZ strings (a single string for REG_SZ), empty strings kept.
    pub data_list: Vec<String>,
    /// 0 for the dumped key itself.
    pub depth: u32,
    /// Set when this key's value or subkey list could not be read.
    pub error: Option<HiveCfgError>,
}

/// Depth-first rows of `key_path` and its subkeys down to `max_depth` levels below it.
pub fn dump<'h>(hive: &Hive<'h>, key_path: &str, max_depth: u32) -> Result<Dump<'h>> {
    let key = hive
        .open_key(key_path)
        .map_err(|e| HiveCfgError::regf(key_path, e))?;
    Ok(Dump {
        stack: vec![(key, key.name().into_owned(), 0)],
        pending: Vec::new(),
        max_depth: max_depth.min(triage_regf::MAX_DEPTH),
    })
}

pub struct Dump<'h> {
    stack: Vec<(Key<'h>, String, u32)>,
    /// Rows of the current key, reversed so `pop` yields them in order.
    pending: Vec<DumpRow>,
    max_depth: u32,
}

impl<'h> Iterator for Dump<'h> {
    type Item = DumpRow;
    fn next(&mut self) -> Option<DumpRow> {
        if let Some(r) = self.pending.pop() {
            return Some(r);
        }
        let (key, path, depth) = self.stack.pop()?;
        let row = |value_name, value_type, data, data_list, error| DumpRow {
            key_path: path.clone(),
            key_last_written: key.last_written(),
            value_name,
            value_type,
            data,
            data_list,
            depth,
            error,
        };
        let mut rows = Vec::new();
        for v in key.values() {
            match v.and_then(|v| RegValue::from_value(&v)) {
                Ok(rv) => {
                    let list = match &rv.data {
                        Data::List(l) => l.clone(),
                        Data::Text(s) => vec![s.clone()],
                        _ => Vec::new(),
                    };
                    rows.push(row(
                        Some(rv.name.clone()),
                        Some(rv.value_type.clone()),
                        rv.display(),
                        list,
                        None,
                    ));
                }
                Err(e) => rows.push(row(
                    None,
                    None,
                    String::new(),
                    Vec::new(),
                    Some(HiveCfgError::regf(&path, e)),
                )),
            }
        }
        if rows.is_empty() {
            rows.push(row(None, None, String::new(), Vec::new(), None));
        }
        if depth < self.max_depth {
            let mut children = Vec::new();
            for sub in key.subkeys() {
                match sub {
                    Ok(k) => {
                        let p = format!("{path}\\{}", k.name());
                        children.push((k, p, depth + 1));
                    }
                    Err(e) => rows.push(row(
                        None,
                        None,
                        String::new(),
                        Vec::new(),
                        Some(HiveCfgError::regf(&path, e)),
                    )),
                }
            }
            self.stack.extend(children.into_iter().rev());
        }
        rows.reverse();
        self.pending = rows;
        self.pending.pop()
    }
}
