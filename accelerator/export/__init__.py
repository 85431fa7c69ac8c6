"""Exports of a preset and of a workload to the formats of the field's tools.

* `accelerator.export.timeloop`: Timeloop/Accelergy v0.4 architecture YAML with an energy
  reference table (ERT) derived from `accelerator.energy.EnergyModel`, and one Timeloop problem
  YAML per MAC layer.
* `accelerator.export.zigzag`: ZigZag (``zigzag-dse`` 3.x) hardware YAML, workload YAML and
  mapping YAML (the default spatial unrolling, or this tool's loop nest per layer, pinned).

Both describe the same organisation (`accelerator.mapping`'s Simba-like PE array): a PE array of
``num_pes`` PEs x ``lanes`` vector MACs x ``vector_size`` channels; per PE a weight buffer
(weights only), an input buffer (inputs only) and an accumulation buffer (outputs only); a
global buffer holding inputs and outputs (weights bypass it); DRAM holding all three. What the
tools cannot express of this model (the NoC energy per byte, leakage, the post-processing unit,
DRAM latency) is listed in each export's notes, so a cross-check can name it.
"""

from __future__ import annotations

__all__ = ["LEVELS", "Level", "levels", "NOT_EXPRESSED"]

from .levels import LEVELS, NOT_EXPRESSED, Level, levels
