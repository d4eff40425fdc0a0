//! Batches at scale (issue #11): streamed `--out DIR`, a run killed with SIGKILL at
//! random points and resumed equals an uninterrupted run, shards concatenated equal one
//! run, journals from other options are refused, torn lines are repaired, and the
//! evidence is never touched.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

/// A mixed collection in a temp dir: the project's PE files, hive text and disk image,
/// several times over so that a run lasts long enough to be killed part way.
fn collection() -> tempfile::TempDir {
    collection_of(4)
}

fn collection_of(copies: usize) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let samples = common::repo_dir().join("samples");
    for copy in 0..copies {
        let dst = t.path().join(format!("c{copy}"));
        copy_tree(&samples, &dst);
    }
    t
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &dst.join(e.file_name()));
        } else {
            std::fs::copy(&p, dst.join(e.file_name())).unwrap();
        }
    }
}

fn run_out(coll: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["scan", "-q", "-j", "2", "--format", "csv", "--out"])
        .arg(out)
        .arg(coll)
        .args(extra)
        .output()
        .unwrap()
}

/// The record files of an output dir, with the one column that differs between runs
/// (`elapsed_ms`) blanked.
fn records(dir: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "journal.tsv" {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let text = if name == "inputs.csv" {
            blank_elapsed(&text)
        } else {
            text
        };
        m.insert(name, text);
    }
    m
}

fn blank_elapsed(text: &str) -> String {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let headers = rd.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "elapsed_ms").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).unwrap();
    for r in rd.records() {
        let r = r.unwrap();
        let row: Vec<&str> = r
            .iter()
            .enumerate()
            .map(|(i, v)| if i == col { "" } else { v })
            .collect();
        w.write_record(row).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn fingerprint(dir: &Path) -> Vec<(PathBuf, String, SystemTime)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let sha = format!("{:x}", Sha256::digest(std::fs::read(&p).unwrap()));
                let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
                v.push((p, sha, mtime));
            }
        }
    }
    v.sort();
    v
}

/// (inputs journaled, inputs of the run) of an output dir, when it has a journal.
fn journal_state(dir: &Path) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(dir.join("journal.tsv")).ok()?;
    let all = text
        .lines()
        .nth(1)?
        .split('\t')
        .find_map(|f| f.strip_prefix("inputs="))?
        .parse()
        .ok()?;
    let done = text.matches('\n').count().saturating_sub(3);
    Some((done, all))
}

/// A pseudo-random delay in [0, of), from the clock (no rand dependency).
fn jitter(of: Duration) -> Duration {
    let n = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u128;
    Duration::from_micros((n % of.as_micros().max(1)) as u64)
}

#[test]
fn killed_and_resumed_equals_one_run_and_evidence_is_untouched() {
    let coll = collection_of(12);
    let before = fingerprint(coll.path());
    let out = tempfile::tempdir().unwrap();
    let one = out.path().join("one");
    let t0 = std::time::Instant::now();
    let o = run_out(coll.path(), &one, &[]);
    let whole = t0.elapsed();
    assert!(o.status.code().unwrap_or(99) <= 3, "{o:?}");
    let full = records(&one);
    assert!(full["inputs.csv"].lines().count() > 40);

    let resumed = out.path().join("resumed");
    // Runs killed (SIGKILL) at random points, each resuming the last; a run that got to
    // the end is started afresh, until three were killed part way.
    let mut kills = 0;
    for _ in 0..40 {
        if kills >= 3 {
            break;
        }
        let resume = journal_state(&resumed).is_some_and(|(done, all)| done < all);
        let mut cmd = bin();
        cmd.args(["scan", "-q", "-j", "2", "--format", "csv", "--out"])
            .arg(&resumed)
            .arg(coll.path());
        if resume {
            cmd.arg("--resume");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(jitter(whole));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let o = if journal_state(&resumed).is_some() {
        run_out(coll.path(), &resumed, &["--resume"])
    } else {
        // Killed before the journal existed: nothing to resume, a fresh run.
        run_out(coll.path(), &resumed, &[])
    };
    assert!(o.status.code().unwrap_or(99) <= 3, "{o:?}");
    eprintln!("killed {kills} resumed runs part way (a whole run: {whole:?})");
    assert!(
        kills >= 1,
        "no resumed run was killed part way: the collection is too small"
    );
    let got = records(&resumed);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        full.keys().collect::<Vec<_>>()
    );
    for (name, text) in &full {
        assert_eq!(&got[name], text, "{name} differs after kill and resume");
    }
    assert_eq!(fingerprint(coll.path()), before, "evidence changed");
}

#[test]
fn torn_lines_are_repaired_and_foreign_journals_refused() {
    let coll = collection();
    let out = tempfile::tempdir().unwrap();
    let one = out.path().join("one");
    run_out(coll.path(), &one, &[]);
    let full = records(&one);

    // A kill during the write of a record: half a findings row, half a journal line.
    let torn = out.path().join("torn");
    run_out(coll.path(), &torn, &[]);
    let journal = std::fs::read_to_string(torn.join("journal.tsv")).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    let keep = lines.len() / 2;
    let last = lines[keep - 1].to_string();
    let lengths: Vec<u64> = last
        .rsplit('\t')
        .next()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let mut j = lines[..keep].join("\n");
    j.push('\n');
    j.push_str(&lines[keep][..lines[keep].len() / 2]);
    std::fs::write(torn.join("journal.tsv"), j).unwrap();
    let findings = torn.join("findings.csv");
    let text = std::fs::read(&findings).unwrap();
    let mut cut = text[..(lengths[4] as usize)].to_vec();
    cut.extend_from_slice(b"samples/half,a torn row with no end");
    std::fs::write(&findings, cut).unwrap();
    std::fs::remove_file(torn.join("timeline.csv")).unwrap();
    let o = run_out(coll.path(), &torn, &["--resume"]);
    assert!(o.status.code().unwrap_or(99) <= 3, "{o:?}");
    let got = records(&torn);
    for (name, text) in &full {
        assert_eq!(&got[name], text, "{name} differs after repair");
    }

    // Other options: refused with a clear message, files left alone.
    let o = run_out(coll.path(), &torn, &["--resume", "--hash"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("other inputs or with other options"), "{err}");
    // Other inputs: refused too.
    let o = run_out(&coll.path().join("c0"), &torn, &["--resume"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(records(&torn), got);
}

#[test]
fn shards_concatenated_equal_one_run() {
    let coll = collection();
    let out = tempfile::tempdir().unwrap();
    let one = out.path().join("one");
    run_out(coll.path(), &one, &[]);
    let full = records(&one);
    let n = 3;
    let mut parts: Vec<BTreeMap<String, String>> = Vec::new();
    let list = out.path().join("list.txt");
    std::fs::write(&list, format!("{}\n", coll.path().display())).unwrap();
    for k in 1..=n {
        let dir = out.path().join(format!("shard-{k}"));
        let o = bin()
            .args(["scan", "-q", "-j", "2", "--format", "csv", "--input-list"])
            .arg(&list)
            .args(["--shard", &format!("{k}/{n}"), "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.code().unwrap_or(99) <= 3, "{o:?}");
        parts.push(records(&dir));
    }
    let mut nonempty = 0;
    for name in full.keys() {
        if name == "timeline.csv" || name == "attack-layer.json" || name.starts_with('.') {
            continue;
        }
        let mut cat = String::new();
        for (i, p) in parts.iter().enumerate() {
            let text = &p[name];
            let mut lines = text.split_inclusive('\n');
            let header = lines.next().unwrap_or("");
            if i == 0 {
                cat.push_str(header);
            }
            let body: String = lines.collect();
            if name == "inputs.csv" && !body.is_empty() {
                nonempty += 1;
            }
            cat.push_str(&body);
        }
        assert_eq!(&cat, &full[name], "{name}: shards do not add up to one run");
    }
    assert_eq!(nonempty, n, "every shard got inputs");

    // merge: every file, the timeline and the ATT&CK layer included, equals one run.
    let merged = out.path().join("merged");
    let shard_dirs: Vec<PathBuf> = (1..=n)
        .rev()
        .map(|k| out.path().join(format!("shard-{k}")))
        .collect();
    let o = bin()
        .arg("merge")
        .args(&shard_dirs)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let got = records(&merged);
    for (name, text) in &full {
        assert_eq!(&got[name], text, "{name}: merge differs from one run");
    }
    // A missing shard and an incomplete one are named.
    let o = bin()
        .arg("merge")
        .args(&shard_dirs[..2])
        .arg("--out")
        .arg(out.path().join("m2"))
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing shards: 1/3"), "{err}");
    let j = shard_dirs[0].join("journal.tsv");
    let text = std::fs::read_to_string(&j).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    std::fs::write(&j, cut[..cut.len() - 1].join("\n") + "\n").unwrap();
    let o = bin()
        .arg("merge")
        .args(&shard_dirs)
        .arg("--out")
        .arg(out.path().join("m3"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("incomplete"), "{err}");
    let bad = bin()
        .args(["scan", "--shard", "4/3", "x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
