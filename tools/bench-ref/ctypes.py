# SPDX-License-Identifier: MIT
# tools/bench-ref/ctypes.py: CPython references for ffi.threaded_ns (make bench): the same
# no-op C function as bench/ffi.st (ft_noop of the FFI test library, else libc's abs),
# called in a loop through ctypes. CDLL releases the GIL around each call (as Baton
# disowns the VM); PyDLL keeps it (as an unthreaded call keeps the VM). ns per call:
# the loop with the call less the same loop without it (as bench/ffi.st does), median
# of 5 rounds.
import sys

del sys.path[0]  # this file's directory: "import ctypes" must not find this file
import ctypes  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

path = os.environ.get("BATON_FFI_TESTLIB") or "build/selftests/ffi/libffitest.so"
try:
    ctypes.CDLL(path).ft_noop
    name, args = "ft_noop", ()
except (OSError, AttributeError):
    path, name, args = "libc.so.6", "abs", (0,)


def per_call(dll, n=1000000):
    fn = getattr(dll(path), name)
    fn.argtypes = [ctypes.c_int] * len(args)
    fn.restype = None if not args else ctypes.c_int
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        if args:
            for _ in range(n):
                fn(0)
        else:
            for _ in range(n):
                fn()
        t1 = time.perf_counter()
        for _ in range(n):
            fn
        t2 = time.perf_counter()
        rounds.append(((t1 - t0) - (t2 - t1)) / n * 1e9)
    return statistics.median(rounds)


print(f"ref.python_ctypes_cdll_ns\t{per_call(ctypes.CDLL):.6g}\tns")
print(f"ref.python_ctypes_pydll_ns\t{per_call(ctypes.PyDLL):.6g}\tns")
