# SPDX-License-Identifier: MIT
# tools/bench-ref/sieve.py: CPython reference for vm.sieve_s (make bench).
# tinyBenchmarks' sieve: 20 passes over 8190 booleans, counting primes.
import time


def sieve():
    count = 0
    for _ in range(20):
        flags = [True] * 8190
        count = 0
        for i in range(2, 8191):
            if flags[i - 1]:
                count += 1
                k = i + i
                while k <= 8190:
                    flags[k - 1] = False
                    k += i
    return count


t0 = time.perf_counter()
n = sieve()
dt = time.perf_counter() - t0
assert n == 1027, n
print(f"ref.python_sieve_s\t{dt:.6g}\ts")
