"""Several traces side by side (:func:`compare_traces`): miss rate, mean accuracy, energy per
frame, p99 latency and configuration mix."""

from __future__ import annotations

import contextlib
import math
import os
import textwrap
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.figure import Figure

from .plot_common import UNKNOWN, _figure, _stream_colors, _trace, accuracy_metric, wrap_label
from .reader import Trace
from .style import RC as STYLE
from .summary import ALL, SUMMARY_FORMATS, config_counts, summary


def labels_for(paths: Sequence[str]) -> list[str]:
    """Distinct short labels for trace paths: file name stems, with parent folders
    added (then a counter) where two stems are equal."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    longer = [os.path.join(os.path.basename(os.path.dirname(os.path.abspath(p))), s) for p, s in zip(paths, stems)]
    if len(set(longer)) == len(longer):
        return longer
    return [f"{s} #{i + 1}" for i, s in enumerate(stems)]


def compare_traces(traces: Sequence, labels: Sequence[str] | None = None) -> Figure:
    """Several traces side by side: miss rate, mean accuracy ("unknown" where NaN),
    energy per frame, p99 latency and the configuration mix of run frames."""
    traces = list(traces)
    if not traces:
        raise ValueError("compare_traces needs at least one trace")
    with matplotlib.rc_context(STYLE), contextlib.ExitStack() as stack:
        ts = [stack.enter_context(_trace(x)) for x in traces]
        if labels is None:
            labels = labels_for([t.path for t in ts])
        labels = list(labels)
        if len(labels) != len(ts):
            raise ValueError(f"{len(labels)} labels for {len(ts)} traces")
        rows, mixes, metric = _aggregates(ts)
        all_cfgs = sorted({c for m in mixes for c in m.index}, key=lambda c: (_macs_of(ts, c), c))

        # traces on the y axis of every panel (their names written once, on the left): readable with
        # two traces or many, however long their names
        h_row = 0.5 * len(ts) + 1.6
        fig = _figure(14, 2 * h_row + 1.0)
        gs = fig.add_gridspec(2, 4, height_ratios=[1, 1])
        axes = [fig.add_subplot(gs[0, 0])]
        axes += [fig.add_subplot(gs[0, i], sharey=axes[0]) for i in range(1, 4)]
        ax_mix = fig.add_subplot(gs[1, :], sharey=axes[0])
        xl = [wrap_label(l, 22) for l in labels]
        x = np.arange(len(ts))
        pal = _stream_colors([f"{i:04d}" for i in range(len(ts))])
        cols = [pal[f"{i:04d}"] for i in range(len(ts))]
        specs = [  # scales and number formats: SUMMARY_FORMATS, as in every summary table
            ("miss rate", "miss_rate", "missed or dropped [% of frames]"),
            ("mean accuracy", "accuracy_mean", f"mean accuracy [{metric}]" if metric else "mean accuracy [-]"),
            ("energy per frame", "energy_per_frame_j", "energy [mJ / run frame]"),
            ("p99 latency", "latency_p99_s", "p99 latency [ms]"),
        ]
        axes[0].set_yticks(x, xl)
        axes[0].set_ylim(len(ts) - 0.4, -0.6)  # first trace on top
        for ax in axes[1:]:
            ax.tick_params(axis="y", labelleft=False)
        for ax, spec in zip(axes, specs):
            _metric_panel(ax, spec, rows, x, cols)
        _mix_panel(ax_mix, x, mixes, all_cfgs)
        fig.suptitle(f"comparison of {len(ts)} trace{'s' if len(ts) != 1 else ''}", x=0.01, ha="left")
        return fig


def _aggregates(ts: Sequence[Trace]) -> tuple[list[pd.Series], list[pd.Series], str]:
    """Per trace: its summary row over all streams and its configuration mix [% of run frames];
    and the accuracy metric they share ('' if none or several)."""
    rows = []
    mixes = []
    metrics = set()
    for t in ts:
        s = summary(t)
        rows.append(s[s["stream"] == ALL].iloc[0])
        cc = config_counts(t)
        cc = cc[cc["stream"] == ALL].set_index("config")["count"]
        mixes.append((cc / cc.sum() * 100) if cc.sum() else cc.astype(float))
        m = accuracy_metric(t)
        if m:
            metrics.add(m)
    return rows, mixes, metrics.pop() if len(metrics) == 1 else ""


def _metric_panel(ax, spec: tuple[str, str, str], rows: list[pd.Series], x: np.ndarray, cols: list[str]) -> None:
    """One summary metric of every trace: bars (a dot plot for the mean accuracy), NaN said as such."""
    title, key, xlabel = spec
    form = SUMMARY_FORMATS[key]
    raw = [float(r[key]) for r in rows]
    v = np.array(raw) * form.scale
    ax.set_title(title, loc="left")
    fin = np.isfinite(v)
    ax.set_xlabel(textwrap.fill(xlabel, 20))
    ax.grid(axis="y", visible=False)
    tr = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    na = UNKNOWN if key == "accuracy_mean" else "no data"
    for xi, f in zip(x, fin):  # NaN: say so where the bar / point would be
        if not f:
            ax.text(0.5, xi, na, transform=tr, ha="center", va="center", fontsize=10, color="#555555",
                    style="italic")
    hi = np.nanmax(v[fin]) if fin.any() else 0.0
    if key == "accuracy_mean":
        _accuracy_dots(ax, v, raw, fin, hi, rows, x, cols)
        return
    bars = ax.barh(x, np.where(fin, v, 0.0), color=cols, height=0.6)
    ax.bar_label(bars, [form.cell(ri) if f else "" for ri, f in zip(raw, fin)], fontsize=9, padding=2)
    if not fin.any():
        ax.set_xticks([])
    ax.set_xlim(0, hi * 1.3 if hi > 0 else 1)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))


def _accuracy_dots(ax, v: np.ndarray, raw: list[float], fin: np.ndarray, hi: float, rows: list[pd.Series],
                   x: np.ndarray, cols: list[str]) -> None:
    """The mean accuracies as a dot plot (they differ by little, and bars on a cut axis would
    exaggerate), each with its coverage where some frames' accuracy is unknown."""
    form = SUMMARY_FORMATS["accuracy_mean"]
    ax.scatter(v[fin], x[fin], s=80, c=[cols[i] for i in np.flatnonzero(fin)], zorder=3)
    for i in np.flatnonzero(fin):
        known, run = int(rows[i]["accuracy_known"]), int(rows[i]["run"])
        txt = form.cell(raw[i]) + (f" ({known}/{run} frames known)" if known < run else "")
        ax.annotate(txt, (v[i], x[i]), xytext=(0, -9), textcoords="offset points", ha="center",
                    va="top", fontsize=9 if known == run else 8)
    if fin.any():
        lo = np.nanmin(v[fin])
        pad = max(0.6 * (hi - lo), 0.6)
        ax.set_xlim(lo - pad, hi + pad)
    else:
        ax.set_xticks([])


def _mix_panel(ax_mix, x: np.ndarray, mixes: list[pd.Series], all_cfgs: list[str]) -> None:
    """The configuration mix of each trace: shares of run frames stacked, cheapest configuration first."""
    ax_mix.set_title("configuration mix (share of run frames)", loc="left")
    left = np.zeros(len(x))
    cmap = matplotlib.colormaps["viridis"]
    for i, c in enumerate(all_cfgs):
        share = np.array([float(m.get(c, 0.0)) for m in mixes])
        color = cmap(i / max(1, len(all_cfgs) - 1) * 0.9)
        ax_mix.barh(x, share, left=left, color=color, label=wrap_label(c, 34), edgecolor="white", lw=0.5, height=0.6)
        for xi, (l0, sv) in enumerate(zip(left, share)):
            if sv >= 8:
                ax_mix.text(l0 + sv / 2, xi, f"{sv:.0f}%", ha="center", va="center", fontsize=9,
                            color="white" if i / max(1, len(all_cfgs) - 1) < 0.6 else "black")
        left += share
    for xi, tot in enumerate(left):
        if tot == 0:
            ax_mix.text(1, xi, "no frame ran", va="center", fontsize=9.5, color="#555555")
    ax_mix.tick_params(axis="y", labelleft=True)
    ax_mix.grid(axis="y", visible=False)
    ax_mix.set_xlim(0, 100)
    ax_mix.set_xlabel("share of run frames [%]")
    if all_cfgs:
        ax_mix.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="configuration (MACs ↑)",
                      fontsize=8.5 if len(all_cfgs) > 8 else 9.5)


def _macs_of(ts: Sequence[Trace], config: str) -> float:
    for t in ts:
        c = t.configs
        if len(c):
            m = c.loc[c["config"] == config, "macs"]
            if len(m):
                return float(m.iloc[0])
    return math.inf

