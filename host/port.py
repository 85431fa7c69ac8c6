"""The host's view of the accelerator: a port that `cosim` implements.

The host never imports the accelerator; it submits configurations by id and
receives outcomes as SimPy events that fire at the exact simulated time the
SystemC model finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import simpy


@dataclass
class Outcome:
    """What the accelerator reports for one inference."""

    tag: int
    config: str
    start_ps: int
    end_ps: int
    energy_j: float
    aborted: bool = False
    detail: Any = field(default=None, repr=False)  # the bridge's full result (per-layer data)
    preempted: bool = False  # stopped at a preemption (not ended): resume or discard it later


class AcceleratorPort(Protocol):
    """Implemented by `cosim.bridge.Bridge`."""

    def submit(self, config_id: str, tag: int) -> simpy.Event:
        """Start one inference now; the event succeeds with an `Outcome` when it ends."""

    def abort(self, tag: int) -> None:
        """Stop the running inference `tag` at the next tile boundary."""

    def preempt(self, tag: int, mechanism: str, granularity: str) -> bool:
        """Preempt the running inference ``tag``: its event succeeds with ``preempted=True`` when it
        has left the accelerator (or normally, if it ends first)."""

    def resume(self, tag: int) -> simpy.Event:
        """Take a preempted inference back; the new event succeeds when it ends or is preempted again."""

    def discard(self, tag: int) -> Outcome:
        """End a preempted inference now as aborted; its outcome at once."""

    def apply(self, resource: str, value: float) -> None:
        """Apply a resource level now (takes effect at the next tile boundary)."""
