//! List every MFT entry of an NTFS volume image: entry, sequence, flags, path and both
//! time sets (raw FILETIMEs: $SI created, modified, MFT modified, accessed, then the
//! primary $FILE_NAME's). `cargo run --release --example ls -- vol.img [byte_offset]`
use std::io::Write;
use std::sync::Arc;

use triage_source::{FileSource, SliceSource, Source};

/// Decimal digits of `v`, two at a time.
fn num(out: &mut Vec<u8>, mut v: u64) {
    const fn pairs() -> [u8; 200] {
        let mut t = [0u8; 200];
        let mut i = 0;
        while i < 100 {
            t[2 * i] = b'0' + (i / 10) as u8;
            t[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        t
    }
    const PAIRS: [u8; 200] = pairs();
    let mut b = [0u8; 20];
    let mut i = b.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        b[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        b[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        i -= 1;
        b[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&b[i..]);
}

/// Anonymous resident memory of this process (Linux), in KiB.
fn rss_anon() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("RssAnon:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: ls IMAGE [BYTE_OFFSET]");
        std::process::exit(2);
    };
    let file: Source = Arc::new(FileSource::open(path.as_ref()).expect("open image"));
    let vol: Source = match args.get(2).and_then(|o| o.parse::<u64>().ok()) {
        Some(off) => {
            let loc = file.location().child("volume");
            Arc::new(SliceSource::new(file.clone(), off, u64::MAX, loc))
        }
        None => file,
    };
    let t = std::time::Instant::now();
    let ntfs = triage_ntfs::Ntfs::open(vol).expect("open NTFS");
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out.lock());
    // LS_QUIET=1: enumerate without printing (to time the parser alone).
    let quiet = std::env::var_os("LS_QUIET").is_some();
    let t_open = t.elapsed();
    let mut peak_anon = 0u64;
    let mut calls = 0u64;
    let stats = ntfs
        .for_each_entry(|batch| {
            calls += 1;
            if calls.is_multiple_of(64) {
                peak_anon = peak_anon.max(rss_anon().unwrap_or(0));
            }
            if quiet {
                return;
            }
            // One buffer per batch, integers written by hand: printing must not cost
            // more than parsing.
            let mut line = Vec::with_capacity(batch.len() * 256);
            for e in batch {
                let f = e.flags;
                num(&mut line, e.entry);
                line.push(b'-');
                num(&mut line, e.sequence as u64);
                line.extend_from_slice(if e.in_use {
                    b"\talloc\t"
                } else {
                    b"\tdeleted\t"
                });
                line.push(if e.is_dir { b'd' } else { b'r' });
                line.push(b'\t');
                for (on, c) in [
                    (f.compressed, b'c'),
                    (f.sparse, b's'),
                    (f.encrypted, b'e'),
                    (f.reparse, b'r'),
                    (f.hidden, b'h'),
                    (f.system, b'S'),
                ] {
                    line.push(if on { c } else { b'-' });
                }
                line.push(b'\t');
                line.extend_from_slice(e.path.as_bytes());
                for t in
                    e.si.map(|s| s.times())
                        .unwrap_or_default()
                        .iter()
                        .chain(e.fn_times.unwrap_or_default().iter())
                {
                    line.push(b'\t');
                    num(&mut line, *t);
                }
                line.push(b'\n');
            }
            let _ = out.write_all(&line);
        })
        .expect("enumerate");
    let _ = out.flush();
    eprintln!(
        "{} records ({} in use, {} deleted, {} empty, {} bad) in {:.3} s (open {:.3} s), {} bytes read, anonymous memory {} KiB (peak sampled {} KiB)",
        stats.records,
        stats.in_use,
        stats.deleted,
        stats.empty,
        stats.bad,
        t.elapsed().as_secs_f64(),
        t_open.as_secs_f64(),
        ntfs.bytes_read(),
        rss_anon().map(|k| k.to_string()).unwrap_or_else(|| "?".into()),
        peak_anon
    );
}
