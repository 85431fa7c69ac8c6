"""Start-up and speed in one run: a cold `cosim simulate segformer-b2 --json` against `import torch`.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_start.py [--repeats 5] [--runs 10] [--skip-scenario]

Prints one table (issue 12's targets):

* cold-process wall time of ``python -m cosim simulate segformer-b2 --json`` with every cache
  warm (IR, mappings, SystemC build), next to ``python -c "import torch"`` on the same machine:
  medians of ``--repeats`` runs each, interleaved so that machine noise hits both alike, and
  their ratio (target: < 1);
* where the cold start goes: the phases of the same steps in a fresh process (imports, config
  and hardware, IR, SystemC load, mapping and program, the first simulation), and the top
  ``python -X importtime`` entries;
* by calling what exists: activations per SegFormer-B2 inference, wall per inference and the
  reference mode's activation rate against the bare-kernel ceiling (``bench_accelerator.py``),
  and the default scenario's frames per wall-second (``bench_cosim.py``).

A few minutes on a 2-core machine (the default scenario is most of it; ``--skip-scenario``
leaves it out).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SIMULATE = [sys.executable, "-m", "cosim", "simulate", "segformer-b2", "--json"]
IMPORT_TORCH = [sys.executable, "-c", "import torch"]
PYTHON_ONLY = [sys.executable, "-c", "pass"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return wall


def cold_start(repeats: int) -> dict:
    _wall(SIMULATE)  # fill every cache (IR, mappings, SystemC build); not timed
    sim, torch_, bare = [], [], []
    for _ in range(repeats):  # interleaved: a noisy moment hits both
        sim.append(_wall(SIMULATE))
        torch_.append(_wall(IMPORT_TORCH))
        bare.append(_wall(PYTHON_ONLY))
    return {"simulate": sim, "torch": torch_, "python": bare}


def phases_child() -> None:
    """The steps of `cosim simulate segformer-b2 --json` in this fresh process, timed; prints JSON."""
    t0 = time.perf_counter()
    out: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        out[name] = now - t0
        t0 = now

    import cosim.cli as cli
    lap("import the CLI (typer, rich, command modules)")
    import workloads
    cfg = workloads.parse_config("segformer-b2")
    hw = cli._hardware(None)
    lap("config + hardware preset")
    wl = workloads.lower(cfg)
    lap("IR (disk cache)")
    from accelerator.model import Accelerator
    lap("import accelerator (numpy, cost model)")
    acc = Accelerator.for_process(hw)
    lap("SystemC model: load + JIT (cppyy)")
    from cosim.programs import load_program
    h = load_program(acc, cfg)
    lap("mapping (disk cache) + program")
    acc.run(h)
    lap("first inference (incl. first-call JIT)")
    t = time.perf_counter()
    acc.run(h)
    out["a second inference (steady state)"] = time.perf_counter() - t
    out["_torch_imported"] = float("torch" in sys.modules)
    out["_layers"] = float(len(wl.layers))
    print(json.dumps(out))


def phases() -> dict[str, float]:
    r = subprocess.run([sys.executable, __file__, "--phases-child"], cwd=ROOT, env=_env(), capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"phase probe failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def import_times(top: int) -> list[tuple[str, float]]:
    """The largest top-level imports of a cold `cosim simulate` (python -X importtime), seconds."""
    r = subprocess.run([sys.executable, "-X", "importtime", *SIMULATE[1:]], cwd=ROOT, env=_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|", 2)
        if not cum.strip().isdigit() or name[1:2] == " ":  # header, or a nested import
            continue
        rows.append((name.strip(), int(cum) / 1e6))
    return sorted(rows, key=lambda x: -x[1])[:top]


def kernel(runs: int) -> dict:
    from bench_accelerator import _timed_runs, segformer_b2

    from accelerator.model import Accelerator
    from accelerator.presets import DEFAULT_PRESET, load_preset

    hw = load_preset(DEFAULT_PRESET)
    wl, what = segformer_b2()
    acc = Accelerator.for_process(hw)
    h = acc.load(wl)
    acc.run(h)
    acc.sync = "tile"
    acc.run(h)
    r_t, walls_t, acts_t, ceil_rates, ratios = _timed_runs(acc, h, max(3, runs // 4), ceiling=True)
    acc.sync = "decoupled"
    r, walls, acts, _, _ = _timed_runs(acc, h, runs, ceiling=False)
    return {"what": what, "preset": hw.name, "layers": len(h.layers), "tiles": int(r.counter("tiles").sum()),
            "activations": acts[-1], "wall_s": statistics.median(walls), "wall_tile_s": statistics.median(walls_t),
            "activations_tile": acts_t[-1], "ceiling_per_s": statistics.median(ceil_rates),
            "tile_rate_vs_ceiling": statistics.median(ratios), "runs": runs}


def scenario() -> dict:
    """bench_cosim's default-scenario run (one timed run after its warm-up; its own report is not
    printed here)."""
    from bench_cosim import bench_default

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        t = time.perf_counter()
        fps = bench_default(tmp, runs=1)
        wall = time.perf_counter() - t
    return {"frames_per_wall_s": fps, "total_s": wall}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="cold processes of each kind (median; >= 3)")
    ap.add_argument("--runs", type=int, default=10, help="timed B2 inferences in the kernel section")
    ap.add_argument("--top", type=int, default=8, help="top-level imports to list")
    ap.add_argument("--skip-scenario", action="store_true", help="leave out the default scenario (most of the time)")
    ap.add_argument("--phases-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phases_child:
        phases_child()
        return 0

    cold = cold_start(max(3, args.repeats))
    ph = phases()
    imports = import_times(args.top)
    k = kernel(args.runs)
    sc = None if args.skip_scenario else scenario()

    med = {n: statistics.median(v) for n, v in cold.items()}
    ratio = med["simulate"] / med["torch"]
    rows = [
        ("cold `cosim simulate segformer-b2 --json` (warm caches)", f"{med['simulate']:.2f} s",
         f"median of {len(cold['simulate'])}: " + ", ".join(f"{x:.2f}" for x in cold["simulate"])),
        ('`python -c "import torch"`', f"{med['torch']:.2f} s",
         f"median of {len(cold['torch'])}: " + ", ".join(f"{x:.2f}" for x in cold["torch"])),
        ("ratio simulate / import torch", f"{ratio:.2f}", "target < 1: " + ("met" if ratio < 1 else "NOT met")),
        ('`python -c "pass"` (interpreter start)', f"{med['python']:.2f} s", ""),
    ]
    rows += [(f"  phase: {n}", f"{v:.3f} s", "") for n, v in ph.items() if not n.startswith("_")]
    rows.append(("  torch imported by the phases", "yes" if ph["_torch_imported"] else "no", "target: no"))
    rows += [(f"  import: {n}", f"{s:.3f} s", "python -X importtime, top level, cumulative") for n, s in imports]
    rows += [
        ("activations / B2 inference", f"{k['activations']}",
         f"{k['activations'] / k['layers']:.2f} per layer ({k['layers']} layers, {k['tiles']} tiles); target <= 1 per layer"),
        ("wall / B2 inference", f"{k['wall_s'] * 1e3:.2f} ms",
         f"median of {k['runs']} on {k['preset']}; target <= 1 ms; sync tile {k['wall_tile_s'] * 1e3:.2f} ms"),
        ("sync tile activation rate / kernel ceiling", f"{k['tile_rate_vs_ceiling']:.2f}",
         f"{k['activations_tile'] / k['wall_tile_s'] / 1e6:.2f} M/s vs {k['ceiling_per_s'] / 1e6:.2f} M timed waits/s "
         "(bare SC_THREAD, same process)"),
    ]
    if sc is not None:
        rows.append(("default scenario frames / wall-second", f"{sc['frames_per_wall_s']:.0f}",
                     f"bench_cosim.py ({sc['total_s']:.0f} s with its set-up); target >= 500"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'measure':<{w0}}  {'value':>{w1}}  note")
    print("-" * (w0 + w1 + 40))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
