"""Hashes of every shipped scenario's trace tables, to prove a change leaves traces bit for bit.

Runs each scenario in ``scenarios/`` (its own duration and seed, fixed ``created``) and prints
one SHA-256 per table (/frames, /layers, /resources, /configs) of the raw dataset bytes
(compound rows exactly as stored). Save the output before a change and compare after it:

    python scripts/trace_hashes.py > before.json
    ... change ...
    python scripts/trace_hashes.py --check before.json     # exit 1 on any difference

``--only NAME`` runs some scenarios; ``--duration S`` shortens every run (for a quick check;
compare only outputs made with the same options). ``--sync tile`` runs the reference mode.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

TABLES = ("frames", "layers", "resources", "configs")


def table_hashes(path: str | Path) -> dict[str, str]:
    """SHA-256 of each table's rows (the stored compound bytes) and its row count."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        for t in TABLES:
            data = f[t][()]
            out[t] = f"{len(data)}:{hashlib.sha256(data.tobytes()).hexdigest()}"
    return out


def scenario_hashes(names: list[str], duration_s: float | None = None, sync: str = "decoupled") -> dict[str, dict]:
    from cosim import scenario as scen
    from explore.regress import FIXED_CREATED
    from cosim.system import simulate

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            system, source = scen.load(name)
            res = simulate(system, Path(d) / f"{name}.h5", scenario_source=source, created=FIXED_CREATED,
                           duration_s=duration_s, sync=sync)
            out[name] = table_hashes(res.trace_path)
            print(f"{name}: {res.frames} frames, {res.wall_s:.1f} s wall", file=sys.stderr, flush=True)
    return out


def main() -> int:
    from cosim import scenario as scen

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", default=[], help="scenario name (repeatable; default: all)")
    ap.add_argument("--duration", type=float, default=None, help="simulated seconds of every run")
    ap.add_argument("--sync", default="decoupled", choices=("decoupled", "tile"))
    ap.add_argument("--check", default=None, help="a JSON file of earlier hashes to compare with")
    a = ap.parse_args()
    names = a.only or [p.stem for p in scen.list_scenarios()]
    got = scenario_hashes(names, a.duration, a.sync)
    print(json.dumps(got, indent=2, sort_keys=True))
    if a.check:
        want = json.loads(Path(a.check).read_text())
        bad = [f"{n}/{t}" for n in got for t in TABLES if want.get(n, {}).get(t) != got[n][t]]
        print("identical" if not bad else f"DIFFERENT: {', '.join(bad)}", file=sys.stderr)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
