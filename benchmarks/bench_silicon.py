"""Do the accelerator's figures land in the same order as published silicon of its family?

Runs ResNet-50 (224x224, the workload MAGNet and Simba report) and SegFormer-B2 on each
preset, scaled to 16 nm (the node of MAGNet and Simba), and prints energy per useful MAC:
on-chip (PE array, buffers, NoC, PPU, leakage) and with DRAM, next to the anchors of
`shared/reference/published.md`: MAGNet 40 fJ/op (ResNet-50), Simba 0.11 pJ/op (9.5 TOPS/W).
Also throughput density (useful TOPS/mm^2 at the simulated utilisation) against MAGNet's
2.8 TOPS/mm^2 and Simba's 1.29 TOPS/mm^2. An "op" in those papers is one MAC (8-bit).
"""

from __future__ import annotations

import workloads
from accelerator.area import area_mm2
from accelerator.model import Accelerator
from accelerator.presets import list_presets, load_preset

ANCHORS = {"MAGNet (16 nm)": 0.040, "Simba (16 nm)": 0.11}  # pJ per op


def main() -> None:
    models = ["resnet50@224x224", "segformer-b2@512x512"]
    print(f"{'preset @16nm':<16}{'model':<24}{'pJ/MAC on-chip':>16}{'pJ/MAC +DRAM':>14}"
          f"{'util':>7}{'TOPS/mm2':>10}")
    for name in list_presets():
        hw = load_preset(name).replace(technology_nm=16)
        acc = Accelerator.for_process(hw)
        area = area_mm2(hw)["total"]
        for cid in models:
            wl = workloads.lower(workloads.parse_config(cid))
            r = acc.run(acc.load(wl, config=wl.config))
            e = r.energy_by_component
            onchip = sum(v for k, v in e.items() if k != "dram")
            tops = r.macs / r.latency_s / 1e12
            print(f"{name:<16}{cid:<24}{onchip / r.macs * 1e12:>16.3f}{r.energy_j / r.macs * 1e12:>14.3f}"
                  f"{r.utilization:>7.2f}{tops / area:>10.3f}")
    print("anchors: " + ", ".join(f"{k} {v} pJ/op" for k, v in ANCHORS.items())
          + "; MAGNet 2.8 TOPS/mm2, Simba 1.29 TOPS/mm2 (peak-ish, their own utilisation)")


if __name__ == "__main__":
    main()
