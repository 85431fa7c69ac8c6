"""Area and static power per component, and the technology-scaling factors (energy and area).

Data: ``accelerator/data/area_45nm.yaml`` (on-chip areas at 45 nm), ``energy_45nm.yaml``
(on-chip leakage), ``dram_interface.yaml`` (PHY, memory controller and DRAM background power per
channel, by DRAM type) and ``scaling.yaml`` (Stillmaker & Baas 2017 factors), each number with its
source. A component whose figure is unknown is NaN (with the reason) and left out of totals.

    cost_breakdown(hw)        # {component: ComponentCost(area_mm2, static_w, memory_interface, ...)}
    area_mm2(hw)              # {component: mm^2, ..., "total"}
    totals(hw, memory_interface=False)   # the same design with the memory interface free
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from vocab.params import ParamError
from vocab.units import J_PER_PJ

from .hierarchy import LEVELS
from .params import HardwareParams

__all__ = ["DATA_DIR", "energy_scale_factor", "area_scale_factor", "area_mm2", "core_area_mm2",
           "AREA_COMPONENTS", "MEMORY_INTERFACE_COMPONENTS", "MEMORY_INTERFACE_ENERGY_COMPONENTS", "ComponentCost", "cost_breakdown", "totals",
           "dram_channels", "onchip_leakage_w", "memory_interface_static_w", "cost_record"]

DATA_DIR = Path(__file__).with_name("data")
MEMORY_INTERFACE_COMPONENTS = ("dram_phy", "dram_controller", "dram_devices")
# every component the model times, in display order: the MACs, the memory levels with an area term
# (accelerator.hierarchy), the PPU and DMA, then the memory interface
AREA_COMPONENTS = ("mac", *(lv.name for lv in LEVELS if lv.area_model), "ppu", "dma", *MEMORY_INTERFACE_COMPONENTS)
# the levels whose area is their bytes x a density of area_45nm.yaml ("sram" or "accum_buffer")
_STORAGE_AREA = {"sram": "sram", "accum": "accum_buffer"}
# the energy-breakdown terms holding the memory interface's static power x time (see cost_breakdown)
MEMORY_INTERFACE_ENERGY_COMPONENTS = ("dram_interface", "dram_background")


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


# -- on-chip core (MACs, buffers) -------------------------------------------------------------
def _core_area(hw: HardwareParams) -> dict[str, float]:
    d = load_data("area_45nm.yaml")
    k = area_scale_factor(d["technology_nm"], hw.technology_nm) * 1e-6  # um^2 -> mm^2, scaled
    out = {"mac": hw.peak_macs_per_cycle * d["mac"]["um2_per_mac"] * k}
    for lv in LEVELS:
        if lv.area_model in _STORAGE_AREA:
            e = d[_STORAGE_AREA[lv.area_model]]
            out[lv.name] = lv.instances(hw) * lv.bytes(hw) * (e["um2"] / e["bytes"]) * k
    return out


def core_area_mm2(hw: HardwareParams) -> float:
    """Area of the MACs and buffers (mm^2): what the NoC spans (its mean wire length derives from
    it). The DRAM PHY sits at the die edge and does not lengthen GLB-PE wires, so it is not here."""
    return _sum(_core_area(hw).values())  # in declaration order: the same float as the hand-written sum


def onchip_leakage_w(hw: HardwareParams) -> dict[str, tuple[float, str, str, str]]:
    """On-chip leakage at 45 nm: action -> (W, kind, source, flag); scale by `energy_scale_factor`.
    The one definition of these terms (EnergyModel's leakage rows and `cost_breakdown` use it)."""
    L = load_data("energy_45nm.yaml")["leakage"]
    w_per_pj_cycle = J_PER_PJ / L["cycle_s"]
    held = {g: sum(lv.instances(hw) * lv.bytes(hw) for lv in LEVELS if lv.leakage == g)  # bytes (ints: exact)
            for g in ("sram", "accum_buffer")}
    sram_bytes = held["sram"]
    unknown = lambda key: (L[f"{key}_w"] or 0.0, "unknown" if L[f"{key}_w"] is None else "published",  # noqa: E731
                           L[f"{key}_source"], "unknown, counted as 0")
    return {
        "leakage.mac": (hw.peak_macs_per_cycle * L["mac_pj_per_cycle"] * w_per_pj_cycle, "published",
                        L["mac_source"] + f"; x {hw.peak_macs_per_cycle} MACs", ""),
        "leakage.sram": (sram_bytes * L["sram_pj_per_cycle"] / L["sram_bytes"] * w_per_pj_cycle, "derived",
                         L["sram_source"] + f"; x {sram_bytes} B", ""),
        "leakage.accum_buffer": (held["accum_buffer"] * L["accum_pj_per_cycle"] /
                                 L["accum_bytes"] * w_per_pj_cycle, "derived",
                                 L["accum_source"] + f"; x {held['accum_buffer']} B", ""),
        "leakage.ppu": unknown("ppu"),
        "leakage.noc": unknown("noc"),
        "leakage.dma": unknown("dma"),
    }


def _sum(values) -> float:
    """Left-to-right sum starting from the first value (not from 0: the same float as ``a + b + c``)."""
    it = iter(values)
    total = next(it)
    for v in it:
        total += v
    return total


# -- the DRAM interface -------------------------------------------------------------------------
def _dram(hw: HardwareParams) -> dict[str, Any]:
    types = load_data("dram_interface.yaml")["types"]
    if hw.dram_type not in types:
        raise ParamError(f"HardwareParams.dram_type = {hw.dram_type!r} has no data in "
                         f"{DATA_DIR / 'dram_interface.yaml'} (types there: {', '.join(types)})")
    return types[hw.dram_type]


def dram_channels(hw: HardwareParams) -> int:
    """Channels of ``hw.dram_type`` needed for ``hw.dram_bandwidth_bytes_per_s`` (whole channels)."""
    t = _dram(hw)
    per_channel = t["channel_bits"] / 8 * t["data_rate_mts"] * 1e6
    return max(1, math.ceil(hw.dram_bandwidth_bytes_per_s / per_channel - 1e-9))


def _logic_leak_w_per_mm2_45nm() -> float:
    """Leakage density of logic at 45 nm: the Accelergy example's MAC (W per mm^2)."""
    L = load_data("energy_45nm.yaml")["leakage"]
    mac_um2 = load_data("area_45nm.yaml")["mac"]["um2_per_mac"]
    return L["mac_pj_per_cycle"] * J_PER_PJ / L["cycle_s"] / (mac_um2 * 1e-6)


def _dram_interface(hw: HardwareParams) -> dict[str, tuple[float, float, str, str]]:
    """component -> (mm^2, W, kind, source) of the memory interface at ``hw.technology_nm``."""
    t, n = _dram(hw), dram_channels(hw)
    node = hw.technology_nm
    pa = t["phy_area"]
    phy_mm2 = n * pa["mm2_per_channel"] * ((1 - pa["logic_fraction"]) +
                                           pa["logic_fraction"] * area_scale_factor(pa["node_nm"], node))
    ca = t["controller_area"]
    ctl_mm2 = n * ca["mm2_per_72bit"] * t["channel_bits"] / 72 * area_scale_factor(ca["node_nm"], node)
    ctl_w = (ctl_mm2 / area_scale_factor(45, node)) * _logic_leak_w_per_mm2_45nm() * energy_scale_factor(45, node)
    ps = t["phy_static"]
    phy_mw = (ps["phy_mw"] + ps["i_bias_ma"] * ps["vdd_io_v"]
              + ps["i_leak_na_per_pin"] * 1e-6 * t["pins_per_channel"] * ps["vdd_io_v"]
              + ps["vdd_io_v"] * ps["v_sw_clk_v"] / ps["r_diff_term_ohm"] * 1e3)
    dev = t["device_background"]
    dev_mw = sum(v * i for v, i in zip(dev["vdd_v"], dev["idd5ab_ma"]))
    ch = f" Here {n} x{t['channel_bits']} {hw.dram_type} channel(s) at {node} nm."
    return {
        "dram_phy": (phy_mm2, n * phy_mw * 1e-3, pa["kind"],
                     " ".join(f"area: {pa['source']} static: {ps['source']}".split()) + ch),
        "dram_controller": (ctl_mm2, ctl_w, ca["kind"],
                            " ".join(f"area: {ca['source']} static: {t['controller_static']['source']}".split()) + ch),
        "dram_devices": (0.0, n * dev_mw * 1e-3, dev["kind"],
                         " ".join(f"off-chip (no accelerator area). static: {dev['source']}".split()) + ch),
    }


def memory_interface_static_w(hw: HardwareParams) -> dict[str, tuple[float, str, str]]:
    """Static power of the memory interface by energy component: ``dram_interface`` (PHY and
    controller) and ``dram_background`` (the DRAM devices) -> (W, kind, source); 0 W with
    ``memory_interface_cost`` false."""
    mi = _dram_interface(hw)
    on = hw.memory_interface_cost
    off = "memory_interface_cost = False: not counted."
    phy, ctl, dev = mi["dram_phy"], mi["dram_controller"], mi["dram_devices"]
    return {
        "dram_interface": ((phy[1] + ctl[1]) if on else 0.0, "derived" if on else "choice",
                           f"PHY {phy[1] * 1e3:.4g} mW + controller {ctl[1] * 1e3:.4g} mW. " + (
                               phy[3] + " | " + ctl[3] if on else off)),
        "dram_background": (dev[1] if on else 0.0, dev[2] if on else "choice", dev[3] if on else off),
    }


# -- the breakdown --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComponentCost:
    """Area and static power of one component at the hardware's node. NaN = unknown (see source)."""

    component: str
    area_mm2: float          # on-chip area; 0 for the off-chip DRAM devices
    static_w: float          # leakage / static power
    memory_interface: bool   # part of the DRAM interface (priced only with memory_interface_cost)
    energy_component: str    # the energy-breakdown term its static power x time lands in
    kind: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cost_breakdown(hw: HardwareParams) -> dict[str, ComponentCost]:
    """Every component the model times -> its `ComponentCost`, in `AREA_COMPONENTS` order.

    With ``hw.memory_interface_cost`` false the memory-interface components report 0 (not
    counted); `totals(hw, memory_interface=False)` gives the same for any hardware."""
    d = load_data("area_45nm.yaml")
    k = area_scale_factor(d["technology_nm"], hw.technology_nm) * 1e-6
    f = energy_scale_factor(load_data("energy_45nm.yaml")["technology_nm"], hw.technology_nm)
    core = _core_area(hw)
    leak = {a: w * f for a, (w, *_r) in onchip_leakage_w(hw).items()}
    src = lambda key: " ".join(str(d[key]["source"]).split())  # noqa: E731
    nan = math.nan
    out = {"mac": (core["mac"], leak["leakage.mac"], d["mac"]["kind"], src("mac"))}
    for lv in LEVELS:
        if lv.area_model in _STORAGE_AREA:  # its share of its leakage row, by area (a row of one level: all of it)
            key = _STORAGE_AREA[lv.area_model]
            group = [m.name for m in LEVELS if m.leakage == lv.leakage]
            w = leak[f"leakage.{lv.leakage}"]
            if len(group) > 1:
                w = core[lv.name] * (w / _sum(core[m] for m in group))
            out[lv.name] = (core[lv.name], w, d[key]["kind"], src(key))
        elif lv.area_model == "noc":
            out[lv.name] = (nan if d["noc"]["um2_per_router_per_link_bit"] is None else
                            hw.num_pes * d["noc"]["um2_per_router_per_link_bit"] * hw.noc_bytes_per_cycle * 8 * k,
                            nan, "unknown", src("noc"))
    out.update({
        "ppu": (nan if d["ppu"]["um2"] is None else d["ppu"]["um2"] * k, nan, "unknown", src("ppu")),
        "dma": (nan if d["dma"]["um2"] is None else d["dma"]["um2"] * k, nan, "unknown", src("dma")),
    })
    for c, (mm2, w, kind, s) in _dram_interface(hw).items():
        out[c] = (mm2, w, kind, s) if hw.memory_interface_cost else \
            (0.0, 0.0, "choice", "memory_interface_cost = False: not counted. " + s)
    term = dict(zip(MEMORY_INTERFACE_COMPONENTS, ("dram_interface", "dram_interface", "dram_background")))
    assert set(term.values()) == set(MEMORY_INTERFACE_ENERGY_COMPONENTS)
    return {c: ComponentCost(c, float(out[c][0]), float(out[c][1]), c in MEMORY_INTERFACE_COMPONENTS,
                             term.get(c, "leakage"), out[c][2], out[c][3]) for c in AREA_COMPONENTS}


def totals(hw: HardwareParams, memory_interface: bool = True) -> dict[str, float]:
    """Known area (mm^2) and static power (W), with or without the memory-interface components
    (the EDAP of a design with the memory interface priced or free)."""
    b = cost_breakdown(hw).values()
    keep = [c for c in b if memory_interface or not c.memory_interface]
    return {"area_mm2": sum(c.area_mm2 for c in keep if not math.isnan(c.area_mm2)),
            "static_w": sum(c.static_w for c in keep if not math.isnan(c.static_w))}


def area_mm2(hw: HardwareParams) -> dict[str, float]:
    """Component -> mm^2 at ``hw.technology_nm``, plus ``total`` (of the known components).

    Unknown components (``noc``, ``ppu``, ``dma``) are NaN and not in ``total``; the memory
    interface counts only with ``hw.memory_interface_cost``. The core components' sum is the
    figure before issue 24, in the same order (so it is the same float)."""
    out = {c: v.area_mm2 for c, v in cost_breakdown(hw).items()}
    out["total"] = sum(v for v in out.values() if not math.isnan(v))
    return out


def cost_record(hw: HardwareParams) -> dict[str, Any]:
    """Area and static power by component as plain JSON data (traces store it in their ``hardware``
    attribute, ``cosim hw show --json`` prints it); unknown figures are null."""
    b = cost_breakdown(hw)
    known = lambda x: None if math.isnan(x) else x  # noqa: E731
    t, t0 = totals(hw), totals(hw, memory_interface=False)
    return {"area_mm2": {c: known(v.area_mm2) for c, v in b.items()},
            "static_w": {c: known(v.static_w) for c, v in b.items()},
            "memory_interface_components": [c for c, v in b.items() if v.memory_interface],
            "dram_channels": dram_channels(hw),
            "area_total_mm2": t["area_mm2"], "static_total_w": t["static_w"],
            "area_total_without_memory_interface_mm2": t0["area_mm2"],
            "static_total_without_memory_interface_w": t0["static_w"]}


def area_table() -> list[dict[str, Any]]:
    """Rows (component, um2_45nm, unit, kind, source) for printing."""
    d = load_data("area_45nm.yaml")
    rows = [{"component": "mac", "um2_45nm": d["mac"]["um2_per_mac"], "unit": "um^2/MAC",
             "kind": d["mac"]["kind"], "source": d["mac"]["source"]}]
    sram = ", ".join(lv.name.removesuffix("_buffer").replace("_", " ") for lv in LEVELS if lv.area_model == "sram")
    for key, name in (("sram", f"sram ({sram} buffer)"), ("accum_buffer", "accum_buffer")):
        rows.append({"component": name, "um2_45nm": d[key]["um2"] / d[key]["bytes"], "unit": "um^2/B",
                     "kind": d[key]["kind"], "source": " ".join(d[key]["source"].split())})
    for key in ("ppu", "noc", "dma"):
        rows.append({"component": key, "um2_45nm": math.nan, "unit": "um^2", "kind": "unknown",
                     "source": " ".join(d[key]["source"].split())})
    return rows
