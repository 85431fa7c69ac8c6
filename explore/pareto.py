"""Pareto fronts and knee points of sweep results (pandas in, pandas out; a matplotlib figure).

A row is on the front when no other row is at least as good in every objective and better in
one (minimised columns; ``maximise`` columns such as accuracy count the other way). The knee of
a front is the point closest to the utopia point (the best value of every objective) after
each objective is scaled to [0, 1] over the front: the point where improving one objective
starts to cost the most in the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["pareto_mask", "knee_index", "fronts", "plot", "ParetoResult"]

LABELS = ("preset", "hardware", "config", "model", "scenario", "governor")


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n x k, every column minimised).
    Duplicated rows are all kept."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        if np.any(le & lt):
            keep[i] = False
    return keep


def knee_index(values: np.ndarray) -> int:
    """Index (into ``values``, the front's rows, every column minimised) of the knee point."""
    v = np.asarray(values, dtype=float)
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    d = np.sqrt((((v - lo) / span) ** 2).sum(axis=1))
    return int(np.argmin(d))


@dataclass
class ParetoResult:
    front: Any            # DataFrame: the front's rows (every group), column "knee"
    data: Any             # DataFrame: every valid row, column "on_front"
    objectives: list[str]
    maximise: list[str]
    n_valid: int
    n_dropped: int
    group: str | None = None

    @property
    def all_objectives(self) -> list[str]:
        return self.objectives + self.maximise

    @property
    def objectives_text(self) -> list[str]:
        return [f"min {c}" for c in self.objectives] + [f"max {c}" for c in self.maximise]

    @property
    def label_columns(self) -> list[str]:
        cols = [c for c in LABELS if c in self.data.columns]
        coord = [c for c in self.data.columns if c.startswith(("knob.", "tag.")) or c in _hw_fields()]
        return ([self.group] if self.group else []) + [c for c in cols + coord if c != self.group]


def _hw_fields() -> tuple[str, ...]:
    from cosim.api import hardware_fields

    return hardware_fields()


def fronts(df, objectives: Sequence[str], maximise: Sequence[str] = (), group: str | None = None) -> ParetoResult:
    """The Pareto front of ``df`` (per value of ``group``) and its knee(s)."""
    from .sweep_spec import SpecError

    objectives, maximise = list(objectives), list(maximise)
    for c in objectives + maximise + ([group] if group else []):
        if c not in df.columns:
            numeric = [k for k in df.columns if df[k].dtype.kind in "fiu"]
            raise SpecError(f"column {c!r} is not in the results; numeric columns: {', '.join(numeric)}")
    for c in objectives + maximise:
        if df[c].dtype.kind not in "fiu":
            raise SpecError(f"column {c!r} is not numeric ({df[c].dtype}); pick a numeric column")
    d = df
    if "error" in d.columns:
        d = d[d["error"].fillna("") == ""]
    cols = objectives + maximise
    valid = d[np.isfinite(d[cols].to_numpy(float)).all(axis=1)].copy()
    n_dropped = len(d) - len(valid)
    valid["on_front"] = False
    valid["knee"] = False
    groups = [(None, valid)] if not group else list(valid.groupby(group, sort=True))
    for _, g in groups:
        if not len(g):
            continue
        vals = np.column_stack([g[c].to_numpy(float) for c in objectives] + [-g[c].to_numpy(float) for c in maximise])
        m = pareto_mask(vals)
        idx = g.index[m]
        valid.loc[idx, "on_front"] = True
        valid.loc[idx[knee_index(vals[m])], "knee"] = True
    front = valid[valid["on_front"]].sort_values(([group] if group else []) + [objectives[0]])
    return ParetoResult(front=front, data=valid, objectives=objectives, maximise=maximise, n_valid=len(valid),
                        n_dropped=n_dropped, group=group)


def front2d(g, x: str, y: str):
    """The rows of ``g`` not dominated in the two plotted objectives (both minimised), by ``x``."""
    if not len(g):
        return g
    m = pareto_mask(g[[x, y]].to_numpy(float))
    return g[m].sort_values([x, y])


def draw(res: ParetoResult, x: str, y: str, z: str | None = None, group: str | None = None, title: str | None = None):
    """The figure of :func:`plot` (a matplotlib Figure, no pyplot): every valid row in grey, the
    points of the (possibly many-objective) front as markers, coloured by ``z`` and sized by a
    maximised objective when there is one, the front over the two plotted objectives as a
    staircase (the region it bounds is achievable, so it never doubles back), the knee ringed."""
    from traces import style

    (xl, xs), (yl, ys) = style.column(x), style.column(y)
    d = res.data
    groups = [(None, d)] if not group else list(d.groupby(group, sort=True))
    size_col = res.maximise[0] if res.maximise else None
    with style.use():
        fig = style.figure(9.5, 5)
        ax = fig.subplots()
        sc = None
        zmin, zmax = ((float(d[z].min()), float(d[z].max())) if z and len(d) else (0.0, 1.0))
        for i, (gv, g) in enumerate(groups):
            colour = style.color(i)
            name = "" if gv is None else f" {group}={gv}"
            off = g[~g["on_front"]]
            ax.scatter(off[x] * xs, off[y] * ys, s=10, color="#bbbbbb", label="other points" if i == 0 else None,
                       zorder=1)
            f = g[g["on_front"]]
            sizes = 36.0
            if size_col and len(f):
                lo, hi = float(res.data[size_col].min()), float(res.data[size_col].max())
                sizes = 20 + 100 * ((f[size_col] - lo) / (hi - lo if hi > lo else 1.0)).to_numpy(float)
            kw = dict(c=f[z], cmap="viridis", vmin=zmin, vmax=zmax) if z else dict(color=colour)
            sc = ax.scatter(f[x] * xs, f[y] * ys, s=sizes, marker=style.marker(i), edgecolors="k", linewidths=0.4,
                            zorder=3, label=f"{gv}" if group else "on the front", **kw)
            f2 = front2d(f, x, y)
            style.step_front(ax, f2[x] * xs, f2[y] * ys, color=colour if group else "#333333", lw=1.4,
                             label=None if i else "front over the two axes", zorder=2)
            k = g[g["knee"]]
            ax.scatter(k[x] * xs, k[y] * ys, s=190, facecolors="none", edgecolors="#D55E00", linewidths=1.8,
                       zorder=4, label="knee" if i == 0 else None)
        if z and sc is not None:
            fig.colorbar(sc, ax=ax, label=style.column(z)[0], location="right", pad=0.02)
        if size_col:
            ax.scatter([], [], s=20, color="#777777", label=f"{size_col}: smallest")
            ax.scatter([], [], s=120, color="#777777", label=f"{size_col}: largest")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(title or f"Pareto front: {', '.join(res.objectives_text)}", loc="left", fontsize=11)
        style.legend_outside(ax, title=group)
    return fig


def plot(res: ParetoResult, x: str, y: str, z: str | None, path: str | Path, group: str | None = None,
         title: str | None = None) -> Path:
    """:func:`draw`, written to ``path`` (PNG) and beside it as SVG."""
    from traces import style

    path = Path(path)
    style.save(draw(res, x, y, z, group=group, title=title), path)
    return path
