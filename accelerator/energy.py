"""Energy model: per-action energies (data with provenance) x action counts + leakage x time.

Data: ``accelerator/data/energy_45nm.yaml`` (45 nm, with the source of every number),
scaled to ``hw.technology_nm`` with ``accelerator/data/scaling.yaml`` (on-chip only;
DRAM is not scaled). The counters are those of `accelerator.counters`.

    em = EnergyModel(hw)
    em.components                       # ('mac', 'weight_buffer', ..., 'leakage', 'dram_interface', ...)
    em.breakdown(counts, duration_s)    # {component: joules per layer (numpy)}
    em.static_w                         # {static component: W} (static power x time components)
    print(em.format_table())            # action, value, unit, kind, source, flag
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np

from vocab.names import TENANCY_COMPONENTS
from vocab.params import ParamError, format_table
from vocab.units import J_PER_PJ

from .area import (area_scale_factor, core_area_mm2, energy_scale_factor, load_data, memory_interface_static_w,
                   onchip_leakage_w)
from . import hierarchy
from .counters import COUNTER_INDEX, NUM_COUNTERS
from .hierarchy import ENERGY_MODELS, LEVELS
from .params import HardwareParams

__all__ = ["EnergyModel", "COMPONENTS", "COMPONENT_TERMS", "ENERGY_LEVELS", "TENANCY_COMPONENTS", "DERIVED",
           "STATIC_COMPONENTS"]

#: Energy components of a layer's breakdown, in display order: (name, meaning). Each is joules
#: per layer (trace column ``energy_<name>_j``); one per memory level (`accelerator.hierarchy`).
COMPONENT_TERMS: tuple[tuple[str, str], ...] = (
    ("mac", "multiply-accumulates of the workload (useful MACs)"),
    ("mac_padded", "MACs issued on vector/lane padding (zero with zero gating)"),
    *((lv.name, lv.doc) for lv in LEVELS),
    ("ppu", "post-processing-unit element operations"),
    ("preemption", "checkpoint spills and restores of preempted inferences (their DRAM, global-buffer, NoC and "
     "PE-buffer accesses)"),
    ("leakage", "static power x time"),
    ("dram_interface", "DRAM PHY and memory-controller static power x time"),
    ("dram_background", "DRAM devices' background power (standby and refresh) x time"),
)
COMPONENTS: tuple[str, ...] = tuple(name for name, _ in COMPONENT_TERMS)
# components that are static power x time (no counter): on-chip leakage, the DRAM PHY and controller,
# the DRAM devices' background (standby + refresh) power
STATIC_COMPONENTS: tuple[str, ...] = ("leakage", "dram_interface", "dram_background")

#: Where the energy is spent: plot group -> energy components, in display order (every component
#: in exactly one group; the memory levels' groups from `accelerator.hierarchy`, outermost first).
#: Plots of traces group by these; traces store them in the file.
ENERGY_LEVELS: dict[str, tuple[str, ...]] = {
    **hierarchy.energy_levels(),
    "compute (MAC, PPU)": ("mac", "mac_padded", "ppu"),
    "preemption": TENANCY_COMPONENTS,
    "leakage": ("leakage",),
    "DRAM static (interface, background)": ("dram_interface", "dram_background"),
}

# counters derived from the model's counters (name -> (minuend, subtrahend))
DERIVED: dict[str, tuple[str, str]] = {"macs_padded": ("macs_issued", "macs_useful")}

# component -> ((counter, action key), ...): the one place counters meet energies. "mac" is the
# useful work; "mac_padded" the MACs issued on vector/lane padding (zero with zero gating), so the
# granularity cost of skipping stays visible.
_USES: dict[str, tuple[tuple[str, str], ...]] = {
    "mac": (("macs_useful", "mac"),),
    "mac_padded": (("macs_padded", "mac_padded"),),
    **hierarchy.energy_uses(),  # each level: its counters at its own read/write/transfer energies
    "ppu": (("ppu_ops", "ppu.op"),),
    # the overhead traffic of preempted inferences, at the same per-action energies
    "preemption": hierarchy.preemption_uses(),
}
if set(_USES) != set(COMPONENTS) - set(STATIC_COMPONENTS) or not set(STATIC_COMPONENTS) <= set(COMPONENTS) or \
        sorted(c for cs in ENERGY_LEVELS.values() for c in cs) != sorted(COMPONENTS):
    raise RuntimeError(f"accelerator/energy.py: _USES and STATIC_COMPONENTS must together name every energy component "
                       f"of COMPONENT_TERMS, and ENERGY_LEVELS each once: _USES has {sorted(_USES)}, STATIC_COMPONENTS "
                       f"{sorted(STATIC_COMPONENTS)}, COMPONENT_TERMS {sorted(COMPONENTS)}, ENERGY_LEVELS "
                       f"{sorted(c for cs in ENERGY_LEVELS.values() for c in cs)}")
_USES = {c: _USES[c] for c in COMPONENTS if c not in STATIC_COMPONENTS}  # one order everywhere: the declared one


class _BreakdownPlan:
    """`_USES` as index arrays (built once per EnergyModel), so that `breakdown` computes every
    component of every layer in a few array operations instead of a loop per component.

    Use j of component k is row (j, k) of a [uses per component, components] table of counter
    rows and joules; a component with fewer uses is padded with a use of weight 0, which adds
    exactly +0.0: ``(0 + a) + 0.0 == 0 + a`` for every finite ``a``, so each joule is the float
    of the loop ``0 + count_1 x J_1 (+ count_2 x J_2)``."""

    def __init__(self, pj: dict[str, float]) -> None:
        width = max(map(len, _USES.values()))
        # counter rows: the model's counters, then the derived ones
        rows = {**COUNTER_INDEX, **{d: NUM_COUNTERS + i for i, d in enumerate(DERIVED)}}
        self.derived = [(NUM_COUNTERS + i, COUNTER_INDEX[a], COUNTER_INDEX[b]) for i, (a, b) in enumerate(DERIVED.values())]
        self.n_rows = NUM_COUNTERS + len(DERIVED)
        self.counter = np.zeros((width, len(_USES)), dtype=np.intp)  # padding: any row, weight 0
        self.joules = np.zeros((width, len(_USES)))
        for k, uses in enumerate(_USES.values()):
            for j, (counter, action) in enumerate(uses):
                self.counter[j, k] = rows[counter]
                self.joules[j, k] = pj[action] * J_PER_PJ


def _actions(lv) -> tuple[str, ...]:
    """The level's energy actions, in the order of its counters."""
    return tuple(dict.fromkeys(a.action for a in lv.accesses))


def _sram_energy(em: "EnergyModel", d: dict, hw: HardwareParams, lv) -> list:
    s = d["sram"]
    cap, bits = lv.bank_bytes(hw), lv.bits(hw)
    per_read = hw.vector_size * hw.data_bytes if lv.vector_reads else None
    what = "one lane's bank" if lv.banked_per_lane else "the PE's buffer" if lv.per_pe else \
        "the " + lv.name.replace("_", " ")
    lo_c, hi_c = s["checked_capacity_bytes"]
    lo_w, hi_w = s["checked_width_bits"]
    flag = "" if lo_c <= cap <= hi_c and lo_w <= bits <= hi_w else \
        f"extrapolated outside {lo_c}..{hi_c} B, {lo_w}..{hi_w} bit"
    out = []
    for op in _actions(lv):
        f = s[op]
        e = f["a_pj"] * cap ** f["capacity_exponent"] * bits ** f["width_exponent"]
        # bytes per access: a whole word; a PE read fetches one vector (a word wider than
        # the vector delivers the vector alone, a narrower one takes several accesses)
        per = bits / 8 if (op == "write" or per_read is None) else min(bits / 8, per_read)
        src = (f"{s['source']} Here {what}: {cap} B, {bits}-bit words -> {e:.4g} pJ per {op} access, "
               f"{per:g} B per access.")
        out.append((op, (e / per, "pJ/B", s["kind"], src, flag)))
    return out


def _accum_energy(em: "EnergyModel", d: dict, hw: HardwareParams, lv) -> list:
    e = d["accum_buffer"]
    depth = hw.accum_entries_per_lane
    f = (max(depth, 1) / e["depth"]) ** e["depth_exponent"]
    kind = e["kind"] if depth == e["depth"] else "derived"
    src = e["source"] + ("" if depth == e["depth"] else f" Here depth {depth}: x {f:.3g}.")
    return [(op, (e[f"{op}_pj_per_access"] * f / (e["access_bits"] / 8), "pJ/B", kind, src)) for op in _actions(lv)]


def _wire_energy(em: "EnergyModel", d: dict, hw: HardwareParams, lv) -> list:
    n = d["noc"]
    # mean distance from the modelled on-chip area; at another node the wire energy per bit-mm
    # scales like logic (Stillmaker factor) and the distance like sqrt(area factor)
    area = core_area_mm2(hw)
    dist45 = math.sqrt(area / em.area_scale) / 2.0
    return [(op, (n["fj_per_bit_mm"] * 1e-3 * 8 * dist45, "pJ/B", n["kind"],
                  f"{n['source']} Here: core area (MACs, buffers) {area:.3g} mm^2 at {hw.technology_nm} nm -> mean "
                  f"distance {math.sqrt(area) / 2:.3g} mm.", "low-swing link figure; routers not included",
                  em.scale * math.sqrt(em.area_scale))) for op in _actions(lv)]


def _dram_energy(em: "EnergyModel", d: dict, hw: HardwareParams, lv) -> list:
    r = d["dram"]
    return [(op, (r["pj_per_access"] / (r["access_bits"] / 8), "pJ/B", r["kind"], r["source"], "", 1.0))
            for op in _actions(lv)]


# energy model of a level (accelerator.hierarchy.ENERGY_MODELS) -> its rows: (action, add() arguments)
_LEVEL_ENERGY = {"sram": _sram_energy, "accum": _accum_energy, "wire": _wire_energy, "dram": _dram_energy}
assert tuple(_LEVEL_ENERGY) == ENERGY_MODELS


class EnergyModel:
    """Per-action energy table for one `HardwareParams`, and the per-layer energy breakdown."""

    components: tuple[str, ...] = COMPONENTS

    def __init__(self, hw: HardwareParams) -> None:
        if not isinstance(hw, HardwareParams):
            raise ParamError(f"EnergyModel needs a HardwareParams, got {type(hw).__name__}")
        self.hw = hw
        d = load_data("energy_45nm.yaml")
        base = d["technology_nm"]
        self.scale = energy_scale_factor(base, hw.technology_nm)     # on-chip energy and leakage
        self.area_scale = area_scale_factor(base, hw.technology_nm)
        rows: list[dict[str, Any]] = []

        def add(action: str, pj45: float, unit: str, kind: str, source: str, flag: str = "",
                factor: float | None = None) -> None:
            rows.append({"action": action, "value_45nm": pj45,
                         "value": pj45 * (self.scale if factor is None else factor), "unit": unit, "kind": kind,
                         "source": " ".join(str(source).split()), "flag": flag})

        m = d["mac"]
        add("mac", m["pj_per_mac"], "pJ/MAC", m["kind"], m["source"])

        add("mac_padded", 0.0 if hw.zero_gating else m["pj_per_mac"], "pJ/MAC", "choice",
            "zero_gating = " + str(hw.zero_gating) + (": padded MACs are gated (no dynamic MAC energy)"
                                                      if hw.zero_gating else ": padded MACs cost a full MAC"))

        for model in ENERGY_MODELS:  # the levels' access energies, grouped by how they derive
            for lv in LEVELS:
                if lv.energy_model == model:
                    for action, args in _LEVEL_ENERGY[model](self, d, hw, lv):
                        add(f"{lv.name}.{action}", *args)

        p = d["ppu"]
        add("ppu.op", p["pj_per_element_op"], "pJ/op", p["kind"], p["source"])

        for action, (w, kind, src, flag) in onchip_leakage_w(hw).items():
            add(action, w, "W", kind, src, flag)
        for comp, (w, kind, src) in memory_interface_static_w(hw).items():
            add(f"{comp}.static", w, "W", kind, src, factor=1.0)  # already at hw's node (area.py)

        self._rows = rows
        self.pj: dict[str, float] = {r["action"]: r["value"] for r in rows if r["unit"] != "W"}
        # static power by component (leakage.* rows -> "leakage", in row order: the same float as before
        # the DRAM terms existed); leakage_w is all of it: what x time adds to a layer (the mapper's cost)
        self.static_w: dict[str, float] = {c: sum(r["value"] for r in rows if r["unit"] == "W" and
                                                  r["action"].split(".")[0] == c) for c in STATIC_COMPONENTS}
        self.leakage_w: float = sum(self.static_w.values())
        self.warnings: tuple[str, ...] = tuple(f"{r['action']}: {r['flag']}" for r in rows if r["flag"])

    # -- API -------------------------------------------------------------------
    def breakdown(self, counts: np.ndarray, duration_s: np.ndarray) -> dict[str, np.ndarray]:
        """Joules per layer and component.

        ``counts``: array [n_layers, NUM_COUNTERS] in the order of `accelerator.counters.COUNTERS`;
        ``duration_s``: array [n_layers] (each static component = its power x duration).
        Each component is ``0 + count_1 x J_1 (+ count_2 x J_2)``, its actions in `_USES` order.
        """
        c = np.asarray(counts, dtype=np.float64)
        if c.ndim == 1:
            c = c[None, :]
        if c.ndim != 2 or c.shape[1] != NUM_COUNTERS:
            raise ValueError(f"counts must have shape [n_layers, {NUM_COUNTERS}], got {np.shape(counts)}")
        n = c.shape[0]
        t = np.broadcast_to(np.asarray(duration_s, dtype=np.float64), (n,))
        p = self._plan
        rows = np.empty((p.n_rows, n))  # one row per counter, derived ones after the model's
        rows[:NUM_COUNTERS] = c.T
        for d, a, b in p.derived:
            rows[d] = rows[a] - rows[b]
        x = rows[p.counter]  # [use, component, layer]
        x *= p.joules[:, :, None]
        u = len(_USES)
        e = np.empty((u + len(STATIC_COMPONENTS), n))  # components in `_USES` order, then the static ones
        np.add(0.0, x[0], out=e[:u])
        for j in range(1, len(x)):
            e[:u] += x[j]
        for k, c in enumerate(STATIC_COMPONENTS):
            np.multiply(t, self.static_w[c], out=e[u + k])
        out = dict(zip(self._components_out, e))
        return out if self._components_out == COMPONENTS else {c: out[c] for c in COMPONENTS}

    _components_out: tuple[str, ...] = (*_USES, *STATIC_COMPONENTS)

    @cached_property
    def _plan(self) -> "_BreakdownPlan":
        return _BreakdownPlan(self.pj)

    def counter_weights_pj(self) -> dict[str, float]:
        """pJ per unit of each model counter, all components summed (derived counters expanded):
        sum(weight x count) + leakage_w (all static power) x time is `total` -- the same table, for callers that
        only need the sum (the mapper ranking many tilings)."""
        w: dict[str, float] = {}
        for uses in _USES.values():
            for counter, action in uses:
                pj = self.pj[action]
                if counter in DERIVED:
                    plus, minus = DERIVED[counter]
                    w[plus] = w.get(plus, 0.0) + pj
                    w[minus] = w.get(minus, 0.0) - pj
                else:
                    w[counter] = w.get(counter, 0.0) + pj
        return w

    def total(self, counts: np.ndarray, duration_s: np.ndarray) -> np.ndarray:
        """Joules per layer, all components."""
        return sum(self.breakdown(counts, duration_s).values())

    def table(self) -> list[dict[str, Any]]:
        """Rows: action, value (at hw.technology_nm), value_45nm, unit, kind, source, flag."""
        return [dict(r) for r in self._rows]

    def format_table(self, source: bool = False) -> str:
        cols = ["action", "value_45nm", "value", "unit", "kind", "flag"] + (["source"] if source else [])
        return format_table(self._rows, cols)
