"""The mapper's shortlists of every shipped model's MAC layer shapes on every preset, to prove a
change to the search (`accelerator.mapping`, `accelerator.cost`, `accelerator.tiling`) leaves every
choice as it was: the finalists in order, each with the lower bound of its simulated objective,
and the estimate's two best tilings (`mapping_candidates`). Nothing is simulated.

Each preset runs as shipped and with a global buffer no preset has (legality changes), and vs16
under each mapping objective. Save the output before a change and compare after it:

    python scripts/mapper_shortlists.py > before.json
    ... change ...
    python scripts/mapper_shortlists.py --check before.json     # exit 1 on any difference

``--presets a,b`` and ``--models a,b`` restrict it; ``--check`` then compares what it made.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def shortlists(presets: list[str], models: list[str]) -> dict[str, dict]:
    import workloads
    from accelerator import mapping as M
    from accelerator.presets import load_preset

    shapes: dict = {}
    for m in models:
        for l in workloads.lower(workloads.make_config(m)).layers:
            if l.is_mac and l.macs > 0:
                shapes.setdefault(M.MacDims.of(l), None)
    points = []
    for p in presets:
        hw = load_preset(p)
        points += [(p, hw), (f"{p}+glb", hw.replace(global_buffer_bytes=hw.global_buffer_bytes + 1024 * hw.lanes))]
        if p == "vs16":
            points += [(f"{p}:{o}", hw.replace(mapping_objective=o)) for o in M.OBJECTIVES if o != hw.mapping_objective]
    out = {}
    for name, hw in points:
        t0 = time.perf_counter()
        rows = {}
        dims = list(shapes)
        for d, short in zip(dims, M._shortlists(hw, dims)):  # on the mapper's threads, as `map_layers` runs them
            key = json.dumps(list(d.__dict__.values()))
            try:
                best = M._rank(d, hw, M._grid_candidates(d, hw), 2)
            except M.MappingError as e:
                rows[key] = str(e)
                continue
            rows[key] = {"short": [[*t.to_json(), repr(b)] for t, b in short], "best": [t.to_json() for t in best]}
        out[name] = rows
        print(f"{name}: {len(rows)} shapes in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return out


def main() -> None:
    import workloads

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="vs8,vs16,vs32,simba-like,lanes4-vs8,lanes4-vs32,sq16,sq32,rt-64pe")
    ap.add_argument("--models", default=",".join(n for n in workloads.model_names()
                                                 if n not in ("segformer", "segformer-demo")))
    ap.add_argument("--check", metavar="BEFORE.json", help="compare with a saved output; exit 1 on a difference")
    args = ap.parse_args()
    got = shortlists(args.presets.split(","), args.models.split(","))
    if not args.check:
        json.dump(got, sys.stdout, indent=0, sort_keys=True)
        return
    with open(args.check) as f:
        want = json.load(f)
    # what this run made (a subset of the saved points and shapes when restricted)
    bad = [(p, k) for p in got for k in got[p] if want.get(p, {}).get(k, "missing") != got[p][k]]
    for p, k in bad[:20]:
        print(f"DIFFERENT {p} {k}", file=sys.stderr)
    n = sum(len(v) for v in got.values())
    print(f"{n} shortlists compared (of {sum(len(v) for v in want.values())} saved): "
          f"{'identical' if not bad else f'{len(bad)} different'}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
