#!/usr/bin/env bash
# Read speed of the EWF reader (triage-container) against libewf's ewfexport, on one
# generated E01 of about 1 GiB of realistic, partly compressible data (a tar of /usr:
# binaries, text, already-compressed files), acquired with `ewfacquire -c deflate:fast`.
#
#   benches/disk/ewf_read.sh [WORKDIR]     (default: a temporary directory, removed after)
#
# Prints the time of `ewfexport -f raw -t - > /dev/null` (libewf, one thread), ours with
# 1 and 2 rayon threads over 1 MiB chunk-aligned ranges, and the ratios. Builds a tiny
# release program against the crate in WORKDIR (its own target dir, not the workspace's).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
keep=${1:+yes}
trap '[ -z "$keep" ] && rm -rf "$work"' EXIT
size=$((1024 * 1024 * 1024))

if [ ! -f "$work/img.E01" ]; then
  echo "generating $((size >> 20)) MiB of data and an E01 in $work ..." >&2
  tar cf - /usr 2>/dev/null | head -c "$size" > "$work/d.raw" || true
  truncate -s "$size" "$work/d.raw"
  ewfacquire -u -q -c deflate:fast -t "$work/img" "$work/d.raw" >/dev/null
  rm -f "$work/d.raw"
fi
ls -l "$work"/img.E* | awk '{s+=$5} END {printf "E01: %d segment(s), %.0f MiB on disk\n", NR, s/1048576}'

mkdir -p "$work/bench/src"
cat > "$work/bench/Cargo.toml" <<TOML
[package]
name = "ewf-read-bench"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
triage-container = { path = "$here/parsers/container" }
triage-source = { path = "$here/parsers/source" }
rayon = "1"
ewf = { version = "=0.4.10", default-features = false }
[profile.release]
codegen-units = 4
[workspace]
TOML
cat > "$work/bench/src/main.rs" <<'RS'
use std::sync::Arc;
use std::time::Instant;
use rayon::prelude::*;
use triage_source::{ByteSource, FileSource, LocalSiblings, Source};

/// CPU seconds (user + system) of this process so far, from /proc (100 ticks a second).
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("E01 path"));
    let f: Source = Arc::new(FileSource::open(&path).unwrap());
    let c = triage_container::ewf::open(f, &LocalSiblings::of(&path)).unwrap();
    let disk = c.disk;
    let len = disk.len();
    const RANGE: u64 = 1 << 20; // 32 chunks of 32 KiB
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (t, c0) = (Instant::now(), cpu());
        let sum: u64 = pool.install(|| {
            (0..len.div_ceil(RANGE))
                .into_par_iter()
                .map_init(|| vec![0u8; RANGE as usize], |buf, i| {
                    let n = disk.read_at(i * RANGE, buf).expect("read");
                    buf[..n].iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>()
                })
                .sum()
        });
        let s = t.elapsed().as_secs_f64();
        let c = cpu() - c0;
        let mib = len as f64 / 1048576.0;
        println!("ours_{threads}t {s:.3} s {:.0} MiB/s, {c:.2} CPU s = {:.0} MiB per CPU second (check {sum})", mib / s, mib / c);
    }
    // The `ewf` crate's own reader on the same ranges, for reference.
    let r = ewf::EwfReader::open(&path).unwrap();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (t, c0) = (Instant::now(), cpu());
        let sum: u64 = pool.install(|| {
            (0..len.div_ceil(RANGE))
                .into_par_iter()
                .map_init(|| vec![0u8; RANGE as usize], |buf, i| {
                    let n = r.read_at(buf, i * RANGE).expect("read");
                    buf[..n].iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>()
                })
                .sum()
        });
        let s = t.elapsed().as_secs_f64();
        let c = cpu() - c0;
        let mib = len as f64 / 1048576.0;
        println!("crate_{threads}t {s:.3} s {:.0} MiB/s, {c:.2} CPU s = {:.0} MiB per CPU second (check {sum})", mib / s, mib / c);
    }
}
RS
echo "building the bench program (release) ..." >&2
(cd "$work/bench" && CARGO_TARGET_DIR="$work/bench/target" cargo build --release -q)

cat "$work"/img.E* > /dev/null   # warm the page cache for both readers
# The machine may be shared: CPU seconds (user + sys) say more than the wall clock then.
TIMEFORMAT='%R %U %S'
read -r ewf eu es < <({ time ewfexport -u -q -f raw -t - "$work/img.E01" > /dev/null 2>&1; } 2>&1)
printf "ewfexport %.3f s %.0f MiB/s, %.2f CPU s = %.0f MiB per CPU second\n" "$ewf" \
  "$(echo "$size / $ewf / 1048576" | bc -l)" "$(echo "$eu + $es" | bc -l)" \
  "$(echo "$size / ($eu + $es) / 1048576" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
out=$("$work/bench/target/release/ewf-read-bench" "$work/img.E01")
echo "$out"
for t in 1 2; do
  ours=$(echo "$out" | awk -v k="ours_${t}t" '$1 == k {print $2}')
  printf "ratio ewfexport / ours (%d thread%s): %.2fx\n" "$t" "$([ "$t" = 1 ] || echo s)" "$(echo "$ewf / $ours" | bc -l)"
done
