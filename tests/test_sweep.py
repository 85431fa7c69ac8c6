"""Design-space sweeps on Dask: spec validation names the field, stable point ids, a failing
point does not stop the sweep, resume skips finished points, an existing cluster (by address)
gives the same results as a local one; Pareto fronts and knees."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import explore
from explore.pareto import fronts, knee_index, pareto_mask
from explore.sweep_driver import SweepReport
from explore.sweep_results import finished_ids, load_results
from explore.sweep_spec import SpecError, load_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"name": "tiny", "fixed": {"model": "segformer-b0", "resolution": "64x64"},
        "axes": {"preset": ["vs8", "vs16"], "knob.dec": [256, 128], "accum_buffer_bytes": [3072, 4]}}
VALUES = ["latency_s", "energy_j", "dram_bytes", "macs", "utilization", "area_mm2", "energy_dram_j", "error"]


@pytest.mark.parametrize("change, pattern", [
    ({"mode": "simulat"}, r"mode = 'simulat' is not allowed \(allowed: simulate, run\)"),
    ({"axis": {}}, r"unknown key\(s\) 'axis'; allowed: name, mode, seed, sample, fixed, axes"),
    ({"axes": {"num_pe": [1]}}, r"axes\.num_pe\[0\]: unknown coordinate 'num_pe' for mode 'simulate'; allowed: preset, model"),
    ({"axes": {"num_pes": [16, 0]}}, r"axes\.num_pes\[1\]: HardwareParams\.num_pes = 0 is out of range \(allowed: \[1, 4096\]\)"),
    ({"axes": {"clock_hz": ["fast"]}}, r"axes\.clock_hz\[0\]: HardwareParams\.clock_hz \[Hz\] = 'fast' is not a number"),
    ({"axes": {"preset": ["vs7"]}}, r"axes\.preset\[0\]: unknown preset 'vs7'; available presets: .*vs8"),
    ({"axes": {"num_pes": {"range": [16, 4]}}}, r"axes\.num_pes\.range: needs lo <= hi and step > 0"),
    ({"axes": {"num_pes": {"uniform": [1, 4]}}}, r"axes\.num_pes\.n: uniform needs n"),
    ({"axes": {"num_pes": {"grid": [1, 4]}}}, r"axes\.num_pes: an axis is a list of values, or a mapping with one of range"),
    ({"fixed": {"model": "segformer-b9"}}, r"fixed\.model: model 'segformer-b9' is not known; models: segformer"),
    ({"fixed": {"resolution": "big"}, "axes": {"model": ["segformer-b0"]}}, r"fixed\.resolution: resolution='big' must be HxW"),
    ({"axes": {"config": ["segformer-b0@64x64"]}}, r"give either config .* or model/knob\.\* coordinates, not both"),
    ({"sample": 0}, r"sample = 0 must be an integer >= 1"),
])
def test_spec_errors_name_the_field(change, pattern):
    spec = {**TINY, **change}
    with pytest.raises(SpecError, match=pattern):
        load_spec(spec)


def test_run_mode_coordinates_are_checked():
    with pytest.raises(SpecError, match=r"axes\.governor\[0\]: governor = 'best' is not known; allowed: static"):
        load_spec({"mode": "run", "axes": {"governor": ["best"]}})
    with pytest.raises(SpecError, match=r"axes\.scenario\[0\]: scenario 'nope': no such file"):
        load_spec({"mode": "run", "axes": {"scenario": ["nope"]}})
    with pytest.raises(SpecError, match=r"unknown coordinate 'model' for mode 'run'"):
        load_spec({"mode": "run", "axes": {"model": ["segformer-b0"]}})


def test_points_ids_grid_ranges_samples_and_coupled_axes(tmp_path):
    s = load_spec(TINY)
    pts = s.points()
    assert len(pts) == s.grid_size() == 8
    assert len({p.id for p in pts}) == 8 and pts == load_spec(TINY).points()          # stable
    p = tmp_path / "s.yaml"
    p.write_text("name: y\nfixed: {model: segformer-b0}\naxes:\n  num_pes: {range: [16, 64, 16]}\n"
                 "  org:\n    - {preset: vs8, tag.family: a}\n    - {preset: sq16, tag.family: b}\n"
                 "  clock_hz: {loguniform: [5e8, 1e9], n: 2}\nsample: 5\nseed: 3\n")
    s2 = load_spec(p)
    assert s2.grid_size() == 4 * 2 * 2 and len(s2.points()) == 5
    assert [d["num_pes"] for d in s2.axes[0][1]] == [16, 32, 48, 64]
    assert s2.axes[1][1][1] == {"preset": "sq16", "tag.family": "b"}
    assert [p.id for p in s2.points()] == [p.id for p in load_spec(p).points()]   # seeded draws
    assert "tag.family" in s2.columns and "org" not in s2.columns
    # 1e9 and 1000000000 are the same point
    a = load_spec({"fixed": {"model": "segformer-b0", "clock_hz": 1e9}}).points()[0]
    b = load_spec({"fixed": {"model": "segformer-b0", "clock_hz": 1000000000}}).points()[0]
    assert a.id == b.id


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """8 points (4 fail: accumulation buffer too small) on a local cluster of 2 workers."""
    out = tmp_path_factory.mktemp("sweep") / "res"
    rep = SweepReport()
    df = explore.sweep(TINY, out, workers=2, report=rep)
    assert rep.workers == 2 and rep.done == 8 and rep.failed == 4
    return df, out


def test_sweep_failing_points_resume_and_existing_cluster(tiny_sweep, tmp_path):
    import shutil

    from distributed import LocalCluster

    df, first = tiny_sweep
    out = tmp_path / "res"
    shutil.copytree(first, out)
    assert len(df) == 8 and len(list(out.glob("part-*.parquet"))) == 8
    bad = df[df["error"] != ""]
    assert len(bad) == 4 and bad["accum_buffer_bytes"].eq(4).all()                 # recorded, not fatal
    assert bad["error"].str.contains(r"accum_buffer_bytes \[B\] = 4 is too small").all()
    ok = df[df["error"] == ""]
    assert (ok["latency_s"] > 0).all() and (ok["energy_j"] > 0).all() and ok["accuracy"].isna().all()
    assert ok["accuracy_label"].eq("unknown").all() and ok["config"].str.startswith("segformer-b0@64x64").all()
    assert (pd.read_parquet(out).sort_values("point_id")["point_id"].tolist()
            == df.sort_values("point_id")["point_id"].tolist())                       # plain pandas reads it

    # resume: nothing runs again (no cluster is even started); one lost point is re-run
    rep = SweepReport()
    explore.sweep(TINY, out, workers=2, report=rep)
    assert (rep.total, rep.skipped, rep.done) == (8, 8, 0)
    victim = ok["point_id"].iloc[0]
    (out / f"part-{victim}.parquet").unlink()
    assert victim not in finished_ids(out)

    # the missing point on an existing cluster (by address) equals what the local cluster gave
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        rep = SweepReport()
        df2 = explore.sweep(TINY, out, scheduler=cluster.scheduler_address, report=rep)
    assert (rep.skipped, rep.done, rep.failed) == (7, 1, 0)
    a = df.set_index("point_id").loc[victim, VALUES]
    b = df2.set_index("point_id").loc[victim, VALUES]
    assert a.tolist() == b.tolist()                                                   # bit for bit


def test_pareto_front_and_knee():
    v = np.array([[1, 5], [2, 3], [3, 2.5], [5, 1], [4, 4], [2, 3]])
    assert pareto_mask(v).tolist() == [True, True, True, True, False, True]
    front = v[pareto_mask(v)]
    assert front[knee_index(front)].tolist() in ([2, 3], [3, 2.5])
    df = pd.DataFrame({"latency_s": [1, 2, 3, 5, 4, 1.5], "energy_j": [5, 3, 2.5, 1, 4, 1.0],
                       "accuracy": [40, 41, 42, 43, 44, np.nan], "g": list("aabbab"), "error": [""] * 6})
    r = fronts(df, ["latency_s", "energy_j"])
    assert sorted(r.front.index) == [0, 5] and r.front["knee"].sum() == 1
    r = fronts(df, ["latency_s", "energy_j"], maximise=["accuracy"])
    assert r.n_dropped == 1 and 4 in r.front.index                        # the most accurate is on the front
    r = fronts(df, ["latency_s", "energy_j"], group="g")
    assert r.front["knee"].sum() == 2
    with pytest.raises(SpecError, match="column 'lat' is not in the results; numeric columns: latency_s"):
        fronts(df, ["lat", "energy_j"])


def test_cli_sweep_bad_spec_and_pareto(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    spec = tmp_path / "s.yaml"
    spec.write_text("axes:\n  num_pes: [0]\nfixed: {model: segformer-b0}\n")
    p = subprocess.run([sys.executable, "-m", "cosim.cli", "sweep", str(spec), "-o", str(tmp_path / "r")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and "axes.num_pes[0]: HardwareParams.num_pes = 0 is out of range" in p.stderr
    assert "Traceback" not in p.stderr
    res = tmp_path / "pts"
    res.mkdir()
    pd.DataFrame({"point_id": ["a", "b", "c"], "preset": ["x", "y", "z"], "latency_s": [1.0, 2.0, 3.0],
                  "energy_j": [3.0, 1.0, 2.0], "error": ["", "", ""]}).to_parquet(res / "part-a.parquet")
    p = subprocess.run([sys.executable, "-m", "cosim.cli", "pareto", str(res), "--x", "latency_s", "--y", "energy_j"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    # the figure goes beside the results folder, never inside it (readers glob the folder)
    assert "2 of 3 points" in p.stdout and (tmp_path / "pts-pareto_latency_s_energy_j.png").is_file()
    assert sorted(f.name for f in res.iterdir()) == ["part-a.parquet"]


def test_design_space_notebook_runs(tiny_sweep, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from pathlib import Path

    path = Path(ROOT) / "notebooks" / "04_design_space.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    from test_analysis import inject_parameters

    assert "SWEEP =" in next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).source
    inject_parameters(nb, SWEEP=str(tiny_sweep[1]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(ROOT) / "notebooks")}}).execute()
    images = sum(1 for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "display_data"
                 and "image/png" in o.get("data", {}))
    assert images >= 2
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "8 points, 4 failed" in text


def test_run_point_in_process(tmp_path):
    """A `run` point: a scenario with the point's hardware, seed and governor (no Dask here)."""
    from explore.sweep_points import run_point
    from explore.sweep_spec import make_point

    scen = tmp_path / "scen.py"
    scen.write_text(
        "from cosim import System\nfrom host import FrameSource, Stream\n"
        "system = System(name='t', hardware='rt-64pe', duration_s=0.2, seed=1, streams=[Stream(name='s', "
        "candidates=['segformer-b0@64x64'], source=FrameSource(fps=50.0), governor='greedy')])\n")
    spec = load_spec({"mode": "run", "fixed": {"scenario": str(scen)},
                      "axes": {"num_pes": [64, 8], "governor": ["static"]}})
    pts = spec.points()
    assert len(pts) == 2 and pts[0].id == make_point("run", pts[0].as_dict()).id
    rows = [run_point("run", p.as_dict()) for p in pts]
    assert all(r["error"] == "" for r in rows), rows
    assert all(r["frames"] == 10 for r in rows)
    big, small = sorted(rows, key=lambda r: -r["area_mm2"])
    assert small["latency_p50_s"] > big["latency_p50_s"]            # 8 of 64 PEs: slower
    bad = run_point("run", {"scenario": str(scen), "accum_buffer_bytes": 4})
    assert "accum_buffer_bytes [B] = 4 is too small" in bad["error"] and "\n" not in bad["error"]


def test_study_specs_load_and_op_classes_split_pointwise():
    from pathlib import Path

    from explore.reproduce import PARTS, STUDY_DIR
    from explore.study import macs_by_class

    for p in PARTS:
        assert load_spec(Path(STUDY_DIR) / f"{p}.yaml").points()
    import workloads

    for cid in ("segformer-b0@64x64", "resnet50@224x224"):
        m = macs_by_class(cid)
        wl = workloads.lower(workloads.parse_config(cid))
        b = wl.breakdown()
        assert sum(m.values()) == wl.total_macs
        assert m["conv1x1"] + m["linear"] == b["pointwise"]               # the IR's pointwise, split
        assert m["depthwise"] == b["depthwise"] and m["attention"] == b["attention"]
        assert m["dense_conv"] == b["dense_conv"]
    assert macs_by_class("segformer-b0@64x64")["linear"] > 0 and macs_by_class("resnet50@224x224")["conv1x1"] > 0


def test_chains_keep_a_hardware_on_one_worker():
    from explore.sweep_points import chains

    pts = load_spec(TINY).points()                       # 2 presets x 2 buffers: 4 hardware groups of 2
    cs = chains(pts, workers=2)
    assert sorted(len(c) for c in cs) == [2, 2, 2, 2] and sorted(p.id for c in cs for p in c) == sorted(p.id for p in pts)
    for c in cs:
        assert len({(p.as_dict()["preset"], p.as_dict()["accum_buffer_bytes"]) for p in c}) == 1
    one = load_spec({"fixed": {"model": "segformer-b0", "preset": "vs8"}, "axes": {"knob.dec": [256, 128, 64, 32]}})
    assert [len(c) for c in chains(one.points(), workers=2)] == [2, 2]   # one group, two workers: split
    assert [len(c) for c in chains(one.points(), workers=1)] == [4]


def test_a_write_cut_short_is_invisible(tiny_sweep, tmp_path):
    """Rows are written to a hidden temporary file and renamed: a sweep killed mid-write leaves a
    file that neither pandas nor the resume logic sees, so that point simply runs again."""
    import shutil

    out = tmp_path / "res"
    shutil.copytree(tiny_sweep[1], out)
    victim = sorted(out.glob("part-*.parquet"))[0]
    half = victim.read_bytes()[:100]
    victim.unlink()
    (out / f".tmp-{victim.stem[5:]}-deadbeef.parquet").write_bytes(half)
    assert len(pd.read_parquet(out)) == 7 and len(explore.load_results(out)) == 7
    assert victim.stem[5:] not in finished_ids(out)


def test_cli_reproduce_rejects_an_unknown_part(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.run([sys.executable, "-m", "cosim.cli", "reproduce", "--only", "vectors", "-o", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and "--only 'vectors' is not a part; parts: op_classes, b2_dynamic" in p.stderr


def test_reproduce_sweeps_at_once_stop_without_a_row_for_an_interrupted_point(tmp_path):
    """`cosim reproduce` runs its sweeps at once, each from a thread (explore/reproduce.py). When
    one ends the study with an error (here its progress callback raises), the others stop: a
    point that was waiting or running when the client closed gets no row (it was interrupted,
    not failed; a re-run runs it), and the error reaches the caller."""
    from explore.reproduce import _run_sweeps

    axes = {**TINY["axes"], "accum_buffer_bytes": [3072, 4096]}  # 8 points, none failing
    specs = {n: load_spec({**TINY, "name": n, "axes": axes}) for n in ("a", "b")}

    def progress(name, rep):
        if name == "a" and rep.done == 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _run_sweeps(specs, tmp_path, 1, None, lambda m: None, progress)
    rows = 0
    for n in specs:
        d = tmp_path / "sweeps" / n
        if any(d.glob("part-*.parquet")):
            df = load_results(d)
            assert (df["error"] == "").all(), df["error"].tolist()
            rows += len(df)
    assert 2 <= rows < 16  # the study stopped part-way; what ran is kept
    # a re-run resumes: it runs only the points without a row, and every point ends with one
    out = _run_sweeps(specs, tmp_path, 1, None, lambda m: None)
    assert all(len(df) == 8 and (df["error"] == "").all() for df in out.values())
