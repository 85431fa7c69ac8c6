"""One figure style for every plot of the project (trace plots, `cosim reproduce`, `cosim pareto`,
`cosim report-accuracy`, the notebooks): fonts and sizes, colours, axis labels with their unit
(``latency [ms]``), plain tick labels, legends outside the data, PNG + SVG output, and
:func:`lint`, the automatic checks a reviewer would otherwise do by eye (overlapping tick labels,
an axis without a unit, a legend over data points).

Matplotlib only (the ground of ``traces``: no import of the rest of the project).
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import matplotlib
import numpy as np

#: rc settings of every figure: legible fonts at column width, light grids, text kept as text in SVG.
RC = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "legend.framealpha": 0.85,
    "figure.titlesize": 13,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,      # no "+1.234e3" offsets above an axis
    "savefig.dpi": 130,
    "svg.fonttype": "none",                 # SVG text stays editable text
    "pdf.fonttype": 42,
}

#: Categorical colours: Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2002) without its
#: black (kept for the base design, BASE_COLOR); the pale yellow last (weak on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")

#: Display colours by name (op class, energy level, traffic level); a name not here gets a fallback colour.
OP_COLORS = {
    "dense_conv": "#1f77b4",
    "pointwise": "#ff7f0e",
    "conv1x1": "#ff7f0e",
    "linear": "#ffbb78",
    "depthwise": "#2ca02c",
    "attention": "#d62728",
    "non_mac": "#8c8c8c",
}
LEVEL_COLORS = {
    "DRAM": "#7b3294",
    "global buffer + NoC": "#c2a5cf",
    "PE buffers": "#a6dba0",
    "compute (MAC, PPU)": "#008837",
    "leakage": "#bdbdbd",
}
TRAFFIC_COLORS = {"DRAM": "#7b3294", "global buffer": "#c2a5cf", "NoC": "#f1b6da", "PE buffers": "#a6dba0"}
FALLBACK_PALETTE = ("#e6ab02", "#66a61e", "#e7298a", "#7570b3", "#d95f02", "#1b9e77", "#a6761d", "#666666",
                    "#17becf", "#bcbd22")
BASE_COLOR = "#000000"  # the reference design / the paper's number
PAPER_MARKER = "*"

#: How a result column is shown: (axis label with its unit, factor from the column's SI unit).
COLUMNS = {
    "latency_s": ("latency [ms]", 1e3),
    "latency_p99_s": ("p99 latency [ms]", 1e3),
    "latency_mean_s": ("mean latency [ms]", 1e3),
    "energy_j": ("energy [mJ]", 1e3),
    "energy_per_frame_j": ("energy per frame [mJ]", 1e3),
    "area_mm2": ("area [mm²]", 1.0),
    "macs": ("MACs [G]", 1e-9),
    "dram_bytes": ("DRAM traffic [MB]", 1e-6),
    "utilization": ("utilisation [%]", 100.0),
    "miss_rate": ("miss rate [%]", 100.0),
    "accuracy": ("accuracy [%]", 1.0),
    "accuracy_mean": ("mean accuracy [%]", 1.0),
    "edap": ("EDAP [mJ·ms·mm²]", 1e6),
}
_UNIT_RE = re.compile(r"\[[^\]]+\]")


def column(name: str) -> tuple[str, float]:
    """(axis label with unit, scale) of a result column; unknown columns keep their name and get
    the unit their suffix implies (``_s`` seconds, ``_j`` joules, ``_bytes``), else ``[-]``."""
    if name in COLUMNS:
        return COLUMNS[name]
    for suffix, unit in (("_s", "s"), ("_j", "J"), ("_bytes", "B"), ("_mm2", "mm²"), ("_hz", "Hz"),
                         ("_bytes_per_s", "B/s")):
        if name.endswith(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} [{unit}]", 1.0
    return f"{name.replace('_', ' ')} [-]", 1.0


@contextlib.contextmanager
def use() -> Iterator[None]:
    """The project's rc settings for the figures built inside the block."""
    with matplotlib.rc_context(RC):
        yield


def apply() -> None:
    """Set the project's rc settings globally (notebooks)."""
    matplotlib.rcParams.update(RC)


def figure(w: float, h: float, **kw: Any):
    """A pyplot-free Figure with constrained layout (legends outside axes get room)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), layout="constrained", **kw)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def plain_ticks(ax, axis: str = "both") -> None:
    """Plain numbers on (log) axes: 200 instead of 2×10^2, 10k instead of 10^4; no minor tick labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fmt = FuncFormatter(lambda v, _: compact(v))
    for name in ("x", "y") if axis == "both" else (axis,):
        a = ax.xaxis if name == "x" else ax.yaxis
        if a.get_scale() == "log":
            a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # 10, 20, 50, 100: enough to read
            a.set_minor_formatter(NullFormatter())
        a.set_major_formatter(fmt)


def compact(v: float) -> str:
    """A tick number without exponents: 0.05, 200, 10k, 2.5M."""
    a = abs(v)
    for f, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")):
        if a >= f:
            return f"{v / (f if suf != 'k' else 1e3):g}{suf}"
    return f"{v:g}" if a >= 1e-4 or v == 0 else f"{v:.1e}"


def legend_outside(ax, where: str = "right", **kw: Any):
    """A legend beside (``right``) or under (``below``) the axes, never over the data."""
    if where == "below":  # under the tick labels and the axis label (about 44 points below the axes)
        from matplotlib.transforms import offset_copy

        kw.setdefault("ncol", 3)
        return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=0,
                         bbox_transform=offset_copy(ax.transAxes, fig=ax.figure, y=-44, units="points"), **kw)
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kw)


def fit_ticklabels(fig, axes: Sequence | None = None, axis: str = "x") -> None:
    """Make crowded categorical tick labels readable: where two overlap on the rendered figure,
    shrink them, then rotate them (anchored at their tick), until they do not."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    for step in ({"fontsize": 8.5}, {"fontsize": 7.5}, {"rotation": 30, "ha": "right", "rotation_mode": "anchor"},
                 {"rotation": 60}):
        canvas.draw()
        r = canvas.get_renderer()
        crowded = []
        for ax in axes if axes is not None else fig.axes:
            labels = [t for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())
                      if t.get_visible() and t.get_text()]
            if _overlaps([t.get_window_extent(r) for t in labels]):
                crowded.append(labels)
        if not crowded:
            return
        for labels in crowded:
            for t in labels:
                t.update(step)


def step_front(ax, x: Sequence[float], y: Sequence[float], **kw: Any):
    """A two-objective Pareto front (both minimised) as a staircase through its points: the region
    it bounds is what is achievable, so the line never doubles back."""
    order = np.argsort(np.asarray(x, float), kind="stable")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    return ax.step(xs, ys, where="post", **kw)


def save(fig, path: str | Path, also: Iterable[str] = ("svg",)) -> list[Path]:
    """Write ``fig`` to ``path`` (PNG when it has no suffix) and beside it in each format of ``also``
    (SVG keeps text as text, PDF embeds TrueType fonts: for papers). Returns the paths written.
    Each file is written whole or not at all (a full disk is an OutputError naming the file,
    and an older figure stays as it was); claiming the files is the caller's (the commands
    that write figures claim their outputs first)."""
    from .output import replaced_whole

    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path] + [path.with_suffix("." + f.lstrip(".")) for f in also if "." + f.lstrip(".") != path.suffix]
    with use():
        for p in out:
            with replaced_whole(p, what="figure") as tmp:
                fig.savefig(tmp, bbox_inches="tight")
    return out


# --------------------------------------------------------------------------------------------
# lint: what can be checked automatically
# --------------------------------------------------------------------------------------------
def _numeric(texts: Sequence[str]) -> bool:
    vals = [t.replace("−", "-").replace(",", "").replace("%", "").strip() for t in texts if t.strip()]
    if not vals:
        return False
    try:
        [float(v) for v in vals]
    except ValueError:
        return False
    return True


def _overlaps(boxes: list) -> list[tuple[int, int]]:
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            ox = min(a.x1, b.x1) - max(a.x0, b.x0)
            oy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if ox > 0.5 and oy > 0.5:  # pixels: touching is not overlapping
                out.append((i, j))
    return out


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the markers and line vertices drawn in ``ax`` (bars: their tops)."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    pts = []
    for ln in ax.get_lines():
        if not ln.get_visible():
            continue
        xy = np.column_stack([np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)])
        if len(xy) and ln.get_transform() == ax.transData:
            pts.append(ax.transData.transform(xy[np.isfinite(xy).all(axis=1)]))
    for c in ax.collections:
        if isinstance(c, PathCollection) and c.get_visible():
            off = np.asarray(c.get_offsets(), float)
            if len(off):
                pts.append(c.get_offset_transform().transform(off[np.isfinite(off).all(axis=1)]))
    for p in ax.patches:
        if isinstance(p, Rectangle) and p.get_visible() and p.get_transform() is not None and p.get_height() != 0:
            x, y, w, h = p.get_x(), p.get_y(), p.get_width(), p.get_height()
            if all(map(math.isfinite, (x, y, w, h))):
                pts.append(p.get_data_transform().transform([[x + w / 2, y + h], [x + w / 2, y]]))
    return np.vstack(pts) if pts else np.zeros((0, 2))


def lint(fig) -> list[str]:
    """Problems a reviewer would reject, found on the rendered figure: overlapping tick labels,
    a numeric axis without a ``[unit]`` in its label, an axis with a unit but no tick labels, a
    legend that covers data points, a ``1×10^n`` tick label. Empty when the figure passes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    problems = []
    labels = [(a.get_text(), a.get_window_extent(r)) for ax in fig.axes if ax.get_visible()
              for a in (ax.xaxis.label, ax.yaxis.label) if a.get_visible() and a.get_text()]
    for i, j in _overlaps([b for _, b in labels]):
        problems.append(f"axis labels {labels[i][0]!r} and {labels[j][0]!r} overlap")
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        name = ax.get_title() or ax.get_title(loc="left") or f"axes {k}"
        if ax.get_label() == "<colorbar>":
            lbl = ax.get_ylabel() or ax.get_xlabel()
            if not _UNIT_RE.search(lbl):
                problems.append(f"{name}: colour bar label {lbl!r} has no [unit]")
            continue
        for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            vis = [t for t in ticks if _in_view(t, ax, r, axis_name)]
            texts = [t.get_text() for t in vis]
            if not vis:
                label = axis.get_label().get_text()
                if axis.get_label().get_visible() and _UNIT_RE.search(label):  # a scale without numbers
                    problems.append(f"{name}: {axis_name} axis {label!r} has no tick labels")
                continue
            for a, b in _overlaps([t.get_window_extent(r) for t in vis]):
                problems.append(f"{name}: {axis_name} tick labels {texts[a]!r} and {texts[b]!r} overlap")
            if any("times" in t or "×" in t or "^" in t for t in texts):
                problems.append(f"{name}: {axis_name} tick labels in exponent notation ({texts[0]!r})")
            label = axis.get_label().get_text()
            if _numeric(texts) and not _UNIT_RE.search(label):
                problems.append(f"{name}: {axis_name} axis label {label!r} has no [unit]")
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            box = leg.get_window_extent(r)
            pts = _data_points(ax)
            if len(pts):
                inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
                if inside.any():
                    problems.append(f"{name}: legend covers {int(inside.sum())} data point(s)")
    return problems


def _in_view(t, ax, r, axis_name: str) -> bool:
    """A tick label whose tick lies within the axes' limits (matplotlib keeps spares outside)."""
    bb = t.get_window_extent(r)
    axb = ax.get_window_extent(r)
    if axis_name == "x":
        return axb.x0 - 2 <= (bb.x0 + bb.x1) / 2 <= axb.x1 + 2
    return axb.y0 - 2 <= (bb.y0 + bb.y1) / 2 <= axb.y1 + 2
