"""Reporting honesty: mean accuracies say over how many frames, different metrics are never
averaged together, and notebook 03 runs out of the box on the traces that exist."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import traces

REPO = Path(__file__).resolve().parents[1]


def mixed_trace(path):
    """Stream 'seg' runs a segmentation config (mIoU), stream 'cls' a classifier (top-1)."""
    with traces.TraceWriter(path, seed=1, scenario="", hardware={}, tool_version="t",
                            created="2025-01-01T00:00:00Z") as w:
        w.add_config("seg-a", model="seg", knobs={}, macs=10, params=1, accuracy=40.0, accuracy_metric="ADE20K mIoU")
        w.add_config("cls-a", model="cls", knobs={}, macs=5, params=1, accuracy=80.0, accuracy_metric="ImageNet top-1")
        w.add_config("cls-x", model="cls", knobs={}, macs=4, params=1, accuracy=math.nan, accuracy_metric="")
        rows = []
        for i in range(6):
            for s, c, acc in (("seg", "seg-a", 40.0), ("cls", "cls-a" if i < 4 else "cls-x", 80.0 if i < 4 else math.nan)):
                rows.append(dict(stream=s, frame=i, arrival_s=i * 0.1, deadline_s=i * 0.1 + 0.1, start_s=i * 0.1,
                                 end_s=i * 0.1 + 0.05, config=c, accuracy=acc, latency_s=0.05, energy_j=1e-3,
                                 missed=False, dropped=False))
        w.append_frames(rows)
    return str(path)


def test_accuracy_metrics_name_each_row(tmp_path):
    p = mixed_trace(tmp_path / "m.h5")
    m = traces.accuracy_metrics(p)
    assert m["seg"] == "ADE20K mIoU" and m["cls"] == "ImageNet top-1"
    assert m["all"] == "mixed: ADE20K mIoU, ImageNet top-1"
    # the summary itself never averages different metrics (a bare frames table cannot know them)
    for s in (traces.summary(p), traces.summary(traces.open(p))):
        rows = s.set_index("stream")
        assert math.isnan(rows.loc["all", "accuracy_mean"]) and rows.loc["all", "accuracy_known"] == 10
        assert rows.loc["seg", "accuracy_mean"] == pytest.approx(40.0)
    assert traces.summary_dict(p)["streams"]["all"]["accuracy_mean"] is None


@pytest.fixture
def cli():
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    return CliRunner(), app


def test_summary_and_report_never_average_different_metrics(cli, tmp_path):
    runner, app = cli
    p = mixed_trace(tmp_path / "m.h5")
    r = runner.invoke(app, ["report", p, "--out", str(tmp_path / "rep")], terminal_width=200)
    assert r.exit_code == 0, r.output
    rows = {line.split("│")[1].strip(): line for line in r.output.splitlines() if line.count("│") > 5}
    assert "mixed metrics" in rows["all"] and "60.00" not in rows["all"]  # (6*40 + 4*80) / 10 would be 56.00
    assert "40.00" in rows["seg"] and "(6/6)" in rows["seg"]
    assert "80.00" in rows["cls"] and "(4/6)" in rows["cls"]  # over how many frames the mean is
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "mixed metrics" in page and "56.00" not in page and "ImageNet top-1" in page
    q = mixed_trace(tmp_path / "n.h5")
    r = runner.invoke(app, ["compare", p, q], terminal_width=250)
    assert r.exit_code == 0, r.output
    acc_line = next(line for line in r.output.splitlines() if "mean accuracy" in line)
    assert acc_line.count("mixed metrics") == 2 and "56.00" not in acc_line


def test_notebook_03_runs_on_the_traces_there_are(tmp_path, monkeypatch):
    """From a fresh clone after `make run` there is one trace in runs/: notebook 03 runs on it."""
    import nbformat
    from nbclient import NotebookClient

    from test_analysis import make_trace

    runs = tmp_path / "runs"
    runs.mkdir()
    make_trace(runs / "default-seed1.h5")
    nb = nbformat.read(REPO / "notebooks" / "03_compare_runs.ipynb", as_version=4)
    from test_analysis import inject_parameters

    inject_parameters(nb, RUNS=str(runs))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    setup = next(c for c in nb.cells if c.cell_type == "code" and "glob.glob" in c.source)
    assert "default-seed1.h5" in str(setup.outputs)
