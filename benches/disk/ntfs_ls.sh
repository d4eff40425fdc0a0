#!/usr/bin/env bash
# Full NTFS enumeration with paths and times: sleuthkit `fls -r -p` vs triage-ntfs
# (parsers/ntfs/examples/ls.rs, release), on a generated 4 GiB volume with 200,000
# small files in nested directories. The volume is built once into $CACHE.
#
#   benches/disk/ntfs_ls.sh            # build if needed, then time both
#   CACHE=/tmp/x FILES=50000 benches/disk/ntfs_ls.sh
set -euo pipefail
CACHE=${CACHE:-/tmp/smss-bench}
FILES=${FILES:-200000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG="$CACHE/ntfs-$FILES.img"
mkdir -p "$CACHE"

if [ ! -s "$IMG" ]; then
    echo "building $IMG ($FILES files)…" >&2
    TREE="$CACHE/tree-$FILES"
    rm -rf "$TREE"
    # 200 top directories × 20 subdirectories × (FILES/4000) files: three levels deep.
    python3 - "$TREE" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = max(1, n // 4000)
i = 0
for a in range(200):
    for b in range(20):
        d = os.path.join(root, f"dir{a:03}", f"sub{b:02}")
        os.makedirs(d, exist_ok=True)
        for _ in range(per):
            if i >= n:
                break
            with open(os.path.join(d, f"file{i:06}.txt"), "w") as f:
                f.write(f"file {i}\n")
            i += 1
PY
    truncate -s 0 "$IMG.tmp"
    truncate -s 4G "$IMG.tmp"
    mkntfs -F -T -q "$IMG.tmp" >/dev/null 2>&1
    wimlib-imagex capture "$TREE" "$CACHE/tree.wim" --compress=none >/dev/null
    wimlib-imagex apply "$CACHE/tree.wim" 1 "$IMG.tmp" >/dev/null
    rm -rf "$TREE" "$CACHE/tree.wim"
    mv "$IMG.tmp" "$IMG"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-ntfs}
(cd "$ROOT" && cargo build -q --release -p triage-ntfs --example ls)
LS="$CARGO_TARGET_DIR/release/examples/ls"

# Warm the page cache once so both read from memory.
cat "$IMG" >/dev/null

best() { # best of 3 wall-clock seconds of "$@"
    local b=999
    for _ in 1 2 3; do
        local s e
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        b=$(echo "$s $e $b" | awk '{t=$2-$1; print (t<$3)?t:$3}')
    done
    echo "$b"
}

T_FLS=$(best fls -r -p "$IMG")
T_OURS=$(best "$LS" "$IMG")
N_FLS=$(fls -r -p "$IMG" | wc -l)
N_OURS=$("$LS" "$IMG" 2>/dev/null | wc -l)
MAXRSS=$( { /usr/bin/time -f "%M" "$LS" "$IMG" >/dev/null 2>/dev/null; } 2>&1 | tail -1 || echo "?")
echo "fls -r -p:        ${T_FLS} s  (${N_FLS} lines)"
echo "triage-ntfs ls:   ${T_OURS} s  (${N_OURS} entries, paths + both time sets; max RSS ${MAXRSS} KiB incl. the mapped image)"
echo "speed-up:         $(echo "$T_FLS $T_OURS" | awk '{printf "%.1fx", $1/$2}')"
