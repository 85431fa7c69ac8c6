"""Whole chunks of a table filtered in Python and written directly, past HDF5's filter pipeline.

A trace table is chunked and stored through HDF5's shuffle and deflate filters. Deflating is
most of what writing a trace costs once the rows are buffered. At a flush, every whole chunk of
the flushed rows (rows are only appended: a buffered row's place in the dataset is fixed) is
filtered here in the filters' format (shuffle: byte ``j`` of every row, then ``j + 1``...;
deflate: a zlib stream) and written with ``write_direct_chunk``. Rows that share a chunk with
rows already on disk or not yet appended (the ends of a flush) go through HDF5's filters as
before. Readers see the same dataset; plain h5py (or any HDF5 tool) reads it as any
gzip-compressed dataset, since the deflate filter decodes any zlib stream.

The compressor is ISA-L's (the ``isal`` package, a dependency): measured on the layer rows of
the default scenario (120 MB in 1,024-row chunks), 0.053 s against zlib's 0.29 s at level 1,
and 4 % smaller. Its streams are not zlib's byte for byte (the decoded chunks are), so a chunk
written here and one written by HDF5's filter differ in their stored bytes only (so may two
machines whose CPUs take different ISA-L code paths; a trace's data is the same). Without
``isal`` (a platform with no wheel), zlib compresses: slower, the same data.

Why at the flush, in the writing thread: with zlib, compressing in a worker thread while the
run went on paid (0.87 s against 1.23 s per default-scenario run); with ISA-L the worker's
hand-offs and copies cost more than they hide (benchmarks/bench_reuse.py, 2 cores: 2,381
frames/s at the flush against 1,785 ahead; a minute of the two-stream scenario 1.07-1.39 s
against 1.48-1.53 s), so that path was removed.

Only a dataset whose stored type has the buffer's exact byte layout and whose filters are
exactly shuffle + deflate takes this path; any other is written through HDF5 as before.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

try:  # ISA-L: a deflate 5x faster than zlib's on trace chunks (see the module docstring)
    from isal import isal_zlib as _deflate

    _MAX_LEVEL = _deflate.ISAL_BEST_COMPRESSION  # ISA-L's levels are 0..3
except ImportError:  # pragma: no cover - isal is a dependency; zlib where no wheel exists
    _deflate, _MAX_LEVEL = zlib, 9

_STRIP = 128  # rows per strip of the shuffle's transpose: 0.039 s against 0.058 s for 120 MB of 560-byte rows


def filtered_chunk(rows: np.ndarray, level: int) -> bytes:
    """Contiguous rows' bytes in the format of HDF5's shuffle then deflate filters (a zlib stream
    of the shuffled bytes; the dataset's level, capped at the compressor's highest)."""
    raw = rows.view(np.uint8).reshape(len(rows), rows.dtype.itemsize)
    shuffled = np.empty(raw.shape[::-1], dtype=np.uint8)
    for i in range(0, len(raw), _STRIP):  # strips of rows: a third faster than one transpose (cache)
        np.copyto(shuffled[:, i : i + _STRIP], raw[i : i + _STRIP].T)
    return _deflate.compress(shuffled, min(level, _MAX_LEVEL))


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
    """One table's whole chunks filtered and written directly (see the module docstring)."""

    enabled = True  # False: every row through HDF5's filters (the path before; for benchmarks)

    def __init__(self, ds: Any, dtype: np.dtype, level: int) -> None:
        self.rows = int(ds.chunks[0]) if ds.chunks else 0
        self.level = level
        self.direct = bool(
            self.enabled and self.rows and ds.compression == "gzip" and ds.compression_opts == level and ds.shuffle
            and not ds.fletcher32 and ds.scaleoffset is None and _same_layout(ds, dtype))

    def write(self, ds: Any, n0: int, arr: np.ndarray) -> None:
        """Write the contiguous rows ``arr`` at dataset rows ``n0``.. (the dataset already extends
        over them)."""
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
            ds.id.write_direct_chunk((k * c,), filtered_chunk(arr[k * c - n0 : (k + 1) * c - n0], self.level))
        if n1 > b:
            ds[b:n1] = arr[b - n0 :]
