//! Parsing speed over files given on the command line, each parsed `REPEAT` times
//! (default 200): `cargo run --release --example speed -- DIR/*.pf`.
use std::time::Instant;

fn main() {
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let files: Vec<(String, Vec<u8>)> = std::env::args()
        .skip(1)
        .map(|p| (p.clone(), std::fs::read(&p).expect("readable file")))
        .collect();
    for (p, d) in &files {
        if let Ok(pf) = triage_prefetch::parse(d) {
            let metrics = if d.starts_with(b"MAM") { "MAM" } else { "raw" };
            println!("{p}: v{} {metrics} {} files", pf.version, pf.files.len());
        }
    }
    let bytes: usize = files.iter().map(|(_, d)| d.len()).sum();
    let start = Instant::now();
    let mut ok = 0usize;
    for _ in 0..repeat {
        for (_, d) in &files {
            ok += usize::from(triage_prefetch::parse(d).is_ok());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = repeat * files.len();
    println!(
        "{n} parses ({ok} ok) in {secs:.3} s: {:.0} files/s, {:.1} MiB/s of input",
        n as f64 / secs,
        (repeat * bytes) as f64 / secs / 1048576.0
    );
}
