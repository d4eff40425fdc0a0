//! The `timeline` record kind: every dated fact of the other records, one row per time,
//! in the columns Timesketch imports. Derived only; nothing here analyses evidence.

use crate::model::{InputReport, TimelineRecord};
use crate::output::TableRow;

impl TableRow for TimelineRecord {
    fn headers() -> &'static [&'static str] {
        &["datetime", "timestamp_desc", "source", "message"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.datetime.clone(),
            self.timestamp_desc.clone(),
            self.source.clone(),
            self.message.clone(),
        ]
    }
}

/// The timeline rows of `reports`, sorted by time (stable: equal times keep the order
/// of the records they came from). Facts without a time give no row.
pub fn rows(reports: &[InputReport]) -> Vec<TimelineRecord> {
    let mut out = Vec::new();
    for r in reports {
        input_rows(r, &mut out);
    }
    out.sort_by_cached_key(|t| sort_key(&t.datetime));
    out
}

fn input_rows(r: &InputReport, out: &mut Vec<TimelineRecord>) {
    let input = &r.input.input;
    let mut push = |datetime: &str,
                    desc: &str,
                    message: String,
                    host: &str,
                    source: &str,
                    record: &str,
                    location: &str| {
        if datetime.is_empty() {
            return;
        }
        out.push(TimelineRecord {
            message,
            datetime: datetime.to_string(),
            timestamp_desc: desc.to_string(),
            input: input.clone(),
            host: host.to_string(),
            source: source.to_string(),
            derived_from: record.to_string(),
            location: location.to_string(),
        });
    };
    for p in &r.processes {
        let source = if p.source.is_empty() {
            "memory"
        } else {
            &p.source
        };
        let what = format!(
            "{} (pid {}, ppid {}, session {})",
            p.name, p.pid, p.ppid, p.session
        );
        let cmd = if p.command_line.is_empty() {
            String::new()
        } else {
            format!(": {}", p.command_line)
        };
        push(
            &p.create_time,
            "Process created",
            format!("{what} created{cmd}"),
            &p.computer,
            source,
            "processes",
            &p.location,
        );
        push(
            &p.exit_time,
            "Process exited",
            format!("{what} exited"),
            &p.computer,
            source,
            "processes",
            &p.location,
        );
        // The System process is created at boot: its creation is the boot time.
        if p.pid == 4 && p.name.eq_ignore_ascii_case("System") {
            push(
                &p.create_time,
                "Boot time",
                "System booted (System process created)".into(),
                &p.computer,
                source,
                "processes",
                &p.location,
            );
        }
    }
    for f in &r.files {
        let times = [
            (&f.si_created, "$SI created"),
            (&f.si_modified, "$SI modified"),
            (&f.si_mft_modified, "$SI MFT modified"),
            (&f.si_accessed, "$SI accessed"),
            (&f.fn_created, "$FN created"),
            (&f.fn_modified, "$FN modified"),
            (&f.fn_mft_modified, "$FN MFT modified"),
            (&f.fn_accessed, "$FN accessed"),
        ];
        let name = if f.path.is_empty() {
            &f.file_name
        } else {
            &f.path
        };
        for (t, desc) in times {
            push(
                t,
                desc,
                format!("{name} {desc}"),
                "",
                "ntfs",
                "files",
                &f.volume,
            );
        }
    }
    // Many values share a key: one row per key and write time.
    let mut seen = std::collections::HashSet::new();
    for g in &r.registry {
        if !g.key.to_ascii_lowercase().contains("session manager") {
            continue;
        }
        if !seen.insert((g.key.as_str(), g.last_written.as_str(), g.location.as_str())) {
            continue;
        }
        push(
            &g.last_written,
            "Registry key last written",
            format!("{} last written", g.key),
            "",
            "registry",
            "registry",
            &g.location,
        );
    }
    for e in &r.executions {
        let mut what = if e.path.is_empty() {
            e.program.clone()
        } else {
            format!("{} ({})", e.program, e.path)
        };
        // ShimCache and BAM repeat per control set: say which, or the rows look doubled.
        if !e.control_set.is_empty() {
            what = format!("{what} [{}]", e.control_set);
        }
        let mut any = false;
        for (meaning, t) in e
            .times
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(m, t)| (m.trim(), t.trim()))
        {
            any |= !t.is_empty();
            push(
                t,
                &format!("{} {meaning}", e.source),
                format!("{what}: {} {meaning}", e.source),
                "",
                &e.source,
                "executions",
                &e.location,
            );
        }
        if !any {
            push(
                &e.last_time,
                &format!("{} last time", e.source),
                format!("{what}: {} last time", e.source),
                "",
                &e.source,
                "executions",
                &e.location,
            );
        }
    }
}

/// Sort key of an ISO 8601 time: the seconds part as text (fixed width), then the
/// fraction as nanoseconds, so `…:05Z` sorts before `…:05.5Z` and precisions mix.
/// Cut at a character boundary: the text comes from evidence and need not be ASCII.
pub(crate) fn sort_key(t: &str) -> (String, u64) {
    let cut = t.char_indices().nth(19).map(|(i, _)| i).unwrap_or(t.len());
    let (head, rest) = t.split_at(cut);
    let frac: String = rest
        .strip_prefix('.')
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(9)
        .collect();
    let nanos = format!("{frac:0<9}").parse().unwrap_or(0);
    (head.to_string(), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExecutionRecord, ProcessRecord};

    #[test]
    fn rows_are_sorted_and_untimed_facts_dropped() {
        let mut r = InputReport::default();
        r.processes.push(ProcessRecord {
            name: "b".into(),
            create_time: "2024-01-01T00:00:05.5000000Z".into(),
            ..Default::default()
        });
        r.processes.push(ProcessRecord {
            name: "a".into(),
            create_time: "2024-01-01T00:00:05Z".into(),
            exit_time: String::new(),
            ..Default::default()
        });
        r.executions.push(ExecutionRecord {
            source: "prefetch".into(),
            program: "SMSS.EXE".into(),
            times: "run=2023-12-31T23:59:59.0000000Z;run=".into(),
            ..Default::default()
        });
        let t = rows(&[r]);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].timestamp_desc, "prefetch run");
        assert!(t[1].message.starts_with("a "));
        assert!(t[2].message.starts_with("b "));
    }
}
