"""Shared enumerations: the names the workload, the accelerator and the traces agree on.

Each tuple is the one definition of its names. The C++ model's counter enum is generated
from `COUNTERS` (``accelerator/codegen.py``); traces store these names in the file, so
readers take them from there rather than from here.
"""

from __future__ import annotations

__all__ = ["OP_CLASSES", "COUNTERS", "ENERGY_COMPONENT_TERMS", "ENERGY_COMPONENTS", "ENERGY_LEVELS",
           "TRAFFIC_LEVELS", "TENANCY_COUNTERS", "TENANCY_COMPONENTS", "PREEMPT_MECHANISMS", "PREEMPT_GRANULARITIES"]

#: Op classes of the MAC breakdown (the paper's question: where do FLOPs go?).
OP_CLASSES: tuple[str, ...] = ("dense_conv", "pointwise", "depthwise", "attention", "non_mac")

#: Per-layer action counters the accelerator reports, in the order of its counter array:
#: (name, unit, meaning).
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("start_ps", "ps", "simulated time the layer started"),
    ("end_ps", "ps", "simulated time the layer ended"),
    ("cycles", "cycle", "accelerator clock cycles spent in the layer (at the clock of each tile)"),
    ("compute_cycles", "cycle", "cycles the PE array (or PPU) was busy computing"),
    ("tiles", "1", "tiles executed"),
    ("macs_useful", "MAC", "multiply-accumulates of the workload"),
    ("macs_issued", "MAC", "multiply-accumulates issued, rounded up to whole vectors and lanes"),
    ("wbuf_read_bytes", "B", "PE weight-buffer reads"),
    ("wbuf_write_bytes", "B", "PE weight-buffer writes"),
    ("ibuf_read_bytes", "B", "PE input-buffer reads"),
    ("ibuf_write_bytes", "B", "PE input-buffer writes"),
    ("accbuf_read_bytes", "B", "PE accumulation-buffer reads"),
    ("accbuf_write_bytes", "B", "PE accumulation-buffer writes"),
    ("glb_read_bytes", "B", "global-buffer reads"),
    ("glb_write_bytes", "B", "global-buffer writes"),
    ("noc_bytes", "B", "bytes carried by the NoC between global buffer and PEs"),
    ("dram_read_bytes", "B", "DRAM reads"),
    ("dram_write_bytes", "B", "DRAM writes"),
    ("ppu_ops", "op", "post-processing-unit element operations"),
    ("stall_dram_ps", "ps", "time compute waited for DRAM/DMA"),
    # Preemption (tenants): the overhead of a preempted inference, kept apart from the counters
    # above, which stay those of an uninterrupted run (a KILL's redone work excepted); every byte
    # here is moved in addition to them. Counted in the layer the preemption or restore hit.
    ("preemptions", "1", "times the inference was preempted in this layer"),
    ("preempt_ps", "ps", "time spent vacating (checkpoint spill) and restoring the inference's state"),
    ("preempt_spill_bytes", "B", "DRAM writes of checkpoints (partial sums spilled)"),
    ("preempt_restore_bytes", "B", "DRAM reads of restores (partial sums, operand tiles, resident operands, "
     "re-fetched tiles)"),
    ("preempt_noc_bytes", "B", "NoC bytes of checkpoint spills and restores"),
    ("preempt_glb_read_bytes", "B", "global-buffer reads of checkpoint spills and restores"),
    ("preempt_glb_write_bytes", "B", "global-buffer writes of checkpoint spills and restores"),
    ("preempt_accbuf_read_bytes", "B", "accumulation-buffer reads of checkpoint spills"),
    ("preempt_accbuf_write_bytes", "B", "accumulation-buffer writes of restores"),
    ("preempt_wbuf_write_bytes", "B", "PE weight-buffer writes of restores"),
    ("preempt_ibuf_write_bytes", "B", "PE input-buffer writes of restores"),
    ("preempt_discarded_macs", "MAC", "useful MACs a KILL threw away (the inference redoes them)"),
)

#: The counters of preemption: stored in a trace only when its run can preempt (a trace of a run
#: that cannot stays as it was before they existed).
TENANCY_COUNTERS: tuple[str, ...] = tuple(c[0] for c in COUNTERS if c[0] == "preemptions" or c[0].startswith("preempt_"))

#: Energy components of a layer's breakdown, in display order: (name, meaning). Each is
#: joules per layer (trace column ``energy_<name>_j``).
ENERGY_COMPONENT_TERMS: tuple[tuple[str, str], ...] = (
    ("mac", "multiply-accumulates of the workload (useful MACs)"),
    ("mac_padded", "MACs issued on vector/lane padding (zero with zero gating)"),
    ("weight_buffer", "PE weight-buffer reads and writes"),
    ("input_buffer", "PE input-buffer reads and writes"),
    ("accum_buffer", "PE accumulation-buffer reads and writes"),
    ("global_buffer", "global-buffer reads and writes"),
    ("noc", "NoC transfers between global buffer and PEs"),
    ("dram", "DRAM reads and writes"),
    ("ppu", "post-processing-unit element operations"),
    ("preemption", "checkpoint spills and restores of preempted inferences (their DRAM, global-buffer, NoC and "
     "PE-buffer accesses)"),
    ("leakage", "static power x time"),
    ("dram_interface", "DRAM PHY and memory-controller static power x time"),
    ("dram_background", "DRAM devices' background power (standby and refresh) x time"),
)
ENERGY_COMPONENTS: tuple[str, ...] = tuple(name for name, _ in ENERGY_COMPONENT_TERMS)
#: Energy components stored in a trace only when its run can preempt (like `TENANCY_COUNTERS`).
TENANCY_COMPONENTS: tuple[str, ...] = ("preemption",)

#: Where the energy is spent: level -> energy components, in display order (every component in
#: exactly one level). Plots of traces group by these levels; traces store them in the file.
ENERGY_LEVELS: dict[str, tuple[str, ...]] = {
    "DRAM": ("dram",),
    "global buffer + NoC": ("global_buffer", "noc"),
    "PE buffers": ("weight_buffer", "input_buffer", "accum_buffer"),
    "compute (MAC, PPU)": ("mac", "mac_padded", "ppu"),
    "preemption": ("preemption",),
    "leakage": ("leakage",),
    "DRAM static (interface, background)": ("dram_interface", "dram_background"),
}

#: Bytes moved at each memory level: level -> byte counters of `COUNTERS`, in display order.
TRAFFIC_LEVELS: dict[str, tuple[str, ...]] = {
    "DRAM": ("dram_read_bytes", "dram_write_bytes"),
    "global buffer": ("glb_read_bytes", "glb_write_bytes"),
    "NoC": ("noc_bytes",),
    "PE buffers": ("wbuf_read_bytes", "wbuf_write_bytes", "ibuf_read_bytes", "ibuf_write_bytes",
                   "accbuf_read_bytes", "accbuf_write_bytes"),
}

#: Preemption mechanisms (PREMA, Choi and Rhu, HPCA 2020, arXiv:1909.04548), in the order of the C++
#: model's codes 1..3: kill (stop, discard, redo from the first layer), checkpoint (stop at the
#: boundary, spill the live state to DRAM, restore it on resume), drain (finish the layer first).
PREEMPT_MECHANISMS: tuple[str, ...] = ("kill", "checkpoint", "drain")
#: Where a preemption may take effect: never, at a layer boundary, at a tile boundary (codes 0..2).
PREEMPT_GRANULARITIES: tuple[str, ...] = ("none", "layer", "tile")
