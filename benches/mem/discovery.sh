#!/usr/bin/env bash
# What layout discovery costs on top of `mem smss` (issue #13 §7: at most 50 ms on 4 GiB).
# The same generated image twice, from the same seed: once as generated (the built-in table
# matches its PDB GUID) and once disguised (GUID and NtBuildNumber rewritten: no table
# matches, every offset is discovered). Prints best-of-N wall times and the difference.
# Usage: benches/mem/discovery.sh [SIZE] [BUILD]     (default 4G 19041)
#   POOL_FRACTION (0.33), EXTRA_PROCESSES (281), RUNS (7)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
size=${1:-4G}
build=${2:-19041}
runs=${RUNS:-7}
symbols=${SMSS_SHARED:-$repo/../shared}/symbols
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$repo" && cargo build --release -q -p smss-triage -p triage-memgen)
target=${CARGO_TARGET_DIR:-$repo/target}
tri=$target/release/smss-triage
for kind in table disguised; do
    flag=()
    [ "$kind" = disguised ] && flag=(--disguise)
    "$target/release/memgen" --scenario clean --build "$build" --size "$size" --seed 1 \
        --pool-fraction "${POOL_FRACTION:-0.33}" --extra-processes "${EXTRA_PROCESSES:-281}" \
        --symbols "$symbols" -o "$work/$kind.raw" "${flag[@]}" >&2
    cat "$work/$kind.raw" > /dev/null # warm the page cache alike
done

# best NAME CMD...: best of $runs wall-clock runs, in seconds
best() {
    local name=$1; shift
    local b=
    for _ in $(seq "$runs"); do
        local t0 t1 d
        t0=$(date +%s.%N)
        "$@" > "$work/out.txt" 2> "$work/err.txt" || { echo "$name failed:"; tail -5 "$work/err.txt"; return 1; }
        t1=$(date +%s.%N)
        d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
        if [ -z "$b" ] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then b=$d; fi
    done
    printf '%-40s %8.3f s\n' "$name" "$b"
    echo "$b" > "$work/$name.t"
}

best "mem smss (table)" "$tri" mem smss -q "$work/table.raw"
best "mem smss (discovered)" "$tri" mem smss -q "$work/disguised.raw"
"$tri" mem info -q --format csv "$work/disguised.raw" | grep -q "discovered" \
    || { echo "the disguised image did not go through discovery"; exit 1; }
awk -v a="$(cat "$work/mem smss (table).t")" -v b="$(cat "$work/mem smss (discovered).t")" \
    'BEGIN { printf "%-40s %8.1f ms\n", "discovery on top of mem smss", (b - a) * 1000 }'
