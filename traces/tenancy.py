"""Multi-tenant metrics of a trace whose run could preempt (issue 22).

Per stream and over all streams:

* ``miss_rate``: frames that did not complete by their deadline (missed, dropped or aborted)
  over all frames;
* ``antt`` and ``stp`` as PREMA defines them (Choi and Rhu, HPCA 2020, arXiv:1909.04548, after
  Eyerman and Eeckhout's multiprogram metrics): a frame's normalised turnaround time is
  ``NTT = T_multi / T_single`` with ``T_multi`` = end - arrival in this run and ``T_single`` =
  its configuration's latency alone on the accelerator at full resources (column ``isolated_s``,
  measured on the SystemC model by the run's profile); ``ANTT`` = mean NTT and ``STP`` = sum of
  1 / NTT over the frames that completed (so STP grows with the frames served: compare runs of
  the same frames);
* ``preemptions``, ``preempt_s`` (time spent vacating and restoring), ``preempt_bytes`` (DRAM
  bytes spilled and restored) and ``preempt_energy_j`` (the ``preemption`` energy component).

A trace without these columns (a run that could not preempt) has no tenancy metrics: `metrics`
says so with a ValueError naming the missing column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

TENANCY_FRAME_COLUMNS = {"isolated_s": "s", "preemptions": "1"}
#: a spatial run's frames (host/spatial.py): the partition a frame ran in, its PE group at its start
#: (first PE, PEs) and the mean shares of PEs and DRAM bandwidth its partition held while it ran
SPATIAL_FRAME_COLUMNS = {"partition": "1", "pe_first": "1", "pe_count": "1", "pe_share": "1", "dram_share": "1"}
_LAYER_COLUMNS = ("c_preempt_ps", "c_preempt_spill_bytes", "c_preempt_restore_bytes", "energy_preemption_j")
ALL = "all"


def has_tenancy(trace: Any) -> bool:
    return all(c in trace.extra_columns("frames") for c in TENANCY_FRAME_COLUMNS)


def metrics(trace: Any) -> pd.DataFrame:
    """One row per stream (then ``all``): frames, completed, miss_rate, antt, stp, preemptions,
    preempt_s, preempt_bytes, preempt_energy_j."""
    missing = [c for c in TENANCY_FRAME_COLUMNS if c not in trace.extra_columns("frames")]
    if missing:
        raise ValueError(f"the trace has no tenancy metrics: /frames lacks {', '.join(missing)} "
                         "(its run could not preempt)")
    f = trace.frames
    lay = trace.layers
    lay_cols = [c for c in _LAYER_COLUMNS if c in lay.columns]
    per = lay.groupby("stream")[lay_cols].sum() if lay_cols else pd.DataFrame()
    rows = []
    names = sorted(f.stream.unique())
    for name in names + [ALL]:
        g = f if name == ALL else f[f.stream == name]
        rows.append(_row(name, g, per if name == ALL else per.loc[[name]] if name in per.index else per.iloc[0:0]))
    return pd.DataFrame(rows)


def _row(name: str, g: pd.DataFrame, lay: pd.DataFrame) -> dict[str, Any]:
    done = g[np.isfinite(g.end_s) & ~g.dropped.astype(bool)]
    ntt = ((done.end_s - done.arrival_s) / done.isolated_s).to_numpy()
    ntt = ntt[np.isfinite(ntt) & (ntt > 0)]
    n = len(g)
    on_time = int((~g.missed.astype(bool) & ~g.dropped.astype(bool) & np.isfinite(g.end_s)).sum())
    col = lambda c: float(lay[c].sum()) if c in lay.columns else math.nan
    return {
        "stream": name, "frames": n, "completed": len(done),
        "miss_rate": (n - on_time) / n if n else math.nan,
        "antt": float(ntt.mean()) if len(ntt) else math.nan,
        "stp": float((1.0 / ntt).sum()) if len(ntt) else math.nan,
        "preemptions": int(g.preemptions.sum()),
        "preempt_s": col("c_preempt_ps") * 1e-12,
        "preempt_bytes": col("c_preempt_spill_bytes") + col("c_preempt_restore_bytes"),
        "preempt_energy_j": col("energy_preemption_j"),
        # a spatial run: the mean share of the PEs and of the DRAM bandwidth its frames held
        **({"pe_share": float(done.pe_share.mean()) if len(done) else math.nan,
            "dram_share": float(done.dram_share.mean()) if len(done) else math.nan}
           if "pe_share" in g.columns else {}),
    }


def metrics_dict(trace: Any) -> dict[str, dict[str, Any]]:
    """`metrics` as a JSON-able dict (NaN -> None), by stream."""
    out = {}
    for rec in metrics(trace).to_dict("records"):
        name = str(rec.pop("stream"))
        out[name] = {k: (None if isinstance(v, float) and not math.isfinite(v) else
                         int(v) if isinstance(v, (np.integer,)) else float(v) if isinstance(v, np.floating) else v)
                     for k, v in rec.items()}
    return out


__all__ = ["SPATIAL_FRAME_COLUMNS", "TENANCY_FRAME_COLUMNS", "has_tenancy", "metrics", "metrics_dict"]
