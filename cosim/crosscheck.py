"""Cross-check this tool's cost model against ZigZag on the same layers and hardware.

`crosscheck(layers, hw)` exports the preset and the MAC layers (`accelerator.export.zigzag`),
runs ZigZag (``zigzag-dse``, the optional ``crosscheck`` extra) and compares, per layer:

* latency (ZigZag's ``latency_total2`` cycles at the preset's clock; this tool's cost-model
  estimate `Mapping.time_s`, whose action counts equal the SystemC simulation's) and energy;
* energy by memory level and operand: weight buffer (W), input buffer (I), accumulation buffer
  (O), global buffer (I+O: this tool's counters do not split it), DRAM reads (I+W) and writes
  (O); plus the terms only this tool charges (NoC, leakage, padded MACs).
  DRAM is split into inputs + weights (this tool's DRAM reads) and outputs (its writes).

Two modes: ``search`` lets ZigZag search its own spatial and temporal mapping (LOMA) under the
preset's objective, so differences mix cost model and mapping search; ``pinned`` gives ZigZag
this tool's loop nest (`accelerator.export.zigzag.pinned_mapping`: spatial unrolling and a
complete temporal ordering; ZigZag still allocates the loops to memory levels), which separates
the cost models. A layer whose latency or energy differs by more than ``TOLERANCE`` is explained
by the term whose difference is largest (`explain`).
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from accelerator.hierarchy import storage_levels
from vocab.errors import UserError
from vocab.units import J_PER_PJ

__all__ = ["CrosscheckError", "LayerCheck", "crosscheck", "TERMS", "TOLERANCE", "zigzag_version", "MODES"]

TOLERANCE = 0.25
MODES = ("search", "pinned")
#: Compared energy terms: (key, level, operands); ZigZag's side is the sum of those operands at
#: that level ("dram.r": the DRAM reads of W and I, "dram.w": the DRAM writes of O).
TERMS: tuple[tuple[str, str, str], ...] = (
    ("mac", "MAC", "-"),
    # the on-chip storage levels (accelerator.hierarchy), innermost first
    *((lv.name, lv.name.replace("_", " "), "+".join(lv.operands))
      for lv in storage_levels() if lv.name != "dram"),
    ("dram.r", "DRAM", "I+W"), ("dram.w", "DRAM", "O"),
    ("noc", "NoC (ours only)", "I"), ("leakage", "leakage (ours only)", "-"), ("mac_padded", "padded MACs (ours)", "-"),
)
# ZigZag's memory hierarchy per operand, innermost first (accelerator.export.zigzag.hardware)
_HIERARCHY = {o: tuple(lv.name for lv in storage_levels() if o in lv.operands) for o in ("W", "I", "O")}


class CrosscheckError(UserError, RuntimeError):
    """ZigZag is not installed, or it could not evaluate a layer."""


def zigzag_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zigzag-dse")
    except PackageNotFoundError:
        return None


@dataclass
class LayerCheck:
    """One layer: both tools' latency (s) and energy (J) and energy terms (J, `TERMS` keys)."""

    name: str
    op: str
    macs: int
    ours_s: float
    ours_j: float
    zz_s: float
    zz_j: float
    ours_terms: dict[str, float]
    zz_terms: dict[str, float]
    ours_loopnest: str
    zz_loopnest: str
    notes: list[str] = field(default_factory=list)
    latency_note: str = ""

    @property
    def latency_ratio(self) -> float:
        return self.zz_s / self.ours_s if self.ours_s else math.nan

    @property
    def energy_ratio(self) -> float:
        return self.zz_j / self.ours_j if self.ours_j else math.nan

    def explain(self) -> list[str]:
        """Why the tools differ by more than `TOLERANCE` (empty when they agree)."""
        out = []
        if self.zz_j != self.zz_j:
            return [n for n in self.notes if n.startswith("ZigZag could not")]
        if not (1 - TOLERANCE <= self.energy_ratio <= 1 + TOLERANCE):
            key, *_ = max(TERMS, key=lambda t: abs(self.zz_terms.get(t[0], 0.0) - self.ours_terms.get(t[0], 0.0)))
            level, ops = next((lv, o) for k, lv, o in TERMS if k == key)
            a, b = self.ours_terms.get(key, 0.0), self.zz_terms.get(key, 0.0)
            why = _WHY.get(key, "")
            out.append(f"energy x{self.energy_ratio:.2f}: mostly {level} ({ops}): ours {a * 1e6:.3g} uJ, ZigZag "
                       f"{b * 1e6:.3g} uJ{'; ' + why if why else ''}")
        if not (1 - TOLERANCE <= self.latency_ratio <= 1 + TOLERANCE):
            out.append(f"latency x{self.latency_ratio:.2f}: " + self.latency_note)
        return out


_WHY = {
    "dram.r": "different reuse of inputs/weights across tiles (loop order and tile sizes)",
    "dram.w": "this tool writes each output once (reduction innermost); ZigZag may spill partial sums",
    "global_buffer": "ZigZag's allocation of loops to the global buffer differs from this tool's tiles",
    "accum_buffer": "partial-sum traffic per MAC (ZigZag counts it per its loop allocation)",
    "weight_buffer": "weight-vector reuse in the lanes (this tool refetches a vector per accumulation block)",
    "input_buffer": "input-vector reuse across lanes (one read broadcast to the lanes)",
    "noc": "ZigZag has no NoC energy",
    "leakage": "ZigZag has no leakage",
    "mac_padded": "MACs on vector/lane padding, not in ZigZag",
}


def _ours(layer, hw) -> tuple[Any, float, dict[str, float]]:
    """This tool's mapping of ``layer``, its estimated seconds and its energy by `TERMS` key (J)."""
    from accelerator.mapping import energy_model, layer_cost, map_layer

    m = map_layer(layer, hw)
    cost = layer_cost(layer, m, hw)
    e = {k: float(v) for k, v in cost.energy_j.items()}
    counts = {k: float(v) for k, v in cost.counts.items()}
    pj = energy_model(hw).pj
    terms = {k: e.get(k, 0.0) for k, *_ in TERMS if not k.startswith("dram.")}
    terms["dram.r"] = counts.get("dram_read_bytes", 0.0) * pj["dram.read"] * J_PER_PJ
    terms["dram.w"] = counts.get("dram_write_bytes", 0.0) * pj["dram.write"] * J_PER_PJ
    return m, float(cost.time_s), terms


def _zz_terms(cme) -> dict[str, float]:
    """ZigZag's energy by `TERMS` key (J): MAC, and each operand's energy at each level of its
    hierarchy (DRAM: inputs and weights -> ``dram.r``; outputs, written and any partial sums read
    back -> ``dram.w``)."""
    t = {k: 0.0 for k, *_ in TERMS}
    t["mac"] = cme.mac_energy * J_PER_PJ
    for op, per_level in cme.mem_energy_breakdown.items():
        names = _HIERARCHY[str(op)]
        for i, pj_ in enumerate(per_level):
            lv = names[i]
            key = ("dram.w" if str(op) == "O" else "dram.r") if lv == "dram" else lv
            t[key] += float(pj_) * J_PER_PJ
    return t


def _zz_loopnest(cme) -> str:
    try:
        return str(cme.temporal_mapping)
    except Exception:  # only for display
        return ""


def _run_zigzag(wl_path: Path, hw_path: Path, map_path: Path, dump: Path, objective: str, lpf_limit: int,
                n_spatial: int) -> list:
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import (MinimalEDPStage, MinimalEnergyStage, MinimalLatencyStage,
                                                     SumStage)
    from zigzag.stages.workload_iterator import WorkloadStage

    opt = {"edp": MinimalEDPStage, "energy": MinimalEnergyStage, "latency": MinimalLatencyStage}[objective]
    stages = [WorkloadParserStage, AcceleratorParserStage, SumStage, WorkloadStage, opt,
              SpatialMappingGeneratorStage, opt, TemporalMappingGeneratorStage, CostModelStage]
    main = MainStage(list_of_callables=stages, accelerator=str(hw_path), workload=str(wl_path),
                     mapping=str(map_path), dump_folder=str(dump), loma_lpf_limit=lpf_limit,
                     loma_show_progress_bar=False, nb_mappings_generated=n_spatial,
                     enable_mix_spatial_mapping_generation=True, access_same_data_considered_as_no_access=True,
                     temporal_mapping_type=TemporalMappingType("uneven"))
    cmes = main.run()
    return [cme for cme, _ in cmes[0][1]]


def crosscheck(layers: Sequence, hw, mode: str = "search", lpf_limit: int = 5, n_spatial: int = 2,
               workdir: str | Path | None = None) -> list[LayerCheck]:
    """Run ZigZag on the MAC layers of ``layers`` on ``hw`` and compare them with this tool."""
    if mode not in MODES:
        raise CrosscheckError(f"mode = {mode!r} is not one of {', '.join(MODES)}")
    if zigzag_version() is None:
        raise CrosscheckError("ZigZag is not installed: pip install '.[crosscheck]' (the zigzag-dse package)")
    from accelerator.export import zigzag as zz

    from .loopnest import render_loopnest

    macs = [l for l in layers if l.is_mac and l.macs > 0]
    if not macs:
        raise CrosscheckError("no MAC layers to cross-check (ZigZag models MAC layers only)")
    ours = [_ours(l, hw) for l in macs]
    pinned: dict[str, dict] = {}
    notes: dict[str, list[str]] = {}
    if mode == "pinned":
        for l, (m, _, _) in zip(macs, ours):
            pinned[l.name], notes[l.name] = zz.pinned_mapping(l, m, hw)
    def run(batch, capacities=None):
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            d = Path(tmp)
            (d / "hw.yaml").write_text(yaml.safe_dump(zz.hardware(hw, capacities), sort_keys=False))
            (d / "wl.yaml").write_text(yaml.safe_dump(zz.workload(batch, hw), sort_keys=False))
            (d / "map.yaml").write_text(yaml.safe_dump(zz.mapping(batch, pinned), sort_keys=False))
            return _run_zigzag(d / "wl.yaml", d / "hw.yaml", d / "map.yaml", d / "dump", hw.mapping_objective,
                               lpf_limit, 1 if mode == "pinned" else n_spatial)

    failed: dict[str, str] = {}
    logging.disable(logging.CRITICAL)  # ZigZag logs every mapping it evaluates
    try:
        try:
            cmes = run(macs)
        except Exception:  # a layer ZigZag cannot evaluate: find it, keep the others
            cmes = []
            for l, (m, _, _) in zip(macs, ours):
                try:
                    cmes += run([l])
                    continue
                except Exception as e:
                    failed[l.name] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
                if mode != "pinned":
                    continue
                # ZigZag's allocator packs as many inner loops into a level as fit, without looking
                # at the level above; with the PE buffers as large as the global buffer it can pack
                # more than the global buffer then backs. Capacities of this tool's tile put the
                # same loops at each level as this tool does.
                try:
                    cmes += run([l], zz.occupancy(m))
                    notes.setdefault(l.name, []).append(
                        f"capacities set to this tool's tile ({failed.pop(l.name).split(':')[0]} with the "
                        f"preset's: ZigZag's allocator over-filled the PE buffers)")
                except Exception as e:
                    failed[l.name] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    finally:
        logging.disable(logging.NOTSET)
    by_name = {c.layer.name: c for c in cmes}
    out = []
    for l, (m, t, terms) in zip(macs, ours):
        c = by_name.get(l.name)
        if c is None:
            why = failed.get(l.name, "no result")
            out.append(LayerCheck(name=l.name, op=l.op, macs=l.macs, ours_s=t, ours_j=sum(terms.values()),
                                  zz_s=math.nan, zz_j=math.nan, ours_terms=terms, zz_terms={},
                                  ours_loopnest=render_loopnest(l, m, hw), zz_loopnest="",
                                  notes=notes.get(l.name, []) + [f"ZigZag could not evaluate it: {why}"]))
            continue
        zz_s = float(c.latency_total2) / hw.clock_hz
        zz_terms = _zz_terms(c)
        chk = LayerCheck(name=l.name, op=l.op, macs=l.macs, ours_s=t, ours_j=sum(terms.values()), zz_s=zz_s,
                         zz_j=float(c.energy_total) * J_PER_PJ, ours_terms=terms, zz_terms=zz_terms,
                         ours_loopnest=render_loopnest(l, m, hw), zz_loopnest=_zz_loopnest(c),
                         notes=notes.get(l.name, []))
        chk.latency_note = _latency_note(c, m, t, zz_s, hw)
        out.append(chk)
    return out


def _latency_note(c, m, ours_s: float, zz_s: float, hw) -> str:
    """Which term makes the latencies differ: the compute cycles (ZigZag's ideal temporal cycles vs
    this tool's PE-array cycles) or the memory (ZigZag adds its stall and on/off-loading cycles to
    compute; this tool overlaps DRAM transfers with compute in double-buffered tiles)."""
    ideal = float(c.ideal_temporal_cycle)
    stall = float(c.latency_total2) - ideal
    compute_diff = ideal - m.compute_cycles
    dram_cycles = m.dram_bytes / hw.dram_bandwidth_bytes_per_s * hw.clock_hz
    head = f"ours {ours_s * 1e6:.3g} us, ZigZag {zz_s * 1e6:.3g} us; "
    if abs(stall) >= abs(compute_diff):
        return head + (f"mostly memory: ZigZag adds {stall:,.0f} stall/load cycles to its {ideal:,.0f} compute cycles, "
                       f"this tool overlaps its DRAM transfers ({dram_cycles:,.0f} cycles at "
                       f"{hw.dram_bandwidth_bytes_per_s / 1e9:g} GB/s) with its {m.compute_cycles:,} PE-array cycles "
                       f"(double-buffered tiles)")
    return head + (f"mostly compute: ZigZag's {ideal:,.0f} ideal cycles at "
                   f"{100 * float(c.mac_spatial_utilization):.0f}% spatial utilisation vs this tool's "
                   f"{m.compute_cycles:,} PE-array cycles (whole vectors and lanes, accumulation-buffer drains)")


def summary(checks: Sequence[LayerCheck]) -> dict[str, float]:
    """Totals and the agreement measured over the layers ZigZag evaluated: ratios of the sums, and
    the share of layers within `TOLERANCE` (latency and energy); ``not_evaluated`` counts the others."""
    skipped = sum(1 for c in checks if c.zz_j != c.zz_j)
    checks = [c for c in checks if c.zz_j == c.zz_j]
    if not checks:
        return {"layers": 0, "not_evaluated": skipped}
    ok = lambda r: 1 - TOLERANCE <= r <= 1 + TOLERANCE  # noqa: E731
    return {
        "layers": len(checks), "not_evaluated": skipped,
        "ours_s": sum(c.ours_s for c in checks), "zz_s": sum(c.zz_s for c in checks),
        "ours_j": sum(c.ours_j for c in checks), "zz_j": sum(c.zz_j for c in checks),
        "latency_ratio": sum(c.zz_s for c in checks) / sum(c.ours_s for c in checks),
        "energy_ratio": sum(c.zz_j for c in checks) / sum(c.ours_j for c in checks),
        "latency_within": sum(ok(c.latency_ratio) for c in checks) / len(checks),
        "energy_within": sum(ok(c.energy_ratio) for c in checks) / len(checks),
    }
