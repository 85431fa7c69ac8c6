"""On-chip area per component, and the technology-scaling factors (energy and area).

Data: ``accelerator/data/area_45nm.yaml`` (areas at 45 nm with sources) and
``accelerator/data/scaling.yaml`` (Stillmaker & Baas 2017 factors). Components
whose area is unknown (PPU, NoC) are reported as NaN and left out of ``total``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from vocab.params import ParamError

from .params import HardwareParams

__all__ = ["DATA_DIR", "energy_scale_factor", "area_scale_factor", "area_mm2", "onchip_area_mm2",
           "AREA_COMPONENTS"]

DATA_DIR = Path(__file__).with_name("data")
AREA_COMPONENTS = ("mac", "weight_buffer", "input_buffer", "accum_buffer", "global_buffer", "noc", "ppu")


@lru_cache(maxsize=None)
def load_data(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name) as f:
        return yaml.safe_load(f)


def _interp(node_nm: float, values: list[float], what: str) -> float:
    s = load_data("scaling.yaml")
    nodes = s["nodes_nm"]
    if node_nm in nodes:
        return values[nodes.index(node_nm)]
    if not (min(nodes) <= node_nm <= max(nodes)):
        raise ParamError(f"technology_nm [nm] = {node_nm} is outside the range of the {what} scaling data "
                         f"(allowed: [{min(nodes)}, {max(nodes)}] nm; {s['not_covered'].strip()})")
    for (n_hi, v_hi), (n_lo, v_lo) in zip(zip(nodes, values), zip(nodes[1:], values[1:])):
        if n_lo <= node_nm <= n_hi:
            t = (node_nm - n_lo) / (n_hi - n_lo)
            return v_lo + t * (v_hi - v_lo)
    raise AssertionError("unreachable")


def energy_scale_factor(from_nm: float, to_nm: float) -> float:
    """Multiplier for on-chip energy (and leakage) from node ``from_nm`` to ``to_nm``."""
    s = load_data("scaling.yaml")
    v = s["vdd"]
    e = [a * v * v + b * v + c for a, b, c in s["energy_poly"]]
    return _interp(to_nm, e, "energy") / _interp(from_nm, e, "energy")


def area_scale_factor(from_nm: float, to_nm: float) -> float:
    """Multiplier for on-chip area from ``from_nm`` to ``to_nm`` (data tabulated from 45 nm)."""
    row = load_data("scaling.yaml")["area_factor_from_45nm"]
    return _interp(to_nm, row, "area") / _interp(from_nm, row, "area")


def area_mm2(hw: HardwareParams) -> dict[str, float]:
    """Component -> mm^2 at ``hw.technology_nm``, plus ``total`` (of the known components).

    Unknown components (``noc``, ``ppu``) are NaN and not in ``total``.
    """
    d = load_data("area_45nm.yaml")
    k = area_scale_factor(d["technology_nm"], hw.technology_nm) * 1e-6  # um^2 -> mm^2, scaled
    sram = d["sram"]["um2"] / d["sram"]["bytes"]
    acc = d["accum_buffer"]["um2"] / d["accum_buffer"]["bytes"]
    out = {
        "mac": hw.peak_macs_per_cycle * d["mac"]["um2_per_mac"] * k,
        "weight_buffer": hw.num_pes * hw.weight_buffer_bytes * sram * k,
        "input_buffer": hw.num_pes * hw.input_buffer_bytes * sram * k,
        "accum_buffer": hw.num_pes * hw.accum_buffer_bytes * acc * k,
        "global_buffer": hw.global_buffer_bytes * sram * k,
        "noc": math.nan if d["noc"]["um2"] is None else d["noc"]["um2"] * k,
        "ppu": math.nan if d["ppu"]["um2"] is None else d["ppu"]["um2"] * k,
    }
    out["total"] = sum(v for v in out.values() if not math.isnan(v))
    return out


def onchip_area_mm2(hw: HardwareParams) -> float:
    """Total known on-chip area (mm^2) at ``hw.technology_nm``."""
    return area_mm2(hw)["total"]


def area_table() -> list[dict[str, Any]]:
    """Rows (component, um2_45nm, unit, kind, source) for printing."""
    d = load_data("area_45nm.yaml")
    rows = [{"component": "mac", "um2_45nm": d["mac"]["um2_per_mac"], "unit": "um^2/MAC",
             "kind": d["mac"]["kind"], "source": d["mac"]["source"]}]
    for key, name in (("sram", "sram (weight, input, global buffer)"), ("accum_buffer", "accum_buffer")):
        rows.append({"component": name, "um2_45nm": d[key]["um2"] / d[key]["bytes"], "unit": "um^2/B",
                     "kind": d[key]["kind"], "source": " ".join(d[key]["source"].split())})
    for key in ("ppu", "noc"):
        rows.append({"component": key, "um2_45nm": d[key]["um2"], "unit": "um^2", "kind": "unknown",
                     "source": d[key]["source"]})
    return rows
