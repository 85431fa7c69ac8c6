"""The storage levels of a preset as both exports describe them (innermost first): the storage
levels of `accelerator.hierarchy`, with the energies of `accelerator.energy.EnergyModel` (the one
energy definition) per byte."""

from __future__ import annotations

from dataclasses import dataclass

from ..hierarchy import storage_levels
from ..mapping import energy_model
from ..params import HardwareParams

__all__ = ["Level", "levels", "LEVELS", "NOT_EXPRESSED"]

#: Level names, innermost first; each is also the name of its energy component.
LEVELS = tuple(lv.name for lv in storage_levels())

#: Terms of this tool's energy that neither Timeloop/Accelergy's nor ZigZag's level model holds
#: as exported (each export states them; the cross-check names them when they make a difference).
NOT_EXPRESSED = {
    "noc": "NoC energy per byte between global buffer and PEs (no NoC component exported)",
    "leakage": "static power x time (ZigZag has no leakage; the exported ERT has no leak action)",
    "mac_padded": "MACs issued on vector/lane padding (zero with zero gating)",
    "ppu": "post-processing-unit ops (non-MAC layers are not exported)",
}


@dataclass(frozen=True)
class Level:
    """One storage level: what it holds, its size and access width, how many copies, energies."""

    name: str
    operands: tuple[str, ...]  # "W", "I", "O"
    bytes: int  # capacity of one instance
    instances: int
    word_bits: int  # bits per access (the width a read delivers)
    read_pj_per_byte: float
    write_pj_per_byte: float
    per_pe: bool
    note: str


def levels(hw: HardwareParams) -> list[Level]:
    """The storage levels of ``hw`` with this tool's energies (`EnergyModel.pj`)."""
    pj = energy_model(hw).pj
    out = []
    for lv in storage_levels():
        out.append(Level(lv.name, lv.operands, lv.bytes(hw), lv.instances(hw), lv.delivers_bits(hw),
                         pj[f"{lv.name}.read"], pj[f"{lv.name}.write"], lv.per_pe, lv.describe(hw)))
    return out
