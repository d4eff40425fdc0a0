//! The outputs investigators use, through the real binary: the Timesketch timeline
//! (checked against the memgen truth and against libevtx's `evtxexport`), the ATT&CK
//! Navigator layer (checked against the layer format 4.x), `--records all`, JSON without
//! integers above 2^53, and the HTML report rendered by a real Chromium.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{parse_csv, repo_dir, shared_dir};
use serde_json::Value;
use triage_memgen::{write_image, Format, Scenario};

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

/// Run the binary, expecting exit 0 or 1 (1 = a finding at --fail-on; never set here).
fn run(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.code() == Some(0),
        "{args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A generated memory image of the masquerade scenario (and its truth).
fn memory_image(dir: &Path) -> Option<(PathBuf, triage_memgen::Truth)> {
    let symbols = shared_dir()?.join("symbols");
    let mut sc = Scenario::smss_masquerades(19041);
    sc.memory_size = 64 << 20;
    sc.seed = 12;
    let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
    let img = dir.join("masquerades.raw");
    let truth = write_image(&sc, &isf, &img, Format::Raw).unwrap();
    Some((img, truth))
}

/// `name (pid N, …` → N.
fn pid_of(message: &str) -> u64 {
    let rest = &message[message.find("(pid ").expect("pid in message") + 5..];
    rest[..rest.find(',').unwrap()].parse().unwrap()
}

/// Seconds of an ISO 8601 time, for order checks (independent of the report's parser).
fn secs(t: &str) -> f64 {
    let d: Vec<i64> = t[..19]
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse().unwrap())
        .collect();
    let frac: f64 = t[19..].trim_end_matches('Z').parse::<f64>().unwrap_or(0.0);
    // Days are only compared, so a month of 31 days keeps the order.
    ((((d[0] * 12 + d[1]) * 31 + d[2]) * 24 + d[3]) * 60 + d[4]) as f64 * 60.0 + d[5] as f64 + frac
}

fn assert_sorted(rows: &[BTreeMap<String, String>], ctx: &str) {
    for w in rows.windows(2) {
        assert!(
            secs(&w[0]["datetime"]) <= secs(&w[1]["datetime"]),
            "{ctx}: not sorted: {} then {}",
            w[0]["datetime"],
            w[1]["datetime"]
        );
    }
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn timeline(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = run(&[
        "scan",
        path.to_str().unwrap(),
        "--records",
        "timeline",
        "--format",
        "csv",
        "-q",
    ]);
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        &header[..6],
        [
            "message",
            "datetime",
            "timestamp_desc",
            "input",
            "host",
            "source"
        ]
    );
    rows.into_iter().map(|r| r.into_iter().collect()).collect()
}

#[test]
fn timeline_has_every_process_creation_of_a_generated_dump() {
    let dir = tempfile::tempdir().unwrap();
    let Some((img, truth)) = memory_image(dir.path()) else {
        return;
    };
    let rows = timeline(&img);
    assert_sorted(&rows, "memory");
    let created: Vec<_> = rows
        .iter()
        .filter(|r| r["timestamp_desc"] == "Process created")
        .collect();
    assert_eq!(created.len(), truth.processes.len());
    for t in &truth.processes {
        let r = created
            .iter()
            .find(|r| pid_of(&r["message"]) == t.pid)
            .unwrap_or_else(|| panic!("pid {} has no creation row", t.pid));
        assert_eq!(
            r["datetime"][..19],
            t.create_time_iso[..19],
            "pid {}",
            t.pid
        );
        assert_eq!(r["source"], "memory");
        if let Some(exit) = &t.exit_time_iso {
            assert!(
                rows.iter().any(|r| r["timestamp_desc"] == "Process exited"
                    && pid_of(&r["message"]) == t.pid
                    && r["datetime"][..19] == exit[..19]),
                "pid {} exit",
                t.pid
            );
        }
    }
    // The boot time is the System process's creation.
    let system = truth.processes.iter().find(|p| p.pid == 4).unwrap();
    assert!(rows.iter().any(|r| r["timestamp_desc"] == "Boot time"
        && r["datetime"][..19] == system.create_time_iso[..19]));
    // The dump time is the kernel clock memgen wrote (KUSER_SHARED_DATA.SystemTime).
    let taken: Vec<_> = rows
        .iter()
        .filter(|r| r["timestamp_desc"] == "Memory dump taken")
        .collect();
    assert_eq!(taken.len(), 1, "one dump-time row");
    assert_eq!(taken[0]["datetime"][..19], truth.system_time_iso[..19]);
}

#[test]
fn timeline_has_every_process_creation_of_a_real_event_log() {
    let Some(evtx) = common::shared_dir().map(|d| d.join("samples/evtx")) else {
        return;
    };
    let Some(evtxexport) = triage_testkit::tool("evtxexport") else {
        return;
    };
    let log = evtx.join("sbousseaden__EVTX-ATTACK-SAMPLES__privesc_unquoted_svc_sysmon_1_11.evtx");
    // The oracle: libevtx's dump, Sysmon event 1, string 4 = ProcessId, the computer name.
    let dump = std::process::Command::new(evtxexport)
        .arg(&log)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    let mut want: Vec<(u64, String)> = Vec::new();
    for ev in dump.split("\nEvent number") {
        if !ev.contains("Event identifier\t\t: 0x00000001 (1)") || !ev.contains("Sysmon") {
            continue;
        }
        let field = |k: &str| {
            ev.lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split_once("\t: "))
                .map(|(_, v)| v.trim().to_string())
                .unwrap()
        };
        want.push((
            field("String: 4\t").parse().unwrap(),
            field("Computer name"),
        ));
    }
    assert!(want.len() > 10, "the oracle found {} creations", want.len());
    let rows = timeline(&log);
    assert_sorted(&rows, "evtx");
    let mut got: Vec<(u64, String)> = rows
        .iter()
        .filter(|r| r["timestamp_desc"] == "Process created")
        .inspect(|r| assert_eq!(r["source"], "evtx:sysmon-1"))
        .map(|r| (pid_of(&r["message"]), r["host"].clone()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

/// The required fields and types of the ATT&CK Navigator layer format 4.x
/// (github.com/mitre-attack/attack-navigator, layers/spec/v4.5/layerformat.md).
fn check_layer(l: &Value) {
    assert!(l["name"].is_string(), "name");
    assert_eq!(l["domain"], "enterprise-attack");
    let v = &l["versions"];
    assert!(
        v["layer"].as_str().unwrap().starts_with("4."),
        "versions.layer"
    );
    assert!(v["attack"].is_string() && v["navigator"].is_string());
    assert!(l["description"].is_string());
    for t in l["techniques"].as_array().expect("techniques") {
        let id = t["techniqueID"].as_str().expect("techniqueID");
        let b = id.as_bytes();
        assert!(
            b.len() >= 5
                && b[0] == b'T'
                && b[1..5].iter().all(u8::is_ascii_digit)
                && (b.len() == 5
                    || (b.len() == 9 && b[5] == b'.' && b[6..].iter().all(u8::is_ascii_digit))),
            "technique id {id}"
        );
        assert!(t["score"].is_number() && t["comment"].is_string());
        assert!(t.get("enabled").is_none_or(Value::is_boolean));
    }
    let g = &l["gradient"];
    assert!(g["colors"].as_array().unwrap().len() >= 2);
    assert!(g["colors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.as_str().is_some_and(|c| c.starts_with('#'))));
    assert!(g["minValue"].as_f64().unwrap() < g["maxValue"].as_f64().unwrap());
    for li in l["legendItems"].as_array().expect("legendItems") {
        assert!(li["label"].is_string() && li["color"].is_string());
    }
}

#[test]
fn attack_layer_validates_and_matches_the_findings() {
    let out = tempfile::tempdir().unwrap();
    let samples = repo_dir().join("samples");
    bin()
        .args([
            "scan",
            samples.to_str().unwrap(),
            "--format",
            "jsonl",
            "-q",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let layer: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("attack-layer.json")).unwrap(),
    )
    .unwrap();
    check_layer(&layer);
    let findings = jsonl(&std::fs::read_to_string(out.path().join("findings.jsonl")).unwrap());
    assert!(!findings.is_empty());
    let sev = |s: &str| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap() as u64
            + 1
    };
    let mut want: BTreeMap<String, (u64, BTreeMap<String, usize>)> = BTreeMap::new();
    for f in &findings {
        let e = want
            .entry(f["attack"].as_str().unwrap().to_string())
            .or_default();
        e.0 = e.0.max(sev(f["severity"].as_str().unwrap()));
        *e.1.entry(f["rule"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let techniques = layer["techniques"].as_array().unwrap();
    assert_eq!(techniques.len(), want.len());
    for t in techniques {
        let (score, rules) = &want[t["techniqueID"].as_str().unwrap()];
        assert_eq!(t["score"].as_u64().unwrap(), *score);
        let comment = rules
            .iter()
            .map(|(r, n)| format!("{r} ×{n}"))
            .collect::<Vec<_>>()
            .join("; ");
        assert_eq!(t["comment"], comment.as_str());
    }

    // An empty run still writes a layer, with no techniques.
    let empty = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    bin()
        .args(["scan", empty.path().to_str().unwrap(), "-q", "--out"])
        .arg(out2.path())
        .assert()
        .success();
    let layer: Value = serde_json::from_str(
        &std::fs::read_to_string(out2.path().join("attack-layer.json")).unwrap(),
    )
    .unwrap();
    check_layer(&layer);
    assert_eq!(layer["techniques"].as_array().unwrap().len(), 0);
}

#[test]
fn records_all_is_one_jsonl_stream_and_refused_in_csv() {
    let samples = repo_dir().join("samples");
    let text = run(&[
        "scan",
        samples.to_str().unwrap(),
        "--records",
        "all",
        "--format",
        "jsonl",
        "-q",
    ]);
    let mut kinds = BTreeMap::new();
    for line in text.lines() {
        assert!(line.starts_with("{\"record\":\""), "{line}");
        let v: Value = serde_json::from_str(line).unwrap();
        *kinds
            .entry(v["record"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    // The same counts as each kind on its own.
    for (kind, n) in &kinds {
        let alone = run(&[
            "scan",
            samples.to_str().unwrap(),
            "--records",
            kind,
            "--format",
            "jsonl",
            "-q",
        ]);
        assert_eq!(alone.lines().count(), *n, "{kind}");
    }
    for k in ["inputs", "files", "findings", "timeline"] {
        assert!(kinds.contains_key(k), "{k} missing: {kinds:?}");
    }
    bin()
        .args([
            "scan",
            samples.to_str().unwrap(),
            "--records",
            "all",
            "--format",
            "csv",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--format jsonl"));
}

/// Every number in a JSON value (recursively): none may exceed 2^53.
fn check_numbers(v: &Value, ctx: &str, count: &mut usize) {
    const LIMIT: u64 = 1 << 53;
    match v {
        Value::Number(n) => {
            *count += 1;
            let ok = if let Some(u) = n.as_u64() {
                u <= LIMIT
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= LIMIT
            } else {
                n.as_f64().is_some_and(|f| f.abs() <= LIMIT as f64)
            };
            assert!(ok, "{ctx}: integer above 2^53: {n}");
        }
        Value::Array(a) => a.iter().for_each(|x| check_numbers(x, ctx, count)),
        Value::Object(o) => o.values().for_each(|x| check_numbers(x, ctx, count)),
        _ => {}
    }
}

#[test]
fn no_json_integer_above_2_pow_53() {
    let Some(shared) = shared_dir() else { return };
    let s = shared.join("samples");
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = memory_image(dir.path()).unwrap();
    let img = img.to_str().unwrap().to_string();
    let p = |x: &str| s.join(x).to_str().unwrap().to_string();
    let repo = repo_dir().join("samples").to_str().unwrap().to_string();
    let disk = p("disk/image.E01");
    let ntfs = p("disk/Velocidex__velociraptor__test.ntfs.dd.E01");
    let system = p("hives/regipy__SYSTEM");
    let evtx = p("evtx");
    let pe = p("pe");
    let cmds: Vec<Vec<&str>> = vec![
        vec!["scan", &repo, "--records", "all"],
        vec!["scan", &evtx, &system, "--records", "all"],
        vec!["pe", &pe, "--records", "all"],
        vec!["hive", &system, "--records", "all"],
        vec![
            "hive",
            &system,
            "--dump",
            r"ControlSet001\Control\Session Manager",
        ],
        vec!["mem", "info", &img],
        vec!["mem", "ps", &img, "--records", "all"],
        vec!["mem", "smss", &img, "--records", "all"],
        vec!["scan", &img, "--records", "all"],
        vec!["disk", "info", &disk, "--records", "all"],
        vec!["disk", "ls", &ntfs],
        vec!["rules"],
    ];
    let mut total = 0;
    for c in cmds {
        let mut args = c.clone();
        args.extend(["--format", "jsonl"]);
        if c[0] != "rules" {
            args.push("-q");
        }
        let out = bin().args(&args).output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.trim().is_empty(), "{args:?}: no output");
        let mut count = 0;
        for v in jsonl(&text) {
            check_numbers(&v, &format!("{c:?}"), &mut count);
        }
        total += count;
        if c.starts_with(&["mem", "info"]) {
            // The documented record: addresses as strings.
            let v = &jsonl(&text)[0];
            assert!(v["kernel_base"].as_str().unwrap().starts_with("0x"), "{v}");
            assert!(v["dtb"].is_string() && v["input"].is_string());
        }
    }
    // Not vacuous: the records do carry numbers (pids, sizes, offsets).
    assert!(total > 1000, "only {total} numbers seen");
}

/// Text as Chromium's DOM serialisation writes it.
fn dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

#[test]
fn html_report_renders_in_chromium_and_names_every_finding() {
    let Some(chromium) = triage_testkit::tool("chromium-headless-shell") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A hostile name: a renamed smss.exe (FILE-RENAMED names the file in its subject).
    let evil = dir.path().join("<script>alert(1).exe");
    std::fs::copy(repo_dir().join("samples/pe/renamed/updater.exe"), &evil).unwrap();
    let mut inputs = vec![repo_dir().join("samples"), evil.clone()];
    let with_dump = match memory_image(dir.path()) {
        Some((img, truth)) => {
            // `mem info --html`: its documented facts, escaped, nothing external.
            let info = dir.path().join("info.html");
            bin()
                .args(["mem", "info", "-q", "--format", "csv", "--html"])
                .arg(&info)
                .arg(&img)
                .assert()
                .success();
            let text = std::fs::read_to_string(&info).unwrap();
            assert!(
                text.contains(&format!("{:#x}", truth.kernel_base)),
                "kernel base"
            );
            assert!(!text.contains("http:") && !text.contains("src="));
            inputs.push(img);
            true
        }
        None => false,
    };
    let html = dir.path().join("report.html");
    let out = dir.path().join("out");
    bin()
        .arg("scan")
        .args(&inputs)
        .args(["-q", "--format", "jsonl", "--html"])
        .arg(&html)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&html).unwrap();
    for bad in ["http:", "https:", "//", "src=", "@import", "url("] {
        assert!(
            !text.contains(bad) || bad == "//" && !text.contains("\"//") && !text.contains("'//"),
            "report refers to something outside itself: {bad}"
        );
    }
    assert!(
        !text.contains("<script>alert"),
        "a name reached the page unescaped"
    );
    assert!(text.contains("&lt;script&gt;alert(1).exe"));

    let findings = jsonl(&std::fs::read_to_string(out.join("findings.jsonl")).unwrap());
    assert!(findings.len() > 5);
    assert!(findings
        .iter()
        .any(|f| f["subject"].as_str().unwrap().contains("<script>")));

    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html.display());
    let dom = std::process::Command::new(&chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(dom.contains("Findings ("), "no rendered report: {dom:.300}");
    // The filter script ran in the browser: it writes the count of shown rows.
    assert!(dom.contains(&format!("{} shown", findings.len())));
    for f in &findings {
        for k in ["rule", "subject"] {
            let v = f[k].as_str().unwrap();
            assert!(dom.contains(&dom_text(v)), "DOM lacks {k} {v:?}");
        }
    }
    if with_dump {
        // The boot-chain picture: a bar per boot-chain process of the dump.
        assert!(dom.contains("<svg"), "no boot-chain picture");
        for name in [
            "smss.exe",
            "csrss.exe",
            "wininit.exe",
            "winlogon.exe",
            "services.exe",
            "lsass.exe",
        ] {
            assert!(dom.contains(&format!("{name} (")), "no bar for {name}");
        }
    }

    let png = dir.path().join("shot.png");
    let shot = std::process::Command::new(&chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=1280,1600")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
}

/// A page as Chromium renders it (`--dump-dom`: the DOM after the scripts ran).
fn chromium_dom(chromium: &Path, html: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn self_contained(text: &str) {
    for bad in ["http:", "https:", "src=", "@import", "url("] {
        assert!(!text.contains(bad), "report refers outside itself: {bad}");
    }
}

/// `disk ls --html`: the counts of the whole listing and only the entries that matter,
/// checked against the CSV listing of the same run (every entry) and rendered by Chromium.
#[test]
fn disk_ls_html_keeps_counts_and_the_entries_that_matter() {
    let Some(chromium) = triage_testkit::tool("chromium-headless-shell") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = repo_dir().join("samples/disk/masquerades.E01");
    let html = dir.path().join("ls.html");
    let csv = run(&[
        "disk",
        "ls",
        "-q",
        "--format",
        "csv",
        "--html",
        html.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    let (_, rows) = parse_csv(&csv);
    let text = std::fs::read_to_string(&html).unwrap();
    self_contained(&text);
    let dom = chromium_dom(&chromium, &html);
    // The counts are those of the CSV (every listed entry).
    let ntfs: Vec<_> = rows
        .iter()
        .filter(|r| r["volume"].ends_with("NTFS"))
        .collect();
    let deleted = ntfs.iter().filter(|r| r["deleted"] == "true").count();
    let dirs = ntfs.iter().filter(|r| r["directory"] == "true").count();
    assert!(
        dom.contains(&format!(
            "{} entries: {deleted} deleted, {dirs} directories",
            ntfs.len()
        )),
        "counts not in the page"
    );
    // Every boot-chain name and lookalike of the CSV is in the page; plain files are not.
    let file_name = |p: &str| p.rsplit('\\').next().unwrap_or(p).to_string();
    for r in &ntfs {
        let name = file_name(&r["path"]);
        let matters = [
            "smss.exe",
            "csrss.exe",
            "wininit.exe",
            "winlogon.exe",
            "services.exe",
            "lsass.exe",
            "svchost.exe",
            "srnss.exe",
            "ѕmss.exe",
        ]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
            || r["streams"].to_lowercase().contains("smss.exe");
        let shown = dom.contains(&dom_text(&r["path"]));
        if matters {
            assert!(shown, "{} not in the report", r["path"]);
        } else if r["directory"] == "false" && !r["path"].is_empty() && name.contains('.') {
            assert!(
                !dom.contains(&format!(">{}<", dom_text(&r["path"]))),
                "{} listed though it does not matter",
                r["path"]
            );
        }
    }
    // Out of place and lookalike entries are flagged; the genuine System32 one is not.
    assert!(dom.contains("smss.exe outside its genuine place"));
    assert!(dom.contains("looks like smss.exe"));
    assert!(dom.contains("alternate data stream named smss.exe"));
    assert!(dom.contains(
        "<tr><td class=\"mono\">\\Windows\\System32\\smss.exe</td><td>boot-chain name</td>"
    ));
}

/// `mem ps --html` and `mem ps --tree --html` on a generated dump: every process of the
/// memgen truth in the page, and the tree as the terminal prints it.
#[test]
fn mem_ps_html_lists_every_process_and_the_tree() {
    let Some(chromium) = triage_testkit::tool("chromium-headless-shell") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some((img, truth)) = memory_image(dir.path()) else {
        return;
    };
    let html = dir.path().join("ps.html");
    let csv = run(&[
        "mem",
        "ps",
        "-q",
        "--format",
        "csv",
        "--html",
        html.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    let (_, rows) = parse_csv(&csv);
    assert!(rows.len() >= truth.processes.len());
    let text = std::fs::read_to_string(&html).unwrap();
    self_contained(&text);
    let dom = chromium_dom(&chromium, &html);
    assert!(dom.contains(&format!("Processes ({})", rows.len())));
    for p in &truth.processes {
        assert!(
            dom.contains(&format!("<td data-key=\"{}\">{}</td>", p.pid, p.pid)),
            "pid {} not in the process table",
            p.pid
        );
    }

    let tree_html = dir.path().join("tree.html");
    let tree = run(&[
        "mem",
        "ps",
        "--tree",
        "-q",
        "--html",
        tree_html.to_str().unwrap(),
        img.to_str().unwrap(),
    ]);
    let dom = chromium_dom(&chromium, &tree_html);
    assert!(dom.contains("Process trees"));
    // Every line of the terminal's tree is in the page's <pre>, in order.
    let pre_start = dom.find("<pre class=\"tree\">").expect("tree block");
    let pre = &dom[pre_start..];
    let mut at = 0;
    for line in tree.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let l = dom_text(line);
        let found = pre[at..]
            .find(&l)
            .unwrap_or_else(|| panic!("tree line not in the page: {line}"));
        at += found + l.len();
    }
    assert!(dom.contains("Boot chains"));
}
