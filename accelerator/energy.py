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

from vocab.names import ENERGY_COMPONENTS
from vocab.params import ParamError, format_table
from vocab.units import J_PER_PJ

from .area import (area_scale_factor, core_area_mm2, energy_scale_factor, load_data, memory_interface_static_w,
                   onchip_leakage_w)
from .counters import COUNTER_INDEX, NUM_COUNTERS
from .params import HardwareParams

__all__ = ["EnergyModel", "COMPONENTS", "DERIVED", "STATIC_COMPONENTS"]

COMPONENTS: tuple[str, ...] = ENERGY_COMPONENTS
# components that are static power x time (no counter): on-chip leakage, the DRAM PHY and controller,
# the DRAM devices' background (standby + refresh) power
STATIC_COMPONENTS: tuple[str, ...] = ("leakage", "dram_interface", "dram_background")

# counters derived from the model's counters (name -> (minuend, subtrahend))
DERIVED: dict[str, tuple[str, str]] = {"macs_padded": ("macs_issued", "macs_useful")}

# component -> ((counter, action key), ...): the one place counters meet energies. "mac" is the
# useful work; "mac_padded" the MACs issued on vector/lane padding (zero with zero gating), so the
# granularity cost of skipping stays visible.
_USES: dict[str, tuple[tuple[str, str], ...]] = {
    "mac": (("macs_useful", "mac"),),
    "mac_padded": (("macs_padded", "mac_padded"),),
    "weight_buffer": (("wbuf_read_bytes", "weight_buffer.read"), ("wbuf_write_bytes", "weight_buffer.write")),
    "input_buffer": (("ibuf_read_bytes", "input_buffer.read"), ("ibuf_write_bytes", "input_buffer.write")),
    "accum_buffer": (("accbuf_read_bytes", "accum_buffer.read"), ("accbuf_write_bytes", "accum_buffer.write")),
    "global_buffer": (("glb_read_bytes", "global_buffer.read"), ("glb_write_bytes", "global_buffer.write")),
    "noc": (("noc_bytes", "noc.transfer"),),
    "dram": (("dram_read_bytes", "dram.read"), ("dram_write_bytes", "dram.write")),
    "ppu": (("ppu_ops", "ppu.op"),),
    # the overhead traffic of preempted inferences, at the same per-action energies
    "preemption": (("preempt_spill_bytes", "dram.write"), ("preempt_restore_bytes", "dram.read"),
                   ("preempt_noc_bytes", "noc.transfer"), ("preempt_glb_read_bytes", "global_buffer.read"),
                   ("preempt_glb_write_bytes", "global_buffer.write"),
                   ("preempt_accbuf_read_bytes", "accum_buffer.read"),
                   ("preempt_accbuf_write_bytes", "accum_buffer.write"),
                   ("preempt_wbuf_write_bytes", "weight_buffer.write"),
                   ("preempt_ibuf_write_bytes", "input_buffer.write")),
}
if set(_USES) != set(COMPONENTS) - set(STATIC_COMPONENTS) or not set(STATIC_COMPONENTS) <= set(COMPONENTS):
    raise RuntimeError(f"accelerator/energy.py _USES and STATIC_COMPONENTS must together name every energy component "
                       f"of vocab.names.ENERGY_COMPONENTS: _USES has {sorted(_USES)}, STATIC_COMPONENTS "
                       f"{sorted(STATIC_COMPONENTS)}, vocab.names has {sorted(COMPONENTS)}")
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

        s = d["sram"]
        vec = hw.vector_size * hw.data_bytes
        for comp, cap, bits, per_read, what in (
                ("weight_buffer", hw.weight_buffer_bytes // hw.lanes, hw.weight_buffer_word_bits, vec,
                 "one lane's bank"),
                ("input_buffer", hw.input_buffer_bytes, hw.input_buffer_word_bits, vec, "the PE's buffer"),
                ("global_buffer", hw.global_buffer_bytes, hw.global_buffer_word_bits, None, "the global buffer")):
            lo_c, hi_c = s["checked_capacity_bytes"]
            lo_w, hi_w = s["checked_width_bits"]
            flag = "" if lo_c <= cap <= hi_c and lo_w <= bits <= hi_w else \
                f"extrapolated outside {lo_c}..{hi_c} B, {lo_w}..{hi_w} bit"
            for op in ("read", "write"):
                f = s[op]
                e = f["a_pj"] * cap ** f["capacity_exponent"] * bits ** f["width_exponent"]
                # bytes per access: a whole word; a PE read fetches one vector (a word wider than
                # the vector delivers the vector alone, a narrower one takes several accesses)
                per = bits / 8 if (op == "write" or per_read is None) else min(bits / 8, per_read)
                src = (f"{s['source']} Here {what}: {cap} B, {bits}-bit words -> {e:.4g} pJ per {op} access, "
                       f"{per:g} B per access.")
                add(f"{comp}.{op}", e / per, "pJ/B", s["kind"], src, flag)

        e = d["accum_buffer"]
        depth = hw.accum_entries_per_lane
        f = (max(depth, 1) / e["depth"]) ** e["depth_exponent"]
        kind = e["kind"] if depth == e["depth"] else "derived"
        src = e["source"] + ("" if depth == e["depth"] else f" Here depth {depth}: x {f:.3g}.")
        for op in ("read", "write"):
            add(f"accum_buffer.{op}", e[f"{op}_pj_per_access"] * f / (e["access_bits"] / 8), "pJ/B", kind, src)

        n = d["noc"]
        # mean distance from the modelled on-chip area; at another node the wire energy per bit-mm
        # scales like logic (Stillmaker factor) and the distance like sqrt(area factor)
        area = core_area_mm2(hw)
        dist45 = math.sqrt(area / self.area_scale) / 2.0
        add("noc.transfer", n["fj_per_bit_mm"] * 1e-3 * 8 * dist45, "pJ/B", n["kind"],
            f"{n['source']} Here: core area (MACs, buffers) {area:.3g} mm^2 at {hw.technology_nm} nm -> mean distance "
            f"{math.sqrt(area) / 2:.3g} mm.", flag="low-swing link figure; routers not included",
            factor=self.scale * math.sqrt(self.area_scale))

        r = d["dram"]
        for op in ("read", "write"):
            add(f"dram.{op}", r["pj_per_access"] / (r["access_bits"] / 8), "pJ/B", r["kind"], r["source"],
                factor=1.0)

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
