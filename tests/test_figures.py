"""Every figure of the project, rendered and checked the way a reviewer would look at it
(traces/style.py `lint`: no overlapping tick labels, every numeric axis labelled with a unit,
no legend over data points, no exponent tick labels), plus the checker itself on figures that
break each rule. Trace figures use the synthetic traces of test_analysis; the study's figures
are drawn from result tables of the shape its sweeps write."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from test_analysis import make_trace
from traces import style


# ---------------------------------------------------------------------------------------------
# the checker
# ---------------------------------------------------------------------------------------------
def test_lint_finds_what_a_reviewer_rejects():
    fig = Figure(figsize=(3, 3))
    ax = fig.subplots()
    ax.scatter(np.arange(10), np.arange(10), label="points")
    ax.set_xticks(np.arange(10), [f"configuration {i}" for i in range(10)])   # crowded, overlapping
    ax.set_xlabel("configuration")
    ax.set_ylabel("latency")                                                   # no unit
    ax.legend(loc="center")                                                    # over the data
    problems = "\n".join(style.lint(fig))
    assert "overlap" in problems and "'latency' has no [unit]" in problems and "legend covers" in problems

    ok = style.figure(6, 3.5)
    ax = ok.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], "o-", label="a")
    ax.set_xlabel("time [s]")
    ax.set_ylabel("energy [mJ]")
    style.legend_outside(ax)
    assert style.lint(ok) == []


def test_plain_ticks_on_log_axes():
    fig = style.figure(5, 3)
    ax = fig.subplots()
    ax.plot([100, 200, 400], [1, 2, 3])
    ax.set_xscale("log")
    ax.set_xlabel("latency [ms]")
    ax.set_ylabel("energy [mJ]")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    assert any("10^" in t.get_text() or "times" in t.get_text() for t in ax.get_xticklabels())
    assert any("exponent" in p for p in style.lint(fig))
    style.plain_ticks(ax, "x")
    assert style.lint(fig) == []


# ---------------------------------------------------------------------------------------------
# trace figures (traces/plots.py)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def eight_traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("eight")
    return [make_trace(d / f"scenario-{name}-seed{i}.h5", seed=i, n_frames=12, scale=1 + 0.2 * i)
            for i, name in enumerate(("baseline", "throttled", "two-tenants", "low-bandwidth", "greedy",
                                      "edf", "slack", "energy-capped"))]


def test_trace_figures_pass_the_checks(eight_traces):
    import traces
    from traces import plots

    with traces.open(eight_traces[0]) as t:
        for fn in (plots.run_at_a_glance, plots.time_energy_breakdown, plots.frame_layers):
            assert style.lint(fn(t)) == [], fn.__name__


def test_run_at_a_glance_keeps_its_time_axis_without_resource_changes(tmp_path):
    import traces
    from traces import plots

    path = make_trace(tmp_path / "no-resources.h5", n_frames=12, resources=False)
    with traces.open(path) as t:
        assert len(t.resources) == 0
        fig = plots.run_at_a_glance(t)
    assert style.lint(fig) == []  # the empty resource panel must not take the time axis' numbers


@pytest.mark.parametrize("n", [2, 8])
def test_compare_plot_is_readable_with_2_and_8_traces(eight_traces, n, tmp_path):
    from traces import plots

    fig = plots.compare_traces(eight_traces[:n])
    assert style.lint(fig) == []
    assert [p.suffix for p in style.save(fig, tmp_path / "cmp.png")] == [".png", ".svg"]


# ---------------------------------------------------------------------------------------------
# cosim pareto
# ---------------------------------------------------------------------------------------------
def _results(n=40, seed=0):
    rng = np.random.default_rng(seed)
    lat = rng.uniform(1e-3, 9e-3, n)
    return pd.DataFrame({"preset": rng.choice(["vs8", "vs16", "vs32"], n), "config": [f"c{i}" for i in range(n)],
                         "latency_s": lat, "energy_j": 2e-5 / lat * rng.uniform(1, 1.6, n),
                         "area_mm2": rng.uniform(1, 4, n), "accuracy": rng.uniform(30, 46, n), "error": ""})


@pytest.mark.parametrize("z,acc,group", [(None, False, None), ("area_mm2", False, None), ("area_mm2", True, None),
                                         (None, False, "preset")])
def test_pareto_figure(z, acc, group):
    from explore import pareto as pa

    res = pa.fronts(_results(), ["latency_s", "energy_j"] + ([z] if z else []), maximise=["accuracy"] if acc else [],
                    group=group)
    fig = pa.draw(res, "latency_s", "energy_j", z, group=group)
    assert style.lint(fig) == []
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency [ms]" and ax.get_ylabel() == "energy [mJ]"
    steps = [ln for ln in ax.get_lines() if ln.get_drawstyle() == "steps-post"]
    assert steps and all(np.all(np.diff(ln.get_xdata()) >= 0) and np.all(np.diff(ln.get_ydata()) <= 0)
                         for ln in steps)                                     # a staircase, never doubling back
    if z:
        assert any(a.get_label() == "<colorbar>" and a.get_ylabel() == "area [mm²]" for a in fig.axes)


# ---------------------------------------------------------------------------------------------
# cosim reproduce: every figure of the study, from result tables of the sweeps' shape
# ---------------------------------------------------------------------------------------------
@pytest.fixture()
def captured(monkeypatch):
    """The figures the study saves (style.save still writes them)."""
    figs = {}
    real = style.save

    def save(fig, path, also=("svg",)):
        figs[path.name] = fig
        return real(fig, path, also)

    monkeypatch.setattr(style, "save", save)
    return figs


def test_study_figures_pass_the_checks(captured, tmp_path):
    from explore import reproduce_ofa as ro
    from explore import reproduce_parts as rp

    models = [f"segformer-b{i}" for i in range(6)] + ["swin-t", "resnet50"]
    classes = ("dense_conv", "depthwise", "conv1x1", "linear", "attention", "non_mac")
    rng = np.random.default_rng(1)
    share = {k: (lambda a: 100 * a / a.sum(axis=1, keepdims=True))(rng.uniform(0, 1, (8, 6)))
             for k in ("macs", "time_s", "energy_j")}
    rp._op_class_figure(tmp_path / "op_classes.png", models, classes, share, "simba-like")

    fams = ["full", "heads", "heads", "blocks", "ffn", "dec", "dec", "mixed", "switch B1", "switch B0"]
    b2 = pd.DataFrame({"family": fams, "macs_removed": np.linspace(0, 80, 10), "time_saved": np.linspace(0, 70, 10),
                       "energy_saved": np.linspace(0, 75, 10), "drop": np.linspace(0, 9, 10)})
    rp._b2_proxy_figure(tmp_path / "b2_dynamic.png", b2)
    rp._profile_figure(tmp_path / "b2_profile.png", b2, "segformer-demo", True)

    rows = [(p, c, "full" if c == 0 else ["heads", "dec", "mixed"][c % 3]) for p in
            ("vs8", "vs16", "vs32", "sq16", "sq32", "lanes4-vs8", "lanes4-vs32") for c in range(7)]
    vs = pd.DataFrame({"preset": [r[0] for r in rows], "family": [r[2] for r in rows],
                       "kept": [100 - 10 * r[1] for r in rows], "energy_j": rng.uniform(0.01, 0.05, len(rows))})
    rp._vector_figure(tmp_path / "vector_size.png", vs)

    designs = [(16, 65536, 25.6e9)] + [(p, g, b) for p in (16, 64) for g in (65536, 262144) for b in (25.6e9, 51.2e9)
                                       if (p, g, b) != (16, 65536, 25.6e9)]
    sc = pd.DataFrame([{"model": m, "hw": d, "latency_s": rng.uniform(5e-3, 0.3), "energy_j": rng.uniform(0.01, 0.4),
                        "edap": rng.uniform(0.5, 2)} for m in models[:6] for d in designs])
    rp._scaling_figure(tmp_path / "scaling.png", sc, designs, models[:6])

    ofa = pd.DataFrame({"subnet": [f"ofa-resnet50-mac{m}b" for m in ("4.1", "3.7", "3.0", "2.4", "1.8", "1.2",
                                                                     "0.9", "0.6")],
                        "drop": [0, 0.1, 0.5, 0.8, 1.5, 2.7, 3.5, 4.8], "time_saved": np.linspace(0, 75, 8),
                        "energy_saved": np.linspace(0, 80, 8)})
    ro._ofa_figure(tmp_path / "ofa.png", ofa)
    ro._gap_figure(tmp_path / "ofa_gap.png", [("as run: vs16, base = the 4.1B sub-net, drop in points", "", 70, 68,
                                               "0.9b", "1.2b")] + [(f"assumption {i} with a long name", "", 60 + i,
                                                                    55 + i, "0.9b", "1.8b") for i in range(7)])
    assert sorted(captured) == sorted(["op_classes.png", "b2_dynamic.png", "b2_profile.png", "vector_size.png",
                                       "scaling.png", "ofa.png", "ofa_gap.png"])
    for name, fig in captured.items():
        assert style.lint(fig) == [], name
        assert (tmp_path / name).with_suffix(".svg").is_file()


def test_resilience_figure_passes_the_checks(tmp_path):
    from cosim.accuracy_report import draw, figure, rows_of
    from workloads.accuracy import load_profile

    prof = load_profile("segformer-demo")
    rows = rows_of(prof)
    fig = draw(rows, None, prof)
    assert style.lint(fig) == []
    ax = fig.axes[0]
    assert ax.get_ylabel() == "mIoU [%]" and ax.get_xlabel() == "useful MACs [M]"   # a 0.11 GMAC model
    # one marker set per knob family (heads, blocks, ffn, dec), the full model as its own entry
    assert {t.get_text() for t in ax.figure.axes[-1].get_legend().get_texts()} == {"heads", "blocks", "ffn", "dec",
                                                                                 "full model"}
    fig_path = figure(rows, None, prof, tmp_path / "resilience.png")
    assert fig_path.is_file() and fig_path.with_suffix(".svg").is_file()
