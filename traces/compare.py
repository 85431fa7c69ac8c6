"""Summaries of several traces side by side.

``compare(paths)`` returns a DataFrame whose rows are the summary metrics
(:data:`traces.summary.SUMMARY_COLUMNS` without ``stream``) and whose columns are
a two-level index ``(trace, stream)``: one column block per trace, labelled by
its file name (parent folders are added where two files share a name), holding
one column per stream and the aggregate ``"all"``. Values are floats (counts too). ``df.attrs["paths"]`` maps
each label to its file and ``df.attrs["scenarios"]`` to the first line of the
trace's scenario source (its docstring or comment), when there is one, and
``df.attrs["metrics"]`` to :func:`traces.summary.accuracy_metrics` of each trace (a
``"mixed: ..."`` column's mean accuracy averages different metrics: do not use it).

    import traces.compare as tc
    df = tc.compare(["runs/a.h5", "runs/b.h5"])
    df.xs("all", axis=1, level="stream")      # only the aggregate of each trace
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from .plots import _labels_for
from .reader import Trace
from .reader import open as _open_trace
from .summary import SUMMARY_COLUMNS, accuracy_metrics, summary

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
    for it in items:
        if isinstance(it, Trace):
            s, files_i, meta, mt = summary(it), it.path, it.meta, accuracy_metrics(it)
        else:
            with _open_trace(it) as t:
                s, files_i, meta, mt = summary(t), t.path, t.meta, accuracy_metrics(t)
        files.append(files_i)
        metrics.append(mt)
        scen.append(scenario_title(str(meta.get("scenario", ""))))
        blocks.append(s.set_index("stream")[list(METRICS)].astype(float).T)
    if labels is None:
        labels = _labels_for(files)
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
    return out


__all__ = ["compare", "METRICS", "scenario_title"]
