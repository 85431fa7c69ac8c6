"""Summaries of several traces side by side.

``compare(paths)`` returns a DataFrame whose rows are the summary metrics
(:data:`traces.summary.SUMMARY_COLUMNS` without ``stream``) and whose columns are
a two-level index ``(trace, stream)``: one column block per trace, labelled by
its file name (parent folders are added where two files share a name), holding
one column per stream and the aggregate ``"all"``. Values are floats (counts too). ``df.attrs["paths"]`` maps
each label to its file and ``df.attrs["scenarios"]`` to the first line of the
trace's scenario source (its docstring or comment), when there is one, and
``df.attrs["metrics"]`` to :func:`traces.summary.accuracy_metrics` of each trace (a
``"mixed: ..."`` column's mean accuracy averages different metrics: do not use it),
``df.attrs["complete"]`` to False for a killed run's trace (its frames end at the last
flush), and ``df.attrs["same_resources"]`` says whether every trace applied the same
resource timeline (if not, their means are over frames at different resource levels).

:func:`tidy` gives the long form (one row per trace x stream x metric, counts as integers)
that ``cosim compare --csv`` writes; :func:`accuracy_ranking` ranks the traces by mean
accuracy only where the means are comparable (full coverage, one metric).

    import traces.compare as tc
    df = tc.compare(["runs/a.h5", "runs/b.h5"])
    df.xs("all", axis=1, level="stream")      # only the aggregate of each trace
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import pandas as pd

from .plots import labels_for
from .reader import Trace
from .reader import open as _open_trace
from .summary import _INT_COLUMNS, ALL, MIXED, SUMMARY_COLUMNS, accuracy_metrics, accuracy_partial, summary

#: Metric rows of :func:`compare`, in order.
METRICS: tuple[str, ...] = tuple(c for c in SUMMARY_COLUMNS if c != "stream")


def scenario_title(source: str) -> str:
    """First meaningful line of a scenario script's source (docstring or comment), '' if none."""
    for line in (source or "").splitlines():
        s = line.strip().strip('"').strip("'").lstrip("#").strip()
        if s and not s.startswith(("import ", "from ")):
            return s
    return ""


def compare(paths: Sequence, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Summaries of the traces (paths or open Traces) side by side; see the module doc."""
    items = list(paths)
    if not items:
        raise ValueError("compare needs at least one trace")
    blocks: list[pd.DataFrame] = []
    files: list[str] = []
    scen: list[str] = []
    metrics: list[dict[str, str]] = []
    complete: list[bool] = []
    resources: list[str] = []
    for it in items:
        if isinstance(it, Trace):
            s, files_i, meta, mt, rs = summary(it), it.path, it.meta, accuracy_metrics(it), _resources_key(it)
        else:
            with _open_trace(it) as t:
                s, files_i, meta, mt, rs = summary(t), t.path, t.meta, accuracy_metrics(t), _resources_key(t)
        files.append(files_i)
        complete.append(bool(meta.get("complete", False)))
        resources.append(rs)
        metrics.append(mt)
        scen.append(scenario_title(str(meta.get("scenario", ""))))
        blocks.append(s.set_index("stream")[list(METRICS)].astype(float).T)
    if labels is None:
        labels = labels_for(files)
    labels = list(labels)
    if len(labels) != len(items):
        raise ValueError(f"{len(labels)} labels for {len(items)} traces")
    if len(set(labels)) != len(labels):
        raise ValueError(f"trace labels must be distinct, got {labels}")
    out = pd.concat(blocks, axis=1, keys=labels, names=["trace", "stream"])
    out.index.name = "metric"
    out.attrs["paths"] = dict(zip(labels, files))
    out.attrs["scenarios"] = dict(zip(labels, scen))
    out.attrs["metrics"] = dict(zip(labels, metrics))
    out.attrs["complete"] = dict(zip(labels, complete))
    out.attrs["same_resources"] = len(set(resources)) <= 1
    return out


def _resources_key(t: Trace) -> str:
    """A fingerprint of the resource timeline a run applied (time, resource, value rows)."""
    r = t.resources
    return hashlib.sha256(r.to_csv(index=False).encode()).hexdigest()


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare`'s table in long form: columns ``trace, stream, metric, value, unit,
    complete``, one row per trace x stream x metric; counts are integers, other metrics floats
    in SI units (s, J, fractions); ``complete`` False marks a killed run's trace."""
    rows = []
    for (tr, st) in df.columns:
        for metric in df.index:
            v = df.loc[metric, (tr, st)]
            if metric in _INT_COLUMNS:
                v = int(v)
            rows.append({"trace": tr, "stream": st, "metric": metric, "value": v,
                         "unit": _SI_UNIT.get(metric, ""), "complete": df.attrs.get("complete", {}).get(tr, True)})
    out = pd.DataFrame(rows, columns=["trace", "stream", "metric", "value", "unit", "complete"])
    out["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # ints stay ints (not 40.0)
    return out


#: The unit of each metric as compare stores it (the table's display units are in SUMMARY_FORMATS).
_SI_UNIT = {"miss_rate": "fraction", "energy_total_j": "J", "energy_per_frame_j": "J", "latency_mean_s": "s",
            "latency_p50_s": "s", "latency_p99_s": "s", "accuracy_mean": "accuracy metric"}


def accuracy_ranking(df: pd.DataFrame, stream: str = ALL) -> tuple[list[str], str]:
    """Traces ranked by mean accuracy of ``stream`` (highest first) and a sentence saying why,
    or ``([], reason)`` where the means are not comparable: a partial mean (accuracy known
    for only part of the run frames), a mean over mixed or different metrics, an unknown mean,
    or a killed run. Frames of different traces are never averaged together."""
    labels = list(df.columns.get_level_values(0).unique())
    bad: list[str] = []
    names: set[str] = set()
    for tr in labels:
        if (tr, stream) not in df.columns:
            return [], f"no stream {stream!r} in {tr}"
        col = df[(tr, stream)]
        metric = df.attrs.get("metrics", {}).get(tr, {}).get(stream, "")
        if col["accuracy_mean"] != col["accuracy_mean"] or metric.startswith(MIXED):
            bad.append(f"{tr} (unknown or mixed metrics)")
        elif accuracy_partial(col):
            bad.append(f"{tr} (partial: {int(col['accuracy_known'])}/{int(col['run'])} run frames)")
        elif not df.attrs.get("complete", {}).get(tr, True):
            bad.append(f"{tr} (killed run)")
        names.add(metric)
    if bad:
        return [], "not ranked by accuracy: the means of " + ", ".join(bad) + " are not comparable"
    if len(names) > 1:
        return [], "not ranked by accuracy: the traces use different metrics (" + ", ".join(sorted(names)) + ")"
    order = sorted(labels, key=lambda tr: -df.loc["accuracy_mean", (tr, stream)])
    note = "" if df.attrs.get("same_resources", True) else \
        " (means over frames at different resource levels: the traces applied different resource timelines)"
    return order, "ranked by mean accuracy over all run frames" + note


__all__ = ["compare", "METRICS", "scenario_title", "tidy", "accuracy_ranking"]
