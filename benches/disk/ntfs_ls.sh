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

# best of 3: "wall user+sys" seconds of "$@" (stdout discarded)
best() {
    local bw=999 bc=999
    for _ in 1 2 3; do
        local out tf
        tf=$(mktemp)
        /usr/bin/time -o "$tf" -f "%e %U %S" "$@" >/dev/null 2>/dev/null
        out=$(tail -1 "$tf")
        rm -f "$tf"
        bw=$(echo "$out $bw" | awk '{print ($1<$4)?$1:$4}')
        bc=$(echo "$out $bc" | awk '{c=$2+$3; print (c<$4)?c:$4}')
    done
    echo "$bw $bc"
}

read -r W_FLS C_FLS < <(best fls -r -p "$IMG")
read -r W_OURS C_OURS < <(best "$LS" "$IMG")
N_FLS=$(fls -r -p "$IMG" | wc -l)
N_OURS=$("$LS" "$IMG" 2>/dev/null | wc -l)
SUMMARY=$("$LS" "$IMG" 2>&1 >/dev/null | tail -1)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "fls -r -p:        wall ${W_FLS} s, cpu ${C_FLS} s  (${N_FLS} lines)"
echo "triage-ntfs ls:   wall ${W_OURS} s, cpu ${C_OURS} s  (${N_OURS} entries: path + both time sets)"
echo "                  ${SUMMARY}"
echo "speed-up:         wall $(echo "$W_FLS $W_OURS" | awk '{printf "%.1fx", $1/$2}'), cpu $(echo "$C_FLS $C_OURS" | awk '{printf "%.1fx", $1/$2}')"
