"""Per-layer action counters reported by the SystemC model: the one declaration of `COUNTERS`.

The C++ model fills an array in exactly the order of ``COUNTERS`` (its ``enum Counter`` is
generated from it by `accelerator.codegen`), the energy model multiplies each by its
per-action energy, and traces store them under these names. The byte counters of the memory
levels come from `accelerator.hierarchy`; the rest (time, compute, preemption) are here.
"""

from __future__ import annotations

from . import hierarchy

__all__ = ["COUNTERS", "COUNTER_NAMES", "COUNTER_INDEX", "NUM_COUNTERS", "TENANCY_COUNTERS", "TRAFFIC_LEVELS"]

#: Per-layer action counters, in the order of the model's counter array: (name, unit, meaning).
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("start_ps", "ps", "simulated time the layer started"),
    ("end_ps", "ps", "simulated time the layer ended"),
    ("cycles", "cycle", "accelerator clock cycles spent in the layer (at the clock of each tile)"),
    ("compute_cycles", "cycle", "cycles the PE array (or PPU) was busy computing"),
    ("tiles", "1", "tiles executed"),
    ("macs_useful", "MAC", "multiply-accumulates of the workload"),
    ("macs_issued", "MAC", "multiply-accumulates issued, rounded up to whole vectors and lanes"),
    *hierarchy.level_counters(),
    ("ppu_ops", "op", "post-processing-unit element operations"),
    ("stall_dram_ps", "ps", "time compute waited for DRAM/DMA"),
    # Preemption (tenants): the overhead of a preempted inference, kept apart from the counters
    # above, which stay those of an uninterrupted run (a KILL's redone work excepted); every byte
    # here is moved in addition to them. Counted in the layer the preemption or restore hit.
    ("preemptions", "1", "times the inference was preempted in this layer"),
    ("preempt_ps", "ps", "time spent vacating (checkpoint spill) and restoring the inference's state"),
    *hierarchy.preemption_counters(),
    ("preempt_discarded_macs", "MAC", "useful MACs a KILL threw away (the inference redoes them)"),
)

COUNTER_NAMES: tuple[str, ...] = tuple(c[0] for c in COUNTERS)
COUNTER_INDEX: dict[str, int] = {n: i for i, n in enumerate(COUNTER_NAMES)}
NUM_COUNTERS = len(COUNTERS)
if len(COUNTER_INDEX) != NUM_COUNTERS:
    raise RuntimeError(f"accelerator/counters.py: a counter is declared twice: "
                       f"{sorted(n for n in COUNTER_NAMES if COUNTER_NAMES.count(n) > 1)}")

#: The counters of preemption: stored in a trace only when its run can preempt (a trace of a run
#: that cannot stays as it was before they existed).
TENANCY_COUNTERS: tuple[str, ...] = tuple(n for n in COUNTER_NAMES if n == "preemptions" or n.startswith("preempt_"))

#: Bytes moved at each memory level: plot group -> byte counters, outermost first (traces store it).
TRAFFIC_LEVELS: dict[str, tuple[str, ...]] = hierarchy.traffic_levels()
