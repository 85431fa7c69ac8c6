"""Profile tables: predicted latency and energy per configuration and resource level.

They are data, measured by `cosim` on the same SystemC model (the host never
runs the model itself). A `ResourceLevel` is the hardware share the host has:
PE share, clock scale and DRAM share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple


class ResourceLevel(NamedTuple):
    pe_share: float = 1.0
    clock_scale: float = 1.0
    dram_share: float = 1.0

    @classmethod
    def of(cls, levels: dict[str, float]) -> "ResourceLevel":
        return cls(levels.get("pe_share", 1.0), levels.get("clock_scale", 1.0), levels.get("dram_share", 1.0))

    def covers(self, other: "ResourceLevel") -> bool:
        """True if every resource of self is at most other's (self is pessimistic for other)."""
        return all(a <= b for a, b in zip(self, other))


@dataclass(frozen=True)
class Candidate:
    """A configuration a stream may run, with what the governor ranks it by."""

    config: str
    model: str
    useful_macs: int
    accuracy: float = math.nan
    accuracy_metric: str = ""
    accuracy_source: str = ""
    accuracy_label: str = ""
    params: int = 0
    knobs: str = "{}"
    accuracy_profile: str = ""  # the profile the accuracy came from ('' when unknown)


@dataclass
class ProfileTable:
    """``(config, level) -> (latency_s, energy_j)``, with a conservative lookup."""

    entries: dict[tuple[str, ResourceLevel], tuple[float, float]] = field(default_factory=dict)

    def add(self, config: str, level: ResourceLevel, latency_s: float, energy_j: float) -> None:
        self.entries[(config, ResourceLevel(*level))] = (float(latency_s), float(energy_j))

    def levels(self, config: str) -> list[ResourceLevel]:
        return sorted(l for c, l in self.entries if c == config)

    def configs(self) -> list[str]:
        return sorted({c for c, _ in self.entries})

    def predict(self, config: str, level: ResourceLevel) -> tuple[float, float]:
        """Latency and energy of ``config`` at ``level``.

        Exact when the level was measured. Otherwise the measured level with the
        most resources that does not exceed ``level`` (a pessimistic estimate); if
        none is below it, the smallest measured level scaled by the largest
        resource ratio (compute and memory time both grow at most that much).
        """
        level = ResourceLevel(*level)
        hit = self.entries.get((config, level))
        if hit is not None:
            return hit
        levels = self.levels(config)
        if not levels:
            raise KeyError(f"no profile for configuration {config!r}")
        below = [l for l in levels if l.covers(level)]
        if below:
            best = max(below, key=lambda l: (l.pe_share * l.clock_scale * l.dram_share, l))
            return self.entries[(config, best)]
        low = min(levels, key=lambda l: (l.pe_share * l.clock_scale * l.dram_share, l))
        ratio = max(a / b for a, b in zip(low, level))
        lat, en = self.entries[(config, low)]
        return lat * ratio, en * ratio

    def rows(self) -> list[dict]:
        return [
            {"config": c, "pe_share": l.pe_share, "clock_scale": l.clock_scale, "dram_share": l.dram_share,
             "latency_s": lat, "energy_j": en}
            for (c, l), (lat, en) in sorted(self.entries.items())
        ]
