"""Up-front limits on hardware parameters that the accelerator model accepts but cannot
simulate (infinite clocks or bandwidths, PE arrays so large that mapping never ends).

They are checked when a system's hardware is resolved and by `cosim simulate`, with one
line naming the field. The typed ranges of `accelerator.params.HardwareParams` remain the
first check; these are the extra bounds co-simulation needs.
"""

from __future__ import annotations

import math
from typing import Any

from vocab.params import ParamError

#: Largest PE array (4096 PEs = 64x rt-64pe; mapping time grows with it, 1e9 never ends).
MAX_NUM_PES = 4096


def check_hardware(hw: Any) -> Any:
    """Return ``hw`` if every number is finite and the PE array is within bounds; else ParamError."""
    for name in hw.param_names():
        v = getattr(hw, name)
        if isinstance(v, float) and not math.isfinite(v):
            raise ParamError(f"HardwareParams.{name} = {v!r} must be a finite number")
    if hw.num_pes > MAX_NUM_PES:
        raise ParamError(f"HardwareParams.num_pes = {hw.num_pes} is out of range (allowed: [1, {MAX_NUM_PES}])")
    return hw
