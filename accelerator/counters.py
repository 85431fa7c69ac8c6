"""Per-layer action counters reported by the SystemC model: lookups over `vocab.names.COUNTERS`.

The C++ model fills an array in exactly the order of ``COUNTERS`` (its ``enum Counter`` is
generated from it by `accelerator.codegen`), the energy model multiplies each by its
per-action energy, and traces store them under these names.
"""

from vocab.names import COUNTERS

COUNTER_NAMES: tuple[str, ...] = tuple(c[0] for c in COUNTERS)
COUNTER_INDEX: dict[str, int] = {n: i for i, n in enumerate(COUNTER_NAMES)}
NUM_COUNTERS = len(COUNTERS)
