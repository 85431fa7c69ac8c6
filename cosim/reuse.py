"""Exact reuse of inference results: an inference nothing can disturb is not simulated again.

Why it is exact. An inference that starts on an idle accelerator whose bandwidth servers,
compute units and store channel have no work reserved past its start (`backlog_until` of the
C++ model <= the start) depends on nothing the model did before: every later reservation is
``max(t, free_at) = t``, a unit's ``idle_since`` is before the layer it is compared with, and
the duration memos are exact (same inputs, same arithmetic). What it does then depends only on

- the program (the handle id: one id per loaded program content in this process's model),
- the hardware parameters (fixed for a run; a re-target drops every program and its ids),
- the runtime resources (clock, active PEs, DRAM share) and the sync mode, and
- the host calls that reach the model before it ends (a resource change, an abort).

Every time inside it is the start plus a difference of integers, so its result is the
earlier result shifted by the difference of the starts, bit for bit. The entry is kept only
if the earlier run had the same conditions: a clean start, no host call until its end, no
abort, all layers done, and its own backlog over by its end (so a reused copy leaves the
model as quiet as the real one would: the next real inference sees no difference).

When it is decided. The host may act in the same instant after a submit (another process
woken at that time applies a resource level or starts an abort timer), so a submit whose key
is cached is held until the instant is over (SimPy's next event is later). Then, if that next
event comes after the cached end, nothing can reach the inference before it ends: its
completion is scheduled from the cache and SystemC is not run (the bridge brings the idle
kernel up to SimPy's time at the next host call). Otherwise -- or as soon as the host calls
the accelerator in the same instant -- the held submit goes to the model exactly as it would
have without reuse, in the same order of calls.

Reuse is off where more than one inference can be in flight (a queued second request,
several tenants) or preemption is configured: the key would not say what shares the model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from simpy.core import StopSimulation

from accelerator.counters import COUNTER_INDEX
from accelerator.model import InferenceResult

_TIME_COLUMNS = [COUNTER_INDEX["start_ps"], COUNTER_INDEX["end_ps"]]

#: Scheduler / System attributes that mean more than one inference in flight or preemption
#: (checked by name so that a scheduler without them needs nothing).
_SHARING_ATTRS = ("preempt", "preemption", "tenants", "max_inflight", "spatial", "partitions")


def allowed(system: Any) -> bool:
    """False if ``system`` configures preemption or several inferences in flight."""
    for obj in (system, getattr(system, "scheduler", None)):
        for a in _SHARING_ATTRS:
            v = getattr(obj, a, None)
            if not v or v in ("none", "off", "never") or (isinstance(v, int) and v <= 1):
                continue
            return False
    return True


@dataclasses.dataclass
class ReusedResult(InferenceResult):
    """An entry's result: its energy sums computed once (same arrays, same arithmetic: the
    same floats as the properties compute per call)."""

    sum_layer_energy_j: np.ndarray | None = None
    sum_energy_j: float = 0.0

    @property
    def layer_energy_j(self) -> np.ndarray:
        return self.sum_layer_energy_j

    @property
    def energy_j(self) -> float:
        return self.sum_energy_j

    @classmethod
    def of(cls, res: InferenceResult) -> "ReusedResult":
        counters = np.array(res.counters, copy=True)
        counters.setflags(write=False)
        fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(InferenceResult)}
        fields["counters"] = counters
        return cls(**fields, sum_layer_energy_j=res.layer_energy_j, sum_energy_j=res.energy_j)


def _quiet_until(env: Any, end: int) -> bool:
    """True if no event that can reach the accelerator comes at or before ``end``: only the
    stop events of `simpy.Environment.run(until=...)` (they return control to the caller,
    which only reports progress) may come before it, and nothing at all at ``end`` (an event
    there could be ordered before the completion)."""
    for t, _prio, _eid, ev in env._queue:
        if t < end and ev.callbacks == [StopSimulation.callback]:
            continue
        if t <= end:
            return False
    return True


class Reuse:
    """The reuse table of one run and the state of the inference it watches."""

    def __init__(self, acc: Any) -> None:
        self.acc = acc
        self.hw = acc.hw
        self.on = hasattr(acc._core, "backlog_until")  # a model without it cannot prove a clean start
        self.entries: dict[tuple, tuple[Any, int]] = {}  # key -> (result, its start in ps, absolute)
        self.held: tuple[str, int, tuple] | None = None  # (config, tag, key) of a submit held this instant
        self.watch: tuple | None = None  # (tag, key) of the real inference that may become an entry
        self.hits = 0
        self.misses = 0

    # ---- submit ---------------------------------------------------------------------
    def key(self, bridge: Any, config_id: str) -> tuple | None:
        """The key of an inference of ``config_id`` submitted now, None if its start is not clean."""
        acc = self.acc
        if not self.on or acc.hw is not self.hw or bridge.running is not None or acc._jobs or acc.busy:
            return None
        if getattr(bridge, "_pending", None) is not None and len(bridge._pending) != 1:
            return None  # another request is pending: not the only inference in flight
        now = int(acc.now_ps())
        if int(acc._core.backlog_until()) > now:
            return None
        r = acc.resources
        return (bridge.program_of(config_id).id, r.clock_hz, r.active_pes, r.dram_share, acc.sync)

    def hold(self, bridge: Any, config_id: str, tag: int) -> bool:
        """At a submit: True if it is held (its key is cached); else it goes to the model now."""
        self.watch = None
        k = self.key(bridge, config_id)
        if k is None:
            return False
        if k in self.entries:
            self.held = (config_id, tag, k)
            return True
        self.watch = (tag, k)
        return False

    def host_call(self, bridge: Any) -> None:
        """The host calls the accelerator now: a held submit goes first; a watched run is disturbed."""
        if self.held is not None:
            self._release(bridge)
        elif bridge.running is not None:
            self.watch = None

    def settle(self, bridge: Any, nxt: float) -> None:
        """SimPy is about to leave the submit's instant; its next event is at ``nxt``."""
        if self.held is None or not nxt > bridge.env.now:
            return
        config_id, tag, k = self.held
        base, base_start = self.entries[k]
        now = bridge.env.now
        if not _quiet_until(bridge.env, now + base.end_ps - base_start):  # the host acts before it ends
            self._release(bridge)
            return
        self.held = None
        self.hits += 1
        start = bridge.offset_ps + now
        d = start - base_start
        counters = base.counters.copy()
        counters[:, _TIME_COLUMNS] += d
        res = dataclasses.replace(base, tag=tag, counters=counters, submit_ps=start, start_ps=start,
                                  end_ps=base.end_ps + d)
        bridge.finish(tag, res, aborted=False)

    def _release(self, bridge: Any) -> None:
        config_id, tag, k = self.held
        self.held = None
        bridge.acc.submit(bridge.program_of(config_id), tag)
        bridge.running = tag
        self.watch = (tag, k)

    # ---- completion -----------------------------------------------------------------
    def record(self, tag: int, res: Any) -> None:
        """A real inference ended: keep it if it ran undisturbed from a clean start to a quiet end."""
        w, self.watch = self.watch, None
        if w is None or w[0] != tag:
            return
        self.misses += 1
        if res.aborted or res.layers_done != res.n_layers or res.start_ps != res.submit_ps:
            return
        if int(self.acc._core.backlog_until()) > res.end_ps:
            return
        self.entries[w[1]] = (ReusedResult.of(res), res.start_ps)
