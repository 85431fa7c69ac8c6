"""Shared enumerations: the names the workload, the accelerator and the traces agree on.

Each tuple is the one definition of its names. The C++ model's counter enum is generated
from `COUNTERS` (``accelerator/codegen.py``); traces store these names in the file, so
readers take them from there rather than from here.
"""

from __future__ import annotations

__all__ = ["OP_CLASSES", "COUNTERS", "ENERGY_COMPONENTS"]

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
)

#: Energy components of a layer's breakdown ("mac" = useful MACs, "mac_padded" = MACs issued
#: on vector/lane padding, "leakage" = static power x time).
ENERGY_COMPONENTS: tuple[str, ...] = ("mac", "mac_padded", "weight_buffer", "input_buffer", "accum_buffer",
                                      "global_buffer", "noc", "dram", "ppu", "leakage")
