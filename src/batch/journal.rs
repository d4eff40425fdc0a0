//! The journal of an `--out DIR` run: `DIR/journal.tsv`, one line per finished input
//! (location, size, mtime, sha256 with `--hash`, and the length of every output file
//! once that input's records were flushed). Inputs are journaled in the sorted order
//! they are written in, so the journal is always a prefix of the input list: `--resume`
//! truncates every output file to the lengths of the last complete line (which also
//! removes a torn record) and goes on from there.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

pub const FILE_NAME: &str = "journal.tsv";
const MAGIC: &str = "#smss-triage-journal v1 key=";

/// One finished input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub location: String,
    pub size: u64,
    pub mtime_ns: u128,
    pub sha256: String,
}

impl Entry {
    /// The facts of `path` now.
    pub fn of(path: &Path, sha256: &str) -> Entry {
        let meta = std::fs::metadata(path).ok();
        Entry {
            location: escape(&path.display().to_string()),
            size: meta.as_ref().map(|m| m.len()).unwrap_or(0),
            mtime_ns: meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            sha256: sha256.to_string(),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// The key of a run: what it analyses and how. A journal with another key is refused.
pub fn key(parts: &[String], files: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    for f in files {
        h.update(f.display().to_string().as_bytes());
        h.update([0]);
    }
    triage_bytes::hex::encode(&h.finalize())
}

/// What a run covers: its shard (`K/N`, `1/1` unsharded) and how many inputs it has,
/// so `merge` can tell a complete shard from a killed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub shard: String,
    pub inputs: usize,
}

/// A journal read back by `merge`.
pub struct Read {
    pub run: RunInfo,
    pub done: Vec<String>,
}

/// Read `DIR/journal.tsv` (complete lines only).
pub fn read(dir: &Path) -> Result<Read> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read(&path).with_context(|| format!("{}: no journal", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut lines = complete.lines();
    if !lines.next().unwrap_or("").starts_with(MAGIC) {
        bail!("{}: not a smss-triage journal", path.display());
    }
    let run_line = lines.next().unwrap_or("");
    let field = |name: &str| {
        run_line
            .split('\t')
            .find_map(|f| f.strip_prefix(name))
            .map(String::from)
    };
    let (Some(shard), Some(inputs)) = (field("shard="), field("inputs=")) else {
        bail!("{}: journal has no run line", path.display());
    };
    let inputs = inputs.parse().context("journal: bad input count")?;
    let done = lines
        .skip(1)
        .filter_map(|l| l.split('\t').next().map(String::from))
        .collect();
    Ok(Read {
        run: RunInfo { shard, inputs },
        done,
    })
}

/// An open journal being appended to.
pub struct Journal {
    file: File,
}

/// What a resumed run finds: the inputs done and the output lengths to keep.
pub struct Resumed {
    pub done: Vec<Entry>,
    pub lengths: Vec<u64>,
}

impl Journal {
    /// A new journal (a fresh run): header and the lengths of the freshly written headers.
    pub fn create(dir: &Path, key: &str, run: &RunInfo, lengths: &[u64]) -> Result<Journal> {
        let path = dir.join(FILE_NAME);
        let mut file =
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        writeln!(file, "{MAGIC}{key}")?;
        writeln!(file, "#run\tshard={}\tinputs={}", run.shard, run.inputs)?;
        writeln!(file, "start\t{}", join(lengths))?;
        Ok(Journal { file })
    }

    /// Open an existing journal for `--resume`: checks the key and that the finished
    /// inputs are the first ones of `files`, unchanged; drops a torn last line.
    pub fn resume(
        dir: &Path,
        key: &str,
        files: &[PathBuf],
        n_out: usize,
    ) -> Result<(Journal, Resumed)> {
        let path = dir.join(FILE_NAME);
        let f = File::open(&path).with_context(|| {
            format!(
                "{}: no journal to resume from (run without --resume first)",
                path.display()
            )
        })?;
        let mut reader = BufReader::new(f);
        let mut good_len = 0u64;
        let mut lines = Vec::new();
        loop {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 || buf.last() != Some(&b'\n') {
                break; // end, or a torn last line: dropped.
            }
            good_len += n as u64;
            lines.push(String::from_utf8_lossy(&buf[..n - 1]).into_owned());
        }
        let header = lines.first().map(String::as_str).unwrap_or("");
        let Some(found) = header.strip_prefix(MAGIC) else {
            bail!("{}: not a smss-triage journal", path.display());
        };
        if found != key {
            bail!(
                "{}: this journal is from a run over other inputs or with other options; \
                 run the same command as the first time, or start afresh without --resume",
                path.display()
            );
        }
        let mut lengths = match lines.get(2).and_then(|l| l.strip_prefix("start\t")) {
            Some(l) => parse_lengths(l, n_out)?,
            None => bail!("{}: journal has no start line", path.display()),
        };
        let mut done = Vec::new();
        for (i, line) in lines.iter().enumerate().skip(3) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [loc, size, mtime, sha, lens] = cols.as_slice() else {
                bail!("{}: line {}: malformed", path.display(), i + 1);
            };
            let e = Entry {
                location: loc.to_string(),
                size: size.parse().unwrap_or(u64::MAX),
                mtime_ns: mtime.parse().unwrap_or(u128::MAX),
                sha256: sha.to_string(),
            };
            let want = files.get(done.len()).map(|p| Entry::of(p, &e.sha256));
            if want.as_ref() != Some(&e) {
                bail!(
                    "{}: {} changed (size or mtime) or is not the next input since the journal was written; \
                     start afresh without --resume",
                    path.display(),
                    e.location
                );
            }
            lengths = parse_lengths(lens, n_out)?;
            done.push(e);
        }
        let file = OpenOptions::new().write(true).open(&path)?;
        file.set_len(good_len)?;
        let mut j = Journal { file };
        use std::io::Seek;
        j.file.seek(std::io::SeekFrom::End(0))?;
        Ok((j, Resumed { done, lengths }))
    }

    /// Record one finished input, after its records were flushed.
    pub fn append(&mut self, e: &Entry, lengths: &[u64]) -> Result<()> {
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\n",
            e.location,
            e.size,
            e.mtime_ns,
            e.sha256,
            join(lengths)
        );
        // One write: a kill leaves at worst a torn last line, which resume drops.
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }
}

fn join(lengths: &[u64]) -> String {
    lengths
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_lengths(s: &str, n: usize) -> Result<Vec<u64>> {
    let v: Vec<u64> = s
        .split(',')
        .map(|x| x.parse::<u64>())
        .collect::<Result<_, _>>()
        .context("journal: bad output lengths")?;
    if v.len() != n {
        bail!("journal: {} output lengths, expected {n}", v.len());
    }
    Ok(v)
}
