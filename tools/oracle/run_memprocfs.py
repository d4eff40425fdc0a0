#!/usr/bin/env python3
"""Open one image with MemProcFS (no symbol server, no DTB hint) and print JSON:
{"ok": bool, "error": str|None, "kernel": {...}, "modules": [...],
"system_handles": [{handle, typeindex, object, tag}], "processes": [{pid, ppid, name, ...}]}.

Usage: run_memprocfs.py IMAGE [--verbose]
Needs `pip install memprocfs` and libusb-1.0-0; the package folders must be on
LD_LIBRARY_PATH, which this script arranges by re-executing itself once.
"""
import json
import os
import sys


def libdirs():
    import importlib.util
    dirs = []
    for mod in ("memprocfs", "leechcorepyc"):
        spec = importlib.util.find_spec(mod)
        if spec and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    return dirs


def main():
    if os.environ.get("_MPFS_REEXEC") != "1":
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = ":".join(libdirs() + [env.get("LD_LIBRARY_PATH", "")])
        env["_MPFS_REEXEC"] = "1"
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    import memprocfs

    image = sys.argv[1]
    verbose = "--verbose" in sys.argv
    args = ["-device", image, "-disable-symbolserver", "-waitinitialize"]
    if verbose:
        args += ["-v", "-vv"]
    out = {"ok": False, "error": None, "kernel": {}, "processes": []}
    try:
        vmm = memprocfs.Vmm(args)
    except Exception as e:  # MemProcFS raises a plain Exception on init failure
        out["error"] = str(e)
        print(json.dumps(out, indent=1))
        return 1
    try:
        k = vmm.kernel
        out["kernel"] = {"build": k.build, "dtb": vmm.get_config(memprocfs.OPT_CORE_SYSTEM) if hasattr(memprocfs, "OPT_CORE_SYSTEM") else None}
        try:
            out["kernel"]["base"] = k.process.module("ntoskrnl.exe").base
        except Exception as e:
            out["kernel"]["base_error"] = str(e)
        try:
            out["modules"] = [{"name": m.name, "base": m.base, "size": m.image_size}
                              for m in vmm.process(4).module_list()]
        except Exception as e:
            out["modules_error"] = str(e)
        try:
            out["system_handles"] = [{"handle": h["handle"], "typeindex": h["typeindex"],
                                      "object": h["va-object"], "tag": h["tag"]}
                                     for h in vmm.process(4).maps.handle()]
        except Exception as e:
            out["system_handles_error"] = str(e)
        for p in vmm.process_list():
            row = {"pid": p.pid, "ppid": p.ppid, "name": p.name}
            for attr in ("fullname", "state", "dtb", "dtb_user", "eprocess", "peb", "session", "luid", "sid", "integrity", "cmdline", "pathuser", "pathkernel", "is_usermode", "is_wow64", "time_create", "time_exit", "tp_memorymodel"):
                try:
                    v = getattr(p, attr)
                    row[attr] = v if isinstance(v, (int, str, bool, type(None))) else str(v)
                except Exception as e:
                    row[attr + "_error"] = str(e)
            out["processes"].append(row)
        out["ok"] = True
    finally:
        vmm.close()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
