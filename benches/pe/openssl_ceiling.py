#!/usr/bin/env python3
"""openssl_ceiling.py DIR [--threads N]: an independent hash ceiling for
ceiling.sh. md5 + sha1 + sha256 of every file under DIR with Python's
hashlib (OpenSSL's assembly: md5 on the integer units, SHA-NI for sha1 and
sha256 where the CPU has it), each file memory-mapped and hashed in one call
per digest, on N threads (default: all CPUs; hashlib releases the GIL while
it hashes large buffers), one line per file, nothing else. It counts the
interpreter's start (~20 ms CPU) as `scan` counts its own."""
import hashlib
import mmap
import os
import sys
import threading


def files(root):
    out = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        out.extend(os.path.join(dirpath, n) for n in sorted(names))
    return out


def hashes(path):
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            data = b""
        else:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        line = " ".join(hashlib.new(a, data).hexdigest() for a in ("md5", "sha1", "sha256"))
        if isinstance(data, mmap.mmap):
            data.close()
        return f"{line} {path}"


def main():
    args = sys.argv[1:]
    threads = os.cpu_count() or 1
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    todo = files(args[0])
    lines = [None] * len(todo)
    nxt = iter(range(len(todo)))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            lines[i] = hashes(todo[i])

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    sys.stdout.write("".join(l + "\n" for l in lines))


if __name__ == "__main__":
    main()
