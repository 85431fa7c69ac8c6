"""EDAP ranking of the scaling study's designs with and without the memory-interface cost (issue 24).

    python scripts/edap_memory_interface.py [RESULTS_DIR] [--run] [-j N]

Reads the results of ``studies/scaling.yaml`` (``cosim sweep studies/scaling.yaml -o RESULTS_DIR``;
``--run`` runs or resumes that sweep first) and prints, per model, every design's energy-delay-area
product twice: priced (area and static energy of the DRAM PHY, controller and devices counted, as
the model now does) and free (the same simulation with those terms taken out: area from
``accelerator.area.totals(hw, memory_interface=False)``, energy minus the energy components of
``accelerator.area.MEMORY_INTERFACE_ENERGY_COMPONENTS``). Free is the same mapping as priced; the
model before issue 24 also chose mappings without the static DRAM power, a second-order difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelerator.area import MEMORY_INTERFACE_ENERGY_COMPONENTS, dram_channels, totals  # noqa: E402
from accelerator.params import HardwareParams  # noqa: E402
from accelerator.presets import apply_overrides, load_preset  # noqa: E402

SPEC = ROOT / "studies" / "scaling.yaml"
BASE = "16PE/64K/25.6GB/s"


def hardware_of(row) -> HardwareParams:
    """The hardware of one sweep row: its preset with the swept fields applied."""
    fields = set(HardwareParams.param_names()) - {"name"}
    return apply_overrides(load_preset(row["preset"]), {k: row[k] for k in row.index if k in fields})


def edap_table(df):
    """One row per (model, design): latency, energy and area priced and free, both EDAPs and their
    rank within the model (1 = best)."""
    df = df[df["error"].fillna("") == ""].copy() if "error" in df else df.copy()  # failed points carry an error
    hws = [hardware_of(r) for _, r in df.iterrows()]
    df["design"] = [f"{hw.num_pes}PE/{hw.global_buffer_bytes // 1024}K/{hw.dram_bandwidth_bytes_per_s / 1e9:g}GB/s"
                    for hw in hws]
    df["channels"] = [dram_channels(hw) for hw in hws]
    df["area_free_mm2"] = [totals(hw, memory_interface=False)["area_mm2"] for hw in hws]
    df["energy_free_j"] = df["energy_j"] - sum(df[f"energy_{c}_j"] for c in MEMORY_INTERFACE_ENERGY_COMPONENTS)
    df["edap"] = df["energy_j"] * df["latency_s"] * df["area_mm2"]
    df["edap_free"] = df["energy_free_j"] * df["latency_s"] * df["area_free_mm2"]
    df["rank"] = df.groupby("model")["edap"].rank(method="min").astype(int)
    df["rank_free"] = df.groupby("model")["edap_free"].rank(method="min").astype(int)
    cols = ["model", "design", "channels", "latency_s", "energy_j", "energy_free_j", "area_mm2", "area_free_mm2",
            "edap", "edap_free", "rank", "rank_free"]
    return df[cols].sort_values(["model", "rank"]).reset_index(drop=True)


def report(t) -> str:
    out = []
    for model, g in t.groupby("model", sort=True):
        base = g[g["design"] == BASE]
        b, bf = (float(base["edap"].iloc[0]), float(base["edap_free"].iloc[0])) if len(base) else (1.0, 1.0)
        out.append(f"\n{model}  (EDAP relative to {BASE}; rank 1 = best)")
        out.append(f"  {'design':<20}{'ch':>3}{'ms':>9}{'mJ':>9}{'mJ free':>9}{'mm2':>8}{'mm2 free':>9}"
                   f"{'EDAP':>8}{'free':>8}{'rank':>6}{'free':>6}")
        for _, r in g.iterrows():
            out.append(f"  {r.design:<20}{r.channels:>3}{r.latency_s * 1e3:>9.2f}{r.energy_j * 1e3:>9.2f}"
                       f"{r.energy_free_j * 1e3:>9.2f}{r.area_mm2:>8.2f}{r.area_free_mm2:>9.2f}{r.edap / b:>8.3f}"
                       f"{r.edap_free / bf:>8.3f}{r['rank']:>6}{r.rank_free:>6}")
        best, best_free = g.loc[g["edap"].idxmin(), "design"], g.loc[g["edap_free"].idxmin(), "design"]
        out.append(f"  best EDAP: priced {best}; free {best_free}" + ("" if best == best_free else "  <- changed"))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=str(ROOT / "runs" / "scaling-edap"))
    ap.add_argument("--run", action="store_true", help="run (or resume) the sweep first")
    ap.add_argument("-j", "--workers", type=int, default=None)
    a = ap.parse_args()
    from explore import load_results, sweep

    if a.run:
        sweep(str(SPEC), a.results, workers=a.workers)
    t = edap_table(load_results(a.results))
    print(report(t))


if __name__ == "__main__":
    main()
