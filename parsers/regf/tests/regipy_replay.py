"""Independent replay of SYSTEM_B's logs: regipy applies the logs, python-registry walks the result.

usage: regipy_replay.py HIVE LOG1 LOG2 OUTDIR  -> prints one JSON object
       regipy_replay.py --single HIVE LOG OUTDIR   (one log, e.g. an old-format DIRT log)
regipy applies its `secondary_log_path` first and `primary_log_path` on top, applying every HvLE
entry of each; passing LOG1 as secondary and LOG2 as primary gives the documented order
(LOG1's sequence numbers precede LOG2's for this hive).
"""
import hashlib
import json
import logging
import os
import sys

logging.disable(logging.CRITICAL)
from regipy.recovery import apply_transaction_logs  # noqa: E402
from Registry import Registry  # noqa: E402


def walk(path):
    reg = Registry.Registry(path)
    keys = values = 0
    stack = [reg.root()]
    while stack:
        k = stack.pop()
        keys += 1
        values += len(k.values())
        stack.extend(k.subkeys())
    return keys, values


def main():
    if sys.argv[1] == "--single":
        hive, log, outdir = sys.argv[2:5]
        out = os.path.join(outdir, "restored")
        restored, pages = apply_transaction_logs(hive, primary_log_path=log, restored_hive_path=out)
    else:
        hive, log1, log2, outdir = sys.argv[1:5]
        out = os.path.join(outdir, "restored")
        restored, pages = apply_transaction_logs(hive, primary_log_path=log2, secondary_log_path=log1, restored_hive_path=out)
    data = open(restored, "rb").read()
    keys, values = walk(restored)
    print(json.dumps({"pages": pages, "keys": keys, "values": values,
                      "bins_sha256": hashlib.sha256(data[4096:]).hexdigest(), "len": len(data)}))


if __name__ == "__main__":
    main()
