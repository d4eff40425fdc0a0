#!/usr/bin/env bash
# Disk triage end to end (issue #9 §9): `smss-triage scan` of a 4 GiB GPT/NTFS disk with
# 200,000 files laid out like a Windows install, as E01, with a fake smss.exe planted deep
# under Program Files — beside what a responder would run with sleuthkit: `fls -r -p` to
# find the candidates, then `icat` of each. Same image, same run. Prints both times, the
# ratio, and the bytes our scan read from the volume.
#
#   bash benches/disk/scan.sh            # CACHE=/tmp/smss-bench FILES=200000
set -euo pipefail
CACHE=${CACHE:-/tmp/smss-bench}
FILES=${FILES:-200000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PLANT='\Program Files\Vendor042\Product03\bin\x64\smss.exe'
mkdir -p "$CACHE"
cd "$ROOT"
cargo build --release -q -p smss-triage -p triage-diskgen
DISK=$("$TARGET/release/diskgen" many-files "$CACHE/scan-$FILES" --files "$FILES" --size $((4 << 30)) --plant "$PLANT" | tail -1)
E01="$CACHE/scan-$FILES/disk.E01"
if [ ! -s "$E01" ]; then
    "$TARGET/release/diskgen" wrap "$DISK" e01 "$E01" >/dev/null
fi
ls -la "$E01" >&2
OFF=$((34816))   # the NTFS partition's first sector (tools/diskgen PARTITION_OFFSET)

t0=$(date +%s.%N)
"$TARGET/release/smss-triage" scan -q --format csv --records findings "$E01" > "$CACHE/ours.csv"
t1=$(date +%s.%N)
fls -r -p -o $OFF "$E01" > "$CACHE/fls.txt"
grep -iE '(smss|csrss|wininit|winlogon|services|lsass|svchost)\.exe$' "$CACHE/fls.txt" \
    | sed -E 's/^[^0-9]*([0-9]+)-[0-9]+-[0-9]+:.*/\1/' | while read -r inode; do
        icat -o $OFF "$E01" "$inode" | sha256sum >/dev/null
    done
t2=$(date +%s.%N)

ours=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
theirs=$(python3 -c "print(f'{$t2 - $t1:.3f}')")
found=$(grep -c 'Vendor042' "$CACHE/ours.csv" || true)
read_bytes=$("$TARGET/release/smss-triage" scan -q --format csv --records volumes "$E01" \
    | python3 -c 'import csv,sys; r=[x for x in csv.DictReader(sys.stdin) if x["file_system"].lower()=="ntfs"][0]; print(r["bytes_read"], r["size"])')
set -- $read_bytes
echo "smss-triage scan: ${ours}s, findings on the planted file: $found, read $1 of $2 bytes ($(python3 -c "print(f'{100*$1/$2:.1f}')") %)"
echo "sleuthkit fls -r -p + icat of the candidates: ${theirs}s"
echo "ratio: $(python3 -c "print(f'{$theirs/$ours:.1f}')")x"
