#!/usr/bin/env bash
# Full walk of regipy__SYSTEM (every key visited, every value decoded) by triage-regf, the Rust
# crate notatin 1.0.1 and Python's python-registry; best wall-clock time (process start to exit)
# of $RUNS runs each, and ratios. Needs: cargo, and a python with python-registry ($SMSS_PY,
# default .venv/bin/python). Every tool must report the same key/value counts.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${SMSS_SHARED:-$root/../shared}
hive=${1:-$shared/samples/hives/regipy__SYSTEM}
py=${SMSS_PY:-$root/.venv/bin/python}
runs=${RUNS:-5}

(cd "$root" && cargo build --quiet --release -p triage-regf --example walk)
(cd "$root/benches/peers/notatin-walk" && cargo build --quiet --release --locked)
ours=("$root/target/release/examples/walk" "$hive")
notatin=("$root/benches/peers/notatin-walk/target/release/notatin-walk" "$hive")
pyreg=("$py" "$root/benches/regf/pyreg_walk.py" "$hive")

# best_of NAME CMD...: prints "NAME seconds counts"
best_of() {
    local name=$1; shift
    local best="" counts=""
    for _ in $(seq "$runs"); do
        local t0 t1 out
        t0=$(date +%s%N)
        out=$("$@")
        t1=$(date +%s%N)
        counts=$(grep -o 'keys=[0-9]* values=[0-9]*' <<<"$out")
        local dt=$((t1 - t0))
        if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
    done
    echo "$name $best $counts"
}

results=$(best_of triage-regf "${ours[@]}"; best_of notatin "${notatin[@]}"; best_of python-registry "${pyreg[@]}")
echo "hive: $hive (best of $runs runs, wall clock incl. process start)"
awk '
    { ns[NR] = $2; name[NR] = $1; counts[NR] = $3 " " $4 }
    END {
        for (i = 1; i <= NR; i++)
            printf "%-16s %8.4f s  %5.1fx of triage-regf  %s\n", name[i], ns[i] / 1e9, ns[i] / ns[1], counts[i]
    }' <<<"$results"
if [ "$(awk '{print $3, $4}' <<<"$results" | sort -u | wc -l)" -ne 1 ]; then
    echo "error: the tools disagree on the counts" >&2
    exit 1
fi
