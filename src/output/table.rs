//! A readable, aligned table for a terminal: a few telling columns per record kind
//! (CSV and JSONL carry all of them).

use std::io::Write;

use anyhow::Result;

use crate::model::{
    EntryRecord, ExecutionRecord, FileRecord, Finding, InputRecord, ProcessRecord, RegistryRecord,
    VolumeRecord,
};
use crate::sanitise;

pub trait TableRow {
    fn headers() -> &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

const MAX_CELL: usize = 64;

fn clip(s: &str) -> String {
    sanitise::clip(s, MAX_CELL)
}

/// One line per row: control, format and invisible characters (a bidi override or a
/// zero-width space in a file name!) are shown escaped, never interpreted or hidden.
fn escape(s: &str) -> String {
    sanitise::terminal(s)
}

pub fn write<'a, W: Write, T: TableRow + 'a, I: Iterator<Item = &'a T>>(
    w: &mut W,
    rows: I,
) -> Result<()> {
    let headers = T::headers();
    // Every column is clipped but the last: nothing needs aligning after it, and it is
    // the one that explains (detail, explanation, image path).
    let rows: Vec<Vec<String>> = rows
        .map(|r| {
            let cells = r.cells();
            let last = cells.len().saturating_sub(1);
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| if i == last { escape(c) } else { clip(c) })
                .collect()
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| sanitise::width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(sanitise::width(c));
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(sanitise::width(c));
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    let head: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    writeln!(w, "{}", line(&head))?;
    for r in &rows {
        writeln!(w, "{}", line(r))?;
    }
    Ok(())
}

impl TableRow for InputRecord {
    fn headers() -> &'static [&'static str] {
        &["status", "format", "findings", "max", "input", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        let status = match self.status {
            Some(s) => serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            None => String::new(),
        };
        vec![
            status,
            self.format.clone(),
            self.findings.to_string(),
            self.max_severity.clone(),
            self.input.clone(),
            self.detail.clone(),
        ]
    }
}

impl TableRow for FileRecord {
    fn headers() -> &'static [&'static str] {
        &[
            "file",
            "machine",
            "subsystem",
            "original_filename",
            "signed",
            "digest",
            "path",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.file_name.clone(),
            self.machine.clone(),
            self.subsystem.clone(),
            self.original_filename.clone(),
            if self.signed {
                "yes".into()
            } else {
                "no".into()
            },
            self.digest.to_string(),
            self.path.clone(),
        ]
    }
}

impl TableRow for ProcessRecord {
    fn headers() -> &'static [&'static str] {
        &[
            "pid",
            "ppid",
            "name",
            "session",
            "user",
            "create_time",
            "exit_time",
            "found_by",
            "image_path",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.pid.to_string(),
            self.ppid.to_string(),
            self.name.clone(),
            self.session.clone(),
            if self.user_name.is_empty() {
                self.user_sid.clone()
            } else {
                self.user_name.clone()
            },
            self.create_time.clone(),
            self.exit_time.clone(),
            self.found_by.to_string(),
            self.image_path.clone(),
        ]
    }
}

impl TableRow for RegistryRecord {
    fn headers() -> &'static [&'static str] {
        &[
            "control_set",
            "key",
            "value",
            "type",
            "data",
            "last_written",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let cs = if self.current {
            format!("{} (current)", self.control_set)
        } else {
            self.control_set.clone()
        };
        vec![
            cs,
            self.key.clone(),
            self.value.clone(),
            self.value_type.clone(),
            self.data.clone(),
            self.last_written.clone(),
        ]
    }
}

impl TableRow for Finding {
    fn headers() -> &'static [&'static str] {
        &["severity", "rule", "attack", "subject", "explanation"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.severity.to_string(),
            self.rule.to_string(),
            self.attack.to_string(),
            self.subject.clone(),
            self.explanation.clone(),
        ]
    }
}

impl TableRow for VolumeRecord {
    fn headers() -> &'static [&'static str] {
        &[
            "part",
            "scheme",
            "offset",
            "size",
            "type",
            "fs",
            "cluster",
            "mft_records",
            "vss",
            "location",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.partition.to_string(),
            self.scheme.clone(),
            self.offset.to_string(),
            self.size.to_string(),
            self.partition_type.clone(),
            self.file_system.clone(),
            if self.cluster_size > 0 {
                self.cluster_size.to_string()
            } else {
                String::new()
            },
            if self.mft_records > 0 {
                self.mft_records.to_string()
            } else {
                String::new()
            },
            self.snapshots.to_string(),
            if self.detail.is_empty() {
                self.location.clone()
            } else {
                format!("{}  ({})", self.location, self.detail)
            },
        ]
    }
}

impl TableRow for EntryRecord {
    fn headers() -> &'static [&'static str] {
        &[
            "entry",
            "del",
            "size",
            "si_created",
            "fn_created",
            "si_modified",
            "path",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            format!("{}-{}", self.mft_entry, self.sequence),
            if self.deleted {
                "*".into()
            } else {
                String::new()
            },
            self.size.to_string(),
            self.si_created.clone(),
            self.fn_created.clone(),
            self.si_modified.clone(),
            self.path.clone(),
        ]
    }
}

impl TableRow for ExecutionRecord {
    fn headers() -> &'static [&'static str] {
        &["source", "program", "last_time", "runs", "path"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.clone(),
            self.program.clone(),
            self.last_time.clone(),
            self.run_count.clone(),
            self.path.clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_is_escaped_and_long_cells_clipped() {
        assert_eq!(clip("a\u{202E}b"), "a\\u{202e}b");
        let long = "x".repeat(200);
        assert_eq!(clip(&long).chars().count(), MAX_CELL);
    }
}
