#!/usr/bin/env bash
# run.sh [N]: builds an N-file corpus (default 2000) in a temp dir, runs the
# Rust side and pefile on it in the same run, prints files/s, MB/s and the
# ratio. RUST_CMD is run with the corpus directory appended.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${RUST_CMD:=$repo/target/release/smss-triage pe -q --format csv}"
# The library alone: RUST_CMD="$repo/target/release/examples/pe_walk"
: "${PYTHON:=${SMSS_PY:-$repo/.venv/bin/python}}"
n=${1:-2000}

(cd "$repo" && cargo build --release -q -p smss-triage && cargo build --release -q -p triage-pe --example pe_walk)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
"$here/make_corpus.sh" "$corpus" "$n"
bytes=$(du -sb "$corpus" | cut -f1)
cat "$corpus"/* > /dev/null # same warm page cache for both sides

t0=$(date +%s.%N)
$RUST_CMD "$corpus" > /dev/null
t1=$(date +%s.%N)
"$PYTHON" "$here/pefile_baseline.py" "$corpus"
t2=$(date +%s.%N)
rust_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
py_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')

awk -v n="$n" -v b="$bytes" -v r="$rust_s" -v p="$py_s" 'BEGIN {
    printf "rust   (wall, incl. start-up): %.3f s  %.0f files/s  %.1f MB/s\n", r, n / r, b / 1e6 / r
    printf "pefile (wall, incl. start-up): %.3f s  %.0f files/s  %.1f MB/s\n", p, n / p, b / 1e6 / p
    printf "ratio: rust is %.0fx faster\n", p / r
}'
