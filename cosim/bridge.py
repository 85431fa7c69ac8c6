"""The exact, conservative SimPy <-> SystemC time bridge.

SimPy is the master clock, in integer picoseconds. Before SimPy processes its
next event at time ``t``, the bridge advances SystemC to ``t`` -- never past it.
The accelerator pauses the SystemC kernel (``sc_pause``) the moment an
inference completes, so ``sc_start`` returns at that exact time; the bridge then
schedules the matching SimPy event at that same picosecond. Host-side changes
(a request, a resource level, an abort) are applied when SystemC stands at the
same instant as SimPy. SystemC's absolute time is ``offset + env.now`` (the
kernel may already have run profile measurements before the co-simulation).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import simpy

from host.port import Outcome
from vocab.errors import UserError

HORIZON_PS = 10**15  # one SystemC step when the host has no pending event (1000 s)

#: The SimPy major version whose internals `trigger_at` uses (pyproject.toml pins the same).
SIMPY_SUPPORTED_MAJOR = 4


def check_simpy(installed: str | None = None) -> None:
    """Refuse a SimPy whose internals `trigger_at` was not tested with (one clear line)."""
    installed = simpy.__version__ if installed is None else installed
    major = installed.split(".")[0]
    if major != str(SIMPY_SUPPORTED_MAJOR):
        raise UserError(f"simpy {installed} is installed; the co-simulation bridge supports simpy "
                        f"{SIMPY_SUPPORTED_MAJOR}.x (pip install 'simpy>={SIMPY_SUPPORTED_MAJOR}.1,<"
                        f"{SIMPY_SUPPORTED_MAJOR + 1}')")


def trigger_at(env: simpy.Environment, ev: simpy.Event, value: Any, delay: int) -> None:
    """Succeed ``ev`` with ``value`` at ``delay`` from now, ahead of the other events of that
    instant. SimPy's public ``succeed()`` schedules at once; a completion that SystemC reports
    for a later instant needs a delay. The one place the bridge uses SimPy internals (the
    event's ``_ok``/``_value`` and the ``URGENT`` priority): checked by `check_simpy`."""
    from simpy.events import URGENT

    ev._ok = True
    ev._value = value
    env.schedule(ev, URGENT, delay)


class CoSimEnvironment(simpy.Environment):
    """A SimPy environment whose every step first brings SystemC up to the next event."""

    def __init__(self, bridge: "Bridge") -> None:
        super().__init__(initial_time=0)
        self.bridge = bridge

    def step(self) -> None:
        reuse = self.bridge.reuse
        if reuse is not None and reuse.flight is not None and reuse.settle(self.bridge, self.peek()):
            return  # an inference run from the cache ends by the next event (cosim/reuse.py)
        if self.bridge.busy:
            nxt = self.peek()
            if self.bridge.advance(None if math.isinf(nxt) else int(nxt)):
                return  # a completion was scheduled at or before nxt: process events in order
        super().step()


class Bridge:
    """Implements the host's `AcceleratorPort` on the SystemC accelerator."""

    def __init__(self, accelerator: Any, hw: Any, program_of: Callable[[str], Any], reuse: Any = None) -> None:
        check_simpy()
        self.acc = accelerator
        self.hw = hw
        self.program_of = program_of  # config id -> loaded program handle
        self.env = CoSimEnvironment(self)
        self.offset_ps = int(accelerator.now_ps())
        self._pending: dict[int, tuple[simpy.Event, str, int]] = {}
        self._suspended: dict[int, tuple[str, int]] = {}  # preempted: tag -> (config, first start)
        self.running: int | None = None
        self.sc_calls = 0
        self.reuse = reuse  # a cosim.reuse.Reuse, or None: every inference is simulated

    # ---- time ----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.running is not None

    def _check_sync(self) -> None:
        """Bring an idle SystemC up to SimPy's now (while busy, `step` keeps them together)."""
        if self.reuse is not None:
            self.reuse.host_call(self)
        sc = int(self.acc.now_ps()) - self.offset_ps
        if sc < self.env.now and not self.busy:
            self.sc_calls += 1
            if self.acc.run_until(self.offset_ps + self.env.now):  # pragma: no cover - idle: nothing completes
                raise RuntimeError("an idle accelerator reported a completion")
            sc = int(self.acc.now_ps()) - self.offset_ps
        if sc != self.env.now:  # pragma: no cover - an invariant, not an input error
            raise RuntimeError(f"SystemC ({sc} ps) and SimPy ({self.env.now} ps) are out of step")

    def advance(self, until_ps: int | None) -> bool:
        """Run SystemC up to ``until_ps`` (relative), or to the next completion if that comes first.

        Returns True if a completion was scheduled as a SimPy event.
        """
        target = None if until_ps is None else self.offset_ps + until_ps
        if target is not None and target <= int(self.acc.now_ps()):
            return False
        self.sc_calls += 1
        if target is not None:
            done = self.acc.run_until(target)
        else:  # nothing else will happen on the host side: run to the completion
            done = []
            while not done:
                done = self.acc.run_until(int(self.acc.now_ps()) + HORIZON_PS)
        for c in done:
            self._complete(c)
        return bool(done)

    def _complete(self, c: Any) -> None:
        if getattr(c, "preempted", False):  # it left the accelerator; it stays the model's
            ev, config, start_ps = self._pending.pop(c.tag)
            end_ps = int(c.end_ps) - self.offset_ps
            self._suspended[c.tag] = (config, start_ps)
            out = Outcome(tag=c.tag, config=config, start_ps=start_ps, end_ps=end_ps, energy_j=0.0, preempted=True)
            self._fire(ev, out, end_ps)
            return
        res = self.acc.result(c.tag, keep=False)
        if self.reuse is not None:
            self.reuse.record(c.tag, res)
        self.finish(c.tag, res, bool(getattr(c, "aborted", False)))

    def finish(self, tag: int, res: Any, aborted: bool) -> None:
        """Schedule the completion event of ``tag`` at its result's end."""
        ev, config, start_ps = self._pending.pop(tag)
        end_ps = int(res.end_ps) - self.offset_ps
        out = Outcome(tag=tag, config=config, start_ps=start_ps, end_ps=end_ps,
                      energy_j=float(res.energy_j), aborted=aborted, detail=res)
        self._fire(ev, out, end_ps)

    def _fire(self, ev: Any, out: Outcome, end_ps: int) -> None:
        self.running = None
        trigger_at(self.env, ev, out, end_ps - self.env.now)

    # ---- the port ------------------------------------------------------------
    def submit(self, config_id: str, tag: int) -> simpy.Event:
        self._check_sync()
        if self.running is not None:
            raise RuntimeError("the accelerator runs one inference at a time")  # pragma: no cover
        ev = simpy.Event(self.env)
        self._pending[tag] = (ev, config_id, self.env.now)
        if self.reuse is not None and self.reuse.hold(self, config_id, tag):
            return ev  # runs from the cache (cosim/reuse.py)
        self.acc.submit(self.program_of(config_id), tag)
        self.running = tag
        return ev

    def abort(self, tag: int) -> None:
        self._check_sync()
        if self.running == tag:
            self.acc.abort()

    def preempt(self, tag: int, mechanism: str, granularity: str) -> bool:
        self._check_sync()
        return self.running == tag and self.acc.preempt(mechanism, granularity)

    def resume(self, tag: int) -> simpy.Event:
        self._check_sync()
        if self.running is not None:
            raise RuntimeError("the accelerator runs one inference at a time")  # pragma: no cover
        config, start_ps = self._suspended.pop(tag)
        ev = simpy.Event(self.env)
        self._pending[tag] = (ev, config, start_ps)
        self.acc.resume(tag)
        self.running = tag
        return ev

    def discard(self, tag: int) -> Outcome:
        self._check_sync()
        config, start_ps = self._suspended.pop(tag)
        c = self.acc.discard(tag)
        res = self.acc.result(tag, keep=False)
        return Outcome(tag=tag, config=config, start_ps=start_ps, end_ps=int(c.end_ps) - self.offset_ps,
                       energy_j=float(res.energy_j), aborted=True, detail=res)

    def apply(self, resource: str, value: float) -> None:
        self._check_sync()
        self.acc.set_resources(**resource_settings(self.hw, resource, value))


def resource_settings(hw: Any, resource: str, value: float) -> dict[str, float | int]:
    """A host resource level -> the accelerator's runtime setting (one definition)."""
    if resource == "pe_share":
        return {"active_pes": max(1, int(math.floor(value * hw.num_pes + 1e-9)))}
    if resource == "clock_scale":
        return {"clock_hz": hw.clock_hz * value}
    if resource == "dram_share":
        return {"dram_share": value}
    raise ValueError(f"resource {resource!r} is not an accelerator resource")
