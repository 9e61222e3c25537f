# SPDX-License-Identifier: MIT
# bench/io/lines.py: the CPython reference of io.lines_per_s: `for line in f`
# over a text file. Prints "lines_per_s V" and "lines N".
import sys
import time

t = time.perf_counter()
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        n += 1
t = time.perf_counter() - t
print("lines_per_s %.1f" % (n / t))
print("lines %d" % n)
