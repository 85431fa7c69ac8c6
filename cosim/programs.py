"""A configuration -> a program loaded on the accelerator.

Its own module so that `cosim simulate` and sweep workers, which run single inferences,
need neither the host (SimPy) nor the system builder.
"""

from __future__ import annotations

from typing import Any


def load_program(acc: Any, cfg: Any) -> Any:
    """Load a configuration on the accelerator. A dynamic configuration runs the mapping of
    its full configuration with shorter loops (no re-mapping at run time; Accelerator.load)."""
    import workloads

    full = workloads.full_config(cfg)
    ref = {"reference": workloads.lower(full)} if full != cfg else {}
    return acc.load(workloads.lower(cfg), config=cfg.id, **ref)
