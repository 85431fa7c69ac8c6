"""`cosim trace repair`: a killed run's trace becomes a plain HDF5 file any tool opens,
holding exactly the rows of its last completed flush."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
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
    assert "cleared" in r.output and "/layers: 77" in r.output and "30 frames" in r.output
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
