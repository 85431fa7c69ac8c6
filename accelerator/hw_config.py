"""What the C++ timing model takes at elaboration: the one declaration of ``struct HwConfig``.

Like gem5's SimObject parameters, each field is declared once here (name, C++ type, unit,
doc, allowed range, and how it derives from `HardwareParams`). `accelerator.codegen`
generates the C++ struct and its range check (``check_hw``) from this list, and
`fill_hw_config` fills a C++ ``HwConfig`` from a `HardwareParams` with it, so the struct,
its check and its filling cannot drift apart. The buffer capacities are not here: the
mapper uses them in Python, the timing model never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from vocab.units import PS_PER_S

from .params import HardwareParams

__all__ = ["CxxField", "HW_CONFIG_FIELDS", "fill_hw_config"]

CXX_TYPES = {"int64_t": int, "double": float}


@dataclass(frozen=True)
class CxxField:
    """One field of the C++ ``HwConfig``; ``derive(hw)`` gives its value for a `HardwareParams`.

    ``min``/``max`` are inclusive unless ``min_exclusive``; a ``double`` must also be finite.
    """

    name: str
    ctype: str  # a key of CXX_TYPES
    unit: str
    doc: str
    derive: Callable[[HardwareParams], Any]
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False

    def __post_init__(self) -> None:
        if self.ctype not in CXX_TYPES:
            raise ValueError(f"CxxField {self.name}: ctype {self.ctype!r} is not one of {sorted(CXX_TYPES)}")

    def value(self, hw: HardwareParams) -> int | float:
        """The field's value for ``hw``, converted to the Python type of its C++ type."""
        return CXX_TYPES[self.ctype](self.derive(hw))


def _param(name: str) -> Callable[[HardwareParams], Any]:
    return lambda hw: getattr(hw, name)


HW_CONFIG_FIELDS: tuple[CxxField, ...] = (
    CxxField("num_pes", "int64_t", "", "processing elements", _param("num_pes"), min=1),
    CxxField("lanes", "int64_t", "", "vector-MAC units per PE", _param("lanes"), min=1),
    CxxField("vector_size", "int64_t", "", "input channels reduced per vector MAC per cycle",
             _param("vector_size"), min=1),
    CxxField("noc_bytes_per_cycle", "int64_t", "B/cycle", "NoC bandwidth GLB <-> PEs",
             _param("noc_bytes_per_cycle"), min=1),
    CxxField("ppu_elements_per_cycle", "int64_t", "element/cycle", "post-processing-unit throughput",
             _param("ppu_elements_per_cycle"), min=1),
    CxxField("dram_bandwidth_bytes_per_s", "double", "B/s", "peak DRAM bandwidth",
             _param("dram_bandwidth_bytes_per_s"), min=0, min_exclusive=True),
    CxxField("dram_latency_ps", "int64_t", "ps", "DRAM access latency (dram_latency_s in whole ps)",
             lambda hw: int(round(float(hw.dram_latency_s) * PS_PER_S)), min=0),
    CxxField("clock_hz", "double", "Hz", "nominal clock (the initial runtime clock)", _param("clock_hz"),
             min=0, min_exclusive=True),
    CxxField("accum_drain_cycles", "int64_t", "cycle",
             "per output after the reduction (1: single-ported accumulation bank, 0: two ports)",
             _param("accum_drain_cycles"), min=0, max=1),
)


def fill_hw_config(cfg: Any, hw: HardwareParams) -> Any:
    """Set every declared field of the C++ ``HwConfig`` ``cfg`` from ``hw``; returns ``cfg``."""
    for f in HW_CONFIG_FIELDS:
        setattr(cfg, f.name, f.value(hw))
    return cfg
