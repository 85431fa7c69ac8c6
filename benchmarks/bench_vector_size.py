"""The vector-size study: energy and latency of dynamic configurations for each vector size,
in every PE-organisation family, with the per-component breakdown that explains the trend.

Families (accelerator/presets/):
  equal MACs per PE     vs8, vs16, vs32           16 PEs x 64 MACs, lanes = 64 / VS
  lanes = vector size   vs8 (= sq8), sq16, sq32   16 / 4 / 1 PEs, equal peak and PE SRAM
  equal lanes           lanes4-vs8, vs16, lanes4-vs32   16 PEs x 4 lanes; area within 5%

Configurations: SegFormer-B2 512x512 sweeps of one knob at a time (heads of stages 3 and 4,
blocks of stage 3, Mix-FFN width of stage 4 and decoder width in steps of 1 channel across
the last 64 channels plus coarse steps), and the 8 named OFA ResNet-50 sub-nets (switching).
Dynamic configurations run their full model's mapping (as the simulator does).

Prints, per family and vector size: energy/latency of the full B2, the mean energy per useful
MAC over all B2 configurations, the granularity (latency steps across one-channel decoder
steps), the OFA sub-nets' energy range, and the component breakdown of the full B2.

    python benchmarks/bench_vector_size.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import workloads
from accelerator.model import Accelerator
from accelerator.presets import load_preset
from cosim.system import load_program
from workloads.ofa_resnet import NAMED_SUBNETS

FAMILIES = {
    "equal MACs per PE": ("vs8", "vs16", "vs32"),
    "lanes = vector size": ("vs8", "sq16", "sq32"),
    "equal lanes (~area)": ("lanes4-vs8", "vs16", "lanes4-vs32"),
}


def b2_configs(quick: bool) -> dict[str, list]:
    mk = lambda **k: workloads.make_config("segformer-b2", **k)  # noqa: E731
    fine = 1 if not quick else 8
    sweeps = {
        "heads s3": [mk(heads=f"1.2.{h}.8") for h in range(5, 0, -1)],
        "heads s4": [mk(heads=f"1.2.5.{h}") for h in range(8, 0, -1)],
        "blocks s3": [mk(blocks=f"3.4.{b}.3") for b in range(6, 0, -1)],
        "ffn s4": [mk(ffn=f"256.512.1280.{w}") for w in sorted(set(range(2048, 2048 - 65, -fine))
                                                                | set(range(2048, 0, -256)), reverse=True)],
        "dec": [mk(dec=w) for w in sorted(set(range(768, 768 - 65, -fine)) | set(range(768, 0, -64)), reverse=True)],
    }
    return sweeps


def run(acc, cfg):
    r = acc.run(load_program(acc, cfg))
    return r.latency_s, r.energy_j, r.macs, r.energy_by_component


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="8-channel instead of 1-channel fine steps")
    args = ap.parse_args()
    t0 = time.time()
    sweeps = b2_configs(args.quick)
    n_cfg = sum(len(v) for v in sweeps.values())
    ofa = [workloads.parse_config(n) for n in NAMED_SUBNETS]
    presets = sorted({p for f in FAMILIES.values() for p in f}, key=lambda p: list(FAMILIES).index(
        next(k for k, v in FAMILIES.items() if p in v)))
    res: dict[str, dict] = {}
    for p in presets:
        hw = load_preset(p)
        acc = Accelerator.for_process(hw)
        rows = {k: [run(acc, c) for c in v] for k, v in sweeps.items()}
        res[p] = {"hw": hw, "b2": rows, "ofa": [run(acc, c) for c in ofa]}
    print(f"{n_cfg} SegFormer-B2 configurations + {len(ofa)} OFA sub-nets on {len(presets)} presets "
          f"in {time.time() - t0:.0f} s wall\n")

    for fam, ps in FAMILIES.items():
        print(f"== family: {fam}")
        print(f"{'preset':<12}{'VS':>4}{'lanes':>6}{'PEs':>5}{'B2 ms':>9}{'B2 mJ':>9}{'pJ/MAC':>8}"
              f"{'mean pJ/MAC':>13}{'dec step ms':>13}{'OFA mJ':>15}{'OFA ms':>15}")
        for p in ps:
            r, hw = res[p], res[p]["hw"]
            full = r["b2"]["dec"][0]
            allb2 = [x for v in r["b2"].values() for x in v]
            mean_pj = float(np.mean([e / m * 1e12 for _, e, m, _ in allb2]))
            dec = r["b2"]["dec"]
            fine = [x for x in dec if True][:65]
            steps = [a[0] - b[0] for a, b in zip(fine, fine[1:])]
            step_txt = f"{np.mean([s for s in steps if s > 0] or [0]) * 1e3:.3f}x{sum(s > 0 for s in steps)}"
            oe = [x[1] * 1e3 for x in r["ofa"]]
            ol = [x[0] * 1e3 for x in r["ofa"]]
            print(f"{p:<12}{hw.vector_size:>4}{hw.lanes:>6}{hw.num_pes:>5}{full[0] * 1e3:>9.2f}{full[1] * 1e3:>9.2f}"
                  f"{full[1] / full[2] * 1e12:>8.3f}{mean_pj:>13.3f}{step_txt:>13}"
                  f"{min(oe):>7.2f}-{max(oe):<7.2f}{min(ol):>7.2f}-{max(ol):<7.2f}")
        comps = list(res[ps[0]]["b2"]["dec"][0][3])
        print("   full B2 energy by component (pJ per useful MAC):")
        print("   " + f"{'preset':<12}" + "".join(f"{c[:11]:>12}" for c in comps))
        for p in ps:
            full = res[p]["b2"]["dec"][0]
            print("   " + f"{p:<12}" + "".join(f"{full[3][c] / full[2] * 1e12:>12.3f}" for c in comps))
        # energy-latency frontier over the sweeps: energy at equal MACs removed
        print("   energy saved vs full B2 at the smallest config of each sweep (%):")
        for p in ps:
            full = res[p]["b2"]["dec"][0]
            sv = {k: 100 * (1 - v[-1][1] / full[1]) for k, v in res[p]["b2"].items()}
            print("   " + f"{p:<12}" + "  ".join(f"{k} {v:5.1f}" for k, v in sv.items()))
        print()
    print("dec step ms: mean latency drop per decoder step over the last 64 channels (1-channel steps; 8 with "
          "--quick) x how many steps change the latency (DRAM traffic shrinks with every channel, so all do)")


if __name__ == "__main__":
    main()
