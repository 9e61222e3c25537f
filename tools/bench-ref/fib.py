# SPDX-License-Identifier: MIT
# tools/bench-ref/fib.py: CPython reference for vm.fib_sends_per_s (make bench).
# Same recursion as Squeak's benchFib; its result is the number of calls.
import time


def fib(n):
    if n < 2:
        return 1
    return fib(n - 1) + fib(n - 2) + 1


t0 = time.perf_counter()
calls = fib(27)
dt = time.perf_counter() - t0
print(f"ref.python_fib_calls_per_s\t{calls / dt:.6g}\tcalls/s")
