//! List the shadow copies of a volume and optionally write one out as a sparse raw file.
//!
//! `vss_dump DISK OFFSET [--storage DISK OFFSET]... [--write INDEX OUT] [--read INDEX AT LEN]`
//! (offsets in bytes; each volume runs to the end of its disk file). `--read` times the
//! opening of a snapshot and one read of `LEN` bytes at `AT` of it.

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Instant;

use triage_source::{read_exact_at, FileSource, Location, SliceSource, Source};
use triage_vss::ShadowVolume;

fn volume(path: &str, offset: &str) -> Source {
    let f: Source = Arc::new(FileSource::open(path.as_ref()).expect("open"));
    let off: u64 = offset.parse().expect("offset");
    Arc::new(SliceSource::new(
        f,
        off,
        u64::MAX,
        Location::new(path).child(format!("@{off}")),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let vol = volume(&args[0], &args[1]);
    let mut storage = Vec::new();
    let mut write = None;
    let mut read = None;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--storage" => storage.push(volume(&args[i + 1], &args[i + 2])),
            "--write" => write = Some((args[i + 1].parse::<usize>().unwrap(), args[i + 2].clone())),
            "--read" => {
                let n = |k: usize| args[k].parse::<u64>().unwrap();
                read = Some((n(i + 1) as usize, n(i + 2), n(i + 3)));
                i += 1;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 3;
    }
    let t = Instant::now();
    let Some(sv) = ShadowVolume::open_with_storage(vol, &storage).expect("open") else {
        println!("no VSS catalog");
        return;
    };
    println!("opened in {:?}", t.elapsed());
    for s in sv.stores() {
        println!("{s:?}");
    }
    if let Some((idx, at, len)) = read {
        let t = Instant::now();
        let snap = sv.snapshot(idx).expect("snapshot");
        let ready = t.elapsed();
        let mut buf = vec![0u8; len as usize];
        read_exact_at(&*snap, at, &mut buf).expect("read");
        println!(
            "snapshot {idx}: ready in {ready:?}, {len} bytes at {at:#x} read in {:?}",
            t.elapsed() - ready
        );
    }
    let Some((idx, out)) = write else { return };
    let t = Instant::now();
    let snap = sv.snapshot(idx).expect("snapshot");
    println!("snapshot {idx} ready in {:?}", t.elapsed());
    let mut f = std::fs::File::create(&out).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    let t = Instant::now();
    while at < snap.len() {
        let n = buf.len().min((snap.len() - at) as usize);
        read_exact_at(&*snap, at, &mut buf[..n]).expect("read");
        if buf[..n].iter().all(|&b| b == 0) {
            f.seek(SeekFrom::Current(n as i64)).unwrap();
        } else {
            f.write_all(&buf[..n]).unwrap();
        }
        at += n as u64;
    }
    f.set_len(snap.len()).unwrap();
    println!("wrote {} bytes in {:?}", snap.len(), t.elapsed());
}
