"""The bridge of a spatial run (issue 22): several inferences in flight, one per partition.

Time is kept exactly as by `Bridge` (SimPy the master clock; SystemC pauses at each
completion). The model runs in its reference per-tile mode: the partitions share the DRAM and
NoC servers, whose reservations must come in the order of simulated time, which running one
partition ahead in local time would not keep. No result is reused (`cosim.reuse.allowed`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import simpy

from host.port import Outcome

from .bridge import Bridge, trigger_at


class SpatialBridge(Bridge):
    """`Bridge` with one running inference per partition (`AcceleratorPort.submit_to`)."""

    def __init__(self, accelerator: Any, hw: Any, program_of: Callable[[str], Any], partition_bandwidth: bool) -> None:
        super().__init__(accelerator, hw, program_of, None)
        self.runs: dict[int, int] = {}  # partition -> running tag
        self.groups: dict[int, tuple[int, float]] = {}  # partition -> (PEs, DRAM share) as set
        self.part_of: dict[int, int] = {}  # running tag -> partition
        from host.spatial import MAX_PARTITIONS

        if accelerator.partitions != MAX_PARTITIONS:  # pragma: no cover - a stale build
            raise RuntimeError(f"the C++ model has {accelerator.partitions} partitions, host.spatial expects {MAX_PARTITIONS}")
        accelerator.sync = "tile"
        accelerator.reset_partitions()
        accelerator.partition_bandwidth(partition_bandwidth)

    @property
    def partitions(self) -> int:
        return self.acc.partitions

    @property
    def busy(self) -> bool:
        return bool(self.runs)

    def _fire(self, ev: Any, out: Outcome, end_ps: int) -> None:
        part = self.part_of.pop(out.tag, None)
        if part is not None:
            self.runs.pop(part, None)
        trigger_at(self.env, ev, out, end_ps - self.env.now)

    def submit_to(self, config_id: str, tag: int, partition: int) -> simpy.Event:
        self._check_sync()
        if partition in self.runs:
            raise RuntimeError(f"partition {partition} already runs an inference")  # pragma: no cover
        ev = simpy.Event(self.env)
        self._pending[tag] = (ev, config_id, self.env.now)
        self.acc.submit(self.program_of(config_id), tag, partition=partition)
        self.runs[partition] = tag
        self.part_of[tag] = partition
        return ev

    def submit(self, config_id: str, tag: int) -> simpy.Event:
        return self.submit_to(config_id, tag, 0)

    def abort(self, tag: int) -> None:
        self._check_sync()
        if tag in self.part_of:
            self.acc.abort(self.part_of[tag])

    def partition(self, partition: int, pe_share: float, dram_share: float) -> int:
        """Give ``partition`` its shares now; returns its PEs (the rounding of `resource_settings`)."""
        self._check_sync()
        pes = max(1, int(math.floor(pe_share * self.hw.num_pes + 1e-9)))
        self.acc.set_partition(partition, pes, dram_share)
        self.groups[partition] = (pes, dram_share)
        return pes

    def apply(self, resource: str, value: float) -> None:
        """An exogenous change of the clock (the host re-partitions PEs and bandwidth itself)."""
        super().apply(resource, value)
        if 0 in self.groups:  # the whole-accelerator setting also set partition 0's group: give it back
            self.acc.set_partition(0, *self.groups[0])
