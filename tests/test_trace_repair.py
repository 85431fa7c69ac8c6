"""`cosim trace repair`: a killed run's trace becomes a plain HDF5 file any tool opens,
holding exactly the rows of its last completed flush."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import traces

ROOT = Path(__file__).resolve().parents[1]


def killed_trace(p: Path) -> None:
    """A writer that flushed 30 frames, then grew /layers by rows it never wrote (a flush that
    failed half-way), then died."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import traces
        from test_disk_full import fill
        w = traces.TraceWriter({str(p)!r}, seed=1, scenario="", hardware={{}}, tool_version="t",
                               flush_every_s=None, flush_every_rows=None)
        fill(w, range(30))
        w.flush()
        w._ds["layers"].resize((30 * 50 + 77,))
        w._f.flush()
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


@pytest.fixture
def cli():
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    return CliRunner(), app


def test_repair_a_killed_runs_trace(cli, tmp_path):
    runner, app = cli
    p = tmp_path / "k.h5"
    killed_trace(p)
    with pytest.raises(OSError):
        h5py.File(p, "r")  # flagged as open for writing: plain HDF5 tools refuse it
    r = runner.invoke(app, ["trace", "repair", str(p)], terminal_width=200)
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "cleared" in out and "removed 77 rows of /layers" in out and "30 frames" in out
    assert "never written" in out and Path(str(p) + ".bak").is_file()  # why, and the original kept
    with h5py.File(p, "r") as h:
        assert h["frames"].shape == (30,) and h["layers"].shape == (1500,)
    with traces.open(p) as t:
        assert len(t.frames) == 30 and (t.layers.name != "").all() and not t.meta["complete"]
    r = runner.invoke(app, ["trace", "repair", str(p)])
    assert r.exit_code == 0 and "nothing to repair" in r.output


def test_repair_refuses_bad_input(cli, tmp_path):
    runner, app = cli
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5")
    for target in (bad, tmp_path / "missing.h5"):
        r = runner.invoke(app, ["trace", "repair", str(target)])
        out = r.output.strip()
        assert r.exit_code == 2 and "error:" in out and "Traceback" not in out, out
    live = tmp_path / "live.h5"
    w = traces.TraceWriter(live, seed=1, scenario="", hardware={}, tool_version="t")
    try:
        r = runner.invoke(app, ["trace", "repair", str(live)])
        assert r.exit_code == 2 and "another run" in " ".join(r.output.split()), r.output
    finally:
        w.close()


# ---- issue 26 item 1: repair never removes a row a complete trace holds ----------------------


def _complete_trace(p: Path, n: int = 30) -> dict:
    from test_disk_full import fill

    with traces.TraceWriter(p, seed=1, scenario="", hardware={}, tool_version="t", created="2025-01-01T00:00:00Z",
                            flush_every_s=None, flush_every_rows=None) as w:
        fill(w, range(n))
    return _hashes(p)


def _hashes(p: Path) -> dict:
    import hashlib

    with h5py.File(p, "r", swmr=True) as h:
        return {t: (h[t].shape[0], hashlib.sha256(h[t][()].tobytes()).hexdigest()) for t in ("frames", "layers")}


def test_repair_keeps_a_complete_trace_whose_counter_is_damaged(cli, tmp_path):
    runner, app = cli
    p = tmp_path / "done.h5"
    before = _complete_trace(p)
    with h5py.File(p, "r+") as h:
        h.attrs["committed_frames"] = np.int64(0)  # damaged: the file says complete=True
    r = runner.invoke(app, ["trace", "repair", str(p)], terminal_width=300)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert "committed_frames = 0 disagrees with the 30 rows of /frames in a trace marked complete" in out
    assert "removed" not in out
    assert _hashes(p) == before                                    # every row kept, bit for bit
    with traces.open(p) as t:
        assert len(t.frames) == 30 and t.meta["complete"]          # and readers see them again
    assert Path(str(p) + ".bak").is_file()
    with h5py.File(str(p) + ".bak", "r") as h:
        assert int(h.attrs["committed_frames"]) == 0               # the original, as it was
    r = runner.invoke(app, ["trace", "repair", str(p)], terminal_width=300)
    assert r.exit_code == 0 and "nothing to repair" in r.output
    assert not Path(str(p) + ".bak1").exists()                     # nothing done, nothing copied


def test_repair_without_backup_and_a_copy_that_does_not_verify(cli, tmp_path, monkeypatch):
    import traces.repair as tr

    runner, app = cli
    p = tmp_path / "k.h5"
    killed_trace(p)
    raw = p.read_bytes()
    monkeypatch.setattr(tr, "_digest", lambda ds, n, _real=tr._digest: "x" if ds.file.filename != str(p) else _real(ds, n))
    r = runner.invoke(app, ["trace", "repair", str(p)], terminal_width=300)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and "did not verify" in out and "the file is unchanged" in out, out
    assert p.read_bytes() == raw and sorted(x.name for x in tmp_path.iterdir()) == ["k.h5"]  # no copy left
    monkeypatch.undo()
    r = runner.invoke(app, ["trace", "repair", "--no-backup", str(p)], terminal_width=300)
    assert r.exit_code == 0 and "no backup kept" in " ".join(r.output.split())
    assert sorted(x.name for x in tmp_path.iterdir()) == ["k.h5"]


def test_repair_keeps_frames_their_layers_refer_to(tmp_path):
    """An incomplete trace whose frame counter was damaged low: the kept layer rows belong to the
    frames beyond it, so the data contradicts the counter and no frame is removed."""
    from traces.repair import repair

    p = tmp_path / "k.h5"
    killed_trace(p)
    with open(p, "r+b"):
        pass
    from traces.superblock import clear_write_flags

    clear_write_flags(p)
    with h5py.File(p, "r+") as h:
        h.attrs["committed_frames"] = np.int64(10)
    r = repair(p)
    assert r.rows["frames"] == 30 and r.cut == {"layers": 77}
    assert any("contradicts the data" in line for line in r.lines())


# ---- issue 20 item 5: a trace is readable from the first instant -----------------------------

KILL_AT_CREATION = """
import os, signal, sys, h5py
import traces
real = h5py.Group.create_dataset
def create_dataset(self, *a, **k):  # SIGKILL while the file is being laid out
    os.kill(os.getpid(), signal.SIGKILL)
h5py.Group.create_dataset = create_dataset
traces.TraceWriter(sys.argv[1], seed=1, scenario="", hardware={}, tool_version="t")
"""

KILL_AFTER_CREATION = """
import os, signal, sys
import traces
traces.TraceWriter(sys.argv[1], seed=1, scenario="", hardware={}, tool_version="t")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed(code: str, p: Path) -> None:
    r = subprocess.run([sys.executable, "-c", code, str(p)], cwd=ROOT, timeout=120)
    assert r.returncode == -9


def test_a_run_killed_while_its_trace_is_created_leaves_no_unreadable_file(tmp_path):
    p = tmp_path / "run.h5"
    _killed(KILL_AT_CREATION, p)
    assert not p.exists()  # before: a 48-byte file that nothing opens
    old = tmp_path / "old.h5"
    _complete_trace(old)
    raw = old.read_bytes()
    _killed(KILL_AT_CREATION, old)
    assert old.read_bytes() == raw  # a trace being replaced stays whole until the new one is laid out


def test_a_run_killed_just_after_its_trace_appears_leaves_a_readable_trace(cli, tmp_path):
    runner, app = cli
    p = tmp_path / "run.h5"
    _killed(KILL_AFTER_CREATION, p)
    with traces.open(p) as t:
        assert all(len(t.table(x)) == 0 for x in ("frames", "layers", "resources", "configs"))
        assert not t.meta["complete"]
    r = runner.invoke(app, ["trace", "repair", str(p)], terminal_width=300)
    assert r.exit_code == 0, r.output
    with h5py.File(p, "r") as h:  # plain h5py, no SWMR
        assert {"frames", "layers", "resources", "configs"} <= set(h)


def test_creating_under_a_temporary_name_leaves_table_bytes_alone(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert _complete_trace(a) == _complete_trace(b)
    assert [x.name for x in sorted(tmp_path.iterdir())] == ["a.h5", "b.h5"]  # no temporary left behind


# ---- issue 26 item 3: no layer row reaches the file before its frame row ---------------------

ORPHANS = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
import traces
from test_disk_full import frame, layers
w = traces.TraceWriter(sys.argv[1], seed=1, scenario="", hardware={}, tool_version="t",
                       flush_every_s=None, flush_every_rows=120)
for k in range(20):
    w.append_layers(layers(k))   # 50 rows: every few frames this push reaches the flush trigger
    if k == 13:
        os.kill(os.getpid(), signal.SIGKILL)  # killed with frame 13's layers appended, its row not
    w.append_frames([frame(k)])
"""


def test_a_killed_run_leaves_no_layer_rows_without_their_frame(tmp_path):
    p = tmp_path / "k.h5"
    r = subprocess.run([sys.executable, "-c", ORPHANS, str(p), str(ROOT / "tests")], cwd=ROOT, timeout=120)
    assert r.returncode == -9
    with traces.open(p) as t:
        f, lay = t.frames, t.layers
        assert len(f) > 0 and len(lay) > 0
        keys = set(zip(f.stream, f.frame))
        orphans = [k for k in zip(lay.stream, lay.frame) if k not in keys]
        assert orphans == []
        assert len(lay) == 50 * len(f)
