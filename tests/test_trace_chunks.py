"""Whole chunks filtered in Python and written directly (traces/chunks.py): the same dataset as
HDF5's shuffle + deflate filters make, every stored chunk a zlib stream of the same shuffled
bytes; plain h5py reads it."""

import zlib

import h5py
import numpy as np
import pytest

from traces.chunks import ChunkCompressor
from traces.writer import GZIP_LEVEL, TraceWriter


def _write(path, direct: bool, seed: int) -> int:
    w = TraceWriter(path, created="2026-01-01T00:00:00Z", seed=0, scenario="", hardware={}, tool_version="t")
    assert all(c.direct for c in w._chunks.values())  # every trace table takes the direct path
    if not direct:
        for c in w._chunks.values():
            c.direct = False
    rng = np.random.default_rng(seed)
    n = 0
    for i in range(250):
        k = int(rng.integers(1, 300))
        w.append_resources({"time_s": rng.random(k), "resource": ["pe_share"] * k, "value": rng.random(k),
                            "unit": ["1"] * k})
        n += k
        if rng.random() < 0.05:  # flushes at random points: chunks split across flushes
            w.flush()
    w.close()
    return n


@pytest.mark.parametrize("seed", [1, 2])
def test_direct_chunks_equal_hdf5_filters(tmp_path, seed):
    n = _write(tmp_path / "direct.h5", True, seed)
    _write(tmp_path / "filters.h5", False, seed)
    with h5py.File(tmp_path / "direct.h5", "r") as a, h5py.File(tmp_path / "filters.h5", "r") as b:
        da, db = a["resources"], b["resources"]
        assert len(da) == n and da.compression == "gzip" and da.shuffle
        assert da[()].tobytes() == db[()].tobytes()
        rows = da.chunks[0]
        assert n // rows >= 3
        for k in range(n // rows):  # every whole chunk: a zlib stream of the bytes the filters store
            ca, cb = da.id.read_direct_chunk((k * rows,)), db.id.read_direct_chunk((k * rows,))
            assert ca[0] == cb[0] == 0  # filter mask: shuffle and deflate both applied
            assert zlib.decompress(ca[1]) == zlib.decompress(cb[1])


def test_other_filters_take_hdf5s_path(tmp_path):
    dt = np.dtype([("a", "<f8"), ("b", "S4")])
    with h5py.File(tmp_path / "x.h5", "w") as f:
        lzf = f.create_dataset("lzf", shape=(0,), maxshape=(None,), dtype=dt, chunks=(64,), compression="lzf")
        gz = f.create_dataset("gz", shape=(0,), maxshape=(None,), dtype=dt, chunks=(64,), compression="gzip",
                              compression_opts=GZIP_LEVEL, shuffle=True)
        assert not ChunkCompressor(lzf, dt, GZIP_LEVEL).direct
        assert not ChunkCompressor(gz, dt, GZIP_LEVEL + 1).direct
        c = ChunkCompressor(gz, dt, GZIP_LEVEL)
        assert c.direct
        rows = np.zeros(200, dtype=dt)
        rows["a"] = np.arange(200)
        gz.resize((200,))
        c.write(gz, 0, rows)  # chunks 0-2 direct, the last 8 rows through the filters
        assert (gz["a"] == np.arange(200)).all() and gz.id.get_num_chunks() == 4
