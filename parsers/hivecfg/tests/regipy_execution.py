"""regipy's execution-evidence plugins on one hive, printed as one JSON list.

usage: regipy_execution.py PLUGIN HIVE [LOG1 LOG2 OUTDIR]
       regipy_execution.py shimcache-raw FILE   (FILE: one AppCompatCache value's bytes)
PLUGIN: amcache | shimcache | bam. With logs, regipy applies them first (LOG2 as primary, LOG1
as secondary, as in parsers/regf/tests/regipy_replay.py). Datetimes are printed as integer
microseconds since 1601-01-01 (regipy computes them through a float, so they are only good to a
few microseconds). A plugin failure prints {"error": "..."}.
"""
import datetime
import json
import logging
import os
import sys

logging.disable(logging.CRITICAL)
from regipy.registry import RegistryHive  # noqa: E402
from regipy.plugins.amcache.amcache import AmCachePlugin  # noqa: E402
from regipy.plugins.system.shimcache import ShimCachePlugin  # noqa: E402
from regipy.plugins.system.bam import BAMPlugin  # noqa: E402

EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
PLUGINS = {"amcache": AmCachePlugin, "shimcache": ShimCachePlugin, "bam": BAMPlugin}


def plain(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(microseconds=1)
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return repr(v)


def main():
    plugin, hive = sys.argv[1], sys.argv[2]
    if plugin == "shimcache-raw":
        # HIVE is a file holding one AppCompatCache value's bytes.
        from regipy.plugins.system.external.ShimCacheParser import get_shimcache_entries

        try:
            rows = list(get_shimcache_entries(open(hive, "rb").read()) or [])
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": str(e)}))
            return
        print(json.dumps([plain(r) for r in rows]))
        return
    if len(sys.argv) > 3:
        from regipy.recovery import apply_transaction_logs

        log1, log2, outdir = sys.argv[3:6]
        hive, _ = apply_transaction_logs(
            hive, primary_log_path=log2, secondary_log_path=log1,
            restored_hive_path=os.path.join(outdir, "restored"))
    p = PLUGINS[plugin](RegistryHive(hive), as_json=False)
    try:
        p.run()
    except Exception as e:  # noqa: BLE001 - reported to the test, which decides
        print(json.dumps({"error": str(e)}))
        return
    out = []
    # The amcache plugin appends volume keys that carry values as raw key objects; drop them.
    for e in p.entries:
        if not isinstance(e, dict):
            continue
        e = plain(e)
        # LinkDate is text ("MM/DD/YYYY HH:MM:SS", UTC); give it as microseconds too.
        ld = e.get("link_date")
        if isinstance(ld, str) and ld:
            t = datetime.datetime.strptime(ld, "%m/%d/%Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
            e["link_date_us"] = (t - EPOCH) // datetime.timedelta(microseconds=1)
        out.append(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
