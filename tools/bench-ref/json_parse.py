# SPDX-License-Identifier: MIT
# tools/bench-ref/json_parse.py: CPython reference for json.parse_mb_s (make bench):
# json.loads (the C scanner) on the same 10 MB document bench/json.st builds,
# best of 3.
import json
import time

parts = []
size = 1
i = 0
while size < 10000000:
    r = ('{"id":%d,"name":"user %d","email":"user%d@example.com","score":%d.25,'
         '"active":%s,"tags":["alpha","beta","gamma"],"pos":[%d,%d],'
         '"note":"line \\"quoted\\"\\ttab caf\\u00e9","parent":null}'
         % (i, i, i, i * 7 % 1000, "true" if i % 2 else "false", i % 360, i % 180))
    parts.append(r)
    size += len(r) + 1
    i += 1
text = "[" + ",".join(parts) + "]"
best = None
for _ in range(3):
    t0 = time.perf_counter()
    v = json.loads(text)
    dt = time.perf_counter() - t0
    best = dt if best is None or dt < best else best
assert len(v) == i
print(f"ref.python_json_parse_mb_s\t{len(text) / 1e6 / best:.6g}\tMB/s")
