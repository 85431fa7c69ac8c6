"""ZigZag (``zigzag-dse`` 3.x) inputs: hardware YAML, workload YAML and mapping YAML.

Formats: those of ZigZag's own parsers (``zigzag/parser/accelerator_validator.py``,
``workload_validator.py``, ``mapping_validator.py`` of zigzag-dse 3.9); the tests load and
evaluate the files through ZigZag's API when it is installed.

Hardware: the operational array is ``D1 = vector_size`` (input channels reduced per vector MAC)
x ``D2 = lanes`` (output channels) x ``D3 = num_pes``; MAC energy is ``mac`` of this tool's
`EnergyModel`. Memories (sizes in bits, bandwidths in bits per cycle, energies in pJ per access of
that width, from this tool's pJ per byte): the five levels of `accelerator.export.levels`, each
operand's hierarchy as in `accelerator.mapping` (weights: weight buffer -> DRAM, bypassing the
global buffer; inputs: input buffer -> global buffer -> DRAM; outputs: accumulation buffer ->
global buffer -> DRAM). Not expressed: `accelerator.export.levels.NOT_EXPRESSED`.

Workload: one standalone layer per MAC layer (inputs and weights come from DRAM, as this tool
runs a layer), ``B K C OY OX FY FX`` (+ ``G`` for grouped convolutions); an attention matmul's
second operand is ``W[b][k][c]`` (it varies with the batch of heads).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import yaml

from workloads.ir import Layer

from ..mapping import Mapping, energy_model
from ..params import HardwareParams
from .levels import NOT_EXPRESSED, levels

__all__ = ["hardware", "occupancy", "workload", "mapping", "pinned_mapping", "layer_dims", "write_hardware", "write_workload",
           "OPERAND_LINKS"]

OPERAND_LINKS = {"O": "O", "W": "I2", "I": "I1"}
_MEM_OPERAND = {"W": "I2", "I": "I1", "O": "O"}


def _ports(lv) -> list[dict[str, Any]]:
    """Read and write ports of a level, with ZigZag's allocation of data flows to them."""
    ops = [_MEM_OPERAND[o] for o in lv.operands]
    bw = int(lv.word_bits)
    if len(ops) == 1 and ops[0] != "O":
        return [{"name": "r_port_1", "type": "read", "bandwidth_min": bw, "bandwidth_max": bw,
                 "allocation": [f"{ops[0]}, tl"]},
                {"name": "w_port_1", "type": "write", "bandwidth_min": bw, "bandwidth_max": bw,
                 "allocation": [f"{ops[0]}, fh"]}]
    if ops == ["O"]:
        return [{"name": "r_port_1", "type": "read", "bandwidth_min": bw, "bandwidth_max": bw,
                 "allocation": ["O, tl", "O, th"]},
                {"name": "w_port_1", "type": "write", "bandwidth_min": bw, "bandwidth_max": bw,
                 "allocation": ["O, fh", "O, fl"]}]
    alloc = []
    for o in ops:
        alloc += [f"{o}, fh", f"{o}, tl"] + ([f"{o}, fl", f"{o}, th"] if o == "O" else [])
    return [{"name": "rw_port_1", "type": "read_write", "bandwidth_min": bw, "bandwidth_max": bw,
             "allocation": alloc}]


def occupancy(m: Mapping) -> dict[str, int]:
    """Bytes one tile of ``m`` keeps at each on-chip level (one copy of the double-buffered PE
    buffers; the global buffer as this tool reserves it): capacities for `hardware` that make
    ZigZag's loop allocator keep this tool's tile sizes at each level."""
    return {"weight_buffer": max(1, m.wbuf_bytes_per_pe // 2), "input_buffer": max(1, m.ibuf_bytes_per_pe // 2),
            "global_buffer": max(1, m.glb_bytes)}


def hardware(hw: HardwareParams, capacities: dict[str, int] | None = None) -> dict[str, Any]:
    """The ZigZag accelerator description of ``hw`` (a dict for ``yaml.safe_dump``); ``capacities``
    (level -> bytes, e.g. `occupancy`) replaces the sizes of those levels, energies unchanged."""
    em = energy_model(hw)
    mems: dict[str, Any] = {}
    for lv in levels(hw):
        per_access_b = lv.word_bits / 8
        size = (capacities or {}).get(lv.name, lv.bytes)
        mems[lv.name] = {
            "size": int(min(size * 8, 2 ** 62)),
            "r_cost": float(lv.read_pj_per_byte * per_access_b),
            "w_cost": float(lv.write_pj_per_byte * per_access_b),
            "area": 0.0,
            "latency": 1,
            "operands": [_MEM_OPERAND[o] for o in lv.operands],
            "ports": _ports(lv),
            # a PE's buffers serve its vector (D1) and lanes (D2); shared levels the whole array
            "served_dimensions": ["D1", "D2"] if lv.per_pe else ["D1", "D2", "D3"],
        }
        if lv.name == "dram":
            mems[lv.name]["mem_type"] = "dram"
    return {
        "name": f"dynvit_{hw.name}".replace("-", "_"),
        "memories": mems,
        "operational_array": {
            "unit_energy": float(em.pj["mac"]),
            "unit_area": 0.0,
            "dimensions": ["D1", "D2", "D3"],
            "sizes": [int(hw.vector_size), int(hw.lanes), int(hw.num_pes)],
        },
    }


def layer_dims(layer: Layer) -> dict[str, int]:
    """ZigZag loop dimensions of a MAC layer (``G`` and ``K`` per group for grouped convolutions)."""
    d = {"B": max(1, layer.N)}
    if layer.groups > 1:
        d["G"] = layer.groups
        d["K"] = max(1, layer.K // layer.groups)
    else:
        d["K"] = layer.K
    d.update(C=layer.C, OY=max(1, layer.P), OX=max(1, layer.Q))
    if layer.op != "matmul":
        d.update(FY=max(1, layer.R), FX=max(1, layer.S))
    return d


def _equation(layer: Layer) -> str:
    if layer.op == "matmul":
        return "O[b][k][oy][ox]+=W[b][k][c]*I[b][c][oy][ox]"
    if layer.groups > 1:
        return "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]"
    return "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]"


def workload(layers: Sequence[Layer], hw: HardwareParams) -> list[dict[str, Any]]:
    """ZigZag workload entries for the MAC layers of ``layers`` (ids in order, names kept)."""
    out = []
    bits = 8 * hw.data_bytes
    for i, l in enumerate(x for x in layers if x.is_mac and x.macs > 0):
        dims = layer_dims(l)
        e: dict[str, Any] = {
            "id": i,
            "name": l.name,
            "operator_type": "Gemm" if l.op == "matmul" else "Conv",
            "equation": _equation(l),
            "loop_dims": list(dims),
            "loop_sizes": list(dims.values()),
            "operand_precision": {"W": bits, "I": bits, "O": int(hw.accum_bits), "O_final": bits},
            "operand_source": {"W": i, "I": i},  # both from memory: the layer runs standalone
        }
        if l.op != "matmul":
            e["dimension_relations"] = [f"ix={l.stride}*ox+1*fx", f"iy={l.stride}*oy+1*fy"]
            if l.padding:
                e["pr_loop_dims"] = ["IY", "IX"]
                e["pr_loop_sizes"] = [max(1, l.H), max(1, l.W)]
                e["padding"] = [[l.padding, l.padding], [l.padding, l.padding]]
        out.append(e)
    return out


def _lane_dim(layer: Layer) -> str:
    return "G" if layer.groups > 1 and layer.K // layer.groups == 1 else "K"


def mapping(layers: Sequence[Layer] = (), pinned: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Mapping entries: a ``default`` that lets ZigZag search the spatial unrolling among the
    array's natural choices (D1: input channels, D2: output channels or groups, D3: output
    channels or rows), plus one pinned entry per layer name in ``pinned`` (`pinned_mapping`)."""
    out = [{"name": "default",
            "spatial_mapping_hint": {"D1": ["C"], "D2": ["K", "G"], "D3": ["K", "G", "OY", "OX"]},
            "memory_operand_links": dict(OPERAND_LINKS)}]
    for name, entry in (pinned or {}).items():
        out.append({"name": name, **entry, "memory_operand_links": dict(OPERAND_LINKS)})
    return out


def _divisor_at_most(n: int, cap: int) -> int:
    cap = max(1, min(n, cap))
    return max(d for d in range(1, cap + 1) if n % d == 0)


def pinned_mapping(layer: Layer, m: Mapping, hw: HardwareParams) -> tuple[dict[str, Any], list[str]]:
    """This tool's loop nest of ``layer`` as a ZigZag mapping entry (spatial unrolling and a
    complete temporal ordering, innermost first), and notes on where it had to be rounded.

    Spatial: D1 = ``vector_size`` input channels, D2 = ``lanes`` output channels (groups for a
    depthwise layer), D3 = ``pes_k`` output channels x ``pes_p`` output rows. Temporal, innermost
    first: a PE's share of the tile's columns, rows and batch (a lane keeps its weight vector
    across them), the kernel, the channel vectors of the tile, the lane groups, then the tile loops (``c`` innermost, then `Mapping.order` reversed).
    ZigZag needs whole factors that multiply to each dimension's temporal size; where this tool's
    tiles leave an edge tile, the inner factor is the largest divisor not above the tile's and
    the notes say so."""
    dims = layer_dims(layer)
    lane = _lane_dim(layer)
    spatial: dict[str, list[tuple[str, int]]] = {
        "D1": [("C", min(hw.vector_size, dims["C"]))],
        "D2": [(lane, min(hw.lanes, dims[lane]))],
    }
    d3 = []
    pk = min(m.pes_k, max(1, math.ceil(dims[lane] / hw.lanes)))
    if pk > 1:
        d3.append((lane, pk))
    if m.pes_p > 1 and dims["OY"] > 1:
        d3.append(("OY", min(m.pes_p, dims["OY"])))
    if d3:
        spatial["D3"] = d3
    unroll: dict[str, int] = {}
    for entries in spatial.values():
        for d, f in entries:
            unroll[d] = unroll.get(d, 1) * f
    temporal = {d: math.ceil(s / unroll.get(d, 1)) for d, s in dims.items()}
    # a PE's share of one tile along each dimension (temporal, after the spatial unrolling)
    kt = m.K_t  # lanes walk output channels (a depthwise layer's: its groups of one channel)
    share = {"C": math.ceil(min(m.C_t, dims["C"]) / spatial["D1"][0][1]), "OX": m.Q_t,
             "OY": math.ceil(m.P_t / max(1, dict(d3).get("OY", 1))), "B": m.N_t,
             lane: math.ceil(kt / unroll.get(lane, 1)), "FY": dims.get("FY", 1), "FX": dims.get("FX", 1)}
    notes: list[str] = []
    inner: dict[str, int] = {}
    for d, t in temporal.items():
        want = max(1, min(t, share.get(d, t)))
        got = _divisor_at_most(t, want)
        if got != want:
            notes.append(f"rounded {d}: tile share {want} -> {got} (a divisor of {t})")
        inner[d] = got
    # a lane keeps one weight vector while it sweeps the positions of its share (the cost model's
    # accumulation blocks), so the positions are innermost, then the kernel and channel vectors
    order_in = [d for d in ("OX", "OY", "B", "FX", "FY", "C", lane, "G", "K") if d in temporal]
    seen: list[str] = []
    ordering: list[list[Any]] = []
    for d in order_in:
        if d in seen:
            continue
        seen.append(d)
        if inner[d] > 1:
            ordering.append([d, inner[d]])
    tile_dims = {"c": ["C"], "q": ["OX"], "p": ["OY"], "n": ["B"], "k": [lane] + (["K"] if lane == "G" else [])}
    for loop in ["c"] + [o for o in reversed(m.order) if o != "c"]:
        for d in tile_dims.get(loop, []):
            if d in temporal and temporal[d] // inner[d] > 1:
                ordering.append([d, temporal[d] // inner[d]])
                inner[d] = temporal[d]
    for d in temporal:  # dimensions no loop above covers (e.g. G of a grouped layer mapped on K)
        if temporal[d] // inner[d] > 1:
            ordering.append([d, temporal[d] // inner[d]])
    entry = {"spatial_mapping": {k: [f"{d}, {f}" for d, f in v] for k, v in spatial.items()},
             "temporal_ordering": ordering}
    return entry, notes


def write_hardware(hw: HardwareParams, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{hw.name}.zigzag.yaml"
    head = (f"# ZigZag hardware of the dynvit-cosim preset {hw.name} (zigzag-dse 3.x format).\n"
            f"# Energies: this tool's EnergyModel (pJ per access of the port width). Not expressed:\n"
            + "".join(f"#   {k}: {v}\n" for k, v in NOT_EXPRESSED.items()))
    p.write_text(head + yaml.safe_dump(hardware(hw), sort_keys=False))
    m = out / "mapping.zigzag.yaml"
    m.write_text(yaml.safe_dump(mapping(), sort_keys=False))
    return [p, m]


def write_workload(layers: Sequence[Layer], hw: HardwareParams, out_dir: str | Path, name: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{name}.zigzag.yaml"
    p.write_text(f"# ZigZag workload: the MAC layers of {name}, each standalone (zigzag-dse 3.x format)\n"
                 + yaml.safe_dump(workload(layers, hw), sort_keys=False))
    return [p]
