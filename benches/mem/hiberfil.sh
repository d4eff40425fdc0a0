#!/usr/bin/env bash
# hiberfil.sys restore speed (issue #13 §4: at least 300 MB/s on two cores): memory
# restored through the physmem reader from a cold open, plain LZXPRESS and LZXPRESS
# Huffman sets, compressible memory (this machine's binaries) and noise (stored sets).
# Usage: benches/mem/hiberfil.sh [MiB]     (default 512; RAYON_NUM_THREADS defaults to 2)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
HIBERFIL_MB=${1:-512} RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2} \
    cargo bench -q -p triage-physmem --bench hiberfil
