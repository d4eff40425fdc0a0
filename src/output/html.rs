//! `--html FILE`: one self-contained report (inline CSS and JS, nothing loaded from
//! anywhere). Every string from the evidence goes through [`esc`]: names are
//! attacker-controlled.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{EntryRecord, FileRecord, Finding, InputReport, ProcessRecord};

/// The processes drawn in the boot-chain picture and listed in the boot chain.
use crate::rules::baseline::BOOT_CHAIN;

/// HTML-escape text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Controls would make the file invalid or invisible: show them.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// The whole report as one HTML document.
pub fn render(reports: &[InputReport]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>smss-triage report</title><style>");
    h.push_str(CSS);
    h.push_str("</style></head><body>\n<h1>smss-triage report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"sub\">{}</p>",
        esc(&crate::output::summary_line(reports))
    );
    summary(&mut h, reports);
    boot_chains(&mut h, reports);
    findings(&mut h, reports);
    session_manager(&mut h, reports);
    flagged_files(&mut h, reports);
    processes(&mut h, reports);
    tail(&mut h);
    h
}

fn head(h: &mut String, title: &str, reports: &[InputReport]) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    let _ = writeln!(
        h,
        "<p class=\"sub\">{}</p>",
        esc(&crate::output::summary_line(reports))
    );
}

fn tail(h: &mut String) {
    h.push_str("<script>");
    h.push_str(JS);
    h.push_str("</script>\n</body></html>\n");
}

/// The most process rows one report lists: a dump has hundreds, but an event log's
/// history can hold millions of creations.
pub const MAX_PROCESS_ROWS: usize = 5_000;

/// Every process of the batch (`mem ps`), in a sortable table, bounded.
fn processes(h: &mut String, reports: &[InputReport]) {
    let all: Vec<&ProcessRecord> = reports.iter().flat_map(|r| &r.processes).collect();
    if all.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2 id=\"processes\">Processes ({})</h2>", all.len());
    h.push_str("<table id=\"process-list\" class=\"sortable\"><thead><tr><th>input</th><th>pid</th><th>ppid</th><th>name</th><th>session</th><th>created</th><th>exited</th><th>found by</th><th>user</th><th>image path</th><th>command line</th></tr></thead><tbody>\n");
    for p in all.iter().take(MAX_PROCESS_ROWS) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td data-key=\"{}\">{}</td><td data-key=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(&p.input),
            p.pid,
            p.pid,
            p.ppid,
            p.ppid,
            esc(&p.name),
            esc(&p.session),
            esc(&p.create_time),
            esc(&p.exit_time),
            esc(p.found_by.as_str()),
            esc(&p.user_name),
            esc(&p.image_path),
            esc(p.command_line.as_str())
        );
    }
    h.push_str("</tbody></table>\n");
    if all.len() > MAX_PROCESS_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"sub\">{} more processes not shown: the CSV or JSONL output lists them all.</p>",
            all.len() - MAX_PROCESS_ROWS
        );
    }
}

/// `mem ps --tree --html`: the report, with the process tree of each dump as the
/// terminal shows it (`trees`: input, tree text).
pub fn render_tree(reports: &[InputReport], trees: &[(String, String)]) -> String {
    let mut h = String::new();
    head(&mut h, "smss-triage mem ps --tree", reports);
    summary(&mut h, reports);
    h.push_str("<h2 id=\"process-tree\">Process trees</h2>\n");
    for (input, tree) in trees {
        let _ = writeln!(
            h,
            "<h3 class=\"mono\">{}</h3><pre class=\"tree\">{}</pre>",
            esc(input),
            esc(tree)
        );
    }
    boot_chains(&mut h, reports);
    findings(&mut h, reports);
    processes(&mut h, reports);
    tail(&mut h);
    h
}

/// What `disk ls --html` keeps of one volume's listing: counts of everything, and the
/// entries that matter (boot-chain names, their lookalikes, names in the wrong place),
/// so that a volume of millions of entries makes a page of kilobytes.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub input: String,
    pub volume: String,
    pub entries: u64,
    pub deleted: u64,
    pub directories: u64,
    pub with_streams: u64,
    /// (entry, why it is shown; "" for a boot-chain name in its genuine place)
    pub shown: Vec<(EntryRecord, String)>,
    /// Entries that matter beyond [`MAX_LISTED`]: counted, not kept.
    pub not_shown: u64,
}

/// The most entries one volume's listing keeps for the report.
pub const MAX_LISTED: usize = 2_000;

impl Listing {
    /// Count one entry, and keep it when it matters.
    pub fn add(&mut self, e: &EntryRecord) {
        self.entries += 1;
        self.deleted += u64::from(e.deleted);
        self.directories += u64::from(e.directory);
        self.with_streams += u64::from(!e.streams.is_empty());
        if e.directory {
            return;
        }
        let name = e.path.rsplit(['\\', '/']).next().unwrap_or(&e.path);
        let why = if let Some(p) = crate::names::protected_name(name) {
            let dir = &e.path[..e.path.len() - name.len()];
            if crate::names::is_genuine_location(p, dir, true) {
                String::new()
            } else {
                format!("{p} outside its genuine place")
            }
        } else if let Some((p, how)) = crate::names::lookalike(name) {
            format!("looks like {p} ({})", how.describe())
        } else if let Some(p) = e
            .streams
            .split(';')
            .find_map(|st| crate::names::protected_name(st.trim_start_matches(':')))
        {
            format!("alternate data stream named {p}")
        } else {
            return;
        };
        if self.shown.len() < MAX_LISTED {
            self.shown.push((e.clone(), why));
        } else {
            self.not_shown += 1;
        }
    }
}

/// `disk ls --html`: the inputs, the volumes, and per volume its counts and the entries
/// that matter.
pub fn render_listing(reports: &[InputReport], listings: &[Listing]) -> String {
    let mut h = String::new();
    head(&mut h, "smss-triage disk ls", reports);
    summary(&mut h, reports);
    let volumes: Vec<_> = reports.iter().flat_map(|r| &r.volumes).collect();
    if !volumes.is_empty() {
        let _ = writeln!(h, "<h2>Volumes ({})</h2>", volumes.len());
        h.push_str("<table><thead><tr><th>location</th><th>container</th><th>partition</th><th>offset</th><th>size</th><th>type</th><th>file system</th><th>MFT records</th></tr></thead><tbody>\n");
        for v in volumes {
            let _ = writeln!(
                h,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.location),
                esc(&v.container),
                v.partition,
                v.offset,
                v.size,
                esc(&v.partition_type),
                esc(&v.file_system),
                v.mft_records
            );
        }
        h.push_str("</tbody></table>\n");
    }
    for l in listings {
        let _ = writeln!(
            h,
            "<h2 class=\"mono\">{}</h2><p>{} entries: {} deleted, {} directories, {} with alternate data streams.</p>",
            esc(&l.volume),
            l.entries,
            l.deleted,
            l.directories,
            l.with_streams
        );
        if l.shown.is_empty() {
            h.push_str("<p>No boot-chain names and no lookalikes of them on this volume.</p>\n");
            continue;
        }
        let flagged = l.shown.iter().filter(|(_, why)| !why.is_empty()).count();
        let _ = writeln!(
            h,
            "<h3>Boot-chain names and lookalikes ({}, {} flagged)</h3>",
            l.shown.len() as u64 + l.not_shown,
            flagged
        );
        h.push_str("<table class=\"sortable entries\"><thead><tr><th>path</th><th>why shown</th><th>MFT entry</th><th>deleted</th><th>size</th><th>$SI created</th><th>$SI modified</th><th>$FN created</th><th>$FN modified</th><th>streams</th><th>flags</th></tr></thead><tbody>\n");
        for (e, why) in &l.shown {
            let _ = writeln!(
                h,
                "<tr{}><td class=\"mono\">{}</td><td>{}</td><td data-key=\"{}\">{}</td><td>{}</td><td data-key=\"{}\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                if why.is_empty() { "" } else { " class=\"flagged\"" },
                esc(&e.path),
                esc(if why.is_empty() { "boot-chain name" } else { why }),
                e.mft_entry,
                e.mft_entry,
                if e.deleted { "deleted" } else { "" },
                e.size,
                e.size,
                esc(&e.si_created),
                esc(&e.si_modified),
                esc(&e.fn_created),
                esc(&e.fn_modified),
                esc(&e.streams),
                esc(&e.flags)
            );
        }
        h.push_str("</tbody></table>\n");
        if l.not_shown > 0 {
            let _ = writeln!(
                h,
                "<p class=\"sub\">{} more such entries not shown: `disk ls` CSV lists every entry.</p>",
                l.not_shown
            );
        }
    }
    tail(&mut h);
    h
}

/// A report of plain fact tables (`mem info`): one titled table of name/value pairs each.
pub fn render_facts(title: &str, tables: &[(String, Vec<(String, String)>)]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    for (name, facts) in tables {
        let _ = writeln!(
            h,
            "<h2 class=\"mono\">{}</h2><table class=\"facts\"><tbody>",
            esc(name)
        );
        for (k, v) in facts.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = writeln!(
                h,
                "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                esc(k),
                esc(v)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, reports: &[InputReport]) {
    h.push_str("<h2>Inputs</h2>\n<table><thead><tr><th>input</th><th>status</th><th>format</th><th>analyser</th><th>findings</th><th>max severity</th><th>detail</th></tr></thead><tbody>\n");
    // A collection's READMEs and scripts would bury the evidence: counted, listed below.
    let (shown, unknown): (Vec<&InputReport>, Vec<&InputReport>) = reports.iter().partition(|r| {
        !(r.input.status == Some(crate::model::InputStatus::Skipped) && r.input.format == "unknown")
    });
    for r in shown {
        let i = &r.input;
        let status = i
            .status
            .map(|s| format!("{s:?}").to_lowercase())
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge sev-{}\">{}</span></td><td>{}</td></tr>",
            esc(&i.input),
            esc(&status),
            esc(&i.format),
            esc(&i.analyser),
            i.findings,
            esc(&i.max_severity),
            esc(&i.max_severity),
            esc(&i.detail)
        );
    }
    h.push_str("</tbody></table>\n");
    if !unknown.is_empty() {
        let _ = write!(
            h,
            "<details><summary>{} inputs of unrecognised format (skipped)</summary><ul>",
            unknown.len()
        );
        for r in unknown {
            let _ = write!(h, "<li class=\"mono\">{}</li>", esc(&r.input.input));
        }
        h.push_str("</ul></details>\n");
    }
}

fn findings(h: &mut String, reports: &[InputReport]) {
    let all: Vec<&Finding> = reports.iter().flat_map(|r| &r.findings).collect();
    let _ = writeln!(h, "<h2>Findings ({})</h2>", all.len());
    if all.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    let mut rules: Vec<&str> = all.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let mut inputs: Vec<&str> = all.iter().map(|f| f.input.as_str()).collect();
    inputs.sort_unstable();
    inputs.dedup();
    h.push_str("<div class=\"filters\">Severity at least <select id=\"f-sev\"><option value=\"0\">info</option><option value=\"1\">low</option><option value=\"2\">medium</option><option value=\"3\">high</option><option value=\"4\">critical</option></select> Rule <select id=\"f-rule\"><option value=\"\">all</option>");
    for r in &rules {
        let _ = write!(h, "<option>{}</option>", esc(r));
    }
    h.push_str("</select> Input <select id=\"f-input\"><option value=\"\">all</option>");
    for i in &inputs {
        let _ = write!(h, "<option>{}</option>", esc(i));
    }
    h.push_str(
        "</select> Text <input id=\"f-text\" type=\"search\"> <span id=\"f-count\"></span></div>\n",
    );
    h.push_str("<table id=\"findings\" class=\"sortable\"><colgroup><col style=\"width:6em\"><col style=\"width:11em\"><col style=\"width:6.5em\"><col style=\"width:10%\"><col style=\"width:15%\"><col style=\"width:21%\"><col><col style=\"width:12%\"></colgroup><thead><tr><th>severity</th><th>rule</th><th>ATT&amp;CK</th><th>input</th><th>subject</th><th>evidence</th><th>explanation</th><th>location</th></tr></thead><tbody>\n");
    for f in all {
        let sev = f.severity as u8;
        let _ = writeln!(
            h,
            "<tr data-sev=\"{sev}\" data-rule=\"{}\" data-input=\"{}\"><td data-key=\"{sev}\"><span class=\"badge sev-{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(f.rule),
            esc(&f.input),
            f.severity,
            f.severity,
            esc(f.rule),
            esc(f.attack),
            esc(&f.input),
            esc(&f.subject),
            esc(&f.evidence),
            esc(&f.explanation),
            esc(&f.location)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn is_boot_chain(name: &str) -> bool {
    BOOT_CHAIN.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// Processes of one dump (by location) or one boot of an event log.
fn groups(r: &InputReport) -> BTreeMap<(String, u32), Vec<&ProcessRecord>> {
    let mut g: BTreeMap<(String, u32), Vec<&ProcessRecord>> = BTreeMap::new();
    for p in &r.processes {
        g.entry((p.location.clone(), p.boot)).or_default().push(p);
    }
    g
}

fn boot_chains(h: &mut String, reports: &[InputReport]) {
    let mut any = false;
    for r in reports {
        for ((location, boot), procs) in groups(r) {
            let chain: Vec<&ProcessRecord> = procs
                .iter()
                .copied()
                .filter(|p| is_boot_chain(&p.name))
                .collect();
            if chain.is_empty() {
                continue;
            }
            if !any {
                h.push_str("<h2 id=\"boot-chains\">Boot chains</h2>\n");
                any = true;
            }
            let mut title = r.input.input.clone();
            if !location.is_empty() {
                title = location.clone();
            }
            if boot > 0 {
                let _ = write!(title, " — boot {boot}");
            }
            if let Some(c) = procs.iter().find(|p| !p.computer.is_empty()) {
                let _ = write!(title, " — host {}", c.computer);
            }
            let _ = writeln!(h, "<h3>{}</h3>", esc(&title));
            // A loose dump's input line says when it was taken: the end of open bars.
            // Typed when analysed in this run; from the detail text after `merge`.
            let dump_time = if location.is_empty() {
                r.dump_time
                    .map(crate::time::FileTime::unix_f64)
                    .or_else(|| taken(&r.input.detail))
            } else {
                None
            };
            svg(h, &chain, &procs, dump_time);
            h.push_str("<table><thead><tr><th>pid</th><th>ppid</th><th>parent</th><th>name</th><th>session</th><th>created</th><th>exited</th><th>found by</th><th>source</th><th>command line</th></tr></thead><tbody>\n");
            for p in &chain {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    p.pid,
                    p.ppid,
                    esc(&p.parent_name),
                    esc(&p.name),
                    esc(&p.session),
                    esc(&p.create_time),
                    esc(&p.exit_time),
                    esc(p.found_by.as_str()),
                    esc(&p.source),
                    esc(p.command_line.as_str())
                );
            }
            h.push_str("</tbody></table>\n");
        }
    }
}

/// The boot-chain picture: one bar per process from creation to exit (or to the last
/// time the group knows of: the dump or the last event), one row per process grouped
/// by session, x in seconds after the master smss's creation.
fn svg(h: &mut String, chain: &[&ProcessRecord], all: &[&ProcessRecord], dump_time: Option<f64>) {
    let t = |s: &str| parse_iso(s);
    // The master smss: the smss whose parent is System (pid 4), else the first smss.
    let smss = |p: &&&ProcessRecord| p.name.eq_ignore_ascii_case("smss.exe");
    let origin = chain
        .iter()
        .filter(smss)
        .filter(|p| p.ppid == 4)
        .chain(chain.iter().filter(smss))
        .find_map(|p| t(&p.create_time))
        .or_else(|| {
            chain
                .iter()
                .filter_map(|p| t(&p.create_time))
                .reduce(f64::min)
        });
    let Some(origin) = origin else {
        h.push_str("<p>No creation times: no picture.</p>\n");
        return;
    };
    let end = all
        .iter()
        .flat_map(|p| [&p.create_time, &p.exit_time, &p.event_time])
        .filter_map(|s| t(s))
        .chain(dump_time)
        .fold(origin, f64::max);
    let mut rows: Vec<&ProcessRecord> = chain
        .iter()
        .copied()
        .filter(|p| t(&p.create_time).is_some())
        .collect();
    rows.sort_by(|a, b| {
        (a.session.as_str(), t(&a.create_time).unwrap_or(0.0))
            .partial_cmp(&(b.session.as_str(), t(&b.create_time).unwrap_or(0.0)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let span = (end - origin).max(1e-3);
    let (left, width, row_h) = (280.0, 700.0, 22.0);
    let height = 30.0 + row_h * rows.len() as f64;
    let _ = writeln!(
        h,
        "<svg class=\"chain\" width=\"{}\" height=\"{height}\" role=\"img\">",
        left + width + 20.0
    );
    for i in 0..=4 {
        let x = left + width * i as f64 / 4.0;
        let _ = writeln!(
            h,
            "<line x1=\"{x}\" y1=\"14\" x2=\"{x}\" y2=\"{height}\" class=\"grid\"/><text x=\"{x}\" y=\"11\" class=\"axis\" text-anchor=\"{}\">+{}</text>",
            if i == 4 { "end" } else { "start" },
            fmt_secs(span * i as f64 / 4.0)
        );
    }
    for (i, p) in rows.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let start = t(&p.create_time).unwrap_or(origin);
        let (stop, open) = match t(&p.exit_time) {
            Some(e) => (e, false),
            None => (end, true),
        };
        let x0 = left + width * ((start - origin) / span).clamp(0.0, 1.0);
        let x1 = (left + width * ((stop - origin) / span).clamp(0.0, 1.0)).max(x0 + 2.0);
        let label = format!(
            "{} {} ({})",
            if p.session.is_empty() {
                "no session".to_string()
            } else {
                format!("s{}", p.session)
            },
            p.name,
            p.pid
        );
        let tip = format!(
            "{} pid {} ppid {}: {} → {}",
            p.name,
            p.pid,
            p.ppid,
            p.create_time,
            if open { "running" } else { &p.exit_time }
        );
        let _ = writeln!(
            h,
            "<text x=\"4\" y=\"{}\" class=\"lbl\">{}</text><rect x=\"{x0:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"14\" class=\"{}\"><title>{}</title></rect>",
            y + 11.0,
            esc(&label),
            x1 - x0,
            if open { "bar open" } else { "bar" },
            esc(&tip)
        );
    }
    h.push_str("</svg>\n<p class=\"sub\"><span class=\"key exited\"></span> created → exited &nbsp; <span class=\"key open\"></span> created → still running at the dump (or the last event). x: time after the master smss was created; one row per process, by session.</p>\n");
}

/// The dump time in a memory input's detail (`…, taken 2024-03-12T09:14:03.0000000Z, …`).
fn taken(detail: &str) -> Option<f64> {
    let rest = &detail[detail.find("taken ")? + 6..];
    parse_iso(rest.split([',', ' ', ';']).next()?)
}

fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Seconds since 1970 of `YYYY-MM-DDTHH:MM:SS[.frac]Z`; `None` for anything else.
pub fn parse_iso(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 19 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac: f64 = match s.get(19..).and_then(|r| r.strip_prefix('.')) {
        Some(r) => {
            let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            format!("0.{digits}").parse().unwrap_or(0.0)
        }
        None => 0.0,
    };
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}

fn session_manager(h: &mut String, reports: &[InputReport]) {
    let regs: Vec<_> = reports.iter().flat_map(|r| &r.registry).collect();
    if regs.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>Session Manager and registry values ({})</h2>",
        regs.len()
    );
    h.push_str("<table class=\"sortable\"><thead><tr><th>input</th><th>control set</th><th>key</th><th>value</th><th>type</th><th>data</th><th>last written</th><th>detail</th></tr></thead><tbody>\n");
    for g in regs {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            esc(&g.input),
            esc(&g.control_set),
            if g.current { " (current)" } else { "" },
            esc(&g.key),
            esc(&g.value),
            esc(&g.value_type),
            esc(&g.data),
            esc(&g.last_written),
            esc(&g.detail)
        );
    }
    h.push_str("</tbody></table>\n");
}

/// A file is flagged when a file finding of its input names its path or location.
fn is_flagged(r: &InputReport, f: &FileRecord) -> bool {
    r.findings.iter().any(|x| {
        x.subject_kind == "file"
            && ((!f.path.is_empty() && (x.subject == f.path || x.location.ends_with(&f.path)))
                || (!f.file_name.is_empty() && x.subject.ends_with(&f.file_name)))
    })
}

fn flagged_files(h: &mut String, reports: &[InputReport]) {
    let files: Vec<&FileRecord> = reports
        .iter()
        .flat_map(|r| r.files.iter().filter(move |f| is_flagged(r, f)))
        .collect();
    if files.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2>Flagged files ({})</h2>", files.len());
    for f in files {
        let _ = writeln!(
            h,
            "<h3 class=\"mono\">{}</h3>",
            esc(if f.path.is_empty() {
                &f.file_name
            } else {
                &f.path
            })
        );
        h.push_str("<table class=\"facts\"><tbody>\n");
        let facts: [(&str, String); 22] = [
            ("input", f.input.clone()),
            ("volume", f.volume.clone()),
            ("size", f.size.to_string()),
            ("sha256", f.sha256.clone()),
            ("machine", f.machine.clone()),
            ("subsystem", f.subsystem.clone()),
            ("timestamp", f.timestamp.clone()),
            ("sections", f.sections.clone()),
            ("max entropy", format!("{:.2}", f.max_entropy)),
            ("imports", f.imports.to_string()),
            ("original filename", f.original_filename.clone()),
            ("company", f.company_name.clone()),
            ("description", f.file_description.clone()),
            ("product", f.product_name.clone()),
            ("version", f.file_version.clone()),
            ("signed", f.signed.to_string()),
            ("signer", f.signer.clone()),
            ("chain top", f.chain_top.clone()),
            (
                "checksum stored/computed",
                format!("{} / {}", f.checksum_stored, f.checksum_computed),
            ),
            ("$SI created", f.si_created.clone()),
            ("$FN created", f.fn_created.clone()),
            ("warnings", f.warnings.clone()),
        ];
        for (k, v) in facts.iter().filter(|(_, v)| !v.is_empty()) {
            let _ = writeln!(
                h,
                "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                k,
                esc(v)
            );
        }
        h.push_str("</tbody></table>\n");
    }
}

const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{margin:0 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
.sub{color:#666}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
#findings{table-layout:fixed;width:100%}
#findings .mono{min-width:0;max-width:none}
#findings td{overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 .4em;border-radius:3px}
th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
thead th{background:#f0f0f0;position:sticky;top:0}
table.sortable thead th{cursor:pointer}
.mono{font-family:ui-monospace,monospace;overflow-wrap:anywhere;min-width:10em;max-width:40em}
.sev-critical{background:#bd0026;color:#fff}.sev-high{background:#f03b20;color:#fff}
.sev-medium{background:#fd8d3c}.sev-low{background:#fed976}.sev-info{background:#ffffcc}
.filters{margin:.5em 0}
svg.chain{border:1px solid #ddd;background:#fafafa}
svg .bar{fill:#3b6ea5}svg .bar.open{fill:#e6550d;opacity:.75}
.key{display:inline-block;width:2em;height:.8em;background:#3b6ea5}.key.open{background:#e6550d;opacity:.75}
svg .grid{stroke:#ddd}svg .axis,svg .lbl{font:11px ui-monospace,monospace;fill:#333}
table.facts th{background:#f7f7f7;width:14em}
pre.tree{font:12px/1.3 ui-monospace,monospace;background:#fafafa;border:1px solid #ddd;padding:.5em;overflow-x:auto}
tr.flagged td{background:#fff0e8}
"#;

const JS: &str = r#"
(function(){
  var t=document.getElementById('findings');
  function apply(){
    if(!t)return;
    var sev=+document.getElementById('f-sev').value,
        rule=document.getElementById('f-rule').value,
        inp=document.getElementById('f-input').value,
        txt=document.getElementById('f-text').value.toLowerCase(), n=0;
    Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
      var ok=+r.dataset.sev>=sev&&(!rule||r.dataset.rule===rule)&&(!inp||r.dataset.input===inp)
        &&(!txt||r.textContent.toLowerCase().indexOf(txt)>=0);
      r.style.display=ok?'':'none'; if(ok)n++;
    });
    document.getElementById('f-count').textContent=n+' shown';
  }
  ['f-sev','f-rule','f-input','f-text'].forEach(function(id){
    var e=document.getElementById(id); if(e){e.addEventListener('input',apply);e.addEventListener('change',apply);}
  });
  apply();
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(tb){
    Array.prototype.forEach.call(tb.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){
        var asc=th.dataset.dir!=='asc'; th.dataset.dir=asc?'asc':'desc';
        var rows=Array.prototype.slice.call(tb.tBodies[0].rows);
        rows.sort(function(a,b){
          var x=a.cells[i].dataset.key||a.cells[i].textContent, y=b.cells[i].dataset.key||b.cells[i].textContent;
          var c=(isNaN(x)||isNaN(y))?x.localeCompare(y):(x-y); return asc?c:-c;
        });
        rows.forEach(function(r){tb.tBodies[0].appendChild(r);});
      });
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{1b}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\\u{1b}"
        );
    }

    #[test]
    fn a_huge_listing_keeps_counts_and_a_bounded_page() {
        let mut l = Listing {
            volume: "big.E01 › p2 NTFS".into(),
            ..Default::default()
        };
        for i in 0..200_000u64 {
            let path = if i % 20 == 0 {
                format!("\\Users\\u{i}\\smss.exe")
            } else {
                format!("\\Data\\file{i}.dat")
            };
            l.add(&EntryRecord {
                path,
                mft_entry: i,
                deleted: i % 3 == 0,
                ..Default::default()
            });
        }
        assert_eq!(l.entries, 200_000);
        assert_eq!(l.shown.len(), MAX_LISTED);
        assert_eq!(l.not_shown, 10_000 - MAX_LISTED as u64);
        let page = render_listing(&[], &[l]);
        assert!(page.len() < 2_000_000, "{} bytes", page.len());
        assert!(page.contains("200000 entries"));
        assert!(page.contains("8000 more such entries not shown"));
    }

    #[test]
    fn parses_iso_times() {
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_iso("2024-03-12T08:14:04.5000000Z"),
            Some(1_710_231_244.5)
        );
        assert_eq!(parse_iso("garbage"), None);
    }
}
