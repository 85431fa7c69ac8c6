"""The measured tables of docs/tenants.md from a results folder of `cosim sweep studies/codesign.yaml`
or `studies/spatial.yaml` (the folder's sweep name picks the table).

    cosim sweep studies/codesign.yaml -o runs/codesign -j 2
    python scripts/tenants_table.py runs/codesign            # print the table
    python scripts/tenants_table.py runs/codesign --write    # replace it in docs/tenants.md
    cosim sweep studies/spatial.yaml -o runs/spatial -j 2
    python scripts/tenants_table.py runs/spatial --write

codesign: one row per (preset, governor, policy/preemption) of the `multi_tenant` scenario: miss
rate and energy per frame averaged over the seeds (each seed's run equally weighted), the preset's
area, and whether the row is on the Pareto front of miss rate, energy per frame and area (all
minimised). spatial: one row per way of sharing (one run each): miss rate, energy per frame, 99th
percentile latency and the mean PE and DRAM shares of the frames run.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "tenants.md"


def _marks(study: str) -> tuple[str, str]:
    return f"<!-- begin generated: {study} -->", f"<!-- end generated: {study} -->"


def spatial_table(df) -> str:
    df = df[df["error"].fillna("") == ""]
    if df.empty:
        raise SystemExit("no successful runs of studies/spatial.yaml")
    begin, end = _marks("spatial")
    lines = [begin, "| sharing | miss rate | energy per frame (mJ) | latency p99 (ms) | mean PE share | "
             "mean DRAM share |", "| --- | --- | --- | --- | --- | --- |"]
    share = lambda v: "-" if v != v else f"{v:.2f}"  # noqa: E731  (NaN: time sharing has no partition)
    for r in df.rename(columns={"tag.sharing": "sharing"}).sort_values("miss_rate").itertuples(index=False):
        lines.append(f"| {r.sharing} | {100 * r.miss_rate:.2f} % | {1e3 * r.energy_per_frame_j:.1f} | {1e3 * r.latency_p99_s:.1f} | "
                     f"{share(r.pe_share)} | {share(r.dram_share)} |")
    return "\n".join(lines + [end])


def table(results: str) -> str:
    from explore.sweep_results import load_results

    df = load_results(results)
    study = str(df["sweep"].iloc[0]) if len(df) else ""
    if study == "spatial":
        return spatial_table(df)
    return codesign_table(df, results)


def codesign_table(df, results: str) -> str:
    from explore.pareto import fronts

    BEGIN, END = _marks("codesign")
    df = df[(df["scenario"] == "multi_tenant") & (df["error"].fillna("") == "")].copy()
    if df.empty:
        raise SystemExit(f"{results}: no successful multi_tenant runs")
    df["sched"] = df["policy"] + "/" + df["preemption"]
    keys = ["hardware_preset", "governor", "sched"]
    g = df.groupby(keys, as_index=False).agg(miss_rate=("miss_rate", "mean"),
                                             energy_per_frame_j=("energy_per_frame_j", "mean"),
                                             area_mm2=("area_mm2", "first"), seeds=("seed", "nunique"))
    front = fronts(g, ["miss_rate", "energy_per_frame_j", "area_mm2"]).front
    on = {tuple(r) for r in front[keys].itertuples(index=False)}
    g = g.sort_values(["miss_rate", "energy_per_frame_j", "area_mm2"])
    lines = [BEGIN, f"| preset | governor | policy/preemption | miss rate (mean of {int(g.seeds.max())} seeds) | "
             "energy per frame (mJ) | area (mm^2) | Pareto |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in g.itertuples(index=False):
        lines.append(f"| {r.hardware_preset} | {r.governor} | {r.sched} | {100 * r.miss_rate:.2f} % | "
                     f"{1e3 * r.energy_per_frame_j:.1f} | {r.area_mm2:.1f} | "
                     f"{'yes' if (r.hardware_preset, r.governor, r.sched) in on else ''} |")
    return "\n".join(lines + [END])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results folder of `cosim sweep studies/codesign.yaml` or `studies/spatial.yaml`")
    ap.add_argument("--write", action="store_true", help=f"replace the generated table in {DOC.relative_to(ROOT)}")
    a = ap.parse_args(argv)
    t = table(a.results)
    if not a.write:
        print(t)
        return 0
    BEGIN, END = t.splitlines()[0], t.splitlines()[-1]
    text = DOC.read_text()
    new, n = re.subn(re.escape(BEGIN) + r".*?" + re.escape(END), lambda m: t, text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{DOC}: expected one generated block between {BEGIN} and {END}")
    DOC.write_text(new)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
