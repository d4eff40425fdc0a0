//! List every MFT entry of an NTFS volume image: entry, sequence, flags, path and both
//! time sets. `cargo run --release --example ls -- vol.img [offset]`
use std::io::Write;
use std::sync::Arc;

use triage_source::{FileSource, SliceSource, Source};

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
    let stats = ntfs
        .for_each_entry(|batch| {
            for e in batch {
                let si = e.si.map(|s| s.times()).unwrap_or_default();
                let fnt = e.fn_times.unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{}-{}\t{}\t{}\t{}\t{:?}\t{:?}",
                    e.entry,
                    e.sequence,
                    if e.in_use { "alloc" } else { "deleted" },
                    if e.is_dir { "d" } else { "r" },
                    e.path,
                    si,
                    fnt
                );
            }
        })
        .expect("enumerate");
    let _ = out.flush();
    eprintln!(
        "{} records ({} in use, {} deleted, {} empty, {} bad) in {:.3} s, {} bytes read",
        stats.records,
        stats.in_use,
        stats.deleted,
        stats.empty,
        stats.bad,
        t.elapsed().as_secs_f64(),
        ntfs.bytes_read()
    );
}
