"""Output files: never written over an input, never overwritten without --force, one
writer at a time, and every bad output path refused before any work with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import traces
from traces.output import OutputClaim, OutputError

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = textwrap.dedent("""
    from cosim import System
    from host import FrameSource, Stream
    system = System(name="tiny", hardware="rt-64pe", duration_s=0.1, seed=1,
                    streams=[Stream(name="s", candidates=["segformer-b0@128x128"], governor="static",
                                    source=FrameSource(fps=20.0))])
""")


@pytest.fixture
def cli():
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    return CliRunner(), app


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the run gets as far as profiling (output checks come first)."""
    import cosim.profiles

    def boom(*a, **k):
        raise AssertionError("profiling started before the output path was checked")

    monkeypatch.setattr(cosim.profiles, "measure", boom)


def one_error_line(r):
    out = r.output.strip()
    assert r.exit_code == 2, (r.output, r.exception)
    assert "error:" in out and "Traceback" not in out and len(out.splitlines()) <= 3, out
    return " ".join(out.split())  # rich wraps long lines at the test console's width


def write_trace(path):
    with traces.TraceWriter(path, seed=1, scenario="", hardware={}, tool_version="t", created="2025-01-01T00:00:00Z") as w:
        w.append_frames({"stream": "s", "frame": 0, "arrival_s": 0.0, "deadline_s": 0.1, "start_s": 0.0, "end_s": 0.05,
                         "config": "c", "accuracy": 1.0, "latency_s": 0.05, "energy_j": 1e-3, "missed": False,
                         "dropped": False})
    return str(path)


# ---- cosim run -o -----------------------------------------------------------------------


def test_run_never_writes_over_its_scenario(cli, tmp_path, no_work):
    runner, app = cli
    s = tmp_path / "s.py"
    s.write_text(SCENARIO)
    for force in ([], ["--force"]):
        r = runner.invoke(app, ["run", str(s), "-o", str(s), "-q", *force])
        assert "input" in one_error_line(r)
        assert s.read_text() == SCENARIO


def test_run_never_writes_over_a_csv_input(cli, tmp_path, no_work):
    runner, app = cli
    csv = tmp_path / "levels.csv"
    csv.write_text("time_s,value\n0,1.0\n")
    s = tmp_path / "s.py"
    s.write_text(SCENARIO.replace("seed=1,", f"seed=1, resources=[__import__('host').CsvReplay(path={str(csv)!r})],"))
    r = runner.invoke(app, ["run", str(s), "-o", str(csv), "-q", "--force"])
    assert "input" in one_error_line(r)
    assert csv.read_text() == "time_s,value\n0,1.0\n"


def test_run_refuses_an_existing_output_without_force(cli, tmp_path, no_work):
    runner, app = cli
    s = tmp_path / "s.py"
    s.write_text(SCENARIO)
    out = tmp_path / "old.h5"
    out.write_bytes(b"precious")
    r = runner.invoke(app, ["run", str(s), "-o", str(out), "-q"])
    assert "exists" in one_error_line(r) and "--force" in r.output
    assert out.read_bytes() == b"precious"


def test_run_with_force_overwrites(cli, tmp_path):
    runner, app = cli
    s = tmp_path / "s.py"
    s.write_text(SCENARIO)
    out = tmp_path / "old.h5"
    out.write_bytes(b"old")
    r = runner.invoke(app, ["run", str(s), "-o", str(out), "-q", "--force"])
    assert r.exit_code == 0, r.output
    with traces.open(out) as t:
        assert len(t.frames) == 2 and t.meta["complete"]
    assert not list(tmp_path.glob(".*.lock"))  # the lock is gone with the run


@pytest.mark.parametrize("kind", ["folder", "parent_is_file", "read_only"])
def test_bad_output_path_fails_before_any_work(cli, tmp_path, no_work, monkeypatch, kind):
    runner, app = cli
    s = tmp_path / "s.py"
    s.write_text(SCENARIO)
    if kind == "folder":
        out = tmp_path / "adir"
        out.mkdir()
        want = "folder"
    elif kind == "parent_is_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "sub" / "t.h5"
        want = "not a folder"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        out = ro / "t.h5"
        if os.geteuid() == 0:  # root writes anywhere: pretend the folder is read-only
            real = os.open

            def ro_open(p, flags, *a, **k):
                if os.path.dirname(os.fspath(p)) == str(ro) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                    raise PermissionError(13, "Permission denied", os.fspath(p))
                return real(p, flags, *a, **k)

            monkeypatch.setattr(os, "open", ro_open)
        else:
            ro.chmod(0o555)
        want = "not writable"
    r = runner.invoke(app, ["run", str(s), "-o", str(out), "-q"])
    assert want in one_error_line(r)


def test_second_writer_of_the_same_file_is_refused(tmp_path):
    p = tmp_path / "t.h5"
    w = traces.TraceWriter(p, seed=1, scenario="", hardware={}, tool_version="t")
    try:
        with pytest.raises(OutputError, match="another run"):
            traces.TraceWriter(p, seed=2, scenario="", hardware={}, tool_version="t")
        # and from another process, through the CLI, even with --force
        s = tmp_path / "s.py"
        s.write_text(SCENARIO)
        r = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(s), "-o", str(p), "-q", "--force"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "another run" in r.stderr and "Traceback" not in r.stderr, r.stderr
    finally:
        w.close()
    with traces.open(p) as t:  # the first writer's file is intact
        assert t.meta["seed"] == 1 and t.meta["complete"]
    traces.TraceWriter(p, seed=3, scenario="", hardware={}, tool_version="t").close()  # free again


def test_claim_is_dropped_when_its_process_dies(tmp_path):
    p = tmp_path / "t.h5"
    code = f"import os, traces; c = traces.OutputClaim({str(p)!r}); os._exit(0)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    with OutputClaim(p):  # no stale lock
        pass


# ---- export / compare ------------------------------------------------------------------------


def test_export_never_writes_over_its_input(cli, tmp_path):
    runner, app = cli
    t = write_trace(tmp_path / "t.h5")
    before = Path(t).read_bytes()
    for force in ([], ["--force"]):
        r = runner.invoke(app, ["export", t, "--chrome-trace", t, *force])
        assert "input" in one_error_line(r)
        assert Path(t).read_bytes() == before
    from traces.chrome import export_chrome_trace

    with pytest.raises(OutputError, match="input"):
        export_chrome_trace(t, t)
    assert Path(t).read_bytes() == before


def test_export_refuses_an_existing_output_without_force(cli, tmp_path):
    runner, app = cli
    t = write_trace(tmp_path / "t.h5")
    js = tmp_path / "t.json"
    js.write_text("keep")
    r = runner.invoke(app, ["export", t, "--chrome-trace", str(js)])
    assert "exists" in one_error_line(r) and js.read_text() == "keep"
    r = runner.invoke(app, ["export", t, "--chrome-trace", str(js), "--force"])
    assert r.exit_code == 0, r.output
    assert json.loads(js.read_text())["traceEvents"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_compare_outputs(cli, tmp_path):
    runner, app = cli
    a = write_trace(tmp_path / "a.h5")
    b = write_trace(tmp_path / "b.h5")
    before = Path(a).read_bytes()
    r = runner.invoke(app, ["compare", a, b, "--csv", a])
    assert "input" in one_error_line(r) and Path(a).read_bytes() == before
    r = runner.invoke(app, ["compare", a, b, "--plot", b])
    assert "input" in one_error_line(r)
    (tmp_path / "f").write_text("x")
    r = runner.invoke(app, ["compare", a, b, "--csv", str(tmp_path / "f" / "c.csv")])
    assert "not a folder" in one_error_line(r)
    r = runner.invoke(app, ["compare", a, b, "--csv", str(tmp_path / "new" / "c.csv")])  # a missing folder is made
    assert r.exit_code == 0, r.output
    assert (tmp_path / "new" / "c.csv").is_file()
