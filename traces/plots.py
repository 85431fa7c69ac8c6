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

# The figures live by concept in plot_glance (run at a glance), plot_layers (where time and energy
# go, one frame's layers), plot_compare (several traces) and plot_common (what they share); this
# module is where they are imported from (the names it always had, also those outside __all__).
# The look (fonts, sizes, colours) is the project's one figure style, traces/style.py.
from .plot_common import (DROP_COLOR, MISS_COLOR, STREAM_PALETTE, UNKNOWN,  # noqa: F401
                          accuracy_metric, config_order, si, wrap_label)
from .plot_compare import compare_traces, labels_for  # noqa: F401
from .plot_glance import run_at_a_glance
from .plot_layers import (choose_configs, frame_layers, layer_aggregates,  # noqa: F401
                          layers_with_frames, per_frame_breakdown, time_energy_breakdown)
from .style import FALLBACK_PALETTE, LEVEL_COLORS, OP_COLORS, TRAFFIC_COLORS  # noqa: F401
from .style import RC as STYLE

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
