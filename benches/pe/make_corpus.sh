#!/usr/bin/env bash
# make_corpus.sh OUT N: fills OUT with N files, copies (not links) of every
# PE sample in ../shared/samples/pe and samples/pe taken in turn.
set -euo pipefail
out=${1:?usage: make_corpus.sh OUT N}
n=${2:-2000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${SMSS_SHARED:-$repo/../shared}

mapfile -d '' sources < <(
    { find "$shared/samples/pe" -type f -print0
      find "$repo/samples/pe" -type f \( -name '*.exe' -o -name '*.ssm' -o -name '*.sys' -o -name '*.dll' \) -print0; } | sort -z)
(( ${#sources[@]} > 0 )) || { echo "make_corpus.sh: no samples found under $shared/samples/pe" >&2; exit 1; }
mkdir -p "$out"
for ((i = 0; i < n; i++)); do
    src=${sources[i % ${#sources[@]}]}
    cp "$src" "$out/$(printf '%05d' "$i")_$(basename "$src" | tr -c 'A-Za-z0-9._-' '_')"
done
echo "corpus: $n files, $(du -sb "$out" | cut -f1) bytes in $out" >&2
