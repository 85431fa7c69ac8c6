"""`cosim reproduce` from empty caches (issue 23's target: under 90 s on 2 cores), next to the
same run with the allocator's defaults (``DYNVIT_KEEP_FREED_MEMORY=0``: every mapper temporary
faults its pages in again in a Dask worker; `vocab.allocator`), on the same machine, and whether
the two give identical results.

    python benchmarks/bench_reproduce.py [--workers 2] [--only PART ...] [--no-compare]

Each run gets a fresh cache folder (``DYNVIT_CACHE_DIR``: no mappings, lowered models, compiled
SystemC model or measured tables) and a fresh output folder, so it builds, lowers, maps and
simulates everything a new user's first `cosim reproduce` does. Printed per run: wall, CPU user
and system time and page faults of the whole process tree, the time inside each study's points.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S = 90.0
RESULTS = ["latency_s", "energy_j", "dram_bytes", "macs", "utilization", "area_mm2", "error"]


def run(label: str, tmp: Path, workers: int, only: list[str], env_extra: dict) -> tuple[float, Path]:
    out, cache = tmp / f"{label}-out", tmp / f"{label}-cache"
    cache.mkdir(parents=True)
    cmd = [sys.executable, "-m", "cosim", "reproduce", "-o", str(out), "-j", str(workers), "-q"]
    for p in only:
        cmd += ["--only", p]
    env = {**os.environ, "DYNVIT_CACHE_DIR": str(cache), **env_extra}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{label}: cosim reproduce failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    parts = [f"{name} {df['wall_s'].sum():.0f} s ({len(df)} points)" for name, df in sweeps(out).items()]
    print(f"{label:<28} {wall:6.1f} s wall; CPU {after.ru_utime - before.ru_utime:6.1f} s user, "
          f"{after.ru_stime - before.ru_stime:6.1f} s system; {after.ru_minflt - before.ru_minflt:>10,} page faults",
          flush=True)
    print(f"{'':<28} time inside the points: {'; '.join(parts)}", flush=True)
    return wall, out


def sweeps(out: Path) -> dict:
    """Each sweep's rows (`explore.sweep_results.load_results`), by name."""
    from explore.sweep_results import load_results

    return {d.name: load_results(d) for d in sorted((out / "sweeps").iterdir()) if any(d.glob("part-*.parquet"))}


def results(out: Path):
    """Every sweep's result columns, in the order of its points' coordinates."""
    tables = {}
    for name, df in sweeps(out).items():
        coords = sorted(c for c in df.columns if c not in RESULTS and c not in ("point_id", "wall_s", "worker")
                        and df[c].dtype.kind in "OUbiuf" and not c.startswith("energy_"))
        df = df.sort_values(coords, kind="stable").reset_index(drop=True)
        tables[name] = df[[c for c in RESULTS if c in df.columns]]
    return tables


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", action="append", default=[], help="a part of the study (repeatable); default: all")
    ap.add_argument("--no-compare", action="store_true", help="skip the run with the allocator's defaults")
    args = ap.parse_args()
    print(f"cosim reproduce from empty caches, {args.workers} workers; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (other processes on the machine slow both runs)\n", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reproduce-"))
    try:
        now, out_now = run("now", tmp, args.workers, args.only, {})
        if not args.no_compare:
            before, out_before = run("allocator defaults", tmp, args.workers, args.only,
                                     {"DYNVIT_KEEP_FREED_MEMORY": "0"})
            a, b = results(out_now), results(out_before)
            same = a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)
            print(f"\nnow / allocator defaults: {now / before:.2f}x the wall time; results identical "
                  f"({len(a)} sweeps): {same}")
            if not same:
                sys.exit(1)
        if args.only:
            print(f"target (issue 23): under {TARGET_S:.0f} s on 2 cores for the whole study; this ran "
                  f"{', '.join(args.only)} only")
        else:
            met = "met" if now < TARGET_S else "not met"
            print(f"target (issue 23): under {TARGET_S:.0f} s on 2 cores: {met} ({now:.0f} s, {args.workers} workers)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
