#!/usr/bin/env python
"""How far the cost model's time estimate (what a `Mapping` records: the pipeline estimate,
`accelerator.pipeline`) is from the simulated time, on the candidates the mapper keeps (issue 25
asks for within 10 %).

For every distinct MAC layer shape of the models, the first ``--top`` finalists
(`accelerator.mapping.finalists`, in the mapper's order) are simulated on the SystemC model;
per preset it prints the share within 10 %, the 5th/50th/95th percentiles, and the extremes of
``estimate / simulated - 1`` (negative: the estimate is optimistic), and the worst layer.

    python scripts/estimate_error.py [--presets vs16,simba-like] [--top 6]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("DYNVIT_MAPPING_CACHE", "0")  # a measurement, not a mapping to keep

MODELS = ("segformer-b2@512x512", "resnet50@224x224", "swin-t@224x224")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="simba-like,sq16,vs8,vs16,vs32,lanes4-vs32,rt-64pe")
    ap.add_argument("--top", type=int, default=6, help="finalists per layer shape, in the estimate's order")
    args = ap.parse_args()

    import numpy as np

    import workloads
    from accelerator.cost import MacDims
    from accelerator.mapping import MappingError, finalists
    from accelerator.presets import load_preset

    shapes = {}
    for cid in MODELS:
        for l in workloads.lower(workloads.parse_config(cid)).layers:
            if l.is_mac and l.macs:
                shapes.setdefault((MacDims.of(l), l.op), l)
    print(f"{len(shapes)} MAC layer shapes of {', '.join(MODELS)}; the estimate's best {args.top} finalists of each")
    for p in args.presets.split(","):
        hw = load_preset(p)
        err, where = [], []
        for l in shapes.values():
            try:
                rows = finalists(l, hw, top=args.top)
            except MappingError:
                continue
            for m, secs, _ in rows:
                err.append(m.time_s / secs - 1)
                where.append(l.name)
        e = np.array(err)
        worst = int(np.argmax(np.abs(e)))
        pct = lambda q: f"{np.percentile(e, q) * 100:+.1f} %"  # noqa: E731
        print(f"{p}: {e.size} candidates, within 10 %: {np.mean(np.abs(e) <= 0.1) * 100:.0f} %; "
              f"min {e.min() * 100:+.0f} %, p5 {pct(5)}, median {pct(50)}, p95 {pct(95)}, max {e.max() * 100:+.0f} %; "
              f"worst: {where[worst]} ({e[worst] * 100:+.0f} %)")


if __name__ == "__main__":
    main()
