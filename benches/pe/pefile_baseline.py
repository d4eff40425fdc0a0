#!/usr/bin/env python3
"""pefile_baseline.py DIR [--jobs N]: what triage-pe does, done with pefile,
for every file under DIR: headers, imports, version info, section entropy,
checksum (generate_checksum) and md5/sha1/sha256. Prints files/s and MB/s.
--jobs defaults to the number of CPUs so both sides use the same cores."""
import argparse
import hashlib
import os
import time
from multiprocessing import Pool

import pefile

DIRS = [pefile.DIRECTORY_ENTRY[n] for n in (
    "IMAGE_DIRECTORY_ENTRY_IMPORT", "IMAGE_DIRECTORY_ENTRY_EXPORT",
    "IMAGE_DIRECTORY_ENTRY_RESOURCE", "IMAGE_DIRECTORY_ENTRY_SECURITY")]


def one(path):
    with open(path, "rb") as fh:
        data = fh.read()
    hashes = [hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()]
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError:
        return len(data), False
    pe.parse_data_directories(directories=DIRS)
    facts = {
        "machine": pe.FILE_HEADER.Machine,
        "subsystem": pe.OPTIONAL_HEADER.Subsystem,
        "imports": [e.dll for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])],
        "version": [getattr(fi, "StringTable", None) for fi in (getattr(pe, "FileInfo", None) or [[]])[0]],
        "entropy": [s.get_entropy() for s in pe.sections],
        "checksum": pe.generate_checksum(),
        "hashes": hashes,
    }
    return len(data), bool(facts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    paths = sorted(os.path.join(r, f) for r, _d, fs in os.walk(args.dir) for f in fs)
    start = time.perf_counter()
    with Pool(args.jobs) as pool:
        results = pool.map(one, paths, chunksize=8)
    secs = time.perf_counter() - start
    total = sum(r[0] for r in results)
    print(f"pefile: {len(paths)} files ({sum(r[1] for r in results)} PE) {total / 1e6:.1f} MB in {secs:.3f} s: "
          f"{len(paths) / secs:.0f} files/s {total / 1e6 / secs:.1f} MB/s ({args.jobs} processes)")


if __name__ == "__main__":
    main()
