"""The layer program the C++ model executes: its binary encoding, one definition.

A program is a flat int64 array of ``[n_layers, NUM_FIELDS]`` records, one per layer: the
layer's loop nest and the mapping's tiling, PE partition, loop order and residency (or a
PPU layer's slicing). `accelerator.codegen` generates ``enum Field``/``Kind``/``Dim`` of the
C++ model (``program_fields.gen.h``) from the declarations here, so the encoder and the C++
reader (``accelerator/src/program.h``) cannot disagree. This module knows nothing of how a
mapping is chosen (`accelerator.mapping` is the search); it only writes one down.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workloads.ir import Layer

from .cost import MacDims, cdiv

__all__ = ["PROGRAM_FIELD_DECLS", "PROGRAM_FIELDS", "FIELD", "NUM_FIELDS", "DIMS", "KINDS", "KIND_MAC", "KIND_PPU",
           "encode_program"]

# The fields of one layer record of a program, in order: (name, C++ enumerator).
PROGRAM_FIELD_DECLS: tuple[tuple[str, str], ...] = (
    ("kind", "F_KIND"), ("passes", "F_PASSES"), ("N", "F_N"), ("C", "F_C"), ("K", "F_K"), ("H", "F_H"),
    ("W", "F_W"), ("P", "F_P"), ("Q", "F_Q"), ("R", "F_R"), ("S", "F_S"), ("stride", "F_STRIDE"),
    ("padding", "F_PAD"), ("groups", "F_GROUPS"), ("weights_are_activations", "F_WACT"), ("data_bytes", "F_DB"),
    ("accum_bytes", "F_ACCB"), ("N_t", "F_NT"), ("K_t", "F_KT"), ("C_t", "F_CT"), ("P_t", "F_PT"),
    ("Q_t", "F_QT"), ("pes_k", "F_PK"), ("pes_p", "F_PP"), ("order0", "F_ORD0"), ("order1", "F_ORD1"),
    ("order2", "F_ORD2"), ("order3", "F_ORD3"), ("order4", "F_ORD4"), ("weights_resident", "F_WRES"),
    ("inputs_resident", "F_IRES"), ("elements", "F_ELEMS"), ("in_elements", "F_IN_ELEMS"), ("E_t", "F_ET"),
    ("accum_entries", "F_AENT"),
)
PROGRAM_FIELDS: tuple[str, ...] = tuple(n for n, _ in PROGRAM_FIELD_DECLS)
FIELD = {n: i for i, n in enumerate(PROGRAM_FIELDS)}
NUM_FIELDS = len(PROGRAM_FIELDS)

# Loop dimensions of a MAC layer's tiles (enum Dim) and layer kinds (enum Kind).
DIMS = ("n", "k", "p", "q", "c")
KINDS = ("mac", "ppu")
KIND_MAC, KIND_PPU = KINDS.index("mac"), KINDS.index("ppu")


def encode_program(layers: Sequence[Layer], mappings: Sequence, hw) -> np.ndarray:
    """The flat int64 program the C++ model executes: [n_layers, NUM_FIELDS]. ``mappings``
    are `accelerator.mapping.Mapping` records, one per layer."""
    prog = np.zeros((len(layers), NUM_FIELDS), dtype=np.int64)
    accb = cdiv(int(hw.accum_bits), 8)
    db = int(hw.data_bytes)
    for i, (l, m) in enumerate(zip(layers, mappings)):
        row = prog[i]
        row[FIELD["data_bytes"]] = db
        row[FIELD["accum_bytes"]] = accb
        row[FIELD["accum_entries"]] = hw.accum_entries_per_lane
        if l.is_mac:
            d = MacDims.of(l)
            row[FIELD["kind"]] = KIND_MAC
            for f in ("N", "C", "K", "H", "W", "P", "Q", "R", "S", "stride", "groups"):
                row[FIELD[f]] = getattr(d, f)
            row[FIELD["padding"]] = d.padding
            if l.macs == 0:
                row[FIELD["N"]] = 0  # no tiles
            row[FIELD["weights_are_activations"]] = int(d.wact)
            for f in ("N_t", "K_t", "C_t", "P_t", "Q_t"):
                row[FIELD[f]] = getattr(m, f)
            row[FIELD["pes_k"]] = m.pes_k
            row[FIELD["pes_p"]] = m.pes_p
            for j, dim in enumerate(m.order):
                row[FIELD[f"order{j}"]] = DIMS.index(dim)
            row[FIELD["weights_resident"]] = int(m.weights_resident)
            row[FIELD["inputs_resident"]] = int(m.inputs_resident)
        else:
            row[FIELD["kind"]] = KIND_PPU
            row[FIELD["passes"]] = m.passes
            row[FIELD["elements"]] = l.elements
            row[FIELD["in_elements"]] = l.in_elements
            row[FIELD["E_t"]] = m.E_t
    return prog
