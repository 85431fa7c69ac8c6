"""The C allocator's settings for this program's work: keep freed memory for reuse.

The mapper costs candidate tilings as numpy arrays, typically of a few hundred KiB, allocated
and freed by the thousand. glibc maps an allocation above its mmap threshold from the kernel
and unmaps it when freed, so every reuse faults its pages in again; by default the threshold
rises to the size of the blocks freed, but a Dask worker starts with
``MALLOC_TRIM_THRESHOLD_=65536`` (Dask's nanny sets it, to return freed memory at once), which
also pins the threshold at 128 KiB. Measured on 2 cores, ``cosim reproduce --only op_classes``
from empty caches: 51.0 s wall, 26.8 s of it system time, 7.06 million page faults by default;
31.3 s, 4.2 s and 0.53 million with these settings; the same peak resident memory (0.72 GB).
The command line and the sweep workers call it. Only glibc has `mallopt`; elsewhere this does
nothing, and so does ``DYNVIT_KEEP_FREED_MEMORY=0`` (the allocator's defaults, for
``benchmarks/bench_reproduce.py``'s comparison).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["keep_freed_memory"]

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
# Allocations up to the largest mmap threshold glibc accepts (HEAP_MAX_SIZE / 2 = 32 MiB on
# 64-bit) come from the heap; freed memory goes back to the kernel only beyond 1 GiB of it.
_MMAP_THRESHOLD = 32 * 2**20
_TRIM_THRESHOLD = 2**30
_TOP_PAD = 64 * 2**20

_done = False


def keep_freed_memory() -> bool:
    """Set the allocator to keep freed memory for reuse (once per process); False where the C
    library has no `mallopt` (not glibc)."""
    global _done
    if _done:
        return True
    if os.environ.get("DYNVIT_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = all(mallopt(p, v) == 1 for p, v in ((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
                                             (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD)))
    _done = ok
    return ok
