#!/usr/bin/env python
"""Greedy vs static on a scenario with measured accuracy (the numbers in the README).

    python scripts/compare_governors.py demo_measured [--duration S] [--json OUT]

Runs the scenario with its own governor replaced by ``greedy`` and by ``static`` pinned to
each candidate in turn (same seed, so the same frames and the same resource timeline), and
prints, per run: deadline-miss rate (missed or dropped / frames), mean accuracy of the run
frames (the trace summary's ``accuracy_mean``), and the on-time accuracy (accuracy summed
over frames that met their deadline / all frames: a frame without a result in time
delivers nothing). Then it states whether greedy beats static at equal miss rate (a
static configuration with a miss rate no higher than greedy's has lower accuracy) or at
equal accuracy (a static configuration with accuracy no lower than greedy's misses more).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def run(system, gov, tmp: Path, tag: str) -> dict:
    import numpy as np

    import traces
    from cosim import simulate
    from host import Stream

    streams = [Stream(name=s.name, candidates=s.candidates, source=s.source, governor=gov, priority=s.priority)
               for s in system.streams]
    res = simulate(system.replace(streams=streams), tmp / f"{tag}.h5", created="2000-01-01T00:00:00Z")
    with traces.open(res.trace_path) as tr:
        f = tr.frames
        s = traces.summary_dict(tr)["streams"]["all"]
        ok = ~(f["missed"] | f["dropped"])
        on_time = float(np.nansum(np.where(ok, f["accuracy"], 0.0)) / len(f)) if len(f) else math.nan
        nan_acc = int(f.loc[~f["dropped"], "accuracy"].isna().sum())
    return {"run": tag, "miss_rate": s["miss_rate"], "accuracy_mean": s["accuracy_mean"], "on_time_accuracy": on_time,
            "frames": s["frames"], "configs": s["configs"], "energy_per_frame_j": s["energy_per_frame_j"],
            "nan_accuracy_frames": nan_acc}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--duration", type=float)
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    from cosim import scenario as scen
    from host.governors import StaticGovernor

    system, _ = scen.load(args.scenario)
    if args.duration:
        system = system.replace(duration_s=args.duration)
    cands = system.streams[0].candidates
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows.append(run(system, "greedy", Path(d), "greedy"))
        for c in cands:
            rows.append(run(system, StaticGovernor(config=c), Path(d), f"static {c}"))
    print(f"{'run':60s} {'miss rate':>9s} {'acc mean':>9s} {'on-time acc':>11s} {'mJ/frame':>9s}")
    for r in rows:
        print(f"{r['run']:60s} {100 * r['miss_rate']:8.2f}% {r['accuracy_mean']:9.2f} {r['on_time_accuracy']:11.2f} "
              f"{1e3 * r['energy_per_frame_j']:9.3f}")
    g, statics = rows[0], rows[1:]
    at_equal_miss = [s for s in statics if s["miss_rate"] <= g["miss_rate"]]
    at_equal_acc = [s for s in statics if s["accuracy_mean"] >= g["accuracy_mean"]]
    v1 = bool(at_equal_miss) and all(s["accuracy_mean"] < g["accuracy_mean"] for s in at_equal_miss)
    v2 = bool(at_equal_acc) and all(s["miss_rate"] > g["miss_rate"] for s in at_equal_acc)
    best_static = max(at_equal_miss, key=lambda s: s["accuracy_mean"]) if at_equal_miss else None
    print()
    if best_static:
        print(f"at equal or lower miss rate, the best static is {best_static['run']}: accuracy "
              f"{best_static['accuracy_mean']:.2f} vs greedy {g['accuracy_mean']:.2f} -> greedy "
              f"{'beats' if v1 else 'does not beat'} static")
    if at_equal_acc:
        s = min(at_equal_acc, key=lambda s: s["miss_rate"])
        print(f"at equal or higher accuracy, the best static is {s['run']}: miss rate {100 * s['miss_rate']:.2f}% "
              f"vs greedy {100 * g['miss_rate']:.2f}% -> greedy {'beats' if v2 else 'does not beat'} static")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "beats_at_equal_miss": v1, "beats_at_equal_accuracy": v2},
                                              indent=2) + "\n")
    return 0 if (v1 or v2) else 1


if __name__ == "__main__":
    sys.exit(main())
