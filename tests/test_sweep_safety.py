"""Sweeps refuse what they cannot run before any worker starts, guard their results folder and
describe what each point ran (issues 20, 26 and 17): each test here failed before its fix."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time

import pytest

import cosim
import explore
from explore.sweep_checks import ResultsError, ResultsLock, row_violations
from explore.sweep_driver import SweepReport
from explore.sweep_spec import SpecError, load_spec
from vocab.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = {"name": "s", "fixed": {"model": "segformer-b0", "resolution": "64x64"}}


def spec(**axes):
    return {**BASE, "axes": axes}


# ---- sizes are checked before anything is expanded ---------------------------------------------
@pytest.mark.parametrize("doc, pattern", [
    (spec(num_pes={"range": [1, 1e12, 1]}), r"axes\.num_pes\.range: range .* gives 1e\+12 points, more than the "
                                            r"limit of 100000; set max_points"),
    (spec(clock_hz={"uniform": [5e8, 1e9], "n": 100_000_000}), r"axes\.clock_hz\.n: n = 100000000 gives 1e\+08 points"),
    (spec(**{"tag.a": {"range": [1, 1000]}, "tag.b": {"range": [1, 1000]}}),
     r"the grid \(1000 tag\.a x 1000 tag\.b\) gives 1e\+06 points, more than the limit"),
])
def test_sizes_are_refused_before_expansion(doc, pattern):
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match=pattern):
        load_spec(doc)
    assert time.perf_counter() - t0 < 10


def test_the_limit_can_be_raised_and_a_sample_never_expands_the_grid():
    s = load_spec({**spec(**{"tag.a": {"range": [1, 150_000]}}), "max_points": 200_000})
    assert s.grid_size() == 150_000
    with pytest.raises(SpecError, match=r"max_points = 0 must be an integer >= 1"):
        load_spec({**spec(**{"tag.a": [1]}), "max_points": 0})
    t0 = time.perf_counter()
    big = load_spec({**spec(**{f"tag.{k}": {"range": [1, 2000]} for k in "abc"}), "sample": 3, "seed": 1})
    pts = big.points()
    assert big.grid_size() == 8e9 and len(pts) == 3 and time.perf_counter() - t0 < 20
    # the sample of the grid is the one the expanded grid gave (the same seeded indices)
    small = load_spec({**spec(**{"tag.a": [1, 2, 3], "tag.b": [4, 5]}), "sample": 4, "seed": 7})
    import itertools
    import random

    grid = [dict(BASE["fixed"], **{"tag.a": a, "tag.b": b}) for a, b in itertools.product([1, 2, 3], [4, 5])]
    idx = sorted(random.Random(7).sample(range(6), 4))
    assert list(small.coordinates()) == [grid[i] for i in idx]


# ---- every value is checked before a worker starts --------------------------------------------
@pytest.mark.parametrize("doc, pattern", [
    (spec(clock_hz=[float("inf")]), r"axes\.clock_hz\[0\]: clock_hz = inf must be a finite number"),
    ({"mode": "run", "axes": {"duration_s": [float("inf")]}}, r"axes\.duration_s\[0\]: duration_s = inf must be a finite"),
    ({"mode": "run", "axes": {"seed": [10**23]}}, r"seed = 100000000000000000000000 does not fit a 64-bit integer"),
    (spec(**{"tag.x": [10**23]}), r"axes\.tag\.x\[0\]: tag\.x = 100000000000000000000000 does not fit a 64-bit"),
    ({**BASE, "fixed": {"model": "segformer-b0", "resolution": "100000x100000"}, "axes": {"preset": ["vs8"]}},
     r"the point with model=segformer-b0, resolution=100000x100000: resolution=100000x100000 is not allowed"),
    (spec(**{"knob.dec": [256, 999]}), r"the point with .*knob\.dec=999: knob dec=999 is out of range"),
])
def test_values_a_point_cannot_run_are_refused_up_front(doc, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_spec(doc)


def test_spec_files_that_are_not_specs(tmp_path):
    with pytest.raises(SpecError, match=r"is a folder; give a YAML file"):
        load_spec(tmp_path)
    b = tmp_path / "b.yaml"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(SpecError, match=r"not a text \(UTF-8\) file"):
        load_spec(b)
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.run([sys.executable, "-m", "cosim.cli", "sweep", str(tmp_path), "-o", str(tmp_path / "r")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    err = " ".join(p.stderr.split())
    assert p.returncode == 2 and "is a folder" in err and "does not exist" not in err and "Traceback" not in err


def test_workers_are_checked_alike_by_every_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    s = tmp_path / "s.yaml"
    s.write_text(json.dumps(spec(**{"knob.dec": [256]})))
    msgs = []
    for cmd in (["sweep", str(s), "-o", str(tmp_path / "r")], ["reproduce", "-o", str(tmp_path / "p")]):
        p = subprocess.run([sys.executable, "-m", "cosim.cli", *cmd, "-j", "0"], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=300)
        assert p.returncode == 2, (cmd, p.stdout, p.stderr)
        msgs.append(" ".join(p.stderr.split()))
    assert msgs[0] == msgs[1] and "--workers 0 must be an integer >= 1" in msgs[0]
    assert not (tmp_path / "p").exists()


def test_scheduler_addresses_fail_quickly_in_one_line(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for addr, pattern in (("not an address", r"is not a Dask scheduler address; give tcp://HOST:PORT"),
                          (f"tcp://127.0.0.1:{port}", r"cannot reach a Dask scheduler there")):
        t0 = time.perf_counter()
        with pytest.raises(UserError, match=pattern):
            explore.sweep(spec(**{"knob.dec": [256]}), tmp_path / "r", scheduler=addr)
        assert time.perf_counter() - t0 < 15


# ---- one writer per results folder --------------------------------------------------------------
def test_a_second_sweep_into_a_busy_folder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    code = (f"import sys, time; sys.path.insert(0, {ROOT!r}); from explore.sweep_checks import ResultsLock; "
            f"l = ResultsLock({str(out)!r}); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResultsError, match=rf"is being written by another sweep \(pid {holder.pid} on "
                                               rf"{os.uname().nodename}, started 20"):
            explore.sweep(spec(**{"knob.dec": [256]}), out, workers=1)
        assert not list(out.glob("part-*"))  # refused before any point ran
    finally:
        holder.kill()
        holder.wait()
    with ResultsLock(out):  # the OS dropped the killed holder's lock: no stale lock
        pass


def test_a_results_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    import explore.sweep_checks as sc

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(sc.os, "open", read_only)
    with pytest.raises(ResultsError, match=r"results folder .* is not writable \(Read-only file system\)"):
        explore.sweep(spec(**{"knob.dec": [256]}), tmp_path / "r", workers=1)


@pytest.mark.slow
def test_disk_full_then_a_damaged_part_then_resume(tmp_path, monkeypatch):
    """A full disk stops the sweep with one line and no half-written part; a damaged part is set
    aside and its point runs again (never counted as finished); the resume completes the sweep."""
    import pyarrow.parquet as pq

    out = tmp_path / "r"
    doc = spec(**{"knob.dec": [256, 128, 64]})
    real, calls = pq.write_table, []

    def full_after_one(table, where, *a, **k):
        calls.append(where)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, *a, **k)

    monkeypatch.setattr(pq, "write_table", full_after_one)
    rep = SweepReport()
    with pytest.raises(ResultsError, match=r"No space left on device; 1 of 3 points were written this run"):
        explore.sweep(doc, out, workers=1, report=rep)
    monkeypatch.undo()
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 1 and not list(out.glob(".tmp-*"))
    meta = pq.read_schema(parts[0]).metadata
    assert meta[b"dynvit.tool_version"] == cosim.__version__.encode()
    assert json.loads(meta[b"dynvit.units"])["latency_s"] == "s"
    parts[0].write_bytes(b"PAR1 not really")  # damaged
    rep = SweepReport()
    df = explore.sweep(doc, out, workers=1, report=rep)
    assert (rep.total, rep.skipped, rep.done) == (3, 0, 3) and len(rep.damaged) == 1
    assert "damaged result part(s) set aside" in str(rep)
    assert len(df) == 3 and (df["error"] == "").all()
    assert (out / f".damaged-{parts[0].name}").is_file()


# ---- what each point ran --------------------------------------------------------------------
def test_a_point_records_its_resolved_hardware():
    from explore.sweep_points import run_point

    row = run_point("simulate", {"model": "segformer-b0", "resolution": "64x64", "preset": "vs16", "num_pes": 64})
    assert row["error"] == "", row
    assert row["hardware"] == "vs16+num_pes=64" and row["hardware_preset"] == "vs16"
    assert json.loads(row["hardware_overrides"]) == {"num_pes": 64}
    params = json.loads(row["hardware_params"])
    assert params["num_pes"] == 64 and params["name"] == "vs16" and "vector_size" in params


def test_schema_metadata_carries_version_and_units():
    from explore.sweep_results import _schema

    s = load_spec(spec(clock_hz=[1e9]))
    meta = _schema(s, s.points()).metadata
    units = json.loads(meta[b"dynvit.units"])
    assert meta[b"dynvit.tool_version"] == cosim.__version__.encode()
    assert units["clock_hz"] == "Hz" and units["energy_j"] == "J" and units["energy_dram_j"] == "J"


def test_a_result_that_breaks_an_invariant_is_a_failed_point(monkeypatch):
    import explore.sweep_points as sw

    good = {"latency_s": 1e-3, "energy_j": 3.0, "energy_mac_j": 1.0, "energy_dram_j": 2.0, "utilization": 0.5,
            "macs": 10, "macs_issued": 12}
    assert row_violations(good) == ""
    clamped = {**good, "latency_s": 9.219e6, "utilization": 12.19}  # what clock_hz: 1e-3 gave
    why = row_violations(clamped)
    assert "utilization = 12.19 is outside [0, 1]" in why and "latency_s = 9.219e+06 s" in why
    assert "differs from the sum" in row_violations({**good, "energy_j": 4.0})
    monkeypatch.setattr(sw, "_simulate_point", lambda coords: {**clamped, "hardware": "vs8"})
    row = sw.run_point("simulate", {})
    assert row["error"].startswith("result violates invariants") and "latency_s" not in row


def test_damaged_parts_are_found_and_set_aside(tmp_path):
    """Without a cluster: a part whose footer does not read is found, set aside under a hidden name
    (no reader globs it) and no longer counted as finished."""
    import pandas as pd

    from explore.sweep_checks import damaged_parts, set_aside
    from explore.sweep_results import finished_ids, load_results

    pd.DataFrame({"point_id": ["a"], "error": [""]}).to_parquet(tmp_path / "part-a.parquet")
    (tmp_path / "part-b.parquet").write_bytes(b"PAR1 cut short")
    assert finished_ids(tmp_path) == {"a", "b"}  # the name alone said "finished" before
    with pytest.raises(SpecError, match=r"part-b\.parquet: not a readable sweep result part"):
        load_results(tmp_path)
    bad = damaged_parts(tmp_path)
    assert [p.name for p, _ in bad] == ["part-b.parquet"]
    set_aside(bad[0][0])
    assert finished_ids(tmp_path) == {"a"} and len(load_results(tmp_path)) == 1
    assert len(pd.read_parquet(tmp_path)) == 1  # the set-aside file is hidden from pandas too


def test_ctrl_c_stops_a_sweep_quietly_and_keeps_its_finished_points(tmp_path):
    """Ctrl-C in a terminal sends SIGINT to the whole process group. The Dask workers ignore it
    (explore.sweep_driver._client) and the sweep's process stops them: no worker prints a
    traceback, one line says what is kept, no point is recorded as failed, and a re-run runs
    only the points left."""
    import signal

    import yaml

    from explore.sweep_results import load_results
    from interrupt import interrupt_group

    s = tmp_path / "s.yaml"
    s.write_text(yaml.safe_dump(spec(preset=["vs8", "vs16", "vs32"], **{"knob.dec": [256, 128, 64, 32]})))
    out = tmp_path / "r"
    rc, err = interrupt_group([sys.executable, "-m", "cosim", "sweep", str(s), "-o", str(out), "-j", "1"],
                              lambda: bool(list(out.glob("part-*.parquet"))), signal.SIGINT, ROOT)
    assert rc == 130
    assert "Traceback" not in err and f"interrupted: every finished point is kept in {out}" in err, err
    done = load_results(out)
    assert 1 <= len(done) < 12 and (done["error"] == "").all(), done["error"].tolist()
    rerun = explore.sweep(load_spec(str(s)), out, workers=1)
    assert len(rerun) == 12 and (rerun["error"] == "").all()
