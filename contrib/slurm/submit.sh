#!/bin/sh
# Submit a sharded scan as a Slurm job array plus a merge job, and print the job ids.
# Usage: contrib/slurm/submit.sh -n SHARDS -l INPUT_LIST -o OUT_ROOT [-b BIN] [-- SCAN_ARGS...]
# Prints: array=<id> merge=<id>
# A failed shard must not leave the merge PENDING forever: hence
# --kill-on-invalid-dep=yes (the merge is cancelled when its dependency can never hold).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
n="" list="" out="" bin=${SMSS_BIN:-smss-triage}
while getopts n:l:o:b: opt; do
    case $opt in
        n) n=$OPTARG ;; l) list=$OPTARG ;; o) out=$OPTARG ;; b) bin=$OPTARG ;;
        *) echo "usage: $0 -n SHARDS -l LIST -o OUT [-b BIN] [-- SCAN_ARGS]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$n" ] && [ -n "$list" ] && [ -n "$out" ] || { echo "$0: -n, -l and -o are required" >&2; exit 2; }
mkdir -p "$out/logs"
export SMSS_BIN="$bin" SMSS_LIST="$list" SMSS_OUT="$out" SMSS_ARGS="$*"
array=$(sbatch --parsable --export=ALL --array="0-$((n - 1))" \
    --output="$out/logs/shard-%a.log" "$here/shard.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$out/logs/merge.log" "$here/merge.sbatch")
merge=${merge%%;*}
echo "array=$array merge=$merge"
