//! Where the bytes of a triage go: enumeration, a path lookup, and opening streams.
//! `cargo run --release -p triage-ntfs --example probe_cost -- VOLUME_RAW [OFFSET]`
use std::sync::Arc;
use triage_ntfs::Ntfs;
use triage_source::{FileSource, SliceSource, Source};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file: Source = Arc::new(FileSource::open(std::path::Path::new(&args[1])).unwrap());
    let off: u64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(0);
    let len = file.len() - off;
    let vol: Source = Arc::new(SliceSource::new(
        file.clone(),
        off,
        len,
        file.location().child("vol"),
    ));
    let ntfs = Ntfs::open(vol).unwrap();
    let b0 = ntfs.bytes_read();
    let mut files = Vec::new();
    ntfs.for_each_entry(|b| {
        for e in b {
            if !e.is_dir && e.in_use && e.size > 512 && files.len() < 1000 {
                files.push((e.entry, e.path.clone()));
            }
        }
    })
    .unwrap();
    let b1 = ntfs.bytes_read();
    let _ = ntfs.lookup("\\Windows\\System32\\config\\SYSTEM");
    let b2 = ntfs.bytes_read();
    for (e, p) in &files {
        let d = ntfs.open_stream_at(*e, "", p).unwrap();
        let mut h = [0u8; 64];
        let _ = triage_source::read_exact_at(&d, 0, &mut h);
    }
    let b3 = ntfs.bytes_read();
    println!(
        "open {b0}; enumerate {}; lookup {}; 1000 probes {} ({} per probe)",
        b1 - b0,
        b2 - b1,
        b3 - b2,
        (b3 - b2) / 1000
    );
}
