"""What the parameters imply, checked before work, and what every result must satisfy,
checked before anything is written.

Before an inference runs, `check_program` (`accelerator.bounds`, re-exported here) bounds
the durations of a mapped layer program and refuses one the simulator could not time,
naming the parameters and the limit. `check_hardware` is the one
validation of a hardware point (its own ranges, the cross-field checks and, with a
workload, these bounds) that `simulate`, `run`, `sweep`, `map` and the Python API share.

After an inference, `check_result` checks the invariants of its numbers (utilisation in
[0, 1], latency at least the compute and memory bounds, energy finite, non-negative and
the sum of its components, counters consistent). A violation is a `ResultInvariantError`
for that inference: a sweep records the point as failed with this message, a run stops
with it; the numbers are never written as a row.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from vocab.errors import UserError
from vocab.units import S_PER_PS

from .bounds import TIME_LIMIT_S, check_program, program_bound_s
from .counters import COUNTER_INDEX as C
from .mapping import map_layers
from .params import HardwareParams, ParamError, RuntimeResources

if TYPE_CHECKING:  # pragma: no cover
    from .result import InferenceResult

__all__ = ["ResultInvariantError", "TIME_LIMIT_S", "program_bound_s", "check_program", "check_hardware",
           "check_result"]

# relative slack for float rounding, and the rounding of each tile to whole picoseconds
_REL = 1e-9
_PS_PER_TILE = 1.0


class ResultInvariantError(UserError, ValueError):
    """An inference result that breaks an invariant (a bug or an input the checks missed):
    never written; a sweep records its point as failed with this message."""


def check_hardware(hw: HardwareParams, workload: Any = None,
                   resources: RuntimeResources | None = None) -> HardwareParams:
    """The one validation of a hardware point: its parameters' ranges, the cross-field checks
    and (with ``workload``, a `Workload` or its layers) the time bounds of `check_program`
    on its mapping. Raises ParamError (a UserError: one line naming parameter and limit);
    returns ``hw``."""
    if not isinstance(hw, HardwareParams):
        raise ParamError(f"expected HardwareParams, got {type(hw).__name__}")
    hw.validate()
    if resources is not None:
        resources.check_against(hw)
    if workload is not None:
        layers = tuple(getattr(workload, "layers", workload))
        check_program(hw, layers, map_layers(layers, hw), resources, getattr(workload, "config", ""))
    return hw


# ---------------------------------------------------------------------------------------------
# results


def _fail(r: "InferenceResult", what: str) -> ResultInvariantError:
    return ResultInvariantError(f"inference {r.tag!r} ({r.config or r.model or 'program'} on {r.hw_name!r}): "
                                f"{what}; the result is not recorded")


def check_result(r: "InferenceResult") -> "InferenceResult":
    """ResultInvariantError unless ``r``'s numbers satisfy the invariants; returns ``r``.
    (Cheap: a few whole-table numpy reductions; it runs once per inference.)"""
    ctr = r.counters
    if ctr.shape != (r.n_layers, len(r.counter_names)):
        raise _fail(r, f"counter table of shape {ctr.shape} for {r.n_layers} layers")
    if ctr.size and ctr.min() < 0:
        i, j = np.argwhere(ctr < 0)[0]
        raise _fail(r, f"counter {r.counter_names[j]} of layer {r.layer_names[i]!r} is negative ({ctr[i, j]})")
    if not (0 <= r.submit_ps <= r.start_ps <= r.end_ps) and not (r.aborted and r.layers_done == 0):
        raise _fail(r, f"times out of order (submit {r.submit_ps} ps, start {r.start_ps} ps, end {r.end_ps} ps)")
    if not 0 <= r.layers_done <= r.n_layers or (not r.aborted and r.layers_done != r.n_layers):
        raise _fail(r, f"{r.layers_done} of {r.n_layers} layers done ({'aborted' if r.aborted else 'completed'})")
    if (ctr[:, C["end_ps"]] < ctr[:, C["start_ps"]]).any():
        raise _fail(r, "a layer ends before it starts")
    if (ctr[:, C["macs_useful"]] > ctr[:, C["macs_issued"]]).any():
        raise _fail(r, "more useful MACs than issued MACs")
    tot = ctr.sum(axis=0)
    cycles, macs = int(tot[C["cycles"]]), int(tot[C["macs_useful"]])
    # InferenceResult.utilization: a KILL's discarded MACs are redone, and the cycles of the run
    # it threw away are not in `cycles` (each layer's cycles are those of its last run)
    kept = macs - int(tot[C["preempt_discarded_macs"]]) if "preempt_discarded_macs" in C else macs
    u = kept / (r.peak_macs_per_cycle * cycles) if cycles else 0.0
    if not (0.0 <= u <= 1.0 + _REL):
        raise _fail(r, f"utilisation {u:.6g} is outside [0, 1]")
    # latency >= the compute and memory bounds of the whole inference, at the most resources
    # granted during it (each tile's duration is rounded to whole picoseconds). Not for an
    # aborted one: its counters include transfers issued and then cut short by the abort.
    if not r.aborted:
        lat = r.latency_s
        slack = lat * _REL + float(tot[C["tiles"]]) * _PS_PER_TILE * S_PER_PS
        dram = float(tot[C["dram_read_bytes"]] + tot[C["dram_write_bytes"]])
        for what, b in (("compute", macs / r.peak_macs_per_s if r.peak_macs_per_s > 0 else math.inf),
                        ("memory", dram / r.dram_bytes_per_s if r.dram_bytes_per_s > 0 else math.inf)):
            if not (lat + slack >= b):
                raise _fail(r, f"latency {lat:.6g} s is below its {what} bound {b:.6g} s")
    if r.energy:
        names = list(r.energy)
        e = np.stack([r.energy[k] for k in names])  # components x layers
        bad = ~np.isfinite(e) | (e < 0)
        if bad.any():
            raise _fail(r, f"energy component {names[int(np.argwhere(bad)[0][0])]} is negative or not finite")
        parts = e.sum(axis=1).tolist()
        total, summed = sum(parts), math.fsum(parts)  # InferenceResult.energy_j, and exactly
        if not math.isclose(total, summed, rel_tol=1e-9, abs_tol=1e-18):
            raise _fail(r, f"energy {total!r} J is not the sum of its components ({summed!r} J)")
    return r
