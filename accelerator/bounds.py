"""What the parameters imply for durations, checked before an inference runs.

Each parameter has its own range (`accelerator.params`); together they imply durations that
the simulator must be able to represent. Simulated time is integer picoseconds in an int64
(9.2e6 s), and the host keeps every time within `vocab.units.MAX_TIME_S`. So before an
inference runs, `check_program` bounds the longest tile and the whole inference of a mapped
layer program from above (every resource demand in sequence, no overlap: compute cycles at the
clock, DRAM bytes at the bandwidth share, one DRAM latency per transfer, the cost model's
estimate) at the resources it will run with, and refuses one that could leave that range,
naming the parameters and the limit. It needs the mappings, not the mapper: the mapper checks
its candidate batch with it (`accelerator.mapping`), the driver every program it loads
(`accelerator.model`); `accelerator.invariants` re-exports it with the checks of results.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from vocab.units import MAX_TIME_S

from .params import HardwareParams, ParamError, RuntimeResources

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import Mapping

__all__ = ["TIME_LIMIT_S", "program_bound_s", "check_program", "check_demands", "demands"]

#: The longest inference (and so the longest tile) the simulator accepts: the host's time
#: range (`vocab.units.MAX_TIME_S`), well inside the int64-picosecond range of SystemC.
TIME_LIMIT_S = MAX_TIME_S

# DRAM transfers per tile at most: the inputs, the weights, the partial sums in and out
_TRANSFERS_PER_TILE = 4


def demands(mappings: Sequence["Mapping"]) -> tuple[np.ndarray, ...]:
    """What `check_program` bounds of each mapped layer: (compute cycles, DRAM bytes, tiles, the
    cost model's estimate [s])."""
    cyc = np.array([float(m.compute_cycles) for m in mappings])
    dram = np.array([float(m.dram_read_bytes + m.dram_write_bytes) for m in mappings])
    tiles = np.array([float(m.tiles) for m in mappings])
    est = np.array([float(m.time_s) for m in mappings])
    return cyc, dram, tiles, est


def _terms(hw: HardwareParams, parts: tuple[np.ndarray, ...], r: RuntimeResources) -> dict[str, np.ndarray]:
    """Each layer's demands [s] at ``r``, by the parameter that sets them ("": the estimate)."""
    cyc, dram, tiles, est = (np.asarray(a, dtype=np.float64) for a in parts)
    pe_slow = math.ceil(hw.num_pes / r.active_pes)
    slow = max(hw.clock_hz / r.clock_hz, 1.0 / r.dram_share, float(pe_slow))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return {"clock_hz": cyc * pe_slow / r.clock_hz,
                "dram_bandwidth_bytes_per_s": dram / (hw.dram_bandwidth_bytes_per_s * r.dram_share),
                "dram_latency_s": tiles * _TRANSFERS_PER_TILE * hw.dram_latency_s,
                "": est * slow}  # the cost model's estimate (NoC included), at the slowest rate


def program_bound_s(hw: HardwareParams, mappings: Sequence["Mapping"],
                    resources: RuntimeResources | None = None) -> np.ndarray:
    """An upper bound of each mapped layer's simulated duration [s] at ``resources`` (default:
    all of ``hw``): every demand in sequence at the slowest rate the resources give."""
    return sum(_terms(hw, demands(mappings), resources or RuntimeResources.full(hw)).values())


def _limit_error(what: str, bound: float, hw: HardwareParams, r: RuntimeResources, terms: dict) -> ParamError:
    full = r == RuntimeResources.full(hw)
    run = "" if full else \
        f" at the runtime resources (clock_hz {r.clock_hz:g} Hz, active_pes {r.active_pes}, dram_share {r.dram_share:g})"
    name = max((k for k in terms if k), key=lambda k: terms[k])
    value = {"clock_hz": f"{hw.clock_hz:g} Hz" if full else f"{r.clock_hz:g} Hz at run time",
             "dram_bandwidth_bytes_per_s": f"{hw.dram_bandwidth_bytes_per_s:g} B/s" + ("" if full else
                                                                                     f" x dram_share {r.dram_share:g}"),
             "dram_latency_s": f"{hw.dram_latency_s:g} s"}[name]
    fix = "lower" if name == "dram_latency_s" else "raise"
    return ParamError(f"{what} could last up to {bound:.3g} s on {hw.name!r}{run}, beyond the simulated-time limit "
                      f"of {TIME_LIMIT_S:g} s, mostly because of HardwareParams.{name} = {value}: {fix} it")


def check_program(hw: HardwareParams, layers: Sequence[Any], mappings: Sequence["Mapping"],
                  resources: RuntimeResources | None = None, name: str = "") -> float:
    """ParamError unless every layer (so every tile) and the whole inference of a mapped
    program stay within `TIME_LIMIT_S` with finite, non-negative durations at ``resources``;
    returns the inference's bound [s]."""
    return check_demands(hw, layers, demands(mappings), resources, name)


def check_demands(hw: HardwareParams, layers: Sequence[Any], parts: tuple[np.ndarray, ...],
                  resources: RuntimeResources | None = None, name: str = "") -> float:
    """`check_program` of layers whose `demands` are given as arrays (the mapper's candidates,
    costed together)."""
    r = resources or RuntimeResources.full(hw)
    terms = _terms(hw, parts, r)
    per_layer = sum(terms.values()) if len(layers) else np.zeros(0)
    total = float(per_layer.sum())
    if not np.all(np.isfinite(per_layer)) or np.any(per_layer < 0):
        i = int(np.flatnonzero(~np.isfinite(per_layer) | (per_layer < 0))[0])
        raise ParamError(f"layer {getattr(layers[i], 'name', i)!r}: its duration on {hw.name!r} is not a finite, "
                         f"non-negative time (clock_hz {hw.clock_hz:g} Hz, dram_bandwidth_bytes_per_s "
                         f"{hw.dram_bandwidth_bytes_per_s:g} B/s)")
    if total > TIME_LIMIT_S:
        i = int(np.argmax(per_layer))
        if per_layer[i] > TIME_LIMIT_S:  # one layer alone (so possibly one tile) is too long
            raise _limit_error(f"layer {getattr(layers[i], 'name', i)!r}", float(per_layer[i]), hw, r,
                               {k: float(v[i]) for k, v in terms.items()})
        raise _limit_error(f"one inference of {name or 'this workload'} ({len(per_layer)} layers)", total, hw, r,
                           {k: float(v.sum()) for k, v in terms.items()})
    return total
