#!/bin/sh
# Peak anonymous memory (RssAnon, sampled from /proc/PID/status) of a streamed batch
# over 2,000 then 20,000 small inputs: copies of the project's samples in /tmp.
# Usage: benches/batch/run.sh [path/to/smss-triage] [counts...]
# Memory must stay flat from 2,000 to 20,000 inputs (issue #11 §1).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/target/release/smss-triage}
shift 2>/dev/null || true
counts=${*:-2000 20000}
work=$(mktemp -d /tmp/smss-batch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The small project samples (PE files, hive exports), renamed 0..k-1 (names have spaces).
mkdir -p "$work/src"
k=0
find "$here/samples/pe" "$here/samples/hives" -type f | sort > "$work/list"
while IFS= read -r f; do
    cp "$f" "$work/src/$k"
    k=$((k + 1))
done < "$work/list"

peak() { # pid -> peak RssAnon in kB while it runs
    p=0
    # Until it exits (a zombie, state Z, still has a status file until `wait`).
    while grep -q '^State:[[:space:]]*[A-Y]' "/proc/$1/status" 2>/dev/null; do
        v=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$p" ] && p=$v
        sleep 0.05
    done
    echo "$p"
}

printf '%-8s %-10s %-12s %s\n' inputs mode peak_kB seconds
for n in $counts; do
    dir=$work/in-$n
    mkdir -p "$dir"
    i=0
    while [ "$i" -lt "$n" ]; do
        sub=$dir/$((i / 1000))
        mkdir -p "$sub"
        cp "$work/src/$((i % k))" "$sub/$i"
        i=$((i + 1))
    done
    for mode in stdout out; do
        rm -rf "$work/out"
        start=$(date +%s.%N)
        if [ "$mode" = out ]; then
            "$bin" scan -q --format csv --out "$work/out" "$dir" >/dev/null &
        else
            "$bin" scan -q --format csv "$dir" >/dev/null &
        fi
        pid=$!
        kb=$(peak "$pid")
        wait "$pid" || true
        end=$(date +%s.%N)
        printf '%-8s %-10s %-12s %.1f\n' "$n" "$mode" "$kb" "$(echo "$end - $start" | bc)"
    done
    rm -rf "$dir"
done
