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

When it is decided. A submit whose key is cached is not sent to the model: the inference is
"in flight" from the cache. SimPy then runs as if the model ran it: the events before its end
are processed (a frame arriving only queues), and at the first step whose next event is at or
after the cached end its completion is scheduled -- the step at which the bridge would have
found it in SystemC, so events keep the same order. If the host calls the accelerator before
that (a resource change, an abort) -- or a host event falls at its very end, where which comes
first is SystemC's to say -- the inference is replayed for real first: submitted to the
model at its start (SystemC stands there: nothing ran it since) and run up to now -- with no
host call in between, the same run as one brought up to now in several steps -- and the call
goes on as without reuse. SystemC's clock is brought up to SimPy's at the next host call after
a reused inference, as for any idle time.

Reuse is off where more than one inference can be in flight (a queued second request,
several tenants) or preemption is configured: the key would not say what shares the model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

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
    # a copy made by `Reuse.settle`: the entry it shifts (every column but the times is the entry's,
    # so the recorder fills the other columns of its layer rows once per entry)
    reused_of: "ReusedResult | None" = None

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


class Reuse:
    """The reuse table of one run and the state of the inference it watches."""

    def __init__(self, acc: Any) -> None:
        self.acc = acc
        self.hw = acc.hw
        self.on = hasattr(acc._core, "backlog_until")  # a model without it cannot prove a clean start
        self.entries: dict[tuple, tuple[Any, int]] = {}  # key -> (result, its start in ps, absolute)
        self.flight: tuple | None = None  # (config, tag, base result, its start, this start) from the cache
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
        """At a submit: True if it runs from the cache (its key is cached); else it goes to the model."""
        self.watch = None
        k = self.key(bridge, config_id)
        if k is None:
            return False
        e = self.entries.get(k)
        if e is None:
            self.watch = (tag, k)
            return False
        self.flight = (config_id, tag, e[0], e[1], bridge.offset_ps + bridge.env.now)
        return True

    def host_call(self, bridge: Any) -> None:
        """The host calls the accelerator now: an inference in flight from the cache is replayed
        first; a watched real run is disturbed (not kept)."""
        if self.flight is not None:
            self._replay(bridge)
        self.watch = None if bridge.running is not None else self.watch

    def settle(self, bridge: Any, nxt: float) -> bool:
        """In `CoSimEnvironment.step`, SimPy's next event at ``nxt``: schedule the completion of the
        inference in flight if it ends by then (True), as the bridge would on finding it in SystemC."""
        config_id, tag, base, base_start, start = self.flight
        d = start - base_start
        end = base.end_ps + d - bridge.offset_ps
        if nxt < end:
            return False
        if nxt == end:  # a host event at its very end: which comes first is SystemC's to say
            self._replay(bridge)
            return False
        self.flight = None
        self.hits += 1
        counters = base.counters.copy()
        counters[:, _TIME_COLUMNS] += d
        res = dataclasses.replace(base, tag=tag, counters=counters, submit_ps=start, start_ps=start,
                                  end_ps=base.end_ps + d, reused_of=base)
        bridge.finish(tag, res, aborted=False)
        return True

    def _replay(self, bridge: Any) -> None:
        config_id, tag, _base, _bs, start = self.flight
        self.flight = None
        acc = bridge.acc
        if int(acc.now_ps()) != start:  # pragma: no cover - an invariant: nothing ran SystemC since
            raise RuntimeError("reuse: SystemC left the start of the inference in flight")
        acc.submit(bridge.program_of(config_id), tag)
        bridge.running = tag
        if bridge.advance(bridge.env.now):  # pragma: no cover - the cached end is after now
            raise RuntimeError("reuse: a replayed inference ended before its cached end")

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
