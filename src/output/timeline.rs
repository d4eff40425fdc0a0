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
    // A memory dump's own time (the crash-dump header's SystemTime or the kernel's clock):
    // the moment the evidence was taken, which bounds every other row of the input.
    if let Some(t) = r.dump_time.and_then(|t| t.get()) {
        push(
            &t.iso(),
            "Memory dump taken",
            "Memory image taken (dump time)".into(),
            "",
            "memory",
            "inputs",
            input,
        );
    }
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

/// Rows a sorted run holds in memory before it is spilled (about 300 bytes a row:
/// some 30 MiB). `SMSS_TIMELINE_RUN_ROWS` overrides it (tests exercise the spill path).
pub const RUN_ROWS: usize = 100_000;
/// Runs merged at once; more are merged in steps (consecutive runs, so order holds).
const FAN_IN: usize = 64;

/// The timeline's sort with bounded memory: an external merge sort. Rows are pushed in
/// record order; every [`RUN_ROWS`] rows are sorted (stable) and written to a run file
/// (header-less CSV) in `dir`; [`Sorter::finish`] merges the runs k ways, ties going
/// to the earlier run, so the result is exactly the stable sort of all rows. The run
/// files are removed when the sorter (or its [`Sorted`] iterator) is dropped.
pub struct Sorter {
    dir: std::path::PathBuf,
    run_rows: usize,
    buf: Vec<TimelineRecord>,
    runs: Runs,
}

/// Run files, removed on drop.
#[derive(Default)]
struct Runs {
    paths: Vec<std::path::PathBuf>,
}

impl Drop for Runs {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Sorter {
    /// A sorter spilling to `dir` (the `--out` directory, or `$TMPDIR`).
    pub fn new(dir: &std::path::Path) -> Sorter {
        let run_rows = std::env::var("SMSS_TIMELINE_RUN_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n: &usize| *n > 0)
            .unwrap_or(RUN_ROWS);
        Sorter::with_run_rows(dir, run_rows)
    }

    /// A sorter whose runs hold `run_rows` rows (at least 1).
    pub fn with_run_rows(dir: &std::path::Path, run_rows: usize) -> Sorter {
        Sorter {
            dir: dir.to_path_buf(),
            run_rows: run_rows.max(1),
            buf: Vec::new(),
            runs: Runs::default(),
        }
    }

    /// One row, in record order.
    pub fn push(&mut self, row: TimelineRecord) -> anyhow::Result<()> {
        self.buf.push(row);
        if self.buf.len() >= self.run_rows {
            self.spill()?;
        }
        Ok(())
    }

    /// Rows of a spill file (header-less CSV in `TimelineRecord` field order).
    pub fn push_spill(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        if !path.exists() {
            return Ok(());
        }
        for row in RunReader::open(path)? {
            self.push(row?)?;
        }
        Ok(())
    }

    fn spill(&mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        self.buf.sort_by_cached_key(|t| sort_key(&t.datetime));
        let path = self.run_path();
        let file = std::fs::File::create(&path)
            .with_context(|| format!("{}: cannot create a timeline run", path.display()))?;
        self.runs.paths.push(path.clone());
        let mut cw = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(std::io::BufWriter::new(file));
        for r in self.buf.drain(..) {
            cw.serialize(&r)?;
        }
        cw.flush()
            .with_context(|| format!("{}: write failed", path.display()))?;
        Ok(())
    }

    fn run_path(&self) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!(".timeline.run-{}-{n}.csv", std::process::id()))
    }

    /// Every row pushed, sorted by time (stable).
    pub fn finish(mut self) -> anyhow::Result<Sorted> {
        if self.runs.paths.is_empty() {
            // Everything fits in one run: no file at all.
            self.buf.sort_by_cached_key(|t| sort_key(&t.datetime));
            return Ok(Sorted {
                heads: Vec::new(),
                readers: Vec::new(),
                mem: std::mem::take(&mut self.buf).into_iter(),
                _runs: Runs::default(),
            });
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        while runs.paths.len() > FAN_IN {
            let first: Vec<std::path::PathBuf> = runs.paths.drain(..FAN_IN).collect();
            let path = self.run_path();
            let merged = Sorted::open(Runs { paths: first })?;
            let file = std::fs::File::create(&path)?;
            runs.paths.insert(0, path);
            let mut cw = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(std::io::BufWriter::new(file));
            for r in merged {
                cw.serialize(&r?)?;
            }
            cw.flush()?;
        }
        Sorted::open(runs)
    }
}

/// The rows of one run file.
pub(crate) struct RunReader {
    rd: csv::Reader<std::io::BufReader<std::fs::File>>,
    rec: csv::StringRecord,
}

impl RunReader {
    pub(crate) fn open(path: &std::path::Path) -> anyhow::Result<RunReader> {
        use anyhow::Context;
        let f = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Ok(RunReader {
            rd: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(std::io::BufReader::new(f)),
            rec: csv::StringRecord::new(),
        })
    }
}

impl Iterator for RunReader {
    type Item = anyhow::Result<TimelineRecord>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.rd.read_record(&mut self.rec) {
            Ok(false) => None,
            Err(e) => Some(Err(e.into())),
            Ok(true) => {
                let g = |i: usize| self.rec.get(i).unwrap_or("").to_string();
                Some(Ok(TimelineRecord {
                    message: g(0),
                    datetime: g(1),
                    timestamp_desc: g(2),
                    input: g(3),
                    host: g(4),
                    source: g(5),
                    derived_from: g(6),
                    location: g(7),
                }))
            }
        }
    }
}

/// Sorted rows from a [`Sorter`]: a k-way merge of its runs (or its one in-memory run).
pub struct Sorted {
    /// The next row of each run with its key, `None` once the run is done.
    heads: Vec<Option<((String, u64), TimelineRecord)>>,
    readers: Vec<RunReader>,
    mem: std::vec::IntoIter<TimelineRecord>,
    _runs: Runs,
}

impl Sorted {
    fn open(runs: Runs) -> anyhow::Result<Sorted> {
        let mut readers = Vec::with_capacity(runs.paths.len());
        for p in &runs.paths {
            readers.push(RunReader::open(p)?);
        }
        let mut heads = Vec::with_capacity(readers.len());
        for r in &mut readers {
            heads.push(match r.next().transpose()? {
                Some(row) => Some((sort_key(&row.datetime), row)),
                None => None,
            });
        }
        Ok(Sorted {
            heads,
            readers,
            mem: Vec::new().into_iter(),
            _runs: runs,
        })
    }
}

impl Iterator for Sorted {
    type Item = anyhow::Result<TimelineRecord>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.readers.is_empty() {
            return self.mem.next().map(Ok);
        }
        // The smallest key; on a tie the earliest run (strict `<`), which keeps the
        // sort stable. A linear pick: at most FAN_IN runs.
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some((k, _)) = h {
                match best.and_then(|b| self.heads[b].as_ref()) {
                    Some((bk, _)) if bk <= k => {}
                    _ => best = Some(i),
                }
            }
        }
        let i = best?;
        let next = match self.readers[i].next().transpose() {
            Ok(n) => n.map(|row| (sort_key(&row.datetime), row)),
            Err(e) => return Some(Err(e)),
        };
        let (_, row) = std::mem::replace(&mut self.heads[i], next)?;
        Some(Ok(row))
    }
}

/// Sorted timeline rows to `w`, streamed: CSV with its header, JSONL, a table (held:
/// tables are for terminals), or (`all`) JSONL lines with `"record":"timeline"` first,
/// as in a `--records all` stream. Byte for byte what the in-memory writers produce.
pub fn write_sorted<W: std::io::Write>(
    w: &mut W,
    format: crate::output::OutputFormat,
    all: bool,
    rows: impl Iterator<Item = anyhow::Result<TimelineRecord>>,
) -> anyhow::Result<()> {
    use crate::output::OutputFormat;
    if all {
        let mut line = Vec::new();
        for r in rows {
            line.clear();
            serde_json::to_writer(&mut line, &r?)?;
            let rest = line.strip_prefix(b"{").unwrap_or(&line);
            w.write_all(b"{\"record\":\"timeline\"")?;
            if rest != b"}" {
                w.write_all(b",")?;
            }
            w.write_all(rest)?;
            w.write_all(b"\n")?;
        }
        return Ok(());
    }
    match format {
        OutputFormat::Csv => {
            w.write_all(crate::output::csv_header::<TimelineRecord>()?.as_bytes())?;
            let mut cw = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *w);
            for r in rows {
                cw.serialize(r?)?;
            }
            cw.flush()?;
        }
        OutputFormat::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *w, &r?)?;
                w.write_all(b"\n")?;
            }
        }
        OutputFormat::Table => {
            let rows = rows.collect::<anyhow::Result<Vec<_>>>()?;
            crate::output::write_timeline_rows(w, format, &rows)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExecutionRecord, ProcessRecord};

    fn row(i: usize, t: &str) -> TimelineRecord {
        TimelineRecord {
            message: format!("row {i}, \"quoted\"\nsecond line"),
            datetime: t.to_string(),
            timestamp_desc: "d".into(),
            input: format!("in{}", i % 7),
            ..Default::default()
        }
    }

    /// The external sort against the in-memory stable sort, through every writer, with
    /// runs of 1, 3 and 10 rows (many runs, cascaded merges, ties across runs).
    #[test]
    fn external_sort_is_the_stable_sort() {
        let times = [
            "2024-01-01T00:00:05Z",
            "2024-01-01T00:00:05.5000000Z",
            "2023-12-31T23:59:59Z",
            "2024-01-01T00:00:05.0000000Z",
            "",
            "2024-01-01T00:00:04.9Z",
        ];
        let rows: Vec<TimelineRecord> = (0..200)
            .map(|i| row(i, times[(i * 7 + i / 3) % times.len()]))
            .collect();
        let mut expect = rows.clone();
        expect.sort_by_cached_key(|t| sort_key(&t.datetime));
        let dir = tempfile::tempdir().unwrap();
        for run in [1, 3, 10, 1000] {
            for (format, all) in [
                (crate::output::OutputFormat::Csv, false),
                (crate::output::OutputFormat::Jsonl, false),
                (crate::output::OutputFormat::Jsonl, true),
            ] {
                let mut s = Sorter::with_run_rows(dir.path(), run);
                for r in rows.clone() {
                    s.push(r).unwrap();
                }
                let mut got = Vec::new();
                write_sorted(&mut got, format, all, s.finish().unwrap()).unwrap();
                let mut want = Vec::new();
                if all {
                    crate::output::write_timeline_all(&mut want, &expect).unwrap();
                } else {
                    crate::output::write_timeline_rows(&mut want, format, &expect).unwrap();
                }
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want).unwrap(),
                    "run {run} {format:?} all={all}"
                );
            }
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "run files removed: {left:?}");
        }
    }

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
