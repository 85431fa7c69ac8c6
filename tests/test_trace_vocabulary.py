"""Traces describe themselves: the vocabulary (energy components, counters, op classes and
their grouping into levels) travels in the file, readers take every name from there, files
written before it existed read with the frozen vocabulary of schema 1.0 files, and a trace
with names of its own is plotted and reported with them. Also: one table formats the summary
for the report, `cosim run` and `cosim compare`."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from matplotlib.figure import Figure

import traces
from cosim.recorder import Recorder
from traces import plots, schema
from traces.report import format_summary, write_report_files
from traces.summary import SUMMARY_COLUMNS, SUMMARY_FORMATS
from traces.vocabulary import LEGACY, TraceVocabulary
from accelerator.counters import COUNTERS, TENANCY_COUNTERS, TRAFFIC_LEVELS
from accelerator.energy import COMPONENTS as ALL_COMPONENTS, ENERGY_LEVELS as ALL_LEVELS
from vocab.names import OP_CLASSES, TENANCY_COMPONENTS

# the trace vocabulary of a run that cannot preempt (tenants: the preemption component and
# counters are stored only by runs that can; tests/test_tenant_metrics.py covers those)
ENERGY_COMPONENTS = tuple(c for c in ALL_COMPONENTS if c not in TENANCY_COMPONENTS)
ENERGY_LEVELS = {lv: cs for lv, cs in ALL_LEVELS.items() if not set(cs) <= set(TENANCY_COMPONENTS)}

LAYERS = [("l0", "conv", "dense_conv"), ("l1", "linear", "pointwise"), ("l2", "matmul", "attention"),
          ("l3", "softmax", "non_mac")]


def write(path, vocabulary: TraceVocabulary | None, components=ENERGY_COMPONENTS,
          counters=tuple(c[0] for c in COUNTERS if c[0] not in ("start_ps", "end_ps") and c[0] not in TENANCY_COUNTERS),
          layers=LAYERS,
          frames: int = 6) -> str:
    """A small trace: one stream, `frames` frames of `layers`, every energy component and
    counter column filled with distinct values."""
    extras = {schema.energy_column(c): "J" for c in components}
    extras.update({schema.counter_column(c): "" for c in counters})
    rng = np.random.default_rng(3)
    with traces.TraceWriter(path, seed=1, scenario="# vocabulary test\n", hardware={"num_pes": 4}, tool_version="t",
                            created="2025-01-01T00:00:00Z", layer_extra_columns=extras, vocabulary=vocabulary,
                            flush_every_s=None) as w:
        w.add_config("cfg", model="m", knobs={}, macs=1000, params=10, accuracy=40.0, accuracy_metric="mIoU")
        w.append_resources({"time_s": [0.0], "resource": ["pe_share"], "value": [1.0], "unit": ["fraction"]})
        t = 0.0
        for i in range(frames):
            n = len(layers)
            dur = rng.uniform(1e-4, 1e-3, n)
            start = t + np.concatenate([[0.0], np.cumsum(dur)[:-1]])
            comp = {c: rng.uniform(1e-6, 1e-5, n) for c in components}
            cols = {"stream": "cam0", "frame": i, "layer": np.arange(n), "name": [l[0] for l in layers],
                    "op": [l[1] for l in layers], "op_class": [l[2] for l in layers], "start_s": start,
                    "end_s": start + dur, "macs_useful": np.full(n, 100), "macs_issued": np.full(n, 110),
                    "dram_bytes": np.full(n, 64), "energy_j": sum(comp.values())}
            cols.update({schema.energy_column(c): v for c, v in comp.items()})
            cols.update({schema.counter_column(c): rng.uniform(1e3, 1e6, n) for c in counters})
            w.append_layers(cols)
            end = float(start[-1] + dur[-1])
            w.append_frames([{"stream": "cam0", "frame": i, "arrival_s": t, "deadline_s": t + 0.01, "start_s": t,
                              "end_s": end, "config": "cfg", "accuracy": 40.0, "latency_s": end - t,
                              "energy_j": float(cols["energy_j"].sum()), "missed": False, "dropped": False}])
            t = end
    return str(path)


def strip_vocabulary(path) -> None:
    """Make a fresh trace look like one written before schema 1.1 (the old writer wrote none of these)."""
    with h5py.File(path, "r+") as f:
        for k in (*schema.VOCABULARY_ATTRS, "schema_minor_version"):
            del f.attrs[k]


def texts(fig: Figure) -> str:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return "\n".join(out)


# ---- the declarations -----------------------------------------------------------------------


def test_every_energy_component_is_in_exactly_one_level_and_levels_name_known_counters():
    placed = [c for cs in ALL_LEVELS.values() for c in cs]
    assert sorted(placed) == sorted(ALL_COMPONENTS)  # none left out (the old plots left out mac_padded)
    counters = {n: u for n, u, _ in COUNTERS}
    for level, names in TRAFFIC_LEVELS.items():
        assert names and all(counters[n] == "B" for n in names), level


def test_cosim_vocabulary_is_the_accelerator_one():
    v = Recorder.trace_vocabulary(ENERGY_COMPONENTS)
    assert v.component_names == ENERGY_COMPONENTS and v.op_classes == OP_CLASSES
    assert set(v.energy_columns) | set(v.counter_columns) == set(Recorder.layer_extra_columns(ENERGY_COMPONENTS))
    assert dict(v.energy_levels) == ENERGY_LEVELS and dict(v.traffic_levels) == TRAFFIC_LEVELS
    assert {t.name: t.unit for t in v.counters}["dram_read_bytes"] == "B"
    # schema 1.0 files' names are still today's (later components and counters were added, none renamed or moved)
    assert set(LEGACY.component_names) <= set(v.component_names)
    assert [t for t in v.counters if t.name in LEGACY.counter_names] == list(LEGACY.counters)
    assert all(dict(v.energy_levels)[lv] == cs for lv, cs in LEGACY.energy_levels)


# ---- in the file --------------------------------------------------------------------------


def test_writer_stores_the_vocabulary_and_the_reader_takes_it(tmp_path):
    v = Recorder.trace_vocabulary(ENERGY_COMPONENTS)
    p = write(tmp_path / "new.h5", v)
    with h5py.File(p, "r") as f:
        assert int(f.attrs["schema_version"]) == schema.SCHEMA_VERSION == 1
        assert int(f.attrs["schema_minor_version"]) == schema.SCHEMA_MINOR_VERSION == 1
        comps = json.loads(f.attrs["energy_components"])
        assert [c["name"] for c in comps] == list(ENERGY_COMPONENTS)
        assert comps[0] == {"name": "mac", "column": "energy_mac_j", "unit": "J",
                            "doc": "multiply-accumulates of the workload (useful MACs)"}
        assert json.loads(f.attrs["op_classes"]) == list(OP_CLASSES)
        assert json.loads(f.attrs["traffic_levels"])[0] == ["DRAM", ["dram_read_bytes", "dram_write_bytes"]]
    with traces.open(p) as t:
        assert t.vocabulary == v
        assert t.meta["schema_minor_version"] == 1


def test_old_trace_reads_with_the_frozen_vocabulary_and_plots_alike(tmp_path):
    legacy = LEGACY.component_names  # what a schema 1.0 file could hold
    columns = [schema.energy_column(c) for c in legacy] + list(LEGACY.counter_columns)
    v = Recorder.trace_vocabulary(legacy).present(columns)  # today's names, cut to the old file's columns
    new = write(tmp_path / "new.h5", v, components=legacy, counters=LEGACY.counter_names)
    old = write(tmp_path / "old.h5", v, components=legacy, counters=LEGACY.counter_names)
    strip_vocabulary(old)
    with traces.open(new) as tn, traces.open(old) as to:
        assert to.vocabulary == LEGACY and "schema_minor_version" not in to.meta
        for table in schema.TABLES:  # the data is the same; only attributes were added
            assert tn.table(table).equals(to.table(table))
        bn, bo = plots.per_frame_breakdown(tn), plots.per_frame_breakdown(to)
        for k in ("time_ms", "energy_mj", "level_mj", "traffic_mb"):
            assert bn[k].equals(bo[k]), k
        assert list(bo["level_mj"].columns) == [lv for lv, _ in LEGACY.energy_levels]
        assert texts(plots.time_energy_breakdown(to)) == texts(plots.time_energy_breakdown(tn))
    files = write_report_files(old, tmp_path / "rep", formats=("md",))
    md = open(files["md"]).read()
    assert "schema 1.0 files" in md and "| energy component | mac_padded | energy_mac_padded_j | J |" in md


def test_trace_without_a_vocabulary_and_unknown_columns_keeps_them(tmp_path):
    """A schema 1.0 file read its energy/counter columns by prefix: one the frozen list lacks still shows."""
    p = write(tmp_path / "x.h5", None, components=("mac", "dram", "optics"), counters=("dram_read_bytes", "lasers"))
    with traces.open(p) as t:
        v = t.vocabulary
        assert v.component_names == ("mac", "dram", "optics") and v.counter_names == ("dram_read_bytes", "lasers")
        assert dict(v.energy_levels) == {"DRAM": ("dram",), "compute (MAC, PPU)": ("mac",)}
        assert dict(v.traffic_levels) == {"DRAM": ("dram_read_bytes",)}


def test_custom_vocabulary_is_plotted_and_reported_with_its_names(tmp_path):
    """Renamed and extra components, counters, op classes and levels: every figure and the report
    use the file's names, so nothing is hard-coded."""
    v = TraceVocabulary.of(
        energy_components=[("mac", "MACs"), ("photonic_link", "optical interconnect"), ("hbm", "stacked memory")],
        counters=[("hbm_bytes", "B", "HBM traffic"), ("link_bytes", "B", "bytes over the optical link"),
                  ("cycles", "cycle", "cycles")],
        op_classes=["spiking", "dense_conv", "attention"],
        energy_levels={"off-chip HBM": ["hbm"], "optical link": ["photonic_link"], "arithmetic": ["mac"]},
        traffic_levels={"HBM": ["hbm_bytes"], "optical link": ["link_bytes"]},
    )
    layers = [("s0", "spike", "spiking"), ("c0", "conv", "dense_conv"), ("a0", "matmul", "attention")]
    p = write(tmp_path / "custom.h5", v, components=("mac", "photonic_link", "hbm"),
              counters=("hbm_bytes", "link_bytes", "cycles"), layers=layers)
    with traces.open(p) as t:
        assert t.vocabulary == v
        b = plots.per_frame_breakdown(t)
        assert list(b["level_mj"].columns) == ["off-chip HBM", "optical link", "arithmetic"]
        assert list(b["traffic_mb"].columns) == ["HBM", "optical link"]
        assert list(b["energy_mj"].columns) == ["spiking", "dense_conv", "attention"]  # the file's order
        assert math.isclose(b["level_mj"].sum(axis=1).iloc[0], b["energy_mj"].sum(axis=1).iloc[0], rel_tol=1e-12)
        txt = texts(plots.time_energy_breakdown(t))
        for name in ("off-chip HBM", "optical link", "arithmetic", "HBM", "spiking"):
            assert name in txt, name
        for old in ("DRAM", "PE buffers", "global buffer"):
            assert old not in txt, old
        fig = plots.frame_layers(t)
        leg = [x.get_text() for ax in fig.axes if ax.get_legend() for x in ax.get_legend().get_texts()]
        assert leg == ["spiking", "dense conv", "attention"]
        # a name without a colour of its own gets one of the fallback palette, distinct from the others
        bars = {p.get_label(): p.get_facecolor() for ax in fig.axes if ax.get_legend()
                for p in ax.get_legend().get_patches()}
        assert len(set(bars.values())) == 3
    md = open(write_report_files(p, tmp_path / "rep", formats=("md",))["md"]).read()
    assert "| energy component | photonic_link | energy_photonic_link_j | J | optical link | optical interconnect |" in md
    assert "| counter | link_bytes | c_link_bytes | B | optical link | bytes over the optical link |" in md
    assert "schema 1.0" not in md


# ---- bad input ------------------------------------------------------------------------------


def test_vocabulary_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match=r"energy level 'chip' names 'sram'"):
        TraceVocabulary.of(energy_components=[("mac", "")], counters=[], op_classes=[],
                           energy_levels={"chip": ["mac", "sram"]}, traffic_levels={})
    with pytest.raises(ValueError, match=r"counter\(s\) declared twice: x"):
        TraceVocabulary.of(energy_components=[], counters=[("x", "B", ""), ("x", "B", "")], op_classes=[],
                           energy_levels={}, traffic_levels={})
    v = TraceVocabulary.of(energy_components=[("mac", ""), ("sram", "")], counters=[], op_classes=[],
                           energy_levels={}, traffic_levels={})
    with pytest.raises(ValueError, match=r"energy component 'sram' has its column 'energy_sram_j'"):
        write(tmp_path / "bad.h5", v, components=("mac",), counters=())
    with pytest.raises(ValueError, match="TraceVocabulary"):
        write(tmp_path / "bad2.h5", {"energy_components": []})


@pytest.mark.parametrize("damage", ["not json", "partial"])
def test_damaged_vocabulary_is_a_clear_error(tmp_path, damage):
    p = write(tmp_path / "d.h5", Recorder.trace_vocabulary(ENERGY_COMPONENTS))
    with h5py.File(p, "r+") as f:
        if damage == "partial":
            del f.attrs["traffic_levels"]
        else:
            f.attrs["counters"] = "[{"
    with traces.open(p) as t:
        with pytest.raises(traces.TraceFormatError, match="d.h5.*'(traffic_levels|counters)'"):
            t.vocabulary


# ---- one summary-formatting table -------------------------------------------------------------


def test_one_table_formats_every_summary_metric():
    assert tuple(SUMMARY_FORMATS) == SUMMARY_COLUMNS
    f = SUMMARY_FORMATS
    assert f["latency_p99_s"].header() == "latency p99 [ms]" and f["latency_p99_s"].cell(0.0287477) == "28.75"
    assert f["energy_per_frame_j"].cell(0.12069) == "120.7" and f["miss_rate"].cell(0.125) == "12.5"
    assert f["accuracy_mean"].cell(math.nan) == "unknown" and f["energy_total_j"].cell(math.nan) == "-"
    assert f["frames"].cell(7.0) == "7"


def test_report_run_summary_and_compare_print_the_same_cells(tmp_path, capsys):
    from typer.testing import CliRunner

    from cosim.cli import app, print_summary

    p = write(tmp_path / "a.h5", Recorder.trace_vocabulary(ENERGY_COMPONENTS))
    q = write(tmp_path / "b.h5", Recorder.trace_vocabulary(ENERGY_COMPONENTS), frames=3)
    with traces.open(p) as t:
        s = traces.summary(t)
        report = format_summary(s, traces.accuracy_metrics(t)).set_index("stream")
        print_summary(s, title="a")
    run_out = capsys.readouterr().out
    cmp_out = CliRunner().invoke(app, ["compare", p, q, "--all-only"], env={"COLUMNS": "250"}).output
    row = s.set_index("stream").loc["all"]
    for key in ("miss_rate", "energy_per_frame_j", "latency_p50_s", "latency_p99_s"):
        f = SUMMARY_FORMATS[key]
        cell = f.cell(row[key])
        assert report.loc["all", f.header()] == cell
        assert cell in run_out and f.header(compact=True) in run_out, key
        line = next(ln for ln in cmp_out.splitlines() if f.header() in ln)
        assert cell in line, (key, line)
