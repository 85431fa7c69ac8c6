"""Timeloop/Accelergy v0.4 inputs: architecture YAML, energy reference table (ERT), problem YAML.

Format: the v0.4 specification of the Timeloop/Accelergy exercises (``architecture: {version:
0.4, nodes: [!Container ..., !Component ...]}`` with ``spatial: {meshX: n}`` fan-outs and
``constraints: {dataspace: {keep, bypass}}``; ``ERT: {version: 0.4, tables: [{name, actions:
[{name, arguments, energy}]}]}``; ``problem: {version: 0.4, shape, instance}``). Timeloop is not
installable here, so the files are checked against that documented schema (tests), not run.

The architecture is the organisation of `accelerator.export.levels` (DRAM -> GlobalBuffer
(inputs, outputs; weights bypass) -> PE[num_pes] with WeightBuffer, InputBuffer, AccumBuffer ->
lanes x vector MACs). The ERT gives each action's energy in pJ per access of the component's
``width`` from this tool's `EnergyModel` (so Timeloop's own estimators are not needed); leakage and
the NoC are not in it (`accelerator.export.levels.NOT_EXPRESSED`).

Problem dimensions keep the IR's names (``R S`` kernel rows and columns, ``P Q`` output rows and
columns, ``C`` input channels per group, ``M`` output channels per group, ``N`` batch, ``G``
groups): ``Inputs[n][g][c][p*Hstride + r*Hdilation][q*Wstride + s*Wdilation]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from workloads.ir import Layer

from ..mapping import energy_model
from ..params import HardwareParams
from .levels import LEVELS, NOT_EXPRESSED, levels

__all__ = ["architecture", "ert", "problem", "write_hardware", "write_workload", "COMPONENT_NAMES", "yaml_dump"]

#: level -> Timeloop component name
COMPONENT_NAMES = {n: "DRAM" if n == "dram" else "".join(w.capitalize() for w in n.split("_")) for n in LEVELS}
_KEEP = {"W": "Weights", "I": "Inputs", "O": "Outputs"}


class _Tag(dict):
    """A mapping written with a YAML tag (``!Container``, ``!Component``)."""

    tag = ""


class _Container(_Tag):
    tag = "!Container"


class _Component(_Tag):
    tag = "!Component"


class _Dumper(yaml.SafeDumper):
    pass


for _cls in (_Container, _Component):
    _Dumper.add_representer(_cls, lambda d, data: d.represent_mapping(type(data).tag, dict(data)))


def yaml_dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


_DRAM_WIDTH = 64  # bits per DRAM access (an LPDDR4 channel); its bandwidth is shared_bandwidth


def _width(lv) -> int:
    return _DRAM_WIDTH if lv.name == "dram" else int(lv.word_bits)


def _storage(hw: HardwareParams, lv) -> _Component:
    width = _width(lv)
    dw = 8 * hw.data_bytes if lv.name != "accum_buffer" else int(hw.accum_bits)
    keep = [_KEEP[o] for o in lv.operands]
    attrs: dict[str, Any] = {"width": width, "datawidth": dw}
    if lv.name == "dram":
        # words (datawidth) per cycle at the preset's bandwidth and clock
        attrs.update(type="LPDDR4", shared_bandwidth=round(hw.dram_bandwidth_bytes_per_s / hw.clock_hz / hw.data_bytes, 4))
    else:
        attrs.update(depth=max(1, lv.bytes * 8 // width), n_banks=hw.lanes if lv.name != "input_buffer" and lv.per_pe
                     else 1)
    return _Component(name=COMPONENT_NAMES[lv.name], **{"class": "DRAM" if lv.name == "dram" else "SRAM"},
                      attributes=attrs,
                      constraints={"dataspace": {"keep": keep,
                                                 "bypass": [v for k, v in _KEEP.items() if k not in lv.operands]}})


def architecture(hw: HardwareParams) -> dict[str, Any]:
    """The v0.4 architecture of ``hw``."""
    lv = {x.name: x for x in levels(hw)}
    nodes: list[Any] = [
        _Container(name="system", attributes={"technology": f"{hw.technology_nm}nm",
                                              "global_cycle_seconds": 1.0 / hw.clock_hz,
                                              "datawidth": 8 * hw.data_bytes}),
        # the tree outermost first: the shared levels, then a PE's
        *(_storage(hw, x) for x in reversed(lv.values()) if not x.per_pe),
        _Container(name="PE", spatial={"meshX": int(hw.num_pes)}),
        *(_storage(hw, x) for x in lv.values() if x.per_pe),
        _Container(name="Lane", spatial={"meshY": int(hw.lanes)}),
        _Component(name="MAC", spatial={"meshX": int(hw.vector_size)}, **{"class": "intmac"},
                   attributes={"datawidth": 8 * hw.data_bytes, "width": 8 * hw.data_bytes}),
    ]
    return {"architecture": {"version": 0.4, "nodes": nodes}}


def ert(hw: HardwareParams) -> dict[str, Any]:
    """The energy reference table: pJ per action (per access of the component's width)."""
    pj = energy_model(hw).pj
    tables = []
    for lv in levels(hw):
        b = _width(lv) / 8
        path = f"system.{COMPONENT_NAMES[lv.name]}" if not lv.per_pe else \
            f"system.PE[0..{hw.num_pes - 1}].{COMPONENT_NAMES[lv.name]}"
        tables.append({"name": path, "actions": [
            {"name": "read", "arguments": {}, "energy": float(lv.read_pj_per_byte * b)},
            {"name": "write", "arguments": {}, "energy": float(lv.write_pj_per_byte * b)},
            {"name": "update", "arguments": {}, "energy": float(lv.write_pj_per_byte * b)},
            {"name": "idle", "arguments": {}, "energy": 0.0}]})
    tables.append({"name": f"system.PE[0..{hw.num_pes - 1}].Lane[0..{hw.lanes - 1}].MAC[0..{hw.vector_size - 1}]",
                   "actions": [{"name": "compute", "arguments": {}, "energy": float(pj["mac"])},
                               {"name": "idle", "arguments": {}, "energy": 0.0}]})
    return {"ERT": {"version": 0.4, "tables": tables}}


def problem(layer: Layer) -> dict[str, Any]:
    """The v0.4 problem of one MAC layer (a grouped convolution with ``G``; an attention matmul's
    second operand varies with ``N``)."""
    if not layer.is_mac:
        raise ValueError(f"layer {layer.name!r} ({layer.op}) is not a MAC layer")
    G = max(1, layer.groups)
    wdims = [["N"]] if layer.weights_are_activations else []
    shape = {
        "name": f"{layer.op}_layer",
        "dimensions": ["C", "M", "R", "S", "N", "P", "Q"] + (["G"] if G > 1 else []),
        "coefficients": [{"name": n, "default": 1} for n in ("Hstride", "Wstride", "Hdilation", "Wdilation")],
        "data_spaces": [
            {"name": "Weights", "projection": wdims + ([[["G"]]] if G > 1 else []) + [[["C"]], [["M"]], [["R"]], [["S"]]]},
            {"name": "Inputs", "projection": [[["N"]]] + ([[["G"]]] if G > 1 else []) + [
                [["C"]], [["R", "Hdilation"], ["P", "Hstride"]], [["S", "Wdilation"], ["Q", "Wstride"]]]},
            {"name": "Outputs", "projection": [[["N"]]] + ([[["G"]]] if G > 1 else []) + [[["M"]], [["P"]], [["Q"]]],
             "read_write": True},
        ],
    }
    if layer.weights_are_activations:
        shape["data_spaces"][0]["projection"] = [[["N"]], [["C"]], [["M"]], [["R"]], [["S"]]]
    inst = {"C": layer.C, "M": layer.K // G, "R": max(1, layer.R), "S": max(1, layer.S), "N": max(1, layer.N),
            "P": max(1, layer.P), "Q": max(1, layer.Q), "Hstride": max(1, layer.stride),
            "Wstride": max(1, layer.stride)}
    if G > 1:
        inst["G"] = G
    return {"problem": {"version": 0.4, "shape": shape, "instance": inst}}


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name).strip("._") or "layer"


def write_hardware(hw: HardwareParams, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = (f"# Timeloop/Accelergy v0.4 architecture of the dynvit-cosim preset {hw.name}.\n"
            f"# Energies are in {hw.name}.ERT.yaml (this tool's EnergyModel). Not expressed:\n"
            + "".join(f"#   {k}: {v}\n" for k, v in NOT_EXPRESSED.items()))
    a = out / f"{hw.name}.arch.yaml"
    a.write_text(note + yaml_dump(architecture(hw)))
    e = out / f"{hw.name}.ERT.yaml"
    e.write_text(f"# Energy reference table of {hw.name}: pJ per access of each component's width\n"
                 + yaml_dump(ert(hw)))
    return [a, e]


def write_workload(layers: Sequence[Layer], out_dir: str | Path, name: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, l in enumerate(x for x in layers if x.is_mac and x.macs > 0):
        p = out / f"{i:03d}_{_safe(l.name)}.problem.yaml"
        p.write_text(f"# {name}: layer {l.name} ({l.op}, {l.macs:,} MACs)\n" + yaml_dump(problem(l)))
        paths.append(p)
    return paths
