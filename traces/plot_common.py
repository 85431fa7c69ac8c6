"""What the trace figures (:mod:`traces.plots`) share: the look, colours, labels, number formats
and opening a trace given as a path."""

from __future__ import annotations

import contextlib
import math
import os
import textwrap
from typing import Iterable, Iterator, Sequence

import numpy as np
from matplotlib.figure import Figure

from .reader import Trace
from .reader import open as _open_trace

from .style import FALLBACK_PALETTE

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
    # hide this panel's ticks only: set_xticks([]) would empty the locator a shared x axis (the
    # glance figure's time axis) gives every panel, leaving the time axis without numbers
    ax.tick_params(bottom=False, labelbottom=False, left=False, labelleft=False)
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

