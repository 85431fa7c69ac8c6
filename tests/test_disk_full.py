"""Write errors (a full disk): the run stops with one line, the trace keeps every row of its
last completed flush and holds no invented rows."""

from __future__ import annotations

import errno
from collections import namedtuple

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import traces
import traces.writer as tw
from traces import TraceWriteError

FakeStat = namedtuple("FakeStat", "f_bavail f_frsize")


def frame(k):
    return {"stream": "s", "frame": k, "arrival_s": k * 0.1, "deadline_s": k * 0.1 + 0.1, "start_s": k * 0.1,
            "end_s": k * 0.1 + 0.05, "config": "c", "accuracy": 1.0, "latency_s": 0.05, "energy_j": 1e-3,
            "missed": False, "dropped": False}


def layers(k, n=50):
    return {"stream": "s", "frame": k, "layer": np.arange(n), "name": [f"l{i}" for i in range(n)], "op": "conv",
            "op_class": "dense_conv", "start_s": k * 0.1 + np.arange(n) * 1e-4, "end_s": k * 0.1 + np.arange(1, n + 1) * 1e-4,
            "macs_useful": np.full(n, 7), "macs_issued": np.full(n, 8), "dram_bytes": np.full(n, 9),
            "energy_j": np.full(n, 1e-5)}


def fill(w, frames):
    for k in frames:
        w.append_layers(layers(k))
        w.append_frames([frame(k)])


def ten_frames_flushed(path):
    """A trace writer (flushing only when told) at ``path`` whose first flush wrote frames 0..9."""
    w = traces.TraceWriter(path, seed=1, scenario="", hardware={}, tool_version="t", flush_every_s=None,
                           flush_every_rows=None)
    fill(w, range(10))
    w.flush()
    return w


def check_no_invented_rows(path, n_frames):
    with traces.open(path) as t:
        f, lay = t.frames, t.layers
        assert list(f.frame) == list(range(n_frames)) and (f.stream == "s").all()
        assert len(lay) == 50 * n_frames and (lay.name != "").all() and (lay.macs_issued == 8).all()
        assert not t.meta["complete"]


def test_full_disk_is_refused_before_hdf5_writes(tmp_path, monkeypatch):
    p = tmp_path / "t.h5"
    w = ten_frames_flushed(p)
    monkeypatch.setattr(tw.os, "statvfs", lambda d: FakeStat(f_bavail=100, f_frsize=4096))  # 400 KiB left
    fill(w, range(10, 20))
    with pytest.raises(TraceWriteError, match=r"no space left on device.*keeps the 10 frames"):
        w.flush()
    w.append_frames([frame(99)])
    with pytest.raises(TraceWriteError):  # it stays failed
        w.flush()
    w.close(complete=False)
    check_no_invented_rows(p, 10)


def test_write_error_inside_hdf5_keeps_the_last_flush(tmp_path, monkeypatch):
    p = tmp_path / "t.h5"
    w = ten_frames_flushed(p)
    fill(w, range(10, 20))
    real = h5py.Dataset.__setitem__

    def failing(self, key, value):
        if self.name == "/frames":  # layers of this flush are written, then the frames fail
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, key, value)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", failing)
    with pytest.raises(TraceWriteError, match=r"No space left on device.*keeps the 10 frames"):
        w.flush()
    monkeypatch.setattr(h5py.Dataset, "__setitem__", real)
    w.close(complete=False)
    # the injected error left HDF5 sound, so the file the writer kept open may be closed here
    for f, dss in tw._UNCLOSABLE:
        for obj in (f, *dss):
            h5py.h5i.dec_ref(obj.id)  # the writer's extra reference
        f.close()
    tw._UNCLOSABLE.clear()
    with h5py.File(p, "r") as h:
        assert [h.attrs[f"committed_{t}"] for t in ("frames", "layers", "resources", "configs")] == [10, 500, 0, 0]
    check_no_invented_rows(p, 10)


def test_cosim_run_stops_with_one_line_on_a_full_disk(tmp_path, monkeypatch):
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    s = tmp_path / "s.py"
    s.write_text("from cosim import System\nfrom host import *\n"
                 "system = System(name='d', hardware='rt-64pe', duration_s=0.3, seed=1, streams=[Stream(name='s', "
                 "candidates=['segformer-b0@128x128'], governor='static', source=FrameSource(fps=20.0))])\n")
    out = tmp_path / "o.h5"
    calls = {"n": 0}
    real_flush = tw.TraceWriter.flush

    def flush_then_full(self):
        calls["n"] += 1
        if calls["n"] >= 3:
            monkeypatch.setattr(tw.os, "statvfs", lambda d: FakeStat(f_bavail=1, f_frsize=4096))
        return real_flush(self)

    monkeypatch.setattr(tw.TraceWriter, "flush", flush_then_full)
    real_init = tw.TraceWriter.__init__

    def init(self, *a, **k):
        k.update(flush_every_s=None, flush_every_rows=200)  # a flush every frame or so
        real_init(self, *a, **k)

    monkeypatch.setattr(tw.TraceWriter, "__init__", init)
    r = CliRunner().invoke(app, ["run", str(s), "-o", str(out), "-q"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "error: cannot write trace" in text and "no space left" in text, r.output
    assert "Traceback" not in r.output
    with traces.open(out) as t:
        f = t.frames
        assert 1 <= len(f) < 6 and list(f.frame) == list(range(len(f)))
        assert (t.layers.name != "").all() and not t.meta["complete"]
