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
    try:
        from accelerator.params import HardwareParams

        return HardwareParams.param_names()
    except ImportError:  # pragma: no cover
        return ()


def fronts(df, objectives: Sequence[str], maximise: Sequence[str] = (), group: str | None = None) -> ParetoResult:
    """The Pareto front of ``df`` (per value of ``group``) and its knee(s)."""
    from .sweeps import SpecError

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


def plot(res: ParetoResult, x: str, y: str, z: str | None, path: str | Path, group: str | None = None,
         title: str | None = None) -> Path:
    """Scatter of every valid row, the front(s) as lines, the knee(s) marked; written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 5))
    d = res.data
    groups = [(None, d)] if not group else list(d.groupby(group, sort=True))
    for i, (gv, g) in enumerate(groups):
        colour = f"C{i % 10}"
        if z:
            sc = ax.scatter(g[x], g[y], c=g[z], cmap="viridis", s=14, alpha=0.6, marker="o^sDv"[i % 5])
        else:
            ax.scatter(g[x], g[y], s=12, alpha=0.35, color=colour)
        f = g[g["on_front"]].sort_values(x)
        lbl = f"front{'' if gv is None else f' {group}={gv}'}"
        ax.plot(f[x], f[y], "-o", color=colour, ms=4, lw=1.4, label=lbl)
        k = g[g["knee"]]
        ax.scatter(k[x], k[y], s=160, facecolors="none", edgecolors="red", linewidths=1.8,
                   label="knee" if i == 0 else None)
    if z and len(d):
        fig.colorbar(sc, ax=ax, label=z)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"Pareto front: {', '.join(res.objectives_text)}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
