"""The storage levels of a preset as both exports describe them (innermost first), with the
energies of `accelerator.energy.EnergyModel` (the one energy definition) per byte."""

from __future__ import annotations

from dataclasses import dataclass

from ..mapping import energy_model
from ..params import HardwareParams

__all__ = ["Level", "levels", "LEVELS", "NOT_EXPRESSED"]

#: Level names, innermost first; each is also the name of its energy component.
LEVELS = ("weight_buffer", "input_buffer", "accum_buffer", "global_buffer", "dram")

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
    """The five storage levels of ``hw`` with this tool's energies (`EnergyModel.pj`)."""
    pj = energy_model(hw).pj
    dram_bits = max(8, int(round(hw.dram_bandwidth_bytes_per_s / hw.clock_hz * 8)))
    lane_vec_bits = hw.vector_size * hw.data_bytes * 8
    return [
        Level("weight_buffer", ("W",), hw.weight_buffer_bytes, hw.num_pes, hw.lanes * lane_vec_bits,
              pj["weight_buffer.read"], pj["weight_buffer.write"], True,
              "per PE, banked per lane; each lane reads one weight vector per cycle"),
        Level("input_buffer", ("I",), hw.input_buffer_bytes, hw.num_pes, lane_vec_bits,
              pj["input_buffer.read"], pj["input_buffer.write"], True,
              "per PE, one input vector per cycle broadcast to the PE's lanes"),
        Level("accum_buffer", ("O",), hw.accum_buffer_bytes, hw.num_pes, hw.lanes * hw.accum_bits,
              pj["accum_buffer.read"], pj["accum_buffer.write"], True,
              "per PE, banked per lane; partial sums of accum_bits"),
        Level("global_buffer", ("I", "O"), hw.global_buffer_bytes, 1, hw.global_buffer_word_bits,
              pj["global_buffer.read"], pj["global_buffer.write"], False,
              "shared by the PEs; weights bypass it (Simba)"),
        Level("dram", ("W", "I", "O"), 1 << 40, 1, dram_bits, pj["dram.read"], pj["dram.write"], False,
              f"bandwidth {hw.dram_bandwidth_bytes_per_s:g} B/s = {dram_bits} bit/cycle at {hw.clock_hz:g} Hz"),
    ]
