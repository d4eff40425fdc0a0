#!/usr/bin/env bash
# run.sh [SECONDS] [PARALLEL]: runs every cargo-fuzz target of every parser crate for
# SECONDS each (default 600), PARALLEL at a time (default 2), each from a small seed
# corpus derived from ../shared/samples into a temporary directory at run time (no
# sample or derived file is ever committed). Prints one summary line per target:
#   crate target seconds runs cov ft corpus crashes
# and keeps the libFuzzer logs and any crash under $FUZZ_OUT (default /tmp/smss-fuzz).
# libFuzzer needs the sanitizer runtime: stable rustc ships it, so RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its -Z flags without a nightly toolchain.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
secs=${1:-600}
par=${2:-2}
out=${FUZZ_OUT:-/tmp/smss-fuzz}
shared=${SMSS_SHARED:-$repo/../shared}/samples
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$out/target}
mkdir -p "$out"

# seed DIR FILE...: the first 256 KiB of each file (gunzipped/unzipped when packed).
seed() {
  local dir=$1; shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || continue
    local name; name=$(basename "$f")
    case "$f" in
      *.gz) gzip -dc "$f" 2>/dev/null | head -c 262144 > "$dir/$name.seed" ;;
      *.zip) unzip -p "$f" 2>/dev/null | head -c 262144 > "$dir/$name.seed" ;;
      *.tar.gz) ;;
      *) head -c 262144 "$f" > "$dir/$name.seed" ;;
    esac
  done
}

seeds_for() { # crate target dir
  local s=$shared
  case "$1/$2" in
    container/ewf_raw) seed "$3" "$s"/disk/*.E01 "$s"/disk/tsk_volume_system.raw ;;
    container/vhd_vhdx) seed "$3" "$s"/disk/*vhd*.gz "$s"/disk/image.vhd ;;
    container/vmdk_qcow2) seed "$3" "$s"/disk/image.vmdk "$s"/disk/*vmdk.gz "$s"/disk/vsstest.qcow2 ;;
    evtx/*) seed "$3" "$s"/evtx/*.evtx ;;
    hivecfg/*|regf/*) seed "$3" "$s"/hives/*Amcache* "$s"/hives/regipy__SYSTEM "$s"/hives/regipy__SAM "$s"/hives/regipy__BCD ;;
    ntfs/*) seed "$3" "$s"/ntfs/*.bin.gz "$s"/ntfs/*MFT* ;;
    pe/*) seed "$3" $(find "$s/pe" -type f -size -300k) ;;
    prefetch/*) seed "$3" "$s"/prefetch/*.pf ;;
    volume/*) seed "$3" "$s"/disk/tsk_volume_system.raw "$s"/disk/vsstest.qcow2 ;;
    vss/*) seed "$3" "$s"/disk/vsstest.qcow2 ;;
    *) mkdir -p "$3" ;; # memory layers and decompressors: libFuzzer starts from nothing
  esac
}

run_one() { # manifest target
  local fuzzdir; fuzzdir=$(dirname "$1")
  local crate; crate=$(basename "$(dirname "$fuzzdir")")
  local target=$2
  local work="$out/$crate-$target"
  rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
  seeds_for "$crate" "$target" "$work/corpus"
  (cd "$(dirname "$fuzzdir")" && nice -n 10 cargo fuzz run --fuzz-dir fuzz "$target" \
     "$work/corpus" -- -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
     -artifact_prefix="$work/artifacts/" -print_final_stats=1) > "$work/log" 2>&1
  local last; last=$(grep -E '^#[0-9]+' "$work/log" | tail -1)
  local runs cov ft corp
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$last")
  local crashes; crashes=$(find "$work/artifacts" -type f | wc -l)
  echo "$crate $target $secs ${runs:-?} ${cov:-?} ${ft:-?} ${corp:-?} $crashes"
}
export -f run_one seed seeds_for
export secs out shared

# Build each crate's targets (one shared target dir, the same profile `cargo fuzz run`
# uses, so the run does not rebuild), then start its targets at once, PARALLEL at a time.
echo "crate target seconds runs cov ft corpus crashes"
for m in "$repo"/parsers/*/fuzz/Cargo.toml; do
  fuzzdir=$(dirname "$m")
  crate=$(basename "$(dirname "$fuzzdir")")
  (cd "$(dirname "$fuzzdir")" && nice -n 10 cargo fuzz build --fuzz-dir fuzz >"$out/build-$crate.log" 2>&1) \
    || { echo "build failed: $m (see $out/build-$crate.log)" >&2; continue; }
  for t in "$fuzzdir"/fuzz_targets/*.rs; do
    while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do sleep 5; done
    run_one "$m" "$(basename "$t" .rs)" &
  done
done
wait
