#!/usr/bin/env python3
"""Run Volatility 3 plugins offline on one image; write one JSON file per plugin.

Usage: run_vol.py IMAGE [--plugins windows.info windows.pslist ...] [--symbols DIR]
                        [--out DIR] [--vol PATH]

Volatility runs with --offline (no symbol download), -s pointing at the project's
shared symbol directory, and a throw-away --cache-path so nothing lands in $HOME.
Exit status: 0 when every plugin produced parseable JSON, 1 otherwise; a summary
JSON ({plugin: {"ok": bool, "rows": n, "stderr_tail": ...}}) goes to stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SYMBOLS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "symbols"))
DEFAULT_PLUGINS = ["windows.info", "windows.pslist", "windows.psscan", "windows.getsids",
                   "windows.cmdline", "windows.sessions"]


def vol_command(args_vol):
    if args_vol:
        return [args_vol]
    # Prefer the `vol` entry point beside the running interpreter (the venv's).
    cand = os.path.join(os.path.dirname(sys.executable), "vol")
    if os.path.exists(cand):
        return [cand]
    return [sys.executable, "-m", "volatility3.cli"]


def count_rows(tree):
    n = 0
    for row in tree:
        n += 1 + count_rows(row.get("__children", []))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--plugins", nargs="+", default=DEFAULT_PLUGINS)
    ap.add_argument("--symbols", default=os.environ.get("SMSS_SYMBOLS", DEFAULT_SYMBOLS))
    ap.add_argument("--out", default=None, help="directory for <plugin>.json (default: IMAGE.vol/)")
    ap.add_argument("--vol", default=None)
    ap.add_argument("--timeout", type=int, default=600)
    a = ap.parse_args()
    out = a.out or (a.image + ".vol")
    os.makedirs(out, exist_ok=True)
    summary = {}
    with tempfile.TemporaryDirectory(prefix="volcache") as cache:
        env = dict(os.environ)
        # Belt and braces against network use: no proxy can be reached either.
        env.update({"HOME": cache, "XDG_CACHE_HOME": cache,
                    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
        for plugin in a.plugins:
            cmd = vol_command(a.vol) + ["--offline", "-q", "-s", a.symbols, "--cache-path", cache,
                                        "-r", "json", "-f", a.image, plugin]
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.timeout)
            entry = {"ok": False, "seconds": round(time.time() - t0, 2),
                     "stderr_tail": p.stderr[-2000:], "returncode": p.returncode}
            try:
                data = json.loads(p.stdout)
                entry["ok"] = True
                entry["rows"] = count_rows(data)
            except json.JSONDecodeError:
                data = None
            with open(os.path.join(out, plugin + ".json"), "w") as f:
                json.dump(data, f, indent=1)
            summary[plugin] = entry
    json.dump(summary, sys.stdout, indent=1)
    print()
    return 0 if all(v["ok"] for v in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
