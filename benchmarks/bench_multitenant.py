"""Speed of the multi-tenant scenario (issue 22): frames per wall-second of the co-simulation.

Runs ``scenarios/multi_tenant.py`` (three streams, preemptive priority with checkpoints at tile
boundaries) once to warm up (profiles measured and cached, programs loaded), then ``--runs``
times, and prints each run's frames, wall and CPU seconds, frames per wall-second and per CPU
second, and the median against the target (300 frames per wall-second on a 2-core machine; on a
shared machine the CPU figure is the one that does not count other processes' turns).

    python benchmarks/bench_multitenant.py [--runs 3] [--duration S]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

TARGET_FPS = 300


def main() -> int:
    from cosim import scenario as scen
    from cosim.system import simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=None, help="simulated seconds (default: the scenario's)")
    a = ap.parse_args()
    system, source = scen.load("multi_tenant")
    if a.duration:
        system = system.replace(duration_s=a.duration)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        simulate(system, Path(d) / "warm.h5", scenario_source=source)
        print(f"warm-up (profiles, programs, one run): {time.perf_counter() - t0:.1f} s")
        fps, cpu_fps = [], []
        for i in range(a.runs):
            w, c = time.perf_counter(), time.process_time()
            res = simulate(system, Path(d) / f"run{i}.h5", scenario_source=source)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            fps.append(res.frames / wall)
            cpu_fps.append(res.frames / cpu)
            print(f"run {i}: {res.frames} frames, {wall:.2f} s wall, {cpu:.2f} s CPU -> "
                  f"{fps[-1]:.0f} frames/wall-s, {cpu_fps[-1]:.0f} frames/CPU-s")
    med = statistics.median(fps)
    print(f"median: {med:.0f} frames per wall-second, {statistics.median(cpu_fps):.0f} per CPU-second "
          f"(target >= {TARGET_FPS}: {'met' if med >= TARGET_FPS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
