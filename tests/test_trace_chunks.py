"""Whole chunks compressed ahead and written directly (traces/chunks.py): the same dataset, and
the same stored chunks, as HDF5's shuffle + deflate filters make; plain h5py reads it."""

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


@pytest.mark.parametrize("seed,ahead", [(1, True), (2, False)])
def test_direct_chunks_equal_hdf5_filters(tmp_path, seed, ahead, monkeypatch):
    monkeypatch.setattr(ChunkCompressor, "ahead_threads", ahead)  # in a worker thread, or at the flush
    n = _write(tmp_path / "direct.h5", True, seed)
    _write(tmp_path / "filters.h5", False, seed)
    with h5py.File(tmp_path / "direct.h5", "r") as a, h5py.File(tmp_path / "filters.h5", "r") as b:
        da, db = a["resources"], b["resources"]
        assert len(da) == n and da.compression == "gzip" and da.shuffle
        assert da[()].tobytes() == db[()].tobytes()
        rows = da.chunks[0]
        assert n // rows >= 3
        for k in range(n // rows):  # every whole chunk stored byte for byte as the filters store it
            assert da.id.read_direct_chunk((k * rows,)) == db.id.read_direct_chunk((k * rows,))


def test_other_filters_take_hdf5s_path(tmp_path, monkeypatch):
    dt = np.dtype([("a", "<f8"), ("b", "S4")])
    with h5py.File(tmp_path / "x.h5", "w") as f:
        lzf = f.create_dataset("lzf", shape=(0,), maxshape=(None,), dtype=dt, chunks=(64,), compression="lzf")
        gz = f.create_dataset("gz", shape=(0,), maxshape=(None,), dtype=dt, chunks=(64,), compression="gzip",
                              compression_opts=GZIP_LEVEL, shuffle=True)
        assert not ChunkCompressor(lzf, dt, GZIP_LEVEL).direct
        assert not ChunkCompressor(gz, dt, GZIP_LEVEL + 1).direct
        monkeypatch.setattr(ChunkCompressor, "ahead_threads", True)
        c = ChunkCompressor(gz, dt, GZIP_LEVEL)
        assert c.direct
        rows = np.zeros(200, dtype=dt)
        rows["a"] = np.arange(200)
        c.feed(rows, 0)
        assert sorted(c.ahead) == [0, 1, 2]
        gz.resize((200,))
        c.write(gz, 0, rows)
        assert not c.ahead and (gz["a"] == np.arange(200)).all()
