#!/usr/bin/env bash
# ceiling.sh [DIR] [RUNS]: runs the hash ceiling (md5+sha1+sha256 of every
# file, mmap, rayon, nothing else: parsers/pe/examples/hash_ceiling.rs) and
# `smss-triage scan` / `pe` on the same corpus in the same run, RUNS times
# each (default 15), interleaved so load on the machine hits all alike, and
# prints the minimum wall and CPU time of each and the ratio to the ceiling.
# Without DIR, a corpus of 210 files is made from the PE samples
# (make_corpus.sh). NO_BUILD=1 skips the cargo build. `ceiling+auth` adds a
# fourth SHA-256 stream, the cost of the Authenticode digest that `scan`
# must also report; `ceiling-32k` feeds the hashes 32 KiB at a time instead
# of one 64-byte block each in turn (the previous pass). `ceiling-fused` is
# md5+sha1+sha256 through triage_pe::file_hashes, the interleaved SHA-NI
# kernel the analyser itself uses (parsers/pe/src/fused): the ceiling of the
# three hashes done as well as this code knows how. `openssl` is the
# independent one: Python hashlib (OpenSSL's assembly) on as many threads as
# cores (openssl_ceiling.py); `openssl-net` subtracts the interpreter's start
# (`py-start`, the same imports and nothing else). BEFORE=/path/to/an/older/
# smss-triage adds `scan-before`, that binary's scan, to the same runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
runs=${2:-${RUNS:-15}}

if [[ -z "${NO_BUILD:-}" ]]; then
    (cd "$repo" && cargo build --release -q -p smss-triage && cargo build --release -q -p triage-pe --example hash_ceiling)
fi
bin=$target/release/smss-triage
py=${PYTHON:-python3}
ceiling=$target/release/examples/hash_ceiling

if [[ -n "${1:-}" ]]; then
    corpus=$1
else
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    "$here/make_corpus.sh" "$corpus" 210
fi
files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
cat "$corpus"/* > /dev/null 2>&1 || find "$corpus" -type f -exec cat {} + > /dev/null

# The timing loop: wall clock and the child's user+sys CPU (wait4 rusage),
# microsecond resolution; runs interleaved, minimum kept.
python3 - "$runs" "$files" "$bytes" \
    ceiling "$ceiling $corpus" \
    ceiling-32k "$ceiling --block 32768 $corpus" \
    ceiling+auth "$ceiling --auth $corpus" \
    ceiling-fused "$ceiling --fused $corpus" \
    openssl "$py $here/openssl_ceiling.py $corpus" \
    py-start "$py -c import\ hashlib,mmap,os,sys,threading" \
    scan "$bin scan -q --format csv $corpus" \
    pe "$bin pe -q --format csv $corpus" \
    ${BEFORE:+scan-before "$BEFORE scan -q --format csv $corpus"} <<'PY'
import os, subprocess, sys, time
runs, files, nbytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import shlex
jobs = list(zip(sys.argv[4::2], [shlex.split(c) for c in sys.argv[5::2]]))
best = {n: [float("inf"), float("inf")] for n, _ in jobs}
null = open(os.devnull, "wb")
for _ in range(runs):
    for name, cmd in jobs:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=null)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0 and os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{name}: exit status {status}")
        b = best[name]
        b[0], b[1] = min(b[0], wall), min(b[1], ru.ru_utime + ru.ru_stime)
load = open("/proc/loadavg").read().split()[:3]
print(f"corpus: {files} files, {nbytes / 1e6:.1f} MB; minimum of {runs} interleaved runs; "
      f"{os.cpu_count()} cores, load {' '.join(load)}")
best["openssl-net"] = [best["openssl"][0] - best["py-start"][0], best["openssl"][1] - best["py-start"][1]]
w0, c0 = best["ceiling"]
wf, cf = best["ceiling-fused"]
print(f"{'':<14} {'wall':>8} {'MB/s':>6} {'cpu':>8}   {'/ceiling':>15}   {'/ceiling-fused':>15}")
for name, (w, c) in best.items():
    if name == "py-start":
        continue
    print(f"{name:<14} {w:7.4f}s {nbytes / 1e6 / w:6.0f} {c:7.4f}s   "
          f"wall {w / w0:4.2f}x cpu {c / c0:4.2f}x   wall {w / wf:4.2f}x cpu {c / cf:4.2f}x")
PY
