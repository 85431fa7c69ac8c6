"""Tests of trace analysis: plots, report, Chrome/Perfetto export, comparison,
notebooks and the `cosim report / export / compare` commands.

The traces are small synthetic ones written with TraceWriter (2 streams x 40
frames, ~12 layers each, resource changes, dropped / aborted / missed frames,
several configurations, one with unknown accuracy).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import traces

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = ("mac", "weight_buffer", "input_buffer", "accum_buffer", "global_buffer", "noc", "dram", "ppu", "leakage")
COUNTERS = ("cycles", "compute_cycles", "tiles", "macs_useful", "macs_issued", "wbuf_read_bytes", "wbuf_write_bytes",
            "ibuf_read_bytes", "ibuf_write_bytes", "accbuf_read_bytes", "accbuf_write_bytes", "glb_read_bytes",
            "glb_write_bytes", "noc_bytes", "dram_read_bytes", "dram_write_bytes", "ppu_ops", "stall_dram_ps")

# (config, macs, accuracy) -- accuracies of SegFormer B0..B2 on ADE20K; the last is unknown
CONFIGS = [
    ("segformer-b0@512x512", 8.4e9, 37.41),
    ("segformer-b1@512x512", 15.9e9, 40.97),
    ("segformer-b2@512x512", 62.4e9, 45.58),
    ("segformer-b2@512x512/heads=1.1.2.4/mlp=0.5", 48.0e9, math.nan),
]
# (name, op, op_class, share of MACs)
LAYERS = [
    ("encoder.patch_embed1.proj", "conv", "dense_conv", 0.10),
    ("encoder.block1.0.attn.q", "linear", "pointwise", 0.08),
    ("encoder.block1.0.attn.sr", "conv", "dense_conv", 0.06),
    ("encoder.block1.0.attn.qk", "matmul", "attention", 0.07),
    ("encoder.block1.0.attn.softmax", "softmax", "non_mac", 0.0),
    ("encoder.block1.0.attn.av", "matmul", "attention", 0.07),
    ("encoder.block1.0.mlp.fc1", "linear", "pointwise", 0.16),
    ("encoder.block1.0.mlp.dwconv", "conv", "depthwise", 0.02),
    ("encoder.block1.0.mlp.gelu", "gelu", "non_mac", 0.0),
    ("encoder.block1.0.mlp.fc2", "linear", "pointwise", 0.16),
    ("decode_head.linear_fuse", "conv", "pointwise", 0.28),
    ("decode_head.resize", "resize", "non_mac", 0.0),
]


def make_trace(path, *, n_frames: int = 40, seed: int = 1, scale: float = 1.0, unknown_only: bool = False,
               scenario: str = "# synthetic test scenario\n", resources: bool = True) -> str:
    """Write a small, realistic trace: streams cam0 (30 fps) and cam1 (15 fps), frames
    run one at a time on the accelerator, layers nested in their frame's span."""
    rng = np.random.default_rng(seed)
    extras = {f"energy_{c}_j": "J" for c in COMPONENTS}
    extras.update({f"c_{n}": "" for n in COUNTERS})
    with traces.TraceWriter(path, seed=seed, scenario=scenario, hardware={"num_pes": 16, "vector_size": 16},
                            tool_version="0.1.0", created="2025-01-01T00:00:00Z", layer_extra_columns=extras,
                            flush_every_s=None, overwrite=True) as w:
        cfgs = CONFIGS[3:] if unknown_only else CONFIGS
        for c, macs, acc in cfgs:
            w.add_config(c, model=c.split("@")[0], knobs={}, macs=int(macs), params=1000,
                         accuracy=acc, accuracy_metric="ADE20K mIoU (single-scale)",
                         accuracy_source="mmsegmentation model zoo" if acc == acc else "", accuracy_label="ADE20K val")
        res = [(0.0, "pe_share", 1.0, "fraction"), (0.0, "clock_scale", 1.0, "fraction"),
               (0.0, "dram_share", 1.0, "fraction"), (0.0, "energy_budget_j", math.inf, "J"),
               (0.4, "pe_share", 0.5, "fraction"), (0.7, "clock_scale", 0.6, "fraction"),
               (0.9, "pe_share", 0.25, "fraction"), (1.1, "pe_share", 1.0, "fraction"),
               (1.2, "clock_scale", 1.0, "fraction")]
        if resources:
            w.append_resources([{"time_s": t, "resource": r, "value": v, "unit": u} for t, r, v, u in res])
        arrivals = []
        for s, period in (("cam0", 1 / 30), ("cam1", 1 / 15)):
            for i in range(n_frames):
                arrivals.append((i * period, s, i, period))
        arrivals.sort()
        busy = 0.0
        for arr, s, i, period in arrivals:
            deadline = arr + period
            row = dict(stream=s, frame=i, arrival_s=arr, deadline_s=deadline, start_s=math.nan, end_s=math.nan,
                       config="", accuracy=math.nan, latency_s=math.nan, energy_j=0.0, missed=False, dropped=False)
            start = max(arr, busy)
            if i % 13 == 7 or start >= deadline:  # dropped, never run
                row["dropped"] = True
                w.append_frames([row])
                continue
            k = int(rng.integers(0, len(cfgs)))
            if s == "cam1" and not unknown_only:
                k = min(k, 1)
            cfg, macs, acc = cfgs[k]
            lat_total = macs / 62.4e9 * 0.02 * scale * (1.8 if 0.7 <= arr < 1.2 else 1.0) * rng.uniform(0.9, 1.2)
            aborted = i % 17 == 11
            n = len(LAYERS) if not aborted else 6
            shares = np.array([0.04 if l[2] == "non_mac" else l[3] for l in LAYERS[:n]])
            dur = shares / shares.sum() * lat_total * (0.5 if aborted else 1.0)
            ls = start + np.concatenate([[0.0], np.cumsum(dur)[:-1]])
            le = start + np.cumsum(dur)
            end = float(le[-1])
            e = np.array([l[3] for l in LAYERS[:n]]) * macs * 4e-12 + 2e-5
            comp = {c: e * f for c, f in zip(COMPONENTS, (0.22, 0.08, 0.07, 0.05, 0.12, 0.06, 0.32, 0.03, 0.05))}
            layer_macs = (np.array([l[3] for l in LAYERS[:n]]) * macs).astype(np.int64)
            cols = {"stream": [s] * n, "frame": np.full(n, i), "layer": np.arange(n),
                    "name": [l[0] for l in LAYERS[:n]], "op": [l[1] for l in LAYERS[:n]],
                    "op_class": [l[2] for l in LAYERS[:n]], "start_s": ls, "end_s": le,
                    "macs_useful": layer_macs, "macs_issued": (layer_macs * 1.1).astype(np.int64),
                    "dram_bytes": (layer_macs / 200).astype(np.int64), "energy_j": e}
            cols.update({f"energy_{c}_j": v for c, v in comp.items()})
            for cn in COUNTERS:
                f = {"dram_read_bytes": 1 / 300, "dram_write_bytes": 1 / 600, "glb_read_bytes": 1 / 40,
                     "glb_write_bytes": 1 / 80, "noc_bytes": 1 / 30}.get(cn, 1 / 8)
                cols[f"c_{cn}"] = layer_macs * f
            w.append_layers(cols)
            row.update(start_s=start, end_s=end, config=cfg, latency_s=end - arr, energy_j=float(e.sum()),
                       accuracy=math.nan if aborted else acc, missed=bool(end > deadline and not aborted),
                       dropped=aborted)
            w.append_frames([row])
            busy = end
    return str(path)


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory):
    return make_trace(tmp_path_factory.mktemp("tr") / "synthetic-seed1.h5")


@pytest.fixture(scope="module")
def trace_path2(tmp_path_factory):
    return make_trace(tmp_path_factory.mktemp("tr2") / "slow-seed2.h5", seed=2, scale=1.6)


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def _texts(fig) -> str:
    out = [fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""]
    for ax in fig.axes:
        out += [ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return "\n".join(out)


def test_plots_render_with_units(trace_path, tmp_path):
    from traces import plots

    with traces.open(trace_path) as t:
        figs = {
            "glance": plots.run_at_a_glance(t),
            "breakdown": plots.time_energy_breakdown(t),
            "layers": plots.frame_layers(t),
        }
        for name, fig in figs.items():
            p = tmp_path / f"{name}.png"
            fig.savefig(p)
            assert p.stat().st_size > 20_000, name
        txt = _texts(figs["glance"])
        for unit in ("[s]", "[ms]", "[mJ]", "[fraction]"):
            assert unit in txt
        assert "energy_budget_j: unlimited" in txt.replace("\n", " ") or "unlimited (inf)" in txt
        assert "missed (" in txt and "dropped (" in txt
        txt = _texts(figs["breakdown"])
        for s in ("[ms / frame]", "[mJ / frame]", "[MB / frame]", "DRAM", "PE buffers", "attention"):
            assert s in txt
        b = plots.per_frame_breakdown(t)
        # per-frame layer time of a configuration equals its frames' mean inference time
        L = plots.layers_with_frames(t)
        c = b["time_ms"].index[0]
        f = t.frames[(t.frames["config"] == c) & ~t.frames["dropped"]]
        assert b["time_ms"].loc[c].sum() == pytest.approx(((f["end_s"] - f["start_s"]).mean()) * 1e3, rel=1e-9)
        assert set(b["traffic_mb"].columns) == {"DRAM", "global buffer", "NoC", "PE buffers"}
        assert len(L) == len(t.layers)


def test_compare_plot_says_unknown(trace_path, tmp_path):
    from traces import plots

    unk = make_trace(tmp_path / "unknown.h5", seed=3, unknown_only=True)
    fig = plots.compare_traces([trace_path, unk])
    txt = _texts(fig)
    assert "unknown" in txt and "synthetic-seed1" in "".join(t.get_text() for ax in fig.axes for t in ax.get_yticklabels())
    fig.savefig(tmp_path / "cmp.png")


def test_plots_of_an_empty_trace(tmp_path):
    from traces import plots

    p = tmp_path / "empty.h5"
    with traces.TraceWriter(p, seed=None, scenario="", hardware={}, tool_version="0.1.0", created="2025-01-01T00:00:00Z"):
        pass
    for fn in (plots.run_at_a_glance, plots.time_energy_breakdown, plots.frame_layers):
        fn(str(p)).savefig(tmp_path / f"{fn.__name__}.png")
    plots.compare_traces([str(p)]).savefig(tmp_path / "cmp.png")


# ---------------------------------------------------------------------------
# chrome trace
# ---------------------------------------------------------------------------


def test_chrome_trace_format_and_nesting(trace_path, tmp_path):
    from traces.chrome import export_chrome_trace

    out = export_chrome_trace(trace_path, tmp_path / "sub" / "t.json")
    with open(out) as fh:
        doc = json.load(fh)  # strict JSON: no NaN / Infinity
    ev = doc["traceEvents"]
    for e in ev:
        for k in ("ph", "ts", "pid", "tid"):
            assert k in e, e
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
    phs = {e["ph"] for e in ev}
    assert {"X", "C", "i", "M"} <= phs
    with traces.open(trace_path) as t:
        F, L, R = t.frames, t.layers, t.resources
    ran = F[F["start_s"].notna()]
    host = [e for e in ev if e["ph"] == "X" and e["cat"] == "frame" and e["pid"] == 1]
    assert len(host) == len(ran)
    assert len({e["tid"] for e in host}) == F["stream"].nunique()
    # ts in microseconds
    first = ran.sort_values("start_s").iloc[0]
    e0 = min(host, key=lambda e: e["ts"])
    assert e0["ts"] == pytest.approx(first["start_s"] * 1e6)
    assert e0["dur"] == pytest.approx((first["end_s"] - first["start_s"]) * 1e6)
    assert {"config", "deadline_s", "missed", "dropped"} <= set(e0["args"])
    drops = [e for e in ev if e["ph"] == "i" and e["cat"] == "drop"]
    assert len(drops) == int(F["dropped"].sum())
    # layers nest inside their frame's span on the same accelerator thread
    spans = {(e["args"]["stream"], e["args"]["frame"]): e for e in ev
             if e["ph"] == "X" and e["cat"] == "frame" and e["pid"] == 2}
    layers = [e for e in ev if e["ph"] == "X" and e["cat"] == "layer"]
    assert len(layers) == len(L)
    for e in layers:
        fr = spans[(e["args"]["stream"], e["args"]["frame"])]
        assert fr["tid"] == e["tid"]
        assert fr["ts"] - 1e-6 <= e["ts"] and e["ts"] + e["dur"] <= fr["ts"] + fr["dur"] + 1e-6
        assert {"op", "op_class", "macs_issued", "dram_bytes", "energy_uj"} <= set(e["args"])
    # frames do not overlap on one accelerator thread (so viewers nest events correctly)
    by_tid = {}
    for e in spans.values():
        by_tid.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for iv in by_tid.values():
        iv.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(iv, iv[1:]))
    counters = [e for e in ev if e["ph"] == "C"]
    assert len(counters) == int(np.isfinite(R["value"]).sum())
    names = {(e["pid"], e["tid"], e["name"]): e["args"]["name"] for e in ev if e["ph"] == "M" and "name" in e["args"]}
    assert names[(1, 0, "process_name")] and names[(2, 1, "thread_name")] == "inference"


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------


def test_compare_dataframe(trace_path, trace_path2):
    from traces.compare import compare

    df = compare([trace_path, trace_path2])
    assert list(df.columns.get_level_values(0).unique()) == ["synthetic-seed1", "slow-seed2"]
    assert set(df.columns.get_level_values(1)) == {"cam0", "cam1", "all"}
    s = traces.summary(trace_path).set_index("stream")
    assert df.loc["miss_rate", ("synthetic-seed1", "all")] == pytest.approx(s.loc["all", "miss_rate"])
    assert df.loc["frames", ("slow-seed2", "cam1")] == 40
    assert df.attrs["scenarios"]["slow-seed2"] == "synthetic test scenario"


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli():
    from typer.testing import CliRunner

    import cosim.cli_analysis  # noqa: F401  (registers the commands, also if cli.py does not import it yet)
    from cosim.cli import app

    return CliRunner(), app


def test_cli_report(cli, trace_path, tmp_path):
    runner, app = cli
    out = tmp_path / "rep"
    r = runner.invoke(app, ["report", trace_path, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "index.html" in r.output and "cam0" in r.output and "all" in r.output
    for f in ("index.html", "report.md", "summary.csv", "summary.json", "run_at_a_glance.png",
              "time_energy_breakdown.png", "frame_layers.png"):
        assert (out / f).stat().st_size > 0, f
    page = (out / "index.html").read_text()
    for f in ("run_at_a_glance.png", "time_energy_breakdown.png", "frame_layers.png"):
        assert f'src="{f}"' in page and f"]({f})" in (out / "report.md").read_text()
    assert "unknown" in page  # the configuration with no published accuracy


def test_cli_export_and_compare(cli, trace_path, trace_path2, tmp_path):
    runner, app = cli
    js = tmp_path / "t.json"
    r = runner.invoke(app, ["export", trace_path, "--chrome-trace", str(js)])
    assert r.exit_code == 0, r.output
    assert json.loads(js.read_text())["traceEvents"]
    r = runner.invoke(app, ["compare", trace_path, trace_path2])
    assert r.exit_code == 0, r.output
    for s in ("synthetic-seed1", "slow-seed2", "miss rate", "mean accuracy", "latency p99 [ms]"):
        assert s in r.output


@pytest.mark.parametrize("cmd", ["report", "export", "compare"])
def test_cli_bad_input(cli, tmp_path, trace_path, cmd):
    runner, app = cli
    not_trace = tmp_path / "x.h5"
    not_trace.write_text("not a trace")
    for bad in (str(tmp_path / "missing.h5"), str(not_trace)):
        args = {"report": ["report", bad, "--out", str(tmp_path / "r")],
                "export": ["export", bad, "--chrome-trace", str(tmp_path / "o.json")],
                "compare": ["compare", trace_path, bad]}[cmd]
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (r.output, r.exception)
        out = r.output.strip()
        assert "error:" in out and len(out.splitlines()) <= 2 and "Traceback" not in out, out


# ---------------------------------------------------------------------------
# notebooks
# ---------------------------------------------------------------------------


def _images(nb) -> int:
    n = 0
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {}):
                n += 1
    return n


@pytest.mark.parametrize("name,min_images", [("01_run_at_a_glance.ipynb", 2),
                                             ("02_where_time_and_energy_go.ipynb", 2),
                                             ("03_compare_runs.ipynb", 2)])
def test_notebook_runs(name, min_images, trace_path, trace_path2, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    path = REPO / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata["tags"] and "environ" not in first.source  # papermill-style
    inject_parameters(nb, **({"TRACES": [trace_path, trace_path2]} if "TRACES" in first.source else {"TRACE": trace_path}))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    assert _images(nb) >= min_images
    n_disp = sum(1 for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "display_data"
                 and "image/png" in o.get("data", {}))
    assert n_disp >= min_images


def inject_parameters(nb, **values):
    """The notebooks' own papermill-style injection (notebooks/make_notebooks.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "notebooks" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.inject_parameters(nb, **values)


def test_notebooks_are_generated_from_the_script(tmp_path):
    """The committed notebooks match notebooks/make_notebooks.py."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "notebooks" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, make in mod.NOTEBOOKS.items():
        want = make()
        have = nbformat.read(REPO / "notebooks" / name, as_version=4)
        assert [c.source for c in have.cells] == [c.source for c in want.cells], f"{name}: run notebooks/make_notebooks.py"
