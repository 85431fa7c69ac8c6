"""Sweep throughput on Dask: points per minute of one fixed spec with 1 and 2 local workers and on a
localhost cluster started the way a user would on several machines (`dask scheduler` + 2 `dask
worker` processes), the scaling efficiency, and a check that all three give identical results.

    python benchmarks/bench_sweep.py [--points 100] [--timeout 900]

The spec: SegFormer-B0 at 64x64, 5 presets x 5 PE counts x 4 decoder widths = 100 `simulate`
points (each maps its hardware and runs one inference). Points per minute are counted after the
workers are up and warm (imports, SystemC JIT), which is reported separately. Everything runs on
127.0.0.1 and every process started here is stopped by its pid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import explore  # noqa: E402
from explore.sweep_driver import SweepReport
from explore.sweep_spec import load_spec  # noqa: E402

VALUES = ["latency_s", "energy_j", "dram_bytes", "macs", "utilization", "area_mm2", "energy_mac_j",
          "energy_dram_j", "energy_leakage_j", "error"]


def spec(points: int) -> dict:
    s = {"name": "bench", "fixed": {"model": "segformer-b0", "resolution": "64x64"},
         "axes": {"preset": ["vs8", "vs16", "vs32", "sq16", "lanes4-vs8"], "num_pes": [1, 2, 4, 8, 16],
                  "knob.dec": [256, 128, 64, 32]}}
    if points < 100:
        s["sample"] = points
    return s


def free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def run(label: str, sp: dict, out: Path, **kw):
    rep = SweepReport()
    t0 = time.perf_counter()
    df = explore.sweep(sp, out, report=rep, **kw)
    print(f"{label:<34} {rep.done:>4} points ({rep.failed} failed)  start-up {rep.startup_s:5.1f} s  "
          f"sweep {rep.wall_s - rep.startup_s:6.1f} s  -> {rep.points_per_min:6.1f} points/min "
          f"(wall {time.perf_counter() - t0:.0f} s; time inside the points {df['wall_s'].sum():.1f} s: "
          f"grows with contention for the cores)", flush=True)
    return rep, df.set_index("point_id").sort_index()


def localhost_cluster(n: int, tmp: Path, timeout: float):
    """`dask scheduler` + n `dask worker` processes on 127.0.0.1; returns (address, processes)."""
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    port = free_port()
    addr = f"tcp://127.0.0.1:{port}"
    log = open(tmp / "cluster.log", "w")
    procs = [subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)]
    for _ in range(n):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                                       "--local-directory", str(tmp)], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, cwd=ROOT))
    from distributed import Client

    deadline = time.time() + timeout
    with Client(addr, timeout="60s") as c:
        while len(c.scheduler_info()["workers"]) < n:
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"the localhost cluster did not come up; see {tmp / 'cluster.log'}")
            time.sleep(0.5)
    return addr, procs


def stop(procs) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100, help="points of the spec (<= 100: a seeded sample)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per cluster start")
    args = ap.parse_args()
    sp = spec(args.points)
    n = len(load_spec(sp).points())
    print(f"spec: {n} simulate points (segformer-b0@64x64, presets x num_pes x decoder width); "
          f"{os.cpu_count()} cores on this machine, load average {os.getloadavg()[0]:.1f} (other processes "
          f"compete for the cores: scaling is only meaningful on an otherwise idle machine)\n")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        r1, d1 = run("local cluster, 1 worker", sp, tmp / "w1", workers=1)
        r2, d2 = run("local cluster, 2 workers", sp, tmp / "w2", workers=2)
        addr, procs = localhost_cluster(2, tmp, args.timeout)
        try:
            r3, d3 = run(f"dask scheduler + 2 dask workers ({addr})", sp, tmp / "c2", scheduler=addr)
        finally:
            stop(procs)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        print(f"speed-up 2 local workers / 1: {r2.points_per_min / r1.points_per_min:.2f}x "
              f"(scaling efficiency {100 * r2.points_per_min / (2 * r1.points_per_min):.0f}%)")
        print(f"speed-up localhost cluster (2 workers) / 1 local worker: {r3.points_per_min / r1.points_per_min:.2f}x "
              f"(scaling efficiency {100 * r3.points_per_min / (2 * r1.points_per_min):.0f}%)")
        same12 = d1[VALUES].equals(d2[VALUES])
        same13 = d1[VALUES].equals(d3[VALUES])
        print(f"results identical (bit for bit, {len(VALUES)} columns x {len(d1)} points): 1 vs 2 local workers "
              f"{same12}; local vs localhost cluster {same13}")
        if not (same12 and same13):
            sys.exit(1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
