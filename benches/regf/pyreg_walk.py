"""python-registry peer: visit every key, decode every value, print counts.  usage: pyreg_walk.py HIVE"""
import sys
import time

from Registry import Registry

t = time.perf_counter()
reg = Registry.Registry(sys.argv[1])
keys = values = 0
stack = [reg.root()]
while stack:
    k = stack.pop()
    keys += 1
    for v in k.values():
        v.value()
        values += 1
    stack.extend(k.subkeys())
print(f"keys={keys} values={values} seconds={time.perf_counter() - t:.4f}")
