"""Frame sources: one SimPy process per stream that emits frames at a frame rate.

A frame's deadline is its arrival plus the frame period unless a deadline is
given. The frame rate (and the stream's candidate configurations) can change
during a run through `At` changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import simpy

from vocab.params import Component, Param, ParamError
from vocab.units import MAX_TIME_S, check_time, to_ps



@dataclass
class Frame:
    """One frame of one stream, as it moves through the host."""

    stream: str
    index: int
    arrival_ps: int
    deadline_ps: int
    priority: int = 0
    candidates: tuple[str, ...] = ()
    config: str = ""
    start_ps: int = -1
    end_ps: int = -1
    energy_j: float = math.nan
    accuracy: float = math.nan
    dropped: bool = False
    aborted: bool = False
    tag: int = -1
    outcome: Any = field(default=None, repr=False)
    # tenants: preempted and waiting to resume; times preempted; predicted isolated latency
    suspended: bool = False
    preemptions: int = 0
    isolated_ps: int = -1
    # spatial sharing: its partition, PE group at its start, and the mean share it held while it ran
    partition: int = -1
    pe_first: int = -1
    pe_count: int = -1
    pe_share: float = float("nan")
    dram_share: float = float("nan")


@dataclass(frozen=True)
class At:
    """A change to a stream at a time: ``At(10.0, fps=60)`` or ``At(5.0, candidates=[...])``."""

    time_s: float
    fps: float | None = None
    candidates: tuple[str, ...] | list[str] | None = None

    def __post_init__(self):
        check_time(self.time_s, "At.time_s")
        if self.fps is not None:
            FrameSource.fps.check(self.fps, _where="At.fps: ")


class FrameSource(Component):
    """Emits frames at ``fps`` with uniform jitter; deadline = period unless given."""

    fps = Param(float, 30.0, unit="Hz", doc="frame rate", min=1.0 / MAX_TIME_S, max=10000.0)
    jitter_s = Param(float, 0.0, unit="s", doc="arrival jitter, uniform in [-j, +j]", min=0.0, max=MAX_TIME_S)
    deadline_s = Param(float, 0.0, unit="s", doc="relative deadline; 0 = one frame period", min=0.0, max=MAX_TIME_S)
    start_s = Param(float, 0.0, unit="s", doc="time of the first frame", min=0.0, max=MAX_TIME_S)
    changes = Param(list, [], doc="list of At(time_s, fps=..., candidates=...) changes")

    def validate(self) -> None:
        if self.jitter_s * self.fps >= 0.5:
            raise ParamError(
                f"FrameSource.jitter_s = {self.jitter_s} s is too large for fps = {self.fps} Hz "
                f"(must be below half a period, {0.5 / self.fps:g} s)"
            )
        for c in self.changes:
            if not isinstance(c, At):
                raise ParamError(f"FrameSource.changes: expected At(...) entries, got {c!r}")

    def run(
        self,
        env: simpy.Environment,
        stream: str,
        priority: int,
        candidates: tuple[str, ...],
        emit: Callable[[Frame], None],
        rng: np.random.Generator,
        end_ps: int,
    ):
        """The SimPy process: one frame per period until ``end_ps``."""
        fps = self.fps
        cands = tuple(candidates)
        changes = sorted(self.changes, key=lambda c: c.time_s)
        ci = 0
        nominal = to_ps(self.start_s)
        i = 0
        while nominal < end_ps:
            while ci < len(changes) and to_ps(changes[ci].time_s) <= nominal:
                if changes[ci].fps is not None:
                    fps = changes[ci].fps
                if changes[ci].candidates is not None:
                    cands = tuple(changes[ci].candidates)
                ci += 1
            period = to_ps(1.0 / fps)
            jitter = to_ps(rng.uniform(-self.jitter_s, self.jitter_s)) if self.jitter_s else 0
            arrival = max(nominal + jitter, env.now)
            if arrival > env.now:
                yield env.timeout(arrival - env.now)
            rel = to_ps(self.deadline_s) if self.deadline_s > 0 else period
            emit(Frame(stream=stream, index=i, arrival_ps=env.now, deadline_ps=env.now + rel,
                       priority=priority, candidates=cands))
            i += 1
            nominal += period
