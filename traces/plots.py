"""Matplotlib figures of dynvit-cosim traces.

Every function takes a :class:`~traces.Trace` (or a trace path) and returns a
:class:`matplotlib.figure.Figure`. Figures are built without pyplot (no GUI
backend, no global figure registry): save them with ``fig.savefig(path)``, or
show them in Jupyter with ``display(fig)``.

* :func:`run_at_a_glance`      resources, configuration per frame, latency vs
  deadline (misses and drops marked) and energy per frame over time
* :func:`time_energy_breakdown` where time and energy go, per configuration: by
  op class and by level of the memory hierarchy, from the energy components and
  the raw counters of ``/layers``
* :func:`frame_layers`          layer by layer time and energy of one frame
* :func:`compare_traces`        several traces side by side: miss rate, mean
  accuracy, energy per frame, p99 latency and configuration mix

Accuracy that a trace does not know (NaN) is shown as "unknown", never as 0.

Op classes, energy components, counters and their levels are the trace's own
(:attr:`traces.Trace.vocabulary`): nothing here names them. Only the display
colours are keyed by name here, with a fallback palette for names they lack.
"""

from __future__ import annotations

import contextlib
import math
import os
import textwrap
from typing import Any, Iterable, Iterator, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .reader import Trace
from .reader import open as _open_trace
from .summary import ALL, SUMMARY_FORMATS, config_counts, summary

# The look (fonts, sizes, colours) is the project's one figure style, traces/style.py.
from .style import FALLBACK_PALETTE, LEVEL_COLORS, OP_COLORS, TRAFFIC_COLORS  # noqa: E402  (re-exported)
from .style import RC as STYLE  # noqa: E402
from . import style as _style  # noqa: E402

MISS_COLOR = "#d62728"
STREAM_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
DROP_COLOR = "#111111"
UNKNOWN = "unknown"


def _colors(names: Iterable[str], known: dict[str, str]) -> dict[str, str]:
    """Name -> colour: ``known``'s colour, else the next colour of FALLBACK_PALETTE not in use."""
    names = list(dict.fromkeys(names))
    used = {known[n] for n in names if n in known}
    spare = [c for c in FALLBACK_PALETTE if c not in used] or list(FALLBACK_PALETTE)
    out, k = {}, 0
    for n in names:
        if n in known:
            out[n] = known[n]
        else:
            out[n] = spare[k % len(spare)]
            k += 1
    return out


def _in_order(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """``names`` in the order of ``order``, those not in it after them (in their own order)."""
    names = list(dict.fromkeys(names))
    return [n for n in order if n in names] + [n for n in names if n not in order]



# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _trace(trace) -> Iterator[Trace]:
    """Yield an open Trace for a Trace or a path (a path is closed afterwards)."""
    if isinstance(trace, Trace):
        yield trace
    elif isinstance(trace, (str, os.PathLike)):
        with _open_trace(trace) as t:
            yield t
    else:
        raise ValueError(f"expected a Trace or a trace path, got {type(trace).__name__}")


def _figure(w: float, h: float) -> Figure:
    return Figure(figsize=(w, h), layout="constrained")


def wrap_label(s: str, width: int = 24) -> str:
    """Wrap a long id (configuration, trace name) over lines, breaking after '/', '@', ',', '-' where possible."""
    if len(s) <= width:
        return s
    parts: list[str] = []
    cur = ""
    for tok in _tokens(s):
        if cur and len(cur) + len(tok) > width:
            parts.append(cur)
            cur = ""
        cur += tok
    if cur:
        parts.append(cur)
    out: list[str] = []
    for p in parts:  # only a token far longer than the width is cut hard
        out.extend(textwrap.wrap(p, width, break_on_hyphens=False) if len(p) > 1.5 * width else [p])
    return "\n".join(out)


def _tokens(s: str) -> list[str]:
    toks, cur = [], ""
    for ch in s:
        cur += ch
        if ch in "/@,;-" and len(cur) > 1:
            toks.append(cur)
            cur = ""
    if cur:
        toks.append(cur)
    return toks


def accuracy_metric(trace: Trace) -> str:
    """The accuracy metric of the trace's configurations ('' if none or mixed)."""
    c = trace.configs
    if not len(c) or "accuracy_metric" not in c:
        return ""
    m = sorted({str(x) for x in c["accuracy_metric"] if str(x)})
    return m[0] if len(m) == 1 else ""


def si(v: float) -> str:
    """Compact number: 3 significant digits with k / M / G / T suffixes."""
    if v is None or not np.isfinite(v):
        return "-"
    a = abs(v)
    for f, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= f:
            return f"{v / f:.3g}{suf}"
    return f"{v:.3g}"


def _no_data(ax, msg: str) -> None:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#555555", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _stream_colors(streams: Iterable[str]) -> dict[str, str]:
    palette = STREAM_PALETTE  # no red: red means "missed"
    return {s: palette[i % len(palette)] for i, s in enumerate(sorted(streams))}


def config_order(trace: Trace, configs: Iterable[str]) -> list[str]:
    """Configurations sorted by MACs per inference (cheapest first), unknown ones last by name."""
    macs = {}
    c = trace.configs
    if len(c):
        macs = dict(zip(c["config"].astype(str), c["macs"].astype(float)))
    return sorted(set(configs), key=lambda k: (macs.get(k, math.inf), k))


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


# ---------------------------------------------------------------------------
# (a) run at a glance
# ---------------------------------------------------------------------------


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
        multi = len(colors) > 1

        # -- resources
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

        ax_cfg, ax_lat, ax_en = axes[len(groups):]
        fr = frames.sort_values(["stream", "frame"], kind="stable")
        ran = ~fr["dropped"].to_numpy(bool) & np.isfinite(fr["end_s"].to_numpy(float))
        dropped = fr["dropped"].to_numpy(bool)
        missed = fr["missed"].to_numpy(bool)
        x = fr["arrival_s"].to_numpy(float)

        # -- configuration per frame
        ax_cfg.set_title("configuration chosen per frame (by frame arrival)", loc="left")
        if configs:
            pos = {c: i for i, c in enumerate(configs)}
            y = np.array([pos.get(c, np.nan) for c in fr["config"].astype(str)], dtype=float)
            for s, col in colors.items():
                m = (fr["stream"].to_numpy() == s) & ~dropped & np.isfinite(y)
                ax_cfg.scatter(x[m], y[m], s=14, color=col, label=s if multi else "run", zorder=3)
                m2 = (fr["stream"].to_numpy() == s) & dropped & np.isfinite(y)
                if m2.any():
                    ax_cfg.scatter(x[m2], y[m2], s=30, marker="x", color=DROP_COLOR, zorder=4)
            if (dropped & np.isfinite(y)).any():
                ax_cfg.scatter([], [], s=30, marker="x", color=DROP_COLOR, label="aborted (dropped)")
            ax_cfg.set_yticks(range(len(configs)), [wrap_label(c, 30) for c in configs])
            ax_cfg.set_ylim(-0.6, len(configs) - 0.4)
            ax_cfg.set_ylabel("configuration\n(MACs ↑)")
            ax_cfg.legend(loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)
        else:
            _no_data(ax_cfg, "no frame ran")

        # -- latency vs deadline
        ax_lat.set_title("latency vs deadline per frame", loc="left")
        lat = fr["latency_s"].to_numpy(float) * 1e3
        rel_deadline = (fr["deadline_s"].to_numpy(float) - x) * 1e3
        handles = []
        for s, col in colors.items():
            m = fr["stream"].to_numpy() == s
            if not m.any():
                continue
            ax_lat.step(x[m], rel_deadline[m], where="post", color=col, ls="--", lw=1.3, alpha=0.9)
            ok = m & ran
            ax_lat.plot(x[ok], lat[ok], ".", color=col, ms=5)
            handles.append(Line2D([], [], color=col, marker=".", ls="", ms=8, label=f"latency ({s})" if multi else "latency"))
            handles.append(Line2D([], [], color=col, ls="--", label=f"deadline ({s})" if multi else "deadline"))
        mm = missed & np.isfinite(lat)
        if mm.any():
            ax_lat.plot(x[mm], lat[mm], "x", color=MISS_COLOR, ms=8, mew=2)
        handles.append(Line2D([], [], color=MISS_COLOR, marker="x", ls="", ms=8, mew=2, label=f"missed ({int(missed.sum())})"))
        if dropped.any():
            tr = transforms.blended_transform_factory(ax_lat.transData, ax_lat.transAxes)
            ax_lat.plot(x[dropped], np.full(int(dropped.sum()), 0.96), "v", color=DROP_COLOR, ms=7, transform=tr, clip_on=False)
        handles.append(Line2D([], [], color=DROP_COLOR, marker="v", ls="", ms=7, label=f"dropped ({int(dropped.sum())})"))
        top = np.nanmax(np.concatenate([lat[np.isfinite(lat)], rel_deadline[np.isfinite(rel_deadline)], [1.0]]))
        ax_lat.set_ylim(0, top * 1.15)
        ax_lat.set_ylabel("time since arrival\n[ms]")
        ax_lat.legend(handles=handles, loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)

        # -- energy per frame
        ax_en.set_title("accelerator energy per frame", loc="left")
        e = fr["energy_j"].to_numpy(float) * 1e3
        for s, col in colors.items():
            m = (fr["stream"].to_numpy() == s) & np.isfinite(e)
            ax_en.plot(x[m & ~dropped], e[m & ~dropped], ".", color=col, ms=5, label=s if multi else "run frame")
            md = m & dropped & (e > 0)
            if md.any():
                ax_en.plot(x[md], e[md], "o", mfc="none", color=DROP_COLOR, ms=5)
        if (dropped & np.isfinite(e) & (e > 0)).any():
            ax_en.plot([], [], "o", mfc="none", color=DROP_COLOR, ms=5, label="aborted (dropped)")
        ax_en.set_ylim(bottom=0)
        ax_en.set_ylabel("energy\n[mJ]")
        ax_en.set_xlabel("simulated time [s]")
        if ax_en.get_legend_handles_labels()[0]:
            ax_en.legend(loc="center left", bbox_to_anchor=(1.005, 0.5), borderaxespad=0)
        ax_en.set_xlim(0, t_end * 1.01 if t_end > 0 else 1)

        s_all = summary(frames) if len(frames) else None
        fig.suptitle(_headline(t, s_all), x=0.01, ha="left")
        fig.align_ylabels(axes)
        return fig


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


# ---------------------------------------------------------------------------
# (b) where time and energy go
# ---------------------------------------------------------------------------


def layers_with_frames(trace: Trace) -> pd.DataFrame:
    """/layers joined with each layer's frame: adds ``config``, ``dropped`` (of the frame)
    and ``duration_s`` (end_s - start_s)."""
    L = trace.layers
    F = trace.frames[["stream", "frame", "config", "dropped"]].drop_duplicates(["stream", "frame"])
    out = L.merge(F, on=["stream", "frame"], how="left")
    out["config"] = out["config"].fillna("").astype(str)
    out["dropped"] = out["dropped"].fillna(False).astype(bool)
    out["duration_s"] = out["end_s"] - out["start_s"]
    return out


def _frame_keys(trace: Trace) -> pd.DataFrame:
    """(stream, frame) -> config, dropped of each frame (one row per frame)."""
    return trace.frames[["stream", "frame", "config", "dropped"]].drop_duplicates(["stream", "frame"])


def layer_aggregates(trace: Trace) -> dict[str, Any]:
    """Sums over /layers that the figures need, read one slice at a time (memory bounded by the
    slice and the number of frames, whatever the number of layer rows); cached per open Trace.

    ``by_class``   sums indexed by (dropped, config, op_class): duration_s, energy_j and each
                   energy_<component>_j
    ``by_config``  sums indexed by (dropped, config): each energy_<component>_j, c_<counter>
                   and dram_bytes
    ``frames``     frames with layer rows, indexed by (dropped, config)
    """
    cache = trace.__dict__.setdefault("_plots_cache", {})
    if "agg" in cache:
        return cache["agg"]
    names = {c["name"] for c in trace.columns("layers")}
    vocab = trace.vocabulary
    energy = [c for c in vocab.energy_columns if c in names]
    counters = [c for c in vocab.counter_columns if c in names]
    cols = ["stream", "frame", "op_class", "start_s", "end_s", "energy_j", "dram_bytes"] + energy + counters
    F = _frame_keys(trace)
    parts_class, parts_config, parts_frames = [], [], []
    last_key = None
    for L in trace.iter_table("layers", cols):
        if not len(L):
            continue
        L = L.merge(F, on=["stream", "frame"], how="left")
        L["config"] = L["config"].fillna("").astype(str)
        L["dropped"] = L["dropped"].fillna(False).astype(bool)
        L["duration_s"] = L["end_s"] - L["start_s"]
        parts_class.append(L.groupby(["dropped", "config", "op_class"])[["duration_s", "energy_j", *energy]].sum())
        parts_config.append(L.groupby(["dropped", "config"])[[*energy, *counters, "dram_bytes"]].sum())
        # a frame's layers are contiguous rows: count a frame where its key starts
        key = L["stream"].astype(str) + "\0" + L["frame"].astype(str)
        start = (key != key.shift()).to_numpy().copy()
        start[0] = key.iloc[0] != last_key
        last_key = key.iloc[-1]
        parts_frames.append(L[start].groupby(["dropped", "config"]).size())

    def total(parts, empty):
        return pd.concat(parts).groupby(level=list(range(parts[0].index.nlevels))).sum() if parts else empty

    idx2 = pd.MultiIndex.from_arrays([[], []], names=["dropped", "config"])
    agg = {
        "by_class": total(parts_class, pd.DataFrame(columns=["duration_s", "energy_j", *energy],
                                                     index=pd.MultiIndex.from_arrays([[], [], []], names=["dropped", "config", "op_class"]))),
        "by_config": total(parts_config, pd.DataFrame(columns=[*energy, *counters, "dram_bytes"], index=idx2)),
        "frames": total(parts_frames, pd.Series([], index=idx2, dtype="int64")),
        "energy": energy,
        "counters": counters,
    }
    cache["agg"] = agg
    return agg


def _complete(table, agg):
    """The rows of frames that ran to completion (dropped=False); all rows if there are none."""
    frames = agg["frames"]
    has_complete = len(frames) and (False in frames.index.get_level_values("dropped")) and frames.xs(False, level="dropped").sum() > 0
    if has_complete:
        return table.xs(False, level="dropped") if len(table) else table.droplevel("dropped")
    if not len(table):
        return table.droplevel("dropped")
    return table.groupby(level=list(range(1, table.index.nlevels))).sum()


def choose_configs(trace: Trace, n: int = 4) -> list[str]:
    """The (at most n) configurations with the most completed frames that have layer rows,
    ordered by MACs."""
    agg = layer_aggregates(trace)
    counts = _complete(agg["frames"], agg)
    if not len(counts):
        return []
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    top = [c for c in counts.index if c][:n]
    return config_order(trace, top)


def per_frame_breakdown(trace: Trace, configs: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Mean per frame (over completed frames) of each chosen configuration, as tables
    indexed by config:

    ``time_ms``      layer time by op class [ms]
    ``energy_mj``    energy by op class [mJ]
    ``level_mj``     energy by level (the trace's energy levels) [mJ] (empty if the trace has
                     no energy-component columns)
    ``traffic_mb``   bytes moved by memory level (the trace's traffic levels) [MB]; DRAM bytes
                     alone if the trace has no counter columns
    ``frames``       completed frames averaged per config

    Computed from :func:`layer_aggregates` (bounded memory for traces of any length).
    """
    agg = layer_aggregates(trace)
    vocab = trace.vocabulary
    if configs is None:
        configs = choose_configs(trace)
    configs = list(configs)
    nfr = _complete(agg["frames"], agg).reindex(configs).fillna(0)
    div = nfr.replace(0, np.nan)
    by_class = _complete(agg["by_class"], agg)
    by_config = _complete(agg["by_config"], agg).reindex(configs)

    def by_cls(col: str, scale: float) -> pd.DataFrame:
        if len(by_class):
            p = by_class[col].unstack("op_class", fill_value=0.0)
        else:
            p = pd.DataFrame(index=pd.Index([], name="config"))
        p = p.reindex(index=configs, columns=_in_order(p.columns, vocab.op_classes)).fillna(0.0)
        p.columns.name = "op_class"
        p.index.name = "config"
        return p.div(div, axis=0) * scale

    out = {"time_ms": by_cls("duration_s", 1e3), "energy_mj": by_cls("energy_j", 1e3), "frames": nfr.astype(int)}
    lev = {}
    for level, comps in vocab.energy_level_columns().items():
        cols = [c for c in comps if c in agg["energy"]]
        if cols:
            lev[level] = by_config[cols].sum(axis=1).fillna(0.0) / div * 1e3
    out["level_mj"] = pd.DataFrame(lev)
    tra = {}
    for level, ctrs in vocab.traffic_level_columns().items():
        cols = [c for c in ctrs if c in agg["counters"]]
        if cols:
            tra[level] = by_config[cols].sum(axis=1).fillna(0.0) / div / 1e6
    if not tra and len(by_class):  # no counters: the DRAM bytes every trace has (a fixed column)
        tra["DRAM"] = by_config["dram_bytes"].astype(float).fillna(0.0) / div / 1e6
    out["traffic_mb"] = pd.DataFrame(tra, columns=list(tra))
    return out


def _stacked(ax, table: pd.DataFrame, known_colors: dict[str, str], labels: list[str], unit: str) -> list:
    colors = _colors(table.columns, known_colors)
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    handles = []
    for col in table.columns:
        v = table[col].to_numpy(float)
        if not np.nansum(v) > 0:
            continue
        b = ax.bar(x, v, bottom=bottom, color=colors[col], label=col.replace("_", " "), width=0.65,
                   edgecolor="white", lw=0.5)
        handles.append(b)
        bottom += np.nan_to_num(v)
    for xi, tot in zip(x, bottom):
        ax.text(xi, tot, f"{tot:.3g}", ha="center", va="bottom", fontsize=9.5)
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylim(0, max(bottom.max() if len(bottom) else 0, 1e-12) * 1.15)
    ax.set_ylabel(unit)
    return handles


def time_energy_breakdown(trace, configs: Sequence[str] | None = None) -> Figure:
    """Where time and energy go, per frame, for chosen configurations (default: the
    up to four most used): time and energy by op class, energy by level and bytes
    moved at each memory level, and, for the first configuration, each op class's
    energy split by level."""
    with matplotlib.rc_context(STYLE), _trace(trace) as t:
        if configs is None:
            configs = choose_configs(t)
        configs = list(configs)
        fig = _figure(13 + 1.2 * max(0, len(configs) - 4), 12.5)
        gs = fig.add_gridspec(3, 2, height_ratios=[1, 1, 1.05])
        ax_t, ax_e = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
        ax_l, ax_m = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
        ax_x = fig.add_subplot(gs[2, :])
        if not configs:
            for ax in (ax_t, ax_e, ax_l, ax_m, ax_x):
                _no_data(ax, "no layer rows in this trace")
            fig.suptitle(f"{os.path.basename(t.path)}: where time and energy go", x=0.01, ha="left")
            return fig
        b = per_frame_breakdown(t, configs)
        nfr = b["frames"]
        labels = [f"{wrap_label(c, 10)}\n({int(nfr[c])} frames)" for c in configs]

        ax_t.set_title("layer time per frame, by op class", loc="left")
        h = _stacked(ax_t, b["time_ms"], OP_COLORS, labels, "time [ms / frame]")
        ax_e.set_title("energy per frame, by op class", loc="left")
        _stacked(ax_e, b["energy_mj"], OP_COLORS, labels, "energy [mJ / frame]")
        if h:
            ax_e.legend(handles=h, title="op class", loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)

        ax_l.set_title("energy per frame, by level", loc="left")
        if len(b["level_mj"].columns):
            hl = _stacked(ax_l, b["level_mj"], LEVEL_COLORS, labels, "energy [mJ / frame]")
            ax_l.legend(handles=hl, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="level")
        else:
            _no_data(ax_l, "no energy-component columns (energy_<component>_j) in /layers")

        ax_m.set_title("data moved per frame, by memory level", loc="left")
        tr = b["traffic_mb"]
        if len(tr.columns):
            n = len(tr.columns)
            tcol = _colors(tr.columns, TRAFFIC_COLORS)
            w = 0.8 / n
            x = np.arange(len(configs))
            for i, lvl in enumerate(tr.columns):
                v = tr[lvl].to_numpy(float)
                bars = ax_m.bar(x - 0.4 + w * (i + 0.5), np.where(v > 0, v, np.nan), w, color=tcol[lvl],
                                label=lvl, edgecolor="white", lw=0.5)
                ax_m.bar_label(bars, [si(vi) if vi > 0 else "" for vi in v], fontsize=8.5, padding=2, rotation=90)
            ax_m.set_yscale("log")
            lo = np.nanmin(np.where(tr.to_numpy(float) > 0, tr.to_numpy(float), np.nan)) if (tr.to_numpy(float) > 0).any() else 1e-3
            hi = np.nanmax(tr.to_numpy(float)) if (tr.to_numpy(float) > 0).any() else 1.0
            ax_m.set_ylim(lo / 3, hi * 40)
            ax_m.set_xticks(x, labels, fontsize=8)
            _style.plain_ticks(ax_m, "y")
            ax_m.set_ylabel("bytes moved [MB / frame]\n(log scale)")
            ax_m.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="memory level")
        else:
            _no_data(ax_m, "no raw counters (c_*) in /layers")

        # op class x level for the first configuration
        c0 = configs[0] if len(configs) == 1 else max(configs, key=lambda c: nfr[c])
        ax_x.set_title(f"{c0}: energy per frame of each op class, by level", loc="left")
        agg = layer_aggregates(t)
        bc = _complete(agg["by_class"], agg)
        L = bc.xs(c0, level="config") if len(bc) and c0 in bc.index.get_level_values("config") else bc.iloc[0:0]
        cols = {lvl: [c for c in comps if c in agg["energy"]] for lvl, comps in t.vocabulary.energy_level_columns().items()}
        cols = {k: v for k, v in cols.items() if v}
        n0 = max(1, int(nfr[c0]))
        if cols and len(L):
            tab = pd.DataFrame({lvl: L[cc].sum(axis=1) for lvl, cc in cols.items()}) / n0 * 1e3
            tab = tab.reindex(_in_order(tab.index, t.vocabulary.op_classes))
            lcol = _colors(tab.columns, LEVEL_COLORS)
            left = np.zeros(len(tab))
            y = np.arange(len(tab))
            for lvl in tab.columns:
                v = tab[lvl].to_numpy(float)
                if not v.sum() > 0:
                    continue
                ax_x.barh(y, v, left=left, color=lcol[lvl], label=lvl, edgecolor="white", lw=0.5, height=0.65)
                left += v
            tot = left.sum() or 1.0
            for yi, v in zip(y, left):
                ax_x.text(v, yi, f" {v:.3g} mJ ({100 * v / tot:.0f}%)", va="center", fontsize=9.5)
            ax_x.set_yticks(y, [c.replace("_", " ") for c in tab.index])
            ax_x.invert_yaxis()
            ax_x.set_xlim(0, left.max() * 1.3 if left.max() > 0 else 1)
            ax_x.set_xlabel("energy [mJ / frame]")
            ax_x.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="level")
        else:
            _no_data(ax_x, "no energy-component columns (energy_<component>_j) in /layers")
        fig.suptitle(
            f"{os.path.basename(t.path)}: where time and energy go (mean per completed frame)", x=0.01, ha="left"
        )
        _style.fit_ticklabels(fig, [ax_t, ax_e, ax_l, ax_m])
        return fig


def _one_frame_layers(t: Trace, stream: str | None, frame: int | None, config: str | None) -> pd.DataFrame | None:
    """The layer rows (joined with their frame, with duration_s) of one frame: the given one, or
    the first not dropped frame (of ``config``, of ``stream``) with layer rows. Reads /layers one
    slice at a time and stops when the frame's rows are complete. None if there is no such frame
    (an empty DataFrame for a given frame without layer rows)."""
    F = _frame_keys(t)
    found: list[pd.DataFrame] = []
    key = None if stream is None or frame is None else (str(stream), int(frame))
    for L in t.iter_table("layers"):
        if not len(L):
            continue
        L = L.merge(F, on=["stream", "frame"], how="left")
        L["config"] = L["config"].fillna("").astype(str)
        L["dropped"] = L["dropped"].fillna(False).astype(bool)
        if key is None:
            cand = L[~L["dropped"]]
            if config is not None:
                cand = cand[cand["config"] == config]
            if stream is not None:
                cand = cand[cand["stream"] == stream]
            if not len(cand):
                continue
            key = (str(cand["stream"].iloc[0]), int(cand["frame"].iloc[0]))
        m = ((L["stream"] == key[0]) & (L["frame"] == key[1])).to_numpy()
        if m.any():
            found.append(L[m])
            if not m[-1]:  # the frame's (contiguous) rows ended inside this slice
                break
        elif found:
            break
    if key is None:
        return None
    if not found:
        return pd.DataFrame(columns=["stream", "frame", "layer", "op_class", "duration_s", "energy_j"])
    f = pd.concat(found, ignore_index=True).sort_values("layer")
    f["duration_s"] = f["end_s"] - f["start_s"]
    return f


def frame_layers(trace, stream: str | None = None, frame: int | None = None, config: str | None = None,
                 log: bool | None = None) -> Figure:
    """Layer-by-layer time and energy of one frame, coloured by op class. Default: the
    first completed frame of the most used configuration (or of ``config``). ``log``:
    logarithmic y axes (None: when one layer dwarfs the others)."""
    with matplotlib.rc_context(STYLE), _trace(trace) as t:
        fig = _figure(13, 6.5)
        ax_t, ax_e = fig.subplots(2, 1, sharex=True)
        if (stream is None or frame is None) and config is None:
            cs = choose_configs(t, 1)
            config = cs[0] if cs else None
        f = _one_frame_layers(t, stream, frame, config)
        if f is None:
            for ax in (ax_t, ax_e):
                _no_data(ax, "no layer rows for this choice")
            return fig
        stream, frame = str(f["stream"].iloc[0]) if len(f) else stream, int(f["frame"].iloc[0]) if len(f) else frame
        if not len(f):
            for ax in (ax_t, ax_e):
                _no_data(ax, f"no layer rows for stream {stream!r} frame {frame}")
            return fig
        x = f["layer"].to_numpy()
        present = _in_order(sorted(set(f["op_class"])), t.vocabulary.op_classes)
        ocol = _colors(present, OP_COLORS)
        cols = [ocol[c] for c in f["op_class"]]
        w = 1.0 if len(f) > 60 else 0.8
        ts_, tp = _prefix(f["duration_s"].max())
        es_, ep = _prefix(f["energy_j"].max())
        ax_t.bar(x, f["duration_s"].to_numpy(float) * ts_, width=w, color=cols, lw=0)
        ax_t.set_ylabel(f"layer time [{tp}s]")
        ax_e.bar(x, f["energy_j"].to_numpy(float) * es_, width=w, color=cols, lw=0)
        ax_e.set_ylabel(f"layer energy [{ep}J]")
        ax_e.set_xlabel("layer [index in execution order]")
        ax_t.legend(handles=[Patch(color=ocol[c], label=c.replace("_", " ")) for c in present],
                    loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="op class")
        tot_t = f["duration_s"].sum() * 1e3
        tot_e = f["energy_j"].sum() * 1e3
        cfg = str(f["config"].iloc[0])
        ax_t.set_title(f"{stream} frame {frame}: {cfg}, {len(f)} layers, {tot_t:.3g} ms, {tot_e:.3g} mJ", loc="left")
        # name the three most expensive layers
        span = max(1, int(x.max() - x.min()))
        for col, ax, scale, unit, what in (("duration_s", ax_t, ts_, f"{tp}s", "longest"),
                                           ("energy_j", ax_e, es_, f"{ep}J", "most energy")):
            # number the (up to) three top layers on the bars, name them in a box beside the axes
            chosen: list[tuple[int, str, float]] = []
            for _, r in f.nlargest(min(len(f), 50), col).iterrows():
                if len(chosen) == 3:
                    break
                if any(abs(int(r["layer"]) - c[0]) < 0.03 * span for c in chosen):
                    continue
                chosen.append((int(r["layer"]), str(r["name"]), float(r[col]) * scale))
            lines = [f"{what}:"]
            for k, (li, nm, v) in enumerate(chosen, 1):
                ax.annotate(str(k), (li, v), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                            fontsize=9, fontweight="bold")
                lines.append(f"{k}: #{li} {_short_name(nm, 30)} ({v:.3g} {unit})")
            if chosen:
                ax.text(1.01, 0.0 if ax is ax_t else 1.0, "\n".join(lines), transform=ax.transAxes, fontsize=8.5,
                        va="bottom" if ax is ax_t else "top", ha="left", family="monospace")
            v = f[col].to_numpy(float) * scale
            pos = v[v > 0]
            if log is None:
                use_log = len(pos) > 10 and pos.max() > 20 * np.percentile(pos, 90)
            else:
                use_log = bool(log) and len(pos) > 0
            if use_log:  # one layer dwarfs the rest: a log axis keeps them visible
                ax.set_yscale("log")
                ax.set_ylim(pos.min() / 2, pos.max() * 3)
                ax.set_ylabel(ax.get_ylabel() + "\n(log scale)")
            else:
                ax.set_ylim(0, v.max() * 1.15 if len(pos) else 1)
        ax_e.set_xlim(x.min() - 1, x.max() + 1)
        return fig


def _prefix(vmax: float) -> tuple[float, str]:
    """(factor, SI prefix) so that vmax * factor reads between 1 and 1000 (n, µ, m or none)."""
    for factor, p in ((1e9, "n"), (1e6, "µ"), (1e3, "m")):
        if np.isfinite(vmax) and vmax * factor < 1e3:
            return factor, p
    return 1.0, ""


def _short_name(name: str, n: int = 28) -> str:
    return name if len(name) <= n else "…" + name[-(n - 1):]


# ---------------------------------------------------------------------------
# (c) comparison of several traces
# ---------------------------------------------------------------------------


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
        metric = metrics.pop() if len(metrics) == 1 else ""
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
        for ax, (title, key, xlabel) in zip(axes, specs):
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
                # a dot plot: accuracies differ by little, and bars on a cut axis would exaggerate
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
                continue
            bars = ax.barh(x, np.where(fin, v, 0.0), color=cols, height=0.6)
            ax.bar_label(bars, [form.cell(ri) if f else "" for ri, f in zip(raw, fin)], fontsize=9, padding=2)
            if not fin.any():
                ax.set_xticks([])
            ax.set_xlim(0, hi * 1.3 if hi > 0 else 1)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))

        ax_mix.set_title("configuration mix (share of run frames)", loc="left")
        left = np.zeros(len(ts))
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
        fig.suptitle(f"comparison of {len(ts)} trace{'s' if len(ts) != 1 else ''}", x=0.01, ha="left")
        return fig


def _macs_of(ts: Sequence[Trace], config: str) -> float:
    for t in ts:
        c = t.configs
        if len(c):
            m = c.loc[c["config"] == config, "macs"]
            if len(m):
                return float(m.iloc[0])
    return math.inf


__all__ = [
    "STYLE",
    "OP_COLORS",
    "LEVEL_COLORS",
    "TRAFFIC_COLORS",
    "run_at_a_glance",
    "time_energy_breakdown",
    "frame_layers",
    "compare_traces",
    "per_frame_breakdown",
    "layers_with_frames",
    "choose_configs",
    "config_order",
    "wrap_label",
]
