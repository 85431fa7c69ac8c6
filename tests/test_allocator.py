"""The allocator keeps freed memory for reuse (vocab.allocator): in a process set up as a Dask
worker sets up its workers (``MALLOC_TRIM_THRESHOLD_=65536``, the work on a thread), a large
numpy temporary (a few hundred KiB, as the mapper's) allocated again after it was freed does not
fault its pages in again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CODE = textwrap.dedent("""
    import resource, sys, threading
    import numpy as np
    from vocab.allocator import keep_freed_memory
    if sys.argv[1] == "keep":
        assert keep_freed_memory() and keep_freed_memory()  # once per process; again is a no-op
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = []
    def task():  # a sweep point on a Dask worker's thread
        np.ones(2 ** 15)  # 256 KiB, allocated and freed once
        f0 = faults()
        for _ in range(1000):
            np.ones(2 ** 15)  # the mapper's pattern: temporaries of a few hundred KiB, again and again
        out.append(faults() - f0)
    t = threading.Thread(target=task)
    t.start(); t.join()
    print(out[0])
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_large_temporary_reuses_freed_memory():
    def faults(mode: str) -> int:
        env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nanny sets
        r = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        return int(r.stdout.split()[-1])

    default, kept = faults("default"), faults("keep")
    # 1,000 x 64 pages: mapped and faulted in each time by default, reused when kept
    assert default > 30_000, default
    assert kept < 1_000, kept
