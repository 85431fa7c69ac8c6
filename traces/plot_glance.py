"""The run-at-a-glance figure of a trace (:func:`run_at_a_glance`): resources, configuration per
frame, latency vs deadline (misses and drops marked) and energy per frame over time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .plot_common import (DROP_COLOR, MISS_COLOR, _figure, _no_data, _stream_colors, _trace, accuracy_metric,
                          config_order, wrap_label)
from .reader import Trace
from .style import RC as STYLE
from .summary import ALL, SUMMARY_FORMATS, summary


def _run_end(trace: Trace) -> float:
    f = trace.frames
    vals = [0.0]
    for col in ("end_s", "deadline_s", "arrival_s"):
        if len(f):
            v = np.nanmax(f[col].to_numpy(float)) if np.isfinite(f[col].to_numpy(float)).any() else np.nan
            if np.isfinite(v):
                vals.append(float(v))
    r = trace.resources
    if len(r):
        vals.append(float(np.nanmax(r["time_s"].to_numpy(float))))
    return max(vals)



def _resource_groups(res: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """(unit, [resources]) panels: all fractions share one panel, other units get one each."""
    groups: dict[str, list[str]] = {}
    for name, unit in res.drop_duplicates("resource")[["resource", "unit"]].itertuples(index=False):
        groups.setdefault(str(unit), []).append(str(name))
    order = sorted(groups, key=lambda u: (u != "fraction", u))
    return [(u, sorted(groups[u])) for u in order]


def _plot_resources(ax, res: pd.DataFrame, unit: str, names: list[str], t_end: float) -> None:
    cyc = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    unlimited = []
    finite_any = False
    for i, name in enumerate(names):
        r = res[res["resource"] == name].sort_values("time_s", kind="stable")
        t = r["time_s"].to_numpy(float)
        v = r["value"].to_numpy(float)
        t = np.append(t, max(t_end, t[-1]))
        v = np.append(v, v[-1])
        fin = np.isfinite(v)
        color = cyc[i % len(cyc)]
        if fin.any():
            finite_any = True
            vv = np.where(fin, v, np.nan)
            ax.step(t, vv, where="post", color=color, lw=2.2 - 0.4 * (i % 3), ls=("-", "--", ":")[i % 3], label=name)
        else:
            ax.plot([], [], color=color, lw=2, label=f"{name} (unlimited)")
        # periods with an infinite value (e.g. no energy budget): shaded
        for k in range(len(v) - 1):
            if not fin[k]:
                ax.axvspan(t[k], t[k + 1], color=color, alpha=0.08, lw=0)
                unlimited.append(name)
    if unit == "fraction":
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("share of nominal\n[fraction]")
    else:
        ax.set_ylabel(f"{wrap_label(', '.join(names), 18)}\n[{unit or '-'}]")
    if unlimited and not finite_any:
        ax.text(0.5, 0.5, f"{', '.join(sorted(set(unlimited)))}: unlimited (inf) throughout",
                ha="center", va="center", transform=ax.transAxes, color="#555555")
        ax.set_yticks([])
    elif unlimited:
        ax.text(0.01, 0.95, "shaded: unlimited (inf)", transform=ax.transAxes, va="top", fontsize=9, color="#555555")
    ax.legend(loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)


def run_at_a_glance(trace, streams: Sequence[str] | None = None) -> Figure:
    """Resources over time, configuration chosen per frame, latency vs deadline
    (misses and drops marked) and energy per frame, on one time axis."""
    with matplotlib.rc_context(STYLE), _trace(trace) as t:
        frames = t.frames
        if streams is not None:
            frames = frames[frames["stream"].isin(list(streams))]
        res = t.resources
        # resources that are infinite throughout (e.g. no energy budget) get a note, not a panel
        inf_only = sorted(n for n, g in res.groupby("resource") if not np.isfinite(g["value"].to_numpy(float)).any())
        res_f = res[~res["resource"].isin(inf_only)]
        groups = _resource_groups(res_f) if len(res_f) else [("", [])]
        configs = config_order(t, [c for c in frames["config"].astype(str) if c])
        n_cfg = max(1, len(configs))
        heights = [1.6] * len(groups) + [max(1.6, 0.32 * n_cfg + 0.6), 2.2, 1.8]
        fig = _figure(12, sum(heights) + 1.4)
        axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
        t_end = _run_end(t)
        colors = _stream_colors(frames["stream"].unique())

        _resource_panels(axes, groups, res_f, inf_only, t_end)
        ax_cfg, ax_lat, ax_en = axes[len(groups):]
        f = _Frames.of(frames)
        _config_panel(ax_cfg, f, configs, colors)
        _latency_panel(ax_lat, f, colors)
        _energy_panel(ax_en, f, colors, t_end)

        s_all = summary(frames) if len(frames) else None
        fig.suptitle(_headline(t, s_all), x=0.01, ha="left")
        fig.align_ylabels(axes)
        return fig


def _resource_panels(axes, groups: list[tuple[str, list[str]]], res_f: pd.DataFrame, inf_only: list[str],
                     t_end: float) -> None:
    """The resources the host applied, one panel per group; resources unlimited throughout noted on
    the first."""
    for ax, (unit, names) in zip(axes, groups):
        if names:
            _plot_resources(ax, res_f, unit, names, t_end)
        else:
            _no_data(ax, "no finite resource values recorded" if inf_only else "no resource changes recorded")
    if inf_only:
        note = f"{', '.join(inf_only)}: unlimited (inf) throughout"
        ax0 = axes[0]
        if ax0.get_legend() is not None:
            hs, ls = ax0.get_legend_handles_labels()
            hs.append(Line2D([], [], ls="", marker=""))
            ls.append(wrap_label(note, 22))
            ax0.legend(hs, ls, loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)
        else:
            ax0.text(0.5, 0.25, note, ha="center", va="center", transform=ax0.transAxes, color="#555555")
    if groups:
        axes[0].set_title("resources the host applied", loc="left")


@dataclass(frozen=True)
class _Frames:
    """The frames of the figure sorted by (stream, frame), with the arrays its panels share."""

    fr: pd.DataFrame
    x: np.ndarray  # arrival time [s]: the time axis of every frame panel
    stream: np.ndarray
    ran: np.ndarray
    dropped: np.ndarray
    missed: np.ndarray

    @classmethod
    def of(cls, frames: pd.DataFrame) -> "_Frames":
        fr = frames.sort_values(["stream", "frame"], kind="stable")
        return cls(fr=fr, x=fr["arrival_s"].to_numpy(float), stream=fr["stream"].to_numpy(),
                   ran=~fr["dropped"].to_numpy(bool) & np.isfinite(fr["end_s"].to_numpy(float)),
                   dropped=fr["dropped"].to_numpy(bool), missed=fr["missed"].to_numpy(bool))


def _config_panel(ax, f: _Frames, configs: list[str], colors: dict[str, str]) -> None:
    """The configuration chosen for each frame (by frame arrival); aborted frames crossed."""
    ax.set_title("configuration chosen per frame (by frame arrival)", loc="left")
    if not configs:
        _no_data(ax, "no frame ran")
        return
    multi = len(colors) > 1
    x, dropped = f.x, f.dropped
    pos = {c: i for i, c in enumerate(configs)}
    y = np.array([pos.get(c, np.nan) for c in f.fr["config"].astype(str)], dtype=float)
    for s, col in colors.items():
        m = (f.stream == s) & ~dropped & np.isfinite(y)
        ax.scatter(x[m], y[m], s=14, color=col, label=s if multi else "run", zorder=3)
        m2 = (f.stream == s) & dropped & np.isfinite(y)
        if m2.any():
            ax.scatter(x[m2], y[m2], s=30, marker="x", color=DROP_COLOR, zorder=4)
    if (dropped & np.isfinite(y)).any():
        ax.scatter([], [], s=30, marker="x", color=DROP_COLOR, label="aborted (dropped)")
    ax.set_yticks(range(len(configs)), [wrap_label(c, 30) for c in configs])
    ax.set_ylim(-0.6, len(configs) - 0.4)
    ax.set_ylabel("configuration\n(MACs ↑)")
    ax.legend(loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)


def _latency_panel(ax, f: _Frames, colors: dict[str, str]) -> None:
    """Latency of each frame against its (relative) deadline; misses and drops marked."""
    ax.set_title("latency vs deadline per frame", loc="left")
    multi = len(colors) > 1
    x, dropped, missed = f.x, f.dropped, f.missed
    lat = f.fr["latency_s"].to_numpy(float) * 1e3
    rel_deadline = (f.fr["deadline_s"].to_numpy(float) - x) * 1e3
    handles = []
    for s, col in colors.items():
        m = f.stream == s
        if not m.any():
            continue
        ax.step(x[m], rel_deadline[m], where="post", color=col, ls="--", lw=1.3, alpha=0.9)
        ok = m & f.ran
        ax.plot(x[ok], lat[ok], ".", color=col, ms=5)
        handles.append(Line2D([], [], color=col, marker=".", ls="", ms=8, label=f"latency ({s})" if multi else "latency"))
        handles.append(Line2D([], [], color=col, ls="--", label=f"deadline ({s})" if multi else "deadline"))
    mm = missed & np.isfinite(lat)
    if mm.any():
        ax.plot(x[mm], lat[mm], "x", color=MISS_COLOR, ms=8, mew=2)
    handles.append(Line2D([], [], color=MISS_COLOR, marker="x", ls="", ms=8, mew=2, label=f"missed ({int(missed.sum())})"))
    if dropped.any():
        tr = transforms.blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(x[dropped], np.full(int(dropped.sum()), 0.96), "v", color=DROP_COLOR, ms=7, transform=tr, clip_on=False)
    handles.append(Line2D([], [], color=DROP_COLOR, marker="v", ls="", ms=7, label=f"dropped ({int(dropped.sum())})"))
    top = np.nanmax(np.concatenate([lat[np.isfinite(lat)], rel_deadline[np.isfinite(rel_deadline)], [1.0]]))
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("time since arrival\n[ms]")
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)


def _energy_panel(ax, f: _Frames, colors: dict[str, str], t_end: float) -> None:
    """Accelerator energy of each frame (aborted frames' as open circles); the bottom panel, so it
    also sets the shared time axis."""
    ax.set_title("accelerator energy per frame", loc="left")
    multi = len(colors) > 1
    x, dropped = f.x, f.dropped
    e = f.fr["energy_j"].to_numpy(float) * 1e3
    for s, col in colors.items():
        m = (f.stream == s) & np.isfinite(e)
        ax.plot(x[m & ~dropped], e[m & ~dropped], ".", color=col, ms=5, label=s if multi else "run frame")
        md = m & dropped & (e > 0)
        if md.any():
            ax.plot(x[md], e[md], "o", mfc="none", color=DROP_COLOR, ms=5)
    if (dropped & np.isfinite(e) & (e > 0)).any():
        ax.plot([], [], "o", mfc="none", color=DROP_COLOR, ms=5, label="aborted (dropped)")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("energy\n[mJ]")
    ax.set_xlabel("simulated time [s]")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)
    ax.set_xlim(0, t_end * 1.01 if t_end > 0 else 1)


def _headline(t: Trace, s: pd.DataFrame | None) -> str:
    name = os.path.basename(t.path)
    if s is None:
        return f"{name}: no frames"
    a = s[s["stream"] == ALL].iloc[0]
    metric = accuracy_metric(t)
    F = SUMMARY_FORMATS
    acc = F["accuracy_mean"].cell(a["accuracy_mean"]) + (f" ({metric})" if metric and a["accuracy_mean"] == a["accuracy_mean"] else "")
    return (
        f"{name}: {int(a['frames'])} frames, {int(a['dropped'])} dropped, {int(a['missed'])} missed "
        f"(miss rate {F['miss_rate'].cell(a['miss_rate'])}%)\n"
        f"mean accuracy {acc}, {F['energy_per_frame_j'].cell(a['energy_per_frame_j'])} mJ per run frame, "
        f"p99 latency {F['latency_p99_s'].cell(a['latency_p99_s'])} ms"
    )
