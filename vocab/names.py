"""Shared enumerations: the names more than one subsystem agrees on (the workload and the
accelerator, the host and the accelerator). Hardware names (counters, energy components, memory
levels) are the accelerator's: `accelerator.hierarchy`, `accelerator.counters`,
`accelerator.energy`; traces store them in the file.
"""

from __future__ import annotations

__all__ = ["OP_CLASSES", "TENANCY_COMPONENTS", "PREEMPT_MECHANISMS", "PREEMPT_GRANULARITIES"]

#: Op classes of the MAC breakdown (the paper's question: where do FLOPs go?).
OP_CLASSES: tuple[str, ...] = ("dense_conv", "pointwise", "depthwise", "attention", "non_mac")

#: Energy components stored in a trace only when its run can preempt (the preemption counters
#: likewise, `accelerator.counters.TENANCY_COUNTERS`): what a run with tenants adds.
TENANCY_COMPONENTS: tuple[str, ...] = ("preemption",)

#: Preemption mechanisms (PREMA, Choi and Rhu, HPCA 2020, arXiv:1909.04548), in the order of the C++
#: model's codes 1..3: kill (stop, discard, redo from the first layer), checkpoint (stop at the
#: boundary, spill the live state to DRAM, restore it on resume), drain (finish the layer first).
PREEMPT_MECHANISMS: tuple[str, ...] = ("kill", "checkpoint", "drain")
#: Where a preemption may take effect: never, at a layer boundary, at a tile boundary (codes 0..2).
PREEMPT_GRANULARITIES: tuple[str, ...] = ("none", "layer", "tile")
