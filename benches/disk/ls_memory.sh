#!/usr/bin/env bash
# Peak anonymous memory (RssAnon, sampled from /proc/PID/status) of `smss-triage disk ls`
# on generated NTFS volumes of 200,000 and 1,000,000 files (issue #11 §1: memory must not
# grow with the number of entries; the path index holds the directories only). The
# volumes are built once into $CACHE with the same recipe as benches/disk/ntfs_ls.sh
# (mkntfs, then wimlib-imagex apply of a tree of small files: $DIRS directories, 4,000 by
# default, in 200 top directories; resident content). A second DIRS shows the cost of a
# directory: the difference in peak over the difference in directories.
#
#   benches/disk/ls_memory.sh [path/to/smss-triage] [counts...]
#   CACHE=/tmp/x benches/disk/ls_memory.sh target/release/smss-triage 200000 1000000
#   DIRS=100000 benches/disk/ls_memory.sh target/release/smss-triage 200000
set -euo pipefail
CACHE=${CACHE:-/tmp/smss-bench}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/smss-triage}
shift 2>/dev/null || true
COUNTS=${*:-200000 1000000}
DIRS=${DIRS:-4000}
SUB=$((DIRS / 200))
[ "$SUB" -ge 1 ] || SUB=1
mkdir -p "$CACHE"

build() { # files -> image path (built if missing)
    local n=$1 img="$CACHE/ntfs-$1.img"
    [ "$DIRS" = 4000 ] || img="$CACHE/ntfs-$1-d$DIRS.img"
    if [ ! -s "$img" ]; then
        echo "building $img ($n files)…" >&2
        local tree="$CACHE/tree-$n"
        rm -rf "$tree"
        python3 - "$tree" "$n" "$SUB" <<'PY'
import os, sys
root, n, sub = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = max(1, n // (200 * sub))
i = 0
for a in range(200):
    for b in range(sub):
        d = os.path.join(root, f"dir{a:03}", f"sub{b:02}")
        os.makedirs(d, exist_ok=True)
        for _ in range(per):
            if i >= n:
                break
            with open(os.path.join(d, f"file{i:07}.txt"), "w") as f:
                f.write(f"file {i}\n")
            i += 1
PY
        # 1 KiB of MFT a file plus the indexes: 8 GiB leaves room for 1,000,000.
        local size=4G
        [ "$n" -gt 300000 ] && size=8G
        truncate -s 0 "$img.tmp"
        truncate -s "$size" "$img.tmp"
        mkntfs -F -T -q "$img.tmp" >/dev/null 2>&1
        wimlib-imagex capture "$tree" "$CACHE/tree-$n.wim" --compress=none >/dev/null
        wimlib-imagex apply "$CACHE/tree-$n.wim" 1 "$img.tmp" >/dev/null
        rm -rf "$tree" "$CACHE/tree-$n.wim"
        mv "$img.tmp" "$img"
    fi
    echo "$img"
}

peak() { # pid -> peak RssAnon in kB while it runs
    local p=0 v
    while grep -q '^State:[[:space:]]*[A-Y]' "/proc/$1/status" 2>/dev/null; do
        v=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$p" ] && p=$v
        sleep 0.05
    done
    echo "$p"
}

printf '%-9s %-8s %-8s %-10s %-10s %-8s %s\n' files dirs mode peak_kB entries seconds bytes/entry
for n in $COUNTS; do
    img=$(build "$n")
    cat "$img" >/dev/null # warm the page cache: RssAnon excludes it anyway
    for mode in stdout out; do
        out=$(mktemp -d "$CACHE/ls-out.XXXXXX")
        start=$(date +%s.%N)
        if [ "$mode" = out ]; then
            "$BIN" disk ls -q --format csv --out "$out" "$img" >/dev/null &
        else
            "$BIN" disk ls -q --format csv "$img" >"$out/entries.csv" &
        fi
        pid=$!
        kb=$(peak "$pid")
        wait "$pid" || true
        end=$(date +%s.%N)
        rows=$(($(wc -l <"$out/entries.csv") - 1))
        printf '%-9s %-8s %-8s %-10s %-10s %-8.1f %s\n' "$n" "$DIRS" "$mode" "$kb" "$rows" \
            "$(echo "$end - $start" | bc)" "$(echo "$kb * 1024 / $rows" | bc)"
        rm -rf "$out"
    done
done
