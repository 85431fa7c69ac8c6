"""No impossible number is ever written, and every path the command line reads or writes is
guarded (issues 20 and 27): derived-range validation, result invariants, run size, the one
output guard with the writer lock, input checks, and one accuracy profile per measurement.
Each test here failed before the fix it names."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import traces
from accelerator.params import ParamError, RuntimeResources
from accelerator.presets import load_preset
from cosim.cli import app
from traces.output import OutputError, atomic_output, output_path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "workloads" / "data" / "measured"


def one_line(r, *want: str) -> str:
    """Exit 2 with one short error, no traceback; returns the text (rich wraps long lines)."""
    # first-use progress lines ("... lowering X (first use; cached afterwards)") are not the error
    out = "\n".join(line for line in r.output.strip().splitlines() if not line.startswith("... "))
    assert r.exit_code == 2, (r.output, r.exception)
    assert "error:" in out and "Traceback" not in out and len(out.splitlines()) <= 4, out
    text = " ".join(out.split())
    for w in want:
        assert w in text, text
    return text


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def write_trace(path) -> str:
    with traces.TraceWriter(path, seed=1, scenario="", hardware={}, tool_version="t",
                            created="2025-01-01T00:00:00Z") as w:
        w.append_frames({"stream": "s", "frame": 0, "arrival_s": 0.0, "deadline_s": 0.1, "start_s": 0.0,
                         "end_s": 0.05, "config": "c", "accuracy": 1.0, "latency_s": 0.05, "energy_j": 1e-3,
                         "missed": False, "dropped": False})
    return str(path)


# ---- 20.1 derived ranges ------------------------------------------------------------------------


def test_clock_beyond_the_time_resolution_is_refused():
    with pytest.raises(ParamError, match=r"clock_hz.*1e\+12.*1 ps"):
        load_preset("simba-like").replace(clock_hz=1e13)
    with pytest.raises(ParamError, match="clock_hz"):
        RuntimeResources(clock_hz=2e12)
    with pytest.raises(ParamError, match="dram_latency_s"):
        load_preset("simba-like").replace(dram_latency_s=1e7)


def test_a_clock_too_slow_for_the_time_range_is_one_line_in_simulate_and_map():
    # before: a C++ invalid_argument traceback (simulate), nothing at all (map)
    one_line(cli("simulate", "segformer-demo", "--set", "clock_hz=1e-3"), "clock_hz", "limit of 1e+06 s")
    one_line(cli("map", "segformer-demo", "--set", "clock_hz=1e-3", "--layer", "3"), "clock_hz", "limit")
    one_line(cli("simulate", "segformer-demo", "--set", "dram_bandwidth_bytes_per_s=1e-3"),
             "dram_bandwidth_bytes_per_s")


def test_python_api_and_sweep_point_share_the_check():
    import workloads
    from accelerator.invariants import check_hardware
    from accelerator.model import Accelerator
    from explore.sweep_points import run_point

    hw = load_preset("simba-like").replace(clock_hz=1e-3)
    wl = workloads.lower(workloads.make_config("segformer-demo"))
    with pytest.raises(ParamError, match="clock_hz"):
        check_hardware(hw, wl)
    with pytest.raises(ParamError, match="clock_hz"):
        Accelerator.for_process(hw).load(wl)
    # before: a row with latency 9.219e6 s (the clamp) and utilisation 12.19, counted as succeeded
    row = run_point("simulate", {"model": "segformer-demo", "clock_hz": 1e-3})
    assert "clock_hz" in row["error"] and "latency_s" not in row
    check_hardware(load_preset("simba-like"), wl)  # the default is fine


def test_runtime_resources_that_leave_the_time_range_are_refused():
    import workloads
    from accelerator.model import Accelerator

    acc = Accelerator.for_process(load_preset("simba-like"))
    h = acc.load(workloads.lower(workloads.make_config("segformer-demo")))
    acc.set_resources(clock_hz=1e-3)
    with pytest.raises(ParamError, match="runtime resources"):
        acc.submit(h, tag="too-slow")
    acc.set_resources(RuntimeResources.full(acc.hw))
    tag = acc.submit(h, tag="fine")
    with pytest.raises(ParamError, match="runtime resources"):
        acc.set_resources(dram_share=1e-15)  # the queued inference would leave the range
    while acc.busy or tag in acc._jobs:
        acc.run_until(acc.now_ps() + 10**12)
    assert acc.result(tag).latency_s > 0


def test_run_with_a_slow_clock_is_one_line(tmp_path):
    # before: an (E549) uncaught exception traceback after profiling
    r = cli("run", "-o", str(tmp_path / "t.h5"), "-q", "--duration", "0.05", "--set", "clock_hz=1e-3")
    one_line(r, "clock_hz")
    assert not (tmp_path / "t.h5").exists()


# ---- 20.2 result invariants ----------------------------------------------------------------------


def _result():
    import workloads
    from accelerator.model import Accelerator

    acc = Accelerator.for_process(load_preset("simba-like"))
    return acc.run(workloads.lower(workloads.make_config("segformer-demo")))


def test_real_results_satisfy_the_invariants():
    from accelerator.invariants import check_result

    r = _result()
    assert check_result(r) is r
    assert 0 < r.utilization <= 1 and r.roofline_ratio >= 1


@pytest.mark.parametrize("damage, what", [
    (lambda r: r.counters.__setitem__((0, r.counter_names.index("cycles")), 1), "utilisation"),
    (lambda r: setattr(r, "end_ps", r.start_ps + 1), "compute bound"),
    (lambda r: r.energy.__setitem__(next(iter(r.energy)), -r.energy[next(iter(r.energy))]), "energy component"),
    (lambda r: r.energy.__setitem__(next(iter(r.energy)), r.energy[next(iter(r.energy))] * np.nan),
     "energy component"),
    (lambda r: setattr(r, "layers_done", r.n_layers - 1), "layers done"),
    (lambda r: r.counters.__setitem__((0, r.counter_names.index("macs_issued")), 0), "issued"),
])
def test_each_broken_invariant_is_an_error(damage, what):
    from accelerator.invariants import ResultInvariantError, check_result

    r = _result()
    r.counters = r.counters.copy()
    r.energy = {k: v.copy() for k, v in r.energy.items()}
    if what == "utilisation":
        r.counters[:, r.counter_names.index("cycles")] = 1
    else:
        damage(r)
    with pytest.raises(ResultInvariantError, match=what):
        check_result(r)


def test_a_violation_is_a_failed_sweep_point_not_a_row(monkeypatch):
    import accelerator.energy
    from explore.sweep_points import run_point

    real = accelerator.energy.EnergyModel.breakdown

    def negative(self, counts, dur):
        out = real(self, counts, dur)
        k = next(iter(out))
        out[k] = -np.abs(out[k]) - 1.0
        return out

    monkeypatch.setattr(accelerator.energy.EnergyModel, "breakdown", negative)
    row = run_point("simulate", {"model": "segformer-demo"})
    assert "energy component" in row["error"] and "energy_j" not in row


# ---- 20.3 sizes before work ----------------------------------------------------------------------


def test_a_run_too_large_is_refused_before_work(tmp_path, monkeypatch):
    from cosim import System, simulate
    from cosim.system import check_size
    from host import FrameSource, Stream

    big = System(name="big", duration_s=1e6, streams=[Stream(name="s", candidates=["segformer-demo"],
                                                                source=FrameSource(fps=1e4))])
    with pytest.raises(ParamError, match="DYNVIT_MAX_FRAMES"):
        simulate(big, tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()
    assert check_size(big, limit=10**11) == 10**10 + 1
    monkeypatch.setenv("DYNVIT_MAX_FRAMES", "1e11")
    assert check_size(big) == 10**10 + 1


# ---- 20.4 inputs ---------------------------------------------------------------------------------


def test_hw_naming_a_folder_or_a_binary_file_is_one_line(tmp_path):
    # before: IsADirectoryError / UnicodeDecodeError tracebacks
    one_line(cli("hw", "show", str(tmp_path)), "is a folder")
    one_line(cli("map", "segformer-demo", "--hw", str(tmp_path)), "is a folder")
    b = tmp_path / "b.yaml"
    b.write_bytes(b"\x00\x01\xffpreset")
    one_line(cli("hw", "show", str(b)), "binary")


def test_scenario_whose_build_raises_is_one_line(tmp_path):
    s = tmp_path / "s.py"
    s.write_text("def build():\n    raise KeyError('no such camera')\n")
    one_line(cli("run", str(s), "-o", str(tmp_path / "t.h5"), "-q"), "build()", "KeyError")
    s.write_bytes(b"\x00\x00binary")
    one_line(cli("run", str(s), "-o", str(tmp_path / "t.h5"), "-q"), "binary")


@pytest.mark.parametrize("n", ["-2", "0"])
def test_threads_below_one_is_one_line(tmp_path, n):
    # before: torch RuntimeError for -2; 0 silently meant "all cores"
    r = cli("accuracy", "segformer-demo", "--checkpoint", str(tmp_path), "--data", str(tmp_path),
            "-o", str(tmp_path / "p.yaml"), "--threads", n)
    one_line(r, f"--threads {n}", ">= 1")


def test_truncated_safetensors_is_one_line(tmp_path):
    from workloads import make_config
    from workloads.measure import CheckpointError, load_checkpoint
    from workloads.segformer import SegFormerFamily

    ck = tmp_path / "ck"
    shutil.copytree(DEMO / "segformer-demo-checkpoint", ck)
    w = ck / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    fam = SegFormerFamily()
    with pytest.raises(CheckpointError, match="truncated"):  # before: SafetensorError
        load_checkpoint(fam, make_config("segformer-demo"), ck)


# ---- 20.4 outputs and 27.1: one guard, the writer lock ------------------------------------------


def test_export_force_and_compare_never_touch_a_live_trace(tmp_path):
    a = write_trace(tmp_path / "a.h5")
    live = tmp_path / "live.h5"
    w = traces.TraceWriter(live, seed=7, scenario="", hardware={}, tool_version="t")
    try:
        before = live.read_bytes()
        # before: export --force replaced the live trace with JSON (exit 0); compare --csv wrote into it
        t = one_line(cli("export", a, "--chrome-trace", str(live), "--force"), "another run", f"pid {os.getpid()}")
        assert "live.h5" in t
        one_line(cli("compare", a, a, "--csv", str(live), "--force"), "another run")
        one_line(cli("compare", a, a, "--plot", str(live), "--force"), "another run")
        assert live.read_bytes() == before
    finally:
        w.close()
    with traces.open(live) as t:
        assert t.meta["seed"] == 7 and t.meta["complete"]


def test_compare_refuses_an_existing_file_without_force(tmp_path):
    a = write_trace(tmp_path / "a.h5")
    keep = tmp_path / "notes.csv"
    keep.write_text("mine")
    one_line(cli("compare", a, a, "--csv", str(keep)), "exists", "--force")  # before: silently replaced
    one_line(cli("compare", a, a, "--plot", str(keep)), "exists")
    assert keep.read_text() == "mine"
    r = cli("compare", a, a, "--csv", str(keep), "--force")
    assert r.exit_code == 0, r.output
    assert keep.read_text() != "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _results(tmp_path) -> Path:
    res = tmp_path / "pts"
    res.mkdir()
    pd.DataFrame({"point_id": ["a", "b"], "preset": ["x", "y"], "latency_s": [1.0, 2.0], "energy_j": [2.0, 1.0],
                  "error": ["", ""]}).to_parquet(res / "part-a.parquet")
    return res


def test_pareto_outputs(tmp_path):
    res = _results(tmp_path)
    part = res / "part-a.parquet"
    before = part.read_bytes()
    one_line(cli("pareto", str(res), "-o", str(part), "--force"), "input")
    assert part.read_bytes() == before
    one_line(cli("pareto", str(res), "-o", "/proc/x.png"), "/proc")
    f = tmp_path / "file"
    f.write_text("x")
    one_line(cli("pareto", str(res), "-o", str(f / "x.png")), "not a folder")  # before: FileExistsError
    png = tmp_path / "p.png"
    png.write_text("keep")
    one_line(cli("pareto", str(res), "-o", str(png)), "exists")
    assert cli("pareto", str(res), "-o", str(png), "--force").exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert cli("pareto", str(res)).exit_code == 0 and cli("pareto", str(res)).exit_code == 0  # default: replaced


def test_report_accuracy_onto_a_file_is_one_line(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    one_line(cli("report-accuracy", "segformer-demo", "-o", str(f)), "is a file")  # before: a traceback
    one_line(cli("report-accuracy", "segformer-demo", "-o", str(f / "sub")), "not a folder")
    assert f.read_text() == "x"


def test_accuracy_output_under_a_file_or_a_live_writer_is_one_line(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    args = ["accuracy", "segformer-demo", "--checkpoint", str(tmp_path), "--data", str(tmp_path)]
    one_line(cli(*args, "-o", str(f / "p.yaml")), "not a folder")  # before: FileExistsError
    p = tmp_path / "p.yaml"
    with traces.OutputClaim(p, overwrite=True):
        one_line(cli(*args, "-o", str(p)), "another run")


def test_output_path_leaves_nothing_half_written(tmp_path):
    old = tmp_path / "o.csv"
    old.write_text("old")
    with pytest.raises(RuntimeError):
        with output_path(old) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("boom")
    assert old.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]
    with pytest.raises(OutputError, match="exists"):
        with output_path(old, overwrite=False):
            pass


NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str):
    """A tmpfs of ``size`` (e.g. "64k") mounted at the new folder ``folder`` for the block; the
    test is skipped where mounting is not allowed."""
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]).returncode:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)])


@NEEDS_ROOT
def test_disk_full_is_one_line_and_leaves_no_partial_file(tmp_path):
    with small_tmpfs(tmp_path / "small", "64k") as mnt:
        with pytest.raises(OutputError, match="No space left"):
            with atomic_output(mnt / "big.json") as fh:
                fh.write("x" * (1 << 20))
                fh.flush()
        assert not any(p.name.startswith(".big.json.") and p.name.endswith(".tmp.json") for p in mnt.iterdir())
        assert not (mnt / "big.json").exists()


# ---- 27.2: one profile, one measurement --------------------------------------------------------


def _mixed_profile(tmp_path) -> Path:
    doc = yaml.safe_load((DEMO / "segformer-demo.yaml").read_text())
    cid = next(iter(doc["entries"]))
    doc["entries"][cid]["provenance"]["checkpoint_sha256"] = "f" * 64
    p = tmp_path / "mixed.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def test_reading_a_profile_that_mixes_checkpoints_says_so(tmp_path):
    from workloads.accuracy import AccuracyDataError, load_profile

    p = _mixed_profile(tmp_path)
    with pytest.raises(AccuracyDataError, match="mixes 2 measurements.*checkpoint_sha256"):
        load_profile(p)
    one_line(cli("report-accuracy", str(p), "-o", str(tmp_path / "rep")), "mixes")
    load_profile("segformer-demo")  # the shipped profile is one measurement


def test_adding_another_checkpoint_or_data_set_is_refused(tmp_path):
    from workloads.accuracy import AccuracyDataError
    from workloads.measure import Measurement, read_profile_doc

    prof = tmp_path / "p.yaml"
    shutil.copy(DEMO / "segformer-demo.yaml", prof)
    entries = read_profile_doc(prof)["entries"]
    first = next(iter(entries.values()))["provenance"]

    class Ck:
        sha256 = first["checkpoint_sha256"]

    class Data:
        name, split, task = first["dataset"], first["split"], "segmentation"

    synth = {"task": first["synthetic_task"]["task"]}
    same = Measurement(None, Ck(), Data(), [], prof, synthetic=synth)
    same.check_binding(entries)  # same checkpoint, data, split, metric: resumed
    other = Ck()
    other.sha256 = "0" * 64
    with pytest.raises(AccuracyDataError, match="checkpoint_sha256.*--new-profile"):
        Measurement(None, other, Data(), [], prof, synthetic=synth).check_binding(entries)
    d2 = Data()
    d2.split = "training"
    with pytest.raises(AccuracyDataError, match="different split"):
        Measurement(None, Ck(), d2, [], prof, synthetic=synth).check_binding(entries)
    with pytest.raises(AccuracyDataError, match="different metric"):
        Measurement(None, Ck(), Data(), [], prof, synthetic=None).check_binding(entries)


def test_accuracy_cli_refuses_to_mix_and_new_profile_replaces(tmp_path):
    from workloads.synthetic import write_dataset

    ck2 = tmp_path / "ck2"
    shutil.copytree(DEMO / "segformer-demo-checkpoint", ck2)
    cfg = ck2 / "config.json"
    cfg.write_text(cfg.read_text().replace("{", '{"_retrained": true,', 1))  # another checkpoint hash
    data = tmp_path / "data"
    write_dataset(data, train=0, val=2)
    prof = tmp_path / "p.yaml"
    shutil.copy(DEMO / "segformer-demo.yaml", prof)
    before = prof.read_bytes()
    args = ["accuracy", "segformer-demo", "--checkpoint", str(ck2), "--data", str(data), "-o", str(prof),
            "--threads", "1", "-q"]
    one_line(cli(*args), "checkpoint_sha256", "--new-profile")  # before: merged silently
    assert prof.read_bytes() == before
    r = cli(*args, "--new-profile")
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(prof.read_text())
    assert {e["provenance"]["checkpoint_sha256"] for e in doc["entries"].values()} != \
        {e["provenance"]["checkpoint_sha256"] for e in yaml.safe_load(before)["entries"].values()}
    assert len({e["provenance"]["checkpoint_sha256"] for e in doc["entries"].values()}) == 1


@NEEDS_ROOT
def test_a_full_cache_folder_is_one_line(tmp_path):
    # before: OSError 28 traceback writing a generated source (the SystemC shim) into the cache
    with small_tmpfs(tmp_path / "cache", "16k") as mnt:
        fd = os.open(mnt / "fill", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DYNVIT_CACHE_DIR": str(mnt / "c")}
        r = subprocess.run([sys.executable, "-m", "cosim", "simulate", "segformer-demo", "--rows", "1"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "No space left" in r.stderr and "DYNVIT_CACHE_DIR" in r.stderr, r.stderr[-2000:]
        assert "Traceback" not in r.stderr


def test_report_never_writes_into_a_live_file(tmp_path):
    a = write_trace(tmp_path / "a.h5")
    rep = tmp_path / "rep"
    rep.mkdir()
    live = rep / "summary.csv"
    with traces.OutputClaim(live, overwrite=True):
        live.write_text("being written")
        one_line(cli("report", a, "-o", str(rep), "--markdown"), "another run")
        assert live.read_text() == "being written"
    assert cli("report", a, "-o", str(rep), "--markdown").exit_code == 0
    assert not list(rep.glob(".*.lock"))


def test_report_of_a_bad_trace_leaves_no_folder(tmp_path):
    one_line(cli("report", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "rep")))
    assert not (tmp_path / "rep").exists()
