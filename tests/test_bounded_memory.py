"""Report and Chrome export read /layers one slice at a time (bounded memory for traces of
any length), and give the same result whatever the slice size."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import traces
import traces.chrome as chrome
import traces.reader as reader
from traces import plots
from traces.report import write_report_files

from test_analysis import make_trace


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    return make_trace(tmp_path_factory.mktemp("bm") / "t.h5", n_frames=20)


@pytest.fixture
def no_full_layers(monkeypatch):
    real = reader.Trace.table

    def table(self, name, columns=None):
        if name == "layers":
            raise AssertionError("the whole /layers table was loaded")
        return real(self, name, columns)

    monkeypatch.setattr(reader.Trace, "table", table)


def test_report_and_export_never_load_all_layers(trace_file, tmp_path, no_full_layers, monkeypatch):
    monkeypatch.setattr(reader, "ITER_CHUNK_ROWS", 100)
    files = write_report_files(trace_file, tmp_path / "rep")
    assert files["html"]
    chrome.export_chrome_trace(trace_file, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]


@pytest.mark.parametrize("chunk", [1, 7, 10**6])
def test_slices_give_the_same_result(trace_file, tmp_path, monkeypatch, chunk):
    with traces.open(trace_file) as t:
        ref_b = plots.per_frame_breakdown(t)
        ref_ev = chrome.chrome_events(t)
        ref_f = plots.frame_layers(t)
    monkeypatch.setattr(chrome, "CHROME_CHUNK_ROWS", chunk)
    real_iter = reader.Trace.iter_table
    monkeypatch.setattr(reader.Trace, "iter_table",
                        lambda self, table, columns=None, chunk_rows=chunk: real_iter(self, table, columns, chunk))
    with traces.open(trace_file) as t:
        b = plots.per_frame_breakdown(t)
        for k in ("time_ms", "energy_mj", "level_mj", "traffic_mb"):
            pd.testing.assert_frame_equal(b[k], ref_b[k])
        pd.testing.assert_series_equal(b["frames"], ref_b["frames"])
        assert chrome.chrome_events(t) == ref_ev
        f = plots.frame_layers(t)
        assert [ax.get_title() for ax in f.axes] == [ax.get_title() for ax in ref_f.axes]
        assert [len(ax.patches) for ax in f.axes] == [len(ax.patches) for ax in ref_f.axes]
    # the whole layer table, read in slices, is the table
    with traces.open(trace_file) as t:
        parts = list(t.iter_table("layers", chunk_rows=chunk))
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), t.layers)
