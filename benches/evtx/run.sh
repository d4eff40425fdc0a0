#!/usr/bin/env bash
# EVTX speed check (issue #10): triage-evtx's `scan` example against libevtx's `evtxexport`
# (Debian `libevtx-utils`) on the same folder of real logs, in the same run.
#
# The folder (in /tmp, never in the repo) holds every sample of shared/samples/evtx once and
# the largest one repeated until the folder is at least $MIN_MB MiB.
# Target: the scan is at least 20x faster than evtxexport.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shared="${SMSS_SHARED:-$repo/../shared}"
samples="$shared/samples/evtx"
MIN_MB="${MIN_MB:-200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-evtx}"

command -v evtxexport >/dev/null || { echo "evtxexport missing: apt-get install libevtx-utils" >&2; exit 1; }
[ -d "$samples" ] || { echo "no samples at $samples" >&2; exit 1; }

cargo build --quiet --release --manifest-path "$repo/parsers/evtx/Cargo.toml" --example scan
scan="$CARGO_TARGET_DIR/release/examples/scan"

dir="$(mktemp -d /tmp/evtx-bench.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cp "$samples"/*.evtx "$dir/"
largest="$(ls -S "$samples"/*.evtx | head -1)"
i=0
while [ "$(du -sm "$dir" | cut -f1)" -lt "$MIN_MB" ]; do
    i=$((i + 1))
    cp "$largest" "$dir/copy-$i.evtx"
done
echo "folder: $(ls "$dir" | wc -l) files, $(du -sm "$dir" | cut -f1) MiB ($(basename "$largest") x $i)"
# Warm the page cache so both readers start equal.
cat "$dir"/*.evtx >/dev/null

now() { date +%s.%N; }

t0=$(now)
for f in "$dir"/*.evtx; do
    evtxexport -f xml "$f" >/dev/null 2>&1 || true
done
t1=$(now)
"$scan" "$dir" >/dev/null
t2=$(now)

awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    e = b - a; s = c - b;
    printf "evtxexport -f xml: %.2f s\ntriage-evtx scan:  %.3f s\nratio: %.1fx (target >= 20x)\n", e, s, e / s;
    exit (e / s >= 20) ? 0 : 1
}'
