#!/usr/bin/env bash
# What layout discovery costs on top of `mem smss` (issue #13 §7: at most 50 ms on 4 GiB).
# The same generated image twice, from the same seed: once as generated (the built-in table
# matches its PDB GUID) and once disguised (GUID and NtBuildNumber rewritten: no table
# matches, every offset is discovered). Prints best-of-N wall and CPU times (user + sys),
# the load average, and the differences. On a loaded machine the CPU difference is the
# one to read; on a quiet one both agree.
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
# Built where cargo puts it (CARGO_TARGET_DIR when set).
target=${CARGO_TARGET_DIR:-$repo/target}
tri=$target/release/smss-triage
for kind in table disguised; do
    flag=()
    [ "$kind" = disguised ] && flag=(--disguise)
    "$target/release/memgen" --scenario clean --build "$build" --size "$size" --seed 1 \
        --pool-fraction "${POOL_FRACTION:-0.33}" --extra-processes "${EXTRA_PROCESSES:-281}" \
        --symbols "$symbols" -o "$work/$kind.raw" "${flag[@]}" >&2
    # Rewritten the same way, so both sit in the page cache alike: memgen streams the
    # plain image, the disguise then patches it in place; right after generation the
    # same scan took 12 K page faults on one and 41 K on the other (+0.45 s wall, no
    # discovery involved: `mem smss`'s time is mostly the map's page faults).
    dd if="$work/$kind.raw" of="$work/$kind.tmp" bs=64M status=none
    mv "$work/$kind.tmp" "$work/$kind.raw"
    rm -f "$work/$kind.raw.truth.json"
done

# One run of CMD: "wall cpu" in seconds (wall to the ns, cpu = user + sys to 10 ms).
one() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$work/time.txt" "$@" > "$work/out.txt" 2> "$work/err.txt" \
        || { echo "failed: $*" >&2; tail -5 "$work/err.txt" >&2; return 1; }
    t1=$(date +%s%N)
    awk -v w="$(( t1 - t0 ))" '{ printf "%.4f %.3f\n", w / 1e9, $1 + $2 }' "$work/time.txt"
}

# Each command $runs times in a row, best-of wall and CPU time each. In a row, not
# alternating: two 4 GiB files in turn get evicted from a shared machine's page cache
# (re-read from disk, tens of thousands more page faults) more than a load change costs.
table=("$tri" mem smss -q "$work/table.raw")
disc=("$tri" mem smss -q "$work/disguised.raw")
"$tri" mem info -q --format csv "$work/disguised.raw" > "$work/info-disguised.csv"
"$tri" mem info -q --format csv "$work/table.raw" > "$work/info-table.csv"
grep -q "discovered" "$work/info-disguised.csv" \
    || { echo "the disguised image did not go through discovery"; exit 1; }
if grep -q "discovered" "$work/info-table.csv"; then
    echo "the plain image went through discovery"; exit 1
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$work/table.raw" > /dev/null
for _ in $(seq "$runs"); do one "${table[@]}" >> "$work/table.t"; done
# `mem info` stops after the layout: discovery alone, without the scan's noise.
for _ in $(seq "$runs"); do one "$tri" mem info -q --format csv "$work/table.raw" >> "$work/itable.t"; done
cat "$work/disguised.raw" > /dev/null
for _ in $(seq "$runs"); do one "${disc[@]}" >> "$work/disc.t"; done
for _ in $(seq "$runs"); do one "$tri" mem info -q --format csv "$work/disguised.raw" >> "$work/idisc.t"; done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
best() { sort -n -k"$2" "$work/$1.t" | head -1 | awk -v k="$2" '{ print $k }'; }
tw=$(best table 1); tc=$(best table 2); dw=$(best disc 1); dc=$(best disc 2)
echo "image: $size, build $build, $(nproc) cores, best of $runs runs, load average $load0 -> $load1"
printf '%-40s %8.3f s wall %8.3f s CPU\n' "mem smss (table)" "$tw" "$tc"
printf '%-40s %8.3f s wall %8.3f s CPU\n' "mem smss (discovered)" "$dw" "$dc"
awk -v a="$tw" -v b="$dw" -v c="$tc" -v d="$dc" \
    'BEGIN { printf "%-40s %8.1f ms wall %8.1f ms CPU   (target <= 50 ms)\n", "discovery on top of mem smss", (b - a) * 1000, (d - c) * 1000 }'
iw=$(best itable 1); ic=$(best itable 2); jw=$(best idisc 1); jc=$(best idisc 2)
printf '%-40s %8.4f s wall %8.3f s CPU\n' "mem info (table)" "$iw" "$ic"
printf '%-40s %8.4f s wall %8.3f s CPU\n' "mem info (discovered)" "$jw" "$jc"
awk -v a="$iw" -v b="$jw" -v c="$ic" -v d="$jc" \
    'BEGIN { printf "%-40s %8.1f ms wall %8.1f ms CPU (10 ms steps)\n", "discovery on top of mem info", (b - a) * 1000, (d - c) * 1000 }'
