"""Where time and energy go, from the /layers table of a trace: sums per configuration and op
class read in bounded memory (:func:`layer_aggregates`, :func:`per_frame_breakdown`), the
breakdown figure (:func:`time_energy_breakdown`) and one frame layer by layer (:func:`frame_layers`)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import style as _style
from .plot_common import _colors, _figure, _in_order, _no_data, _trace, config_order, si, wrap_label
from .reader import Trace
from .style import LEVEL_COLORS, OP_COLORS, TRAFFIC_COLORS
from .style import RC as STYLE


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
        _op_class_panels(ax_t, ax_e, b, labels)
        _level_panel(ax_l, b, labels)
        _traffic_panel(ax_m, b["traffic_mb"], configs, labels)
        _class_by_level_panel(ax_x, t, configs, nfr)
        fig.suptitle(
            f"{os.path.basename(t.path)}: where time and energy go (mean per completed frame)", x=0.01, ha="left"
        )
        _style.fit_ticklabels(fig, [ax_t, ax_e, ax_l, ax_m])
        return fig


def _op_class_panels(ax_t, ax_e, b: dict[str, pd.DataFrame], labels: list[str]) -> None:
    """Layer time and energy per frame, stacked by op class (one legend, beside the energy)."""
    ax_t.set_title("layer time per frame, by op class", loc="left")
    h = _stacked(ax_t, b["time_ms"], OP_COLORS, labels, "time [ms / frame]")
    ax_e.set_title("energy per frame, by op class", loc="left")
    _stacked(ax_e, b["energy_mj"], OP_COLORS, labels, "energy [mJ / frame]")
    if h:
        ax_e.legend(handles=h, title="op class", loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)


def _level_panel(ax_l, b: dict[str, pd.DataFrame], labels: list[str]) -> None:
    """Energy per frame, stacked by level of the memory hierarchy."""
    ax_l.set_title("energy per frame, by level", loc="left")
    if len(b["level_mj"].columns):
        hl = _stacked(ax_l, b["level_mj"], LEVEL_COLORS, labels, "energy [mJ / frame]")
        ax_l.legend(handles=hl, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, title="level")
    else:
        _no_data(ax_l, "no energy-component columns (energy_<component>_j) in /layers")


def _traffic_panel(ax_m, tr: pd.DataFrame, configs: list[str], labels: list[str]) -> None:
    """Bytes moved per frame at each memory level: grouped bars on a log axis."""
    ax_m.set_title("data moved per frame, by memory level", loc="left")
    if not len(tr.columns):
        _no_data(ax_m, "no raw counters (c_*) in /layers")
        return
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


def _class_by_level_panel(ax_x, t: Trace, configs: list[str], nfr: pd.Series) -> None:
    """For the configuration with the most frames: each op class's energy per frame split by level."""
    c0 = configs[0] if len(configs) == 1 else max(configs, key=lambda c: nfr[c])
    ax_x.set_title(f"{c0}: energy per frame of each op class, by level", loc="left")
    agg = layer_aggregates(t)
    bc = _complete(agg["by_class"], agg)
    L = bc.xs(c0, level="config") if len(bc) and c0 in bc.index.get_level_values("config") else bc.iloc[0:0]
    cols = {lvl: [c for c in comps if c in agg["energy"]] for lvl, comps in t.vocabulary.energy_level_columns().items()}
    cols = {k: v for k, v in cols.items() if v}
    n0 = max(1, int(nfr[c0]))
    if not (cols and len(L)):
        _no_data(ax_x, "no energy-component columns (energy_<component>_j) in /layers")
        return
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

