//! Batch budgets (issue #11 §4) and the rest of "batch at scale": `--max-seconds-per-input`
//! stops the long loops of one input, which is reported `partial` with what was found
//! while the batch goes on; the timeline's external sort writes exactly what the in-memory
//! sort wrote; `merge` says when a dump and its host's disk image were in different shards.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    common::parse_csv(&std::fs::read_to_string(path).unwrap()).1
}

fn by_input<'a>(rows: &'a [HashMap<String, String>], name: &str) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["input"].ends_with(name))
        .unwrap_or_else(|| panic!("{name} in {rows:?}"))
}

/// A batch of three: the project's disk image (sorted first) and two PE files.
fn three_inputs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let samples = common::repo_dir().join("samples");
    let disk = dir.join("a-disk.E01");
    std::fs::copy(samples.join("disk/masquerades.E01"), &disk).unwrap();
    let pe = dir.join("b-smss.exe");
    std::fs::copy(samples.join("pe/fake/smss.exe"), &pe).unwrap();
    std::fs::copy(samples.join("pe/good/smss.exe"), dir.join("c-good.exe")).unwrap();
    (t, disk, pe)
}

fn scan_out(input: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["scan", "-q", "--hash", "--format", "csv", "--out"])
        .arg(out)
        .args(extra)
        .arg(input)
        .output()
        .unwrap()
}

/// With a budget of 0 s the disk image's MFT enumeration stops at once: the input is
/// `partial` with the reason, its partition table (read before the loops) is written and
/// matches sleuthkit's `mmls`, none of its files are; the PE file after it (no long loop)
/// is analysed as without a budget; the exit code stays 0 (partial is not an error).
#[test]
fn a_spent_budget_makes_the_input_partial_and_the_batch_goes_on() {
    let (t, disk, pe) = three_inputs();
    let input = disk.parent().unwrap();
    let budget = t.path().join("budget");
    let full = t.path().join("full");
    let o = scan_out(input, &budget, &["--max-seconds-per-input", "0"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = scan_out(input, &full, &[]);
    assert!(o.status.code().is_some());

    let inputs = rows(&budget.join("inputs.csv"));
    assert_eq!(inputs.len(), 3);
    let d = by_input(&inputs, "a-disk.E01");
    assert_eq!(d["status"], "partial", "{d:?}");
    assert!(
        d["detail"].contains("MFT enumeration stopped at the time budget")
            && d["detail"].contains("--max-seconds-per-input 0"),
        "{}",
        d["detail"]
    );
    let full_inputs = rows(&full.join("inputs.csv"));
    assert_eq!(by_input(&full_inputs, "a-disk.E01")["status"], "analysed");

    // What was found before the stop: the volumes, as mmls reads the partition table.
    let vols = rows(&budget.join("volumes.csv"));
    let disk_vols: Vec<_> = vols
        .iter()
        .filter(|v| v["input"].ends_with("a-disk.E01"))
        .collect();
    if let Some(mmls) = triage_testkit::tool("mmls") {
        let text = Command::new(mmls).arg(&disk).output().unwrap().stdout;
        let starts: Vec<u64> = String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| {
                let slot = l.split_whitespace().next().unwrap_or("");
                slot.ends_with(':')
                    && slot
                        .trim_end_matches(':')
                        .chars()
                        .all(|c| c.is_ascii_digit())
            })
            .filter(|l| !l.contains("Meta") && !l.contains("-------"))
            .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
            .map(|s| s * 512)
            .collect();
        assert!(!starts.is_empty(), "mmls lists partitions");
        let ours: Vec<u64> = disk_vols
            .iter()
            .map(|v| v["offset"].parse().unwrap())
            .collect();
        assert_eq!(ours, starts, "partition offsets as mmls");
    } else {
        assert!(!disk_vols.is_empty());
    }
    let files = rows(&budget.join("files.csv"));
    assert!(
        !files.iter().any(|f| f["input"].ends_with("a-disk.E01")),
        "no MFT entry was handed out"
    );
    let full_files = rows(&full.join("files.csv"));
    assert!(full_files
        .iter()
        .any(|f| f["input"].ends_with("a-disk.E01")));

    // The next input: analysed, its file hashed as an independent sha256 says.
    let p = by_input(&inputs, "b-smss.exe");
    assert_eq!(p["status"], "analysed");
    let want = format!("{:x}", Sha256::digest(std::fs::read(&pe).unwrap()));
    let pe_file = by_input(&files, "b-smss.exe");
    assert_eq!(pe_file["sha256"], want);
    assert_eq!(
        by_input(&full_files, "b-smss.exe")["sha256"],
        pe_file["sha256"]
    );
    assert_eq!(by_input(&inputs, "c-good.exe")["status"], "analysed");
}

/// A budget that is not spent changes nothing (the records equal a run without one).
#[test]
fn a_budget_not_spent_changes_nothing() {
    let (t, disk, _) = three_inputs();
    let input = disk.parent().unwrap();
    let a = t.path().join("a");
    let b = t.path().join("b");
    scan_out(input, &a, &["--max-seconds-per-input", "3600"]);
    scan_out(input, &b, &[]);
    for kind in ["files", "findings", "registry", "volumes", "timeline"] {
        let x = std::fs::read_to_string(a.join(format!("{kind}.csv"))).unwrap();
        let y = std::fs::read_to_string(b.join(format!("{kind}.csv"))).unwrap();
        assert_eq!(x, y, "{kind}");
    }
    let o = bin()
        .args(["scan", "--max-seconds-per-input", "soon"])
        .arg(input)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "a bad budget is a usage error");
}

/// The sort key of a timeline time, computed here on its own: the seconds as text, then
/// the fraction as nanoseconds.
fn key(t: &str) -> (String, u64) {
    let head: String = t.chars().take(19).collect();
    let rest: String = t.chars().skip(19).collect();
    let frac: String = rest
        .strip_prefix('.')
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(9)
        .collect();
    (head, format!("{frac:0<9}").parse().unwrap_or(0))
}

/// The timeline sorted in runs of 1 and 7 rows spilled to files (over 64 runs: merged
/// in steps) is byte-identical to the one-run sort, on stdout (runs in `$TMPDIR`) and
/// in `--out` (runs in the directory, removed afterwards); its rows are in time order.
#[test]
fn the_spilled_timeline_equals_the_in_memory_one() {
    let t = tempfile::tempdir().unwrap();
    let samples = common::repo_dir().join("samples");
    let tmp = t.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let stdout = |runs: &str, format: &str, records: &str| {
        let o = bin()
            .env("SMSS_TIMELINE_RUN_ROWS", runs)
            .env("TMPDIR", &tmp)
            .args(["scan", "-q", "--format", format, "--records", records])
            .arg(&samples)
            .output()
            .unwrap();
        assert!(o.status.code().is_some());
        o.stdout
    };
    let one = stdout("100000000", "csv", "timeline");
    let n = String::from_utf8_lossy(&one).lines().count();
    assert!(n > 65, "enough rows for a cascaded merge: {n}");
    for runs in ["1", "7"] {
        let spilled = stdout(runs, "csv", "timeline");
        assert!(spilled == one, "runs of {runs}: the CSV timeline differs");
        // The timeline lines of `--records all` (the others carry elapsed_ms).
        let timeline_lines = |b: Vec<u8>| -> String {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| l.starts_with("{\"record\":\"timeline\""))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let all = timeline_lines(stdout(runs, "jsonl", "all"));
        assert_eq!(all.lines().count() + 1, n, "every row");
        assert!(
            all == timeline_lines(stdout("100000000", "jsonl", "all")),
            "runs of {runs}: --records all differs"
        );
    }
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "runs removed");

    let (_, tl) = common::parse_csv(&String::from_utf8_lossy(&one));
    let keys: Vec<_> = tl.iter().map(|r| key(&r["datetime"])).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "in time order");

    let out = |runs: &str, name: &str| {
        let dir = t.path().join(name);
        let o = bin()
            .env("SMSS_TIMELINE_RUN_ROWS", runs)
            .args(["scan", "-q", "--format", "csv", "--out"])
            .arg(&dir)
            .arg(&samples)
            .output()
            .unwrap();
        assert!(o.status.code().is_some());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".timeline.run"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::read_to_string(dir.join("timeline.csv")).unwrap()
    };
    assert_eq!(out("1", "small"), out("100000000", "big"));
}

/// With `--host`, a memory dump in shard 1/2 and its host's disk image in shard 2/2 are
/// not linked (the link reads the disk image; merge reads only record files): merge says
/// so on stderr, naming the shards. One run over both links them.
#[test]
fn merge_warns_when_a_host_is_split_across_shards() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let mut sc = triage_memgen::Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    sc.seed = 11;
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).unwrap();
    let dump = dir.join("a-host.raw");
    triage_memgen::write_image(&sc, &isf, &dump, triage_memgen::Format::Raw).unwrap();
    std::fs::remove_file(dump.with_extension("raw.truth.json")).ok();
    std::fs::copy(
        common::repo_dir().join("samples/disk/masquerades.E01"),
        dir.join("b-disk.E01"),
    )
    .unwrap();
    let scan = |out: &Path, shard: Option<&str>| {
        let mut c = bin();
        c.args(["scan", "-q", "--format", "csv", "--host", "WS01", "--out"])
            .arg(out);
        if let Some(s) = shard {
            c.args(["--shard", s]);
        }
        let o = c.arg(&dir).output().unwrap();
        assert!(o.status.code().is_some());
    };
    let one = t.path().join("one");
    scan(&one, None);
    let linked = rows(&one.join("inputs.csv"));
    assert!(
        by_input(&linked, "a-host.raw")["detail"].contains("host view:"),
        "one run links them"
    );
    let (s1, s2) = (t.path().join("s1"), t.path().join("s2"));
    scan(&s1, Some("1/2"));
    scan(&s2, Some("2/2"));
    assert_eq!(rows(&s1.join("inputs.csv")).len(), 1, "one input a shard");
    let merged = t.path().join("merged");
    let o = bin()
        .args(["merge"])
        .arg(&s1)
        .arg(&s2)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("host view: 1 memory dumps (shards 1/2) were not linked to the disk images of shards 2/2"),
        "{err}"
    );
    // Merging shards that keep a host together says nothing.
    let o = bin()
        .args(["merge"])
        .arg(&one)
        .arg("--out")
        .arg(t.path().join("m1"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("host view"));
}
