"""The command line behaves as a gem5 / Unix user expects: --version, help with choices and plain
flags, --set with unit literals and "did you mean", messages printed as written, derived files
beside (never inside) a results folder, SystemC's own diagnostics on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli():
    from cosim.cli import app

    return CliRunner(), app


def test_version_and_help(cli):
    from cosim import __version__

    runner, app = cli
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.startswith(f"dynvit-cosim {__version__}"), r.output
    r = runner.invoke(app, ["run", "--help"])
    assert r.exit_code == 0
    assert "<decoupled|tile>" in r.output and "<bool>" not in r.output, r.output
    assert "--force" in r.output and "--set FIELD=VALUE" in r.output
    r = runner.invoke(app, ["simulate", "segformer-b0", "--sync", "fast"])
    assert r.exit_code == 2 and "decoupled" in r.output and "tile" in r.output


def test_set_unit_literals_and_did_you_mean(cli):
    from accelerator.presets import apply_overrides, load_preset
    from vocab.params import ParamError

    hw = apply_overrides(load_preset("vs16"), ["clock_hz=800MHz", "global_buffer_bytes=128KiB",
                                               "dram_bandwidth_bytes_per_s=12.8GB/s", "dram_latency_s=43ns"])
    assert hw.clock_hz == 800e6 and hw.global_buffer_bytes == 131072
    assert hw.dram_bandwidth_bytes_per_s == 12.8e9 and hw.dram_latency_s == pytest.approx(43e-9)
    with pytest.raises(ParamError, match=r"unit 'ns' is not Hz"):
        apply_overrides(load_preset("vs16"), ["clock_hz=43ns"])
    with pytest.raises(ParamError, match=r"not an integer"):
        apply_overrides(load_preset("vs16"), ["global_buffer_bytes=1.5B"])
    runner, app = cli
    r = runner.invoke(app, ["hw", "show", "vs16", "--set", "num_pe=32"])
    assert r.exit_code == 2 and "did you mean 'num_pes'?" in r.output, r.output
    r = runner.invoke(app, ["hw", "show", "vs16", "--set", "clock_hz=800MHz", "--json"])
    assert r.exit_code == 0 and '"clock_hz": 800000000.0' in r.output


def test_sweep_error_with_brackets_printed_as_written(cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nmode: simulate\naxes:\n  preset: [vs16]\n  model: [segformer-b0]\n"
                    "  num_pes: {range: [1]}\n")
    runner, app = cli
    r = runner.invoke(app, ["sweep", str(spec), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "[lo, hi]" in r.output and "[lo, hi, step]" in r.output, r.output


def _results(d: Path) -> Path:
    import pandas as pd

    d.mkdir()
    pd.DataFrame({"point_id": ["a", "b", "c"], "latency_s": [1.0, 2.0, 3.0], "energy_j": [3.0, 1.0, 2.5],
                  "error": ["", "", ""]}).to_parquet(d / "part-a.parquet")
    return d


def test_pareto_writes_where_asked_never_inside_the_results(cli, tmp_path):
    import pandas as pd

    runner, app = cli
    res = _results(tmp_path / "sweep")
    r = runner.invoke(app, ["pareto", str(res)])
    assert r.exit_code == 0, r.output
    png = tmp_path / "sweep-pareto_latency_s_energy_j.png"
    assert png.is_file() and f"figure: {png}" in r.output
    assert sorted(p.name for p in res.iterdir()) == ["part-a.parquet"]
    assert len(pd.read_parquet(res)) == 3  # the folder still reads as results
    folder = tmp_path / "figs"
    folder.mkdir()
    r = runner.invoke(app, ["pareto", str(res), "-o", str(folder)])
    want = folder / "pareto_latency_s_energy_j.png"
    assert r.exit_code == 0 and want.is_file() and f"figure: {want}" in r.output, r.output
    r = runner.invoke(app, ["pareto", str(res), "-o", str(tmp_path / "noext")])
    assert r.exit_code == 0 and (tmp_path / "noext.png").is_file() and f"figure: {tmp_path / 'noext.png'}" in r.output


def test_systemc_diagnostics_go_to_stderr():
    code = """
from accelerator.model import Accelerator
from accelerator.presets import load_preset
acc = Accelerator.for_process(load_preset("simba-like"))
from accelerator.loader import load_systemc
load_systemc()
import cppyy
sc = cppyy.gbl.sc_core
sc.sc_report_handler.report(sc.SC_WARNING, "dynvit-test", "a diagnostic", "t.cpp", 1)
print("RESULT")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "RESULT\n", r.stdout
    assert "Warning: dynvit-test: a diagnostic" in r.stderr


def test_export_tables_and_tidy_compare_csv(cli, tmp_path):
    import json

    import pandas as pd
    import pyarrow.parquet as pq

    import traces
    from test_analysis import make_trace

    runner, app = cli
    a = make_trace(tmp_path / "a.h5")
    b = make_trace(tmp_path / "b.h5", seed=2, scale=1.6)
    r = runner.invoke(app, ["export", a, "--parquet", str(tmp_path / "pq"), "--csv", str(tmp_path / "csv")])
    assert r.exit_code == 0, r.output
    with traces.open(a) as t:
        for table in ("frames", "layers", "resources", "configs"):
            want = t.table(table)
            got = pd.read_parquet(tmp_path / "pq" / f"{table}.parquet")
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
            assert len(pd.read_csv(tmp_path / "csv" / f"{table}.csv")) == len(want)
        units = json.loads(pq.read_schema(tmp_path / "pq" / "frames.parquet").metadata[b"dynvit.units"])
        assert units == t.units("frames") and units["latency_s"] == "s"
    r = runner.invoke(app, ["export", a, "--csv", str(tmp_path / "csv")])
    assert r.exit_code == 2 and "--force" in r.output
    out = tmp_path / "cmp.csv"
    r = runner.invoke(app, ["compare", a, b, "--csv", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text().splitlines()
    assert text[0] == "trace,stream,metric,value,unit,complete"
    df = pd.read_csv(out)
    assert len(df) == 2 * 3 * 13 and set(df["stream"]) == {"cam0", "cam1", "all"}
    assert "a,all,frames,80,,True" in text  # counts as integers
    assert any(line.startswith("a,all,miss_rate,0.") for line in text)


def test_first_use_work_is_labelled_on_stderr(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DYNVIT_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "cosim", "workload", "segformer-b0", "-r", "64x64", "--json"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "lowering segformer-b0@64x64 to the layer IR (first use; cached afterwards)" in r.stderr
    assert r.stdout.startswith("{") and r.stdout.count("\n") == 1  # results alone on stdout
    r = subprocess.run([sys.executable, "-m", "cosim", "workload", "segformer-b0", "-r", "64x64", "--json"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0 and "lowering" not in r.stderr  # cached: nothing to say


@pytest.mark.parametrize("verbose", [False, True])
def test_third_party_warnings_only_with_v(verbose):
    code = f"""
import warnings, logging
from cosim import quiet
quiet.configure({verbose})
warnings.warn_explicit("Port 8787 is already in use.\\nPerhaps you already have a cluster running?", UserWarning,
                       "node.py", 1, module="distributed.node")
logging.getLogger("distributed.scheduler").warning("a scheduler notice")
import os
print(os.environ.get("TRANSFORMERS_VERBOSITY"), os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS"))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT)}.items()
                            if k not in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS")})
    assert r.returncode == 0, r.stderr
    shown = "Port 8787" in r.stderr and "a scheduler notice" in r.stderr
    assert shown == verbose, r.stderr
    assert r.stdout.split() == (["None", "None"] if verbose else ["error", "1"])
