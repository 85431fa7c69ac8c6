"""Per-stream summaries of a trace's ``/frames`` table.

Definitions (one row per stream, sorted by name, then the aggregate row ``"all"``):

``frames``            frame rows of the stream.
``run``               frames not ``dropped`` (they ran to completion, in time or late).
``dropped``           frames with ``dropped`` set (never run, or aborted).
``missed``            frames with ``missed`` set (ran, but ended after the deadline).
``miss_rate``         deadline-miss rate = frames with ``missed`` or ``dropped`` set
                      / ``frames``: the share of frames that delivered no result by
                      their deadline (NaN for no frames).
``accuracy_mean``     mean ``accuracy`` of the run frames whose accuracy is known
                      (finite); NaN if none is. Dropped frames do not count.
``accuracy_known``    number of run frames with a known accuracy.
``energy_total_j``    sum of ``energy_j`` over all frames (aborted work included; NaN
                      values skipped).
``energy_per_frame_j`` mean ``energy_j`` of the run frames (NaN values skipped).
``latency_mean_s``, ``latency_p50_s``, ``latency_p99_s``
                      mean, median and 99th percentile of ``latency_s`` over the run
                      frames with a finite latency (numpy's linear interpolation).
``configs``           distinct configurations among the run frames.

:func:`config_counts` counts run frames per (stream, config).
:func:`accuracy_metrics` names the accuracy metric behind each row's mean (from
``/configs``): a row whose frames mix metrics (e.g. mIoU and top-1) has a mean that
means nothing, and the report and the command line show "mixed metrics" instead.
:func:`summary_dict` gives the same numbers as plain JSON-able Python values
(NaN becomes None) for golden regression tests.

:data:`SUMMARY_FORMATS` is the one table of how each metric is shown (label, unit, scale,
number format): the report, ``cosim run``'s summary and ``cosim compare`` all format with it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .reader import Trace
from .reader import open as _open_trace

#: Label of the aggregate row.
ALL = "all"

SUMMARY_COLUMNS = (
    "stream",
    "frames",
    "run",
    "dropped",
    "missed",
    "miss_rate",
    "accuracy_mean",
    "accuracy_known",
    "energy_total_j",
    "energy_per_frame_j",
    "latency_mean_s",
    "latency_p50_s",
    "latency_p99_s",
    "configs",
)
_INT_COLUMNS = ("frames", "run", "dropped", "missed", "accuracy_known", "configs")


@dataclass(frozen=True)
class MetricFormat:
    """How one summary metric is shown: its label, the unit it is shown in, the factor from
    the stored value (SI units: s, J, fractions) to that unit, the number format (a format
    spec; ``"d"``: an integer) and the text of an unknown (NaN) value."""

    label: str
    unit: str = ""
    scale: float = 1.0
    fmt: str = "d"
    nan: str = "-"
    short: str = ""  # a compact header for narrow tables ('' = the full header)

    def header(self, compact: bool = False) -> str:
        """``label [unit]`` (or the compact header)."""
        if compact and self.short:
            return self.short
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    def cell(self, value: Any) -> str:
        """The value as text in this format (NaN / None: :attr:`nan`)."""
        if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
            return self.nan
        if self.fmt == "s":
            return str(value)
        if self.fmt == "d":
            return format(int(value), "d")
        return format(float(value) * self.scale, self.fmt)


#: Summary metric -> how it is shown. Four significant digits for energies and times, whatever
#: their size; the miss rate in percent with one decimal; accuracy (its metric's own unit, e.g.
#: mIoU points) with two decimals, "unknown" when not known.
SUMMARY_FORMATS: dict[str, MetricFormat] = {
    "stream": MetricFormat("stream", fmt="s"),
    "frames": MetricFormat("frames"),
    "run": MetricFormat("run"),
    "dropped": MetricFormat("dropped"),
    "missed": MetricFormat("missed"),
    "miss_rate": MetricFormat("miss rate", "%", 100.0, ".1f"),
    "accuracy_mean": MetricFormat("mean accuracy", fmt=".2f", nan="unknown"),
    "accuracy_known": MetricFormat("frames with known accuracy"),
    "energy_total_j": MetricFormat("energy total", "J", 1.0, ".4g"),
    "energy_per_frame_j": MetricFormat("energy / run frame", "mJ", 1e3, ".4g", short="mJ/frame"),
    "latency_mean_s": MetricFormat("latency mean", "ms", 1e3, ".4g", short="mean ms"),
    "latency_p50_s": MetricFormat("latency p50", "ms", 1e3, ".4g", short="p50 ms"),
    "latency_p99_s": MetricFormat("latency p99", "ms", 1e3, ".4g", short="p99 ms"),
    "configs": MetricFormat("configs"),
}

#: Text shown instead of a mean accuracy over frames of different accuracy metrics.
MIXED_CELL = "mixed metrics"

#: Mark of a partial mean accuracy (known for only part of the run frames) and its footnote.
PARTIAL_MARK = "*"
PARTIAL_NOTE = ("* partial mean: accuracy is known for only part of the run frames (known/run shown); "
                "not comparable with a mean over all of them")


def accuracy_partial(row: Any) -> bool:
    """Whether a summary row's mean accuracy covers only part of its run frames (some run
    frames have an unknown accuracy): such a mean is not comparable with a full one."""
    mean = row["accuracy_mean"]
    return bool(mean == mean and int(row["accuracy_known"]) < int(row["run"]))


def accuracy_cell(row: Any, metric: str = "") -> str:
    """A summary row's mean accuracy with its coverage, e.g. ``36.97 (591/591)``; a partial
    mean is marked (``45.58* (301/591)``, see :data:`PARTIAL_NOTE`), a mean over mixed metrics
    is not shown (:data:`MIXED_CELL`), an unknown one reads ``unknown``. The one definition
    the command line, the report and the notebooks show."""
    known, run = int(row["accuracy_known"]), int(row["run"])
    if metric.startswith(MIXED):
        return f"{MIXED_CELL} ({known} known)"
    mean = row["accuracy_mean"]
    f = SUMMARY_FORMATS["accuracy_mean"]
    if mean != mean:
        return f.cell(mean)
    return f"{f.cell(mean)}{PARTIAL_MARK if accuracy_partial(row) else ''} ({known}/{run})"


#: Header of the column :func:`accuracy_cell` fills.
ACCURACY_CELL_HEADER = "mean accuracy (known/run)"


def _frames_of(trace: Trace | pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    if isinstance(trace, pd.DataFrame):
        frames = trace
    elif isinstance(trace, Trace):
        frames = trace.frames
    elif isinstance(trace, (str, os.PathLike)):
        with _open_trace(trace) as t:
            frames = t.frames
    else:
        raise ValueError(f"expected a Trace, a trace path or a frames DataFrame, got {type(trace).__name__}")
    needed = [c.name for c in schema.FRAMES]
    lack = [c for c in needed if c not in frames.columns]
    if lack:
        raise ValueError(f"frames table lacks column(s) {', '.join(lack)}")
    if (frames["stream"] == ALL).any():
        raise ValueError(f"a stream is named {ALL!r}, which is the label of the aggregate row")
    return frames


def _stats(df: pd.DataFrame) -> dict[str, Any]:
    missed = df["missed"].to_numpy(bool)
    dropped = df["dropped"].to_numpy(bool)
    run = ~dropped
    n = len(df)
    acc = df["accuracy"].to_numpy(float)[run]
    acc = acc[np.isfinite(acc)]
    lat = df["latency_s"].to_numpy(float)[run]
    lat = lat[np.isfinite(lat)]
    energy = df["energy_j"].to_numpy(float)
    e_run = energy[run]
    e_run = e_run[~np.isnan(e_run)]
    nan = math.nan
    return {
        "frames": n,
        "run": int(run.sum()),
        "dropped": int(dropped.sum()),
        "missed": int(missed.sum()),
        "miss_rate": float((missed | dropped).sum() / n) if n else nan,
        "accuracy_mean": float(acc.mean()) if len(acc) else nan,
        "accuracy_known": int(len(acc)),
        "energy_total_j": float(np.nansum(energy)),
        "energy_per_frame_j": float(e_run.mean()) if len(e_run) else nan,
        "latency_mean_s": float(lat.mean()) if len(lat) else nan,
        "latency_p50_s": float(np.percentile(lat, 50)) if len(lat) else nan,
        "latency_p99_s": float(np.percentile(lat, 99)) if len(lat) else nan,
        "configs": int(df.loc[run, "config"].nunique()),
    }


def summary(trace: Trace | pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """One row per stream (sorted) plus an ``"all"`` row; columns :data:`SUMMARY_COLUMNS`.

    Given a trace (not a bare frames table), a row whose frames mix accuracy metrics (e.g.
    mIoU and top-1, see :func:`accuracy_metrics`) has ``accuracy_mean`` NaN: different
    metrics are never averaged."""
    if isinstance(trace, (str, os.PathLike)):
        with _open_trace(trace) as t:
            return summary(t)
    frames = _frames_of(trace)
    rows = []
    for stream in sorted(frames["stream"].unique()):
        rows.append({"stream": stream, **_stats(frames[frames["stream"] == stream])})
    rows.append({"stream": ALL, **_stats(frames)})
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if isinstance(trace, Trace):
        metrics = accuracy_metrics(trace)
        mixed = out["stream"].map(lambda st: metrics.get(str(st), "").startswith(MIXED)).to_numpy(bool)
        out.loc[mixed, "accuracy_mean"] = math.nan
    return out.astype({c: "int64" for c in _INT_COLUMNS})


def config_counts(trace: Trace | pd.DataFrame | str | os.PathLike, include_all: bool = True) -> pd.DataFrame:
    """Tidy counts of run (not dropped) frames per stream and configuration:
    columns ``stream, config, count``, sorted by stream then config; with
    ``include_all`` the totals over all streams follow as stream ``"all"``."""
    frames = _frames_of(trace)
    ran = frames[~frames["dropped"].to_numpy(bool)]
    parts = [ran.groupby(["stream", "config"], sort=True).size().rename("count").reset_index()]
    if include_all:
        tot = ran.groupby("config", sort=True).size().rename("count").reset_index()
        tot.insert(0, "stream", ALL)
        parts.append(tot)
    out = pd.concat(parts, ignore_index=True) if len(ran) else pd.DataFrame({"stream": [], "config": [], "count": []})
    out["stream"] = out["stream"].astype(str)
    out["config"] = out["config"].astype(str)
    out["count"] = out["count"].astype("int64")
    return out[["stream", "config", "count"]]


#: Prefix of :func:`accuracy_metrics` for a row whose frames mix metrics.
MIXED = "mixed"


def accuracy_metrics(trace: Trace | str | os.PathLike) -> dict[str, str]:
    """Stream (and ``"all"``) -> the accuracy metric of its run frames with a known accuracy:
    the metric's name, ``""`` if none is known (or named), or ``"mixed: a, b"`` if several."""
    if isinstance(trace, (str, os.PathLike)):
        with _open_trace(trace) as t:
            return accuracy_metrics(t)
    frames, configs = _frames_of(trace), trace.configs
    metric_of = dict(zip(configs["config"].astype(str), configs["accuracy_metric"].astype(str)))
    known = frames[~frames["dropped"].to_numpy(bool) & np.isfinite(frames["accuracy"].to_numpy(float))]
    m = known["config"].astype(str).map(lambda c: metric_of.get(c, ""))
    out: dict[str, str] = {}

    def name(ms) -> str:
        ms = sorted(set(ms))
        return "" if not ms else ms[0] if len(ms) == 1 else f"{MIXED}: {', '.join(ms)}"

    for stream in sorted(frames["stream"].unique()):
        out[str(stream)] = name(m[known["stream"] == stream])
    out[ALL] = name(m)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    return v


def summary_dict(trace: Trace | pd.DataFrame | str | os.PathLike) -> dict[str, Any]:
    """The summary as a JSON-able dict::

        {"schema_version": 1,
         "streams": {"cam0": {"frames": 10, ..., "config_counts": {"cfg": 7, ...}},
                     ..., "all": {...}}}

    Integers stay int, floats are float, NaN becomes None.
    """
    if isinstance(trace, (str, os.PathLike)):
        with _open_trace(trace) as t:
            return summary_dict(t)
    frames = _frames_of(trace)
    s = summary(trace)
    cc = config_counts(frames)
    streams: dict[str, Any] = {}
    for rec in s.to_dict("records"):
        name = str(rec.pop("stream"))
        d = {k: _plain(v) for k, v in rec.items()}
        sub = cc[cc["stream"] == name]
        d["config_counts"] = {str(c): int(n) for c, n in zip(sub["config"], sub["count"])}
        streams[name] = d
    out = {"schema_version": schema.SCHEMA_VERSION, "streams": streams}
    from . import tenancy  # a multi-tenant run: its metrics too (issue 22)

    if isinstance(trace, Trace) and tenancy.has_tenancy(trace):
        out["tenancy"] = tenancy.metrics_dict(trace)
    return out


__all__ = ["ALL", "MIXED", "MIXED_CELL", "PARTIAL_MARK", "PARTIAL_NOTE", "ACCURACY_CELL_HEADER", "accuracy_cell",
           "accuracy_partial", "SUMMARY_COLUMNS", "SUMMARY_FORMATS", "MetricFormat", "summary", "config_counts", "summary_dict", "accuracy_metrics"]
