#!/usr/bin/env python3
"""MSRV check without a second toolchain (this machine has only one and cannot fetch
another): every crate of the workspace must declare the workspace's `rust-version`, and
every crate the build resolves for Linux x86_64 must declare a `rust-version` at or below
it (a crate that declares none is listed, not failed). The standard-library side (an API
newer than the MSRV, such as `Option::is_none_or` before 1.82) is clippy's
`incompatible_msrv` lint, which `checks.sh` runs as an error."""
import json, subprocess, sys

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked",
     "--filter-platform", "x86_64-unknown-linux-gnu"]))
ws = set(meta["workspace_members"])
pkgs = {p["id"]: p for p in meta["packages"]}
# `cargo metadata`'s resolve also lists optional dependencies no feature turns on (rkyv's
# uuid, say); `cargo tree` prints only what is built.
tree = subprocess.check_output(
    ["cargo", "tree", "--workspace", "--locked", "-e", "normal,build,dev",
     "--target", "x86_64-unknown-linux-gnu", "--prefix", "none", "-f", "{p}"], text=True)
built = set()
for line in tree.splitlines():
    parts = line.replace(" (*)", "").split()
    if len(parts) >= 2:
        built.add((parts[0], parts[1].lstrip("v")))
used = {pid for pid, p in pkgs.items() if (p["name"], p["version"]) in built}

def ver(s):
    return tuple(int(x) for x in (s.split(".") + ["0", "0"])[:3])

msrv = None
bad = []
for pid in sorted(ws):
    p = pkgs[pid]
    if not p.get("rust_version"):
        bad.append(f"workspace crate {p['name']} declares no rust-version")
    elif msrv is None or ver(p["rust_version"]) > ver(msrv):
        msrv = p["rust_version"]
if msrv is None:
    sys.exit("no workspace crate declares rust-version")
undeclared = []
for pid in sorted(used - ws):
    p = pkgs[pid]
    rv = p.get("rust_version")
    if rv is None:
        undeclared.append(f"{p['name']} {p['version']}")
    elif ver(rv) > ver(msrv):
        bad.append(f"{p['name']} {p['version']} needs Rust {rv} > MSRV {msrv}")
print(f"MSRV {msrv}: {len(used - ws)} dependencies checked; "
      f"{len(undeclared)} declare no rust-version")
for b in bad:
    print("  ERROR", b)
sys.exit(1 if bad else 0)
