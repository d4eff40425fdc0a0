#!/usr/bin/env bash
# hiberfil.sys restore speed (issue #13 §4: at least 300 MB/s on two cores): memory
# restored through the physmem reader from a cold open, plain LZXPRESS and LZXPRESS
# Huffman sets, compressible memory (this machine's binaries) and noise (stored sets).
# Two passes per case: `read` (PhysicalMemory::read of 1 MiB pieces, through the set
# cache) and `scan` (for_each_page over 4 MiB pieces with a memmem per page, as the pool
# scan of `mem smss`/`scan` reads). Each line: MB/s of restored memory wall, MB per
# CPU-second (user + sys of all threads: what two free cores would do, ×2), load average.
# Usage: benches/mem/hiberfil.sh [MiB]     (default 512; RAYON_NUM_THREADS defaults to 2)
#   HIBERFIL_RUNS (3, best kept), HIBERFIL_CASES=binaries-xpress,noise-huffman (a subset)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
HIBERFIL_MB=${1:-512} RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2} \
    cargo bench -q -p triage-physmem --bench hiberfil
