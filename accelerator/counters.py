"""Per-layer action counters reported by the SystemC model.

This tuple is the one definition of the counters: the C++ model fills an array
in exactly this order (``accelerator/src/counters.h`` mirrors it and a test
checks the two agree), the energy model multiplies each by its per-action
energy, and traces store them under these names.
"""

# (name, unit, meaning)
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

COUNTER_NAMES: tuple[str, ...] = tuple(c[0] for c in COUNTERS)
COUNTER_INDEX: dict[str, int] = {n: i for i, n in enumerate(COUNTER_NAMES)}
NUM_COUNTERS = len(COUNTERS)
