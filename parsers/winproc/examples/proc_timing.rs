//! Times the whole job on an image: open, mem_info, list walk + scan + merge; then a
//! bare `memmem` pass over the same pages for comparison, and peak RSS / anonymous memory.
//!
//! `cargo run --release -p triage-winproc --example proc_timing -- IMAGE`

use std::time::Instant;

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: proc_timing IMAGE")?;
    let t0 = Instant::now();
    let phys = triage_physmem::open(path.as_ref())?;
    let info = triage_winmem::mem_info(phys.as_ref(), None);
    let t_info = t0.elapsed();
    let list = triage_winproc::processes(phys.as_ref(), &info, &Default::default())?;
    let total = t0.elapsed();
    // Again, with the map's page tables populated by the first pass (the first pass pays
    // the page faults of a fresh mapping; the bare passes below run warm too).
    let t_warm = Instant::now();
    let warm = triage_winproc::processes(phys.as_ref(), &info, &Default::default())?;
    let warm_s = t_warm.elapsed().as_secs_f64();
    let bytes = list.stats.scan.bytes as f64;
    let scan_s = list.stats.scan_micros as f64 / 1e6;
    let t1 = Instant::now();
    let tags = triage_winproc::count_tag(phys.as_ref(), b"Proc");
    let bare = t1.elapsed().as_secs_f64();
    // The file as one slice: a single-threaded memmem, then one chunk per rayon thread.
    let file = std::fs::File::open(&path)?;
    // SAFETY: read-only map of an evidence file nobody modifies during the run.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let finder = memchr::memmem::Finder::new(b"Proc");
    let t2 = Instant::now();
    let flat = finder.find_iter(&map[..]).count();
    let flat_s = t2.elapsed().as_secs_f64();
    use rayon::prelude::*;
    let t3 = Instant::now();
    let par: usize = map
        .par_chunks(8 << 20)
        .map(|c| finder.find_iter(c).count())
        .sum();
    let par_s = t3.elapsed().as_secs_f64();
    let file_len = map.len() as f64;
    println!("image            {path}");
    println!(
        "processes        {} (list {}, scan {}, scan-only {})",
        list.processes.len(),
        list.stats.list_count,
        list.stats.scan_hits,
        list.stats.found_by_scan_only
    );
    println!("mem_info         {:.3} s", t_info.as_secs_f64());
    println!(
        "whole job        {:.3} s (open + mem_info + processes)",
        total.as_secs_f64()
    );
    println!(
        "scan (cold map)  {:.3} s  {:.1} GB/s over {:.0} MiB",
        scan_s,
        bytes / scan_s / 1e9,
        bytes / 1048576.0
    );
    let warm_scan = warm.stats.scan_micros as f64 / 1e6;
    println!(
        "processes warm   {:.3} s, scan {:.3} s  {:.1} GB/s",
        warm_s,
        warm_scan,
        bytes / warm_scan / 1e9
    );
    println!(
        "bare memmem      {:.3} s  {:.1} GB/s ({} tags)",
        bare,
        bytes / bare / 1e9,
        tags
    );
    println!(
        "file memmem 1T   {:.3} s  {:.1} GB/s ({flat} tags)",
        flat_s,
        file_len / flat_s / 1e9
    );
    println!(
        "file memmem par  {:.3} s  {:.1} GB/s ({par} tags, {} threads)",
        par_s,
        file_len / par_s / 1e9,
        rayon::current_num_threads()
    );
    println!(
        "warm scan / bare {:.2}x (paged memmem), {:.2}x (file memmem, parallel)",
        warm_scan / bare,
        warm_scan / par_s
    );
    println!(
        "VmHWM {} KiB, RssAnon {} KiB (file-backed pages of the map not counted)",
        status_kib("VmHWM:").unwrap_or(0),
        status_kib("RssAnon:").unwrap_or(0)
    );
    Ok(())
}
