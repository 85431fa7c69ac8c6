"""Compressing a table's full chunks ahead, in a worker thread, off the run's critical path.

A trace table is chunked and stored through HDF5's shuffle and deflate filters. Deflating is
most of what writing a trace costs once the rows are buffered; zlib releases the GIL, so a
worker thread can compress a chunk while the run goes on. As soon as the buffered rows fill a
whole chunk at its place in the dataset (rows are only appended: a buffered row's place is
fixed), its bytes are compressed ahead exactly as the filters would (shuffle: byte ``j`` of
every row, then ``j + 1``...; deflate: zlib at the dataset's level), and the flush writes it
with ``write_direct_chunk``. Rows that share a chunk with rows already on disk or not yet
appended (the ends of a flush) go through HDF5's filters as before. Readers see the same
dataset; plain h5py reads it as any gzip-compressed dataset.

Without a core to spare (`ChunkCompressor.ahead_threads`: one core, or a sweep worker), whole
chunks are compressed the same way at the flush instead, in the writing thread.

Only a dataset whose stored type has the buffer's exact byte layout and whose filters are
exactly shuffle + deflate takes this path; any other is written through HDF5 as before.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-deflate")
    return _POOL


def filtered_chunk(raw: bytes, itemsize: int, level: int) -> bytes:
    """A chunk's bytes as HDF5's shuffle then deflate filters store them."""
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, itemsize)
    shuffled = np.empty((itemsize, len(rows)), dtype=np.uint8)
    np.copyto(shuffled, rows.T)  # (numpy and zlib release the GIL: the run goes on meanwhile)
    return zlib.compress(shuffled, level)


def _same_layout(ds: Any, dtype: np.dtype) -> bool:
    """True if the stored type of ``ds`` has ``dtype``'s bytes: size and every field's offset."""
    tid = ds.id.get_type()
    if tid.get_size() != dtype.itemsize or dtype.names is None or ds.dtype != dtype:
        return False
    if tid.get_nmembers() != len(dtype.names):
        return False
    for i, name in enumerate(dtype.names):
        if tid.get_member_name(i).decode() != name or tid.get_member_offset(i) != dtype.fields[name][1]:
            return False
    return True


class ChunkCompressor:
    """One table's chunks compressed ahead (see the module docstring)."""

    enabled = True  # False: every row through HDF5's filters (the path before; for benchmarks)
    # Compress ahead in the worker with a core to spare; otherwise whole chunks are compressed at
    # the flush, still written directly (no slower than HDF5's filters). Measured with
    # benchmarks/bench_reuse.py on 2 cores, the default scenario with reuse: 1.23 s -> 0.87 s per
    # run on a quiet machine, 1.19 s either way beside one other busy process. A sweep runs a
    # worker per core, so its points compress at the flush (explore.sweep_points).
    ahead_threads = len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) >= 2

    def __init__(self, ds: Any, dtype: np.dtype, level: int) -> None:
        self.rows = int(ds.chunks[0]) if ds.chunks else 0
        self.item = dtype.itemsize
        self.level = level
        self.direct = bool(
            self.enabled and self.rows and ds.compression == "gzip" and ds.compression_opts == level and ds.shuffle
            and not ds.fletcher32 and ds.scaleoffset is None and _same_layout(ds, dtype))
        self.ahead: dict[int, Future] = {}  # chunk index -> its filtered bytes
        self.next = 0  # the next chunk index to compress ahead

    def feed(self, buffered: np.ndarray, written: int) -> None:
        """After an append: compress ahead every whole chunk of the buffered rows (the buffer's
        row ``i`` goes to dataset row ``written + i``)."""
        if not (self.direct and self.ahead_threads):
            return
        c = self.rows
        k = max(self.next, -(-written // c))
        end = written + len(buffered)
        while (k + 1) * c <= end:
            i0 = k * c - written
            raw = buffered[i0 : i0 + c].tobytes()  # a copy: the buffer is reused
            self.ahead[k] = _pool().submit(filtered_chunk, raw, self.item, self.level)
            k += 1
        self.next = k

    def write(self, ds: Any, n0: int, arr: np.ndarray) -> None:
        """Write ``arr`` at dataset rows ``n0``.. (the dataset already extends over them)."""
        n1 = n0 + len(arr)
        c = self.rows
        a = -(-n0 // c) * c if self.direct else n1  # first chunk boundary at or after n0
        b = (n1 // c) * c if self.direct else n1    # last chunk boundary at or before n1
        if a >= b:  # no whole chunk: all through HDF5's filters
            ds[n0:n1] = arr
            return
        if a > n0:
            ds[n0:a] = arr[: a - n0]  # completes the chunk already on disk
        for k in range(a // c, b // c):
            fut = self.ahead.pop(k, None)
            data = fut.result() if fut is not None else filtered_chunk(
                arr[k * c - n0 : (k + 1) * c - n0].tobytes(), self.item, self.level)
            ds.id.write_direct_chunk((k * c,), data)
        if n1 > b:
            ds[b:n1] = arr[b - n0 :]
        for k in [k for k in self.ahead if k < b // c]:  # (none expected: every chunk before b is written)
            self.ahead.pop(k).cancel()

    def reset(self) -> None:
        """After a write error: the buffered rows are dropped, so are their chunks."""
        for fut in self.ahead.values():
            fut.cancel()
        self.ahead.clear()
        self.next = 0
