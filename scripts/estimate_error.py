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

MODELS = ("segformer-b2@512x512", "resnet50@224x224", "swin-t@224x224")
PRESETS = ("simba-like", "sq16", "vs8", "vs16", "vs32", "lanes4-vs32", "rt-64pe")


def finalist_errors(models, presets, top: int = 6) -> list[tuple[float, str, str]]:
    """(estimate / simulated - 1, preset, layer) of the first ``top`` finalists of every distinct
    MAC layer shape of ``models`` on each of ``presets`` (`tests/test_mapping.py` asserts on it)."""
    import workloads
    from accelerator.cost import MacDims
    from accelerator.mapping import MappingError, finalists
    from accelerator.presets import load_preset

    shapes = {}
    for cid in models:
        for l in workloads.lower(workloads.parse_config(cid)).layers:
            if l.is_mac and l.macs:
                shapes.setdefault((MacDims.of(l), l.op), l)
    out = []
    for p in presets:
        hw = load_preset(p)
        for l in shapes.values():
            try:
                rows = finalists(l, hw, top=top)
            except MappingError:
                continue
            out += [(m.time_s / secs - 1, p, l.name) for m, secs, _ in rows]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--top", type=int, default=6, help="finalists per layer shape, in the mapper's order")
    args = ap.parse_args()
    os.environ.setdefault("DYNVIT_MAPPING_CACHE", "0")  # a measurement, not a mapping to keep

    import numpy as np

    print(f"MAC layer shapes of {', '.join(MODELS)}; the first {args.top} finalists of each")
    rows = finalist_errors(MODELS, args.presets.split(","), args.top)
    for p in args.presets.split(","):
        e = np.array([x[0] for x in rows if x[1] == p])
        where = [x[2] for x in rows if x[1] == p]
        worst = int(np.argmax(np.abs(e)))
        pct = lambda q: f"{np.percentile(e, q) * 100:+.1f} %"  # noqa: E731
        print(f"{p}: {e.size} candidates, within 10 %: {np.mean(np.abs(e) <= 0.1) * 100:.0f} %; "
              f"min {e.min() * 100:+.0f} %, p5 {pct(5)}, median {pct(50)}, p95 {pct(95)}, max {e.max() * 100:+.0f} %; "
              f"worst: {where[worst]} ({e[worst] * 100:+.0f} %)")


if __name__ == "__main__":
    main()
