"""The result of one inference: its per-layer counters and what derives from them (latency,
energy by component, utilisation, roofline), as `accelerator.model.Accelerator` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

import numpy as np

from vocab.units import S_PER_PS

from .counters import COUNTER_INDEX, COUNTER_NAMES

__all__ = ["InferenceResult"]

_C = COUNTER_INDEX


@dataclass
class InferenceResult:
    """Per-layer counters and derived timing/energy of one inference."""

    tag: Hashable
    model: str
    config: str
    layer_names: tuple[str, ...]
    layer_ops: tuple[str, ...]
    counters: np.ndarray  # [n_layers, NUM_COUNTERS] int64, order of accelerator.counters
    submit_ps: int
    start_ps: int
    end_ps: int
    aborted: bool
    layers_done: int
    energy: dict[str, np.ndarray]  # component -> joules per layer
    # lower bound of each layer's duration: max(useful MACs / peak MAC rate, DRAM bytes / DRAM
    # bandwidth, PPU element-ops / PPU rate), at the most resources granted during the run
    roofline_layer_s: np.ndarray
    peak_macs_per_s: float  # of the resources used for the roofline (the most granted during the run)
    dram_bytes_per_s: float
    peak_macs_per_cycle: int = 1  # of the hardware (all PEs)
    hw_name: str = ""
    counter_names: tuple[str, ...] = COUNTER_NAMES
    # kernel activations per layer (depends on the sync mode, unlike every counter)
    layer_activations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    layer_op_classes: tuple[str, ...] = ()  # workloads.ir.Layer.op_class of each layer

    def counter(self, name: str) -> np.ndarray:
        return self.counters[:, _C[name]]

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    @property
    def latency_s(self) -> float:
        """From the start of the first layer to the end of the last."""
        return (self.end_ps - self.start_ps) * S_PER_PS

    @property
    def queue_s(self) -> float:
        return (self.start_ps - self.submit_ps) * S_PER_PS

    @property
    def layer_latency_s(self) -> np.ndarray:
        return (self.counter("end_ps") - self.counter("start_ps")) * S_PER_PS

    @property
    def layer_energy_j(self) -> np.ndarray:
        return sum(self.energy.values())

    @property
    def energy_by_component(self) -> dict[str, float]:
        return {k: float(v.sum()) for k, v in self.energy.items()}

    @property
    def energy_j(self) -> float:
        return float(sum(v.sum() for v in self.energy.values()))

    @property
    def macs(self) -> int:
        return int(self.counter("macs_useful").sum())

    @property
    def macs_issued(self) -> int:
        return int(self.counter("macs_issued").sum())

    @property
    def dram_bytes(self) -> int:
        return int(self.counter("dram_read_bytes").sum() + self.counter("dram_write_bytes").sum())

    @property
    def cycles(self) -> int:
        return int(self.counter("cycles").sum())

    @property
    def utilization(self) -> float:
        """Useful MACs / (the hardware's peak MACs per cycle x cycles spent). Useful MACs that a
        KILL threw away are left out: the inference redid them, and each layer's cycles are those
        of its last run."""
        cyc = self.cycles
        macs = self.macs
        if "preempt_discarded_macs" in self.counter_names:
            macs -= int(self.counter("preempt_discarded_macs").sum())
        return macs / (self.peak_macs_per_cycle * cyc) if cyc else 0.0

    @property
    def roofline_s(self) -> float:
        return float(self.roofline_layer_s.sum())

    @property
    def roofline_ratio(self) -> float:
        """latency / roofline bound (>= 1)."""
        r = self.roofline_s
        return self.latency_s / r if r > 0 else float("nan")

    @property
    def layer_roofline_ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.roofline_layer_s > 0, self.layer_latency_s / self.roofline_layer_s, np.nan)

    def summary(self) -> dict[str, Any]:
        return {
            "tag": self.tag, "model": self.model, "config": self.config, "hw": self.hw_name,
            "latency_s": self.latency_s, "energy_j": self.energy_j, "macs": self.macs,
            "macs_issued": self.macs_issued, "dram_bytes": self.dram_bytes, "utilization": self.utilization,
            "roofline_s": self.roofline_s, "roofline_ratio": self.roofline_ratio, "aborted": self.aborted,
            "layers_done": self.layers_done, "energy_by_component": self.energy_by_component,
        }

    def layer_table(self) -> list[dict[str, Any]]:
        """One dict per layer (what `cosim simulate` prints and its ``--json`` gives): name, op,
        op class, useful and issued MACs, start (from the inference's start), latency, ratio to
        the roofline, DRAM bytes, energy, tiles, kernel activations."""
        c = {n: self.counter(n) for n in ("macs_useful", "macs_issued", "start_ps", "dram_read_bytes",
                                          "dram_write_bytes", "tiles")}
        lat, roof, energy = self.layer_latency_s, self.layer_roofline_ratio, self.layer_energy_j
        classes = self.layer_op_classes or ("",) * self.n_layers
        return [
            {"name": n, "op": op, "op_class": classes[i], "macs": int(c["macs_useful"][i]),
             "macs_issued": int(c["macs_issued"][i]), "start_s": float(c["start_ps"][i] - self.start_ps) * S_PER_PS,
             "latency_s": float(lat[i]), "roofline_ratio": float(roof[i]),
             "dram_bytes": int(c["dram_read_bytes"][i] + c["dram_write_bytes"][i]),
             "energy_j": float(energy[i]), "tiles": int(c["tiles"][i]), "activations": int(self.layer_activations[i])}
            for i, (n, op) in enumerate(zip(self.layer_names, self.layer_ops))
        ]
