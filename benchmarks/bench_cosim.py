"""End-to-end co-simulation speed and memory.

Prints, for the built-in default scenario (SegFormer at 30 fps for 30 s on rt-64pe, greedy
governor, full SystemC detail): set-up time (imports, lowering, SystemC JIT, profile tables,
and one whole warm-up run so that every program is loaded), then frames simulated per
wall-second of the co-simulation itself, the median of ``--runs`` runs, and where the time of
a frame goes: the SystemC kernel (`Accelerator.run_until`), the trace's HDF5 writes
(`TraceWriter.flush`: compression and I/O) and the rest of the Python side (SimPy host,
bridge, results, recorder), in wall time and in CPU time of the process (on a shared machine
the wall time also counts other processes' turns; the CPU time does not).
Then the memory of a long run: resident set size after 10k and after 100k frames. The
long run uses a cheap configuration (SegFormer-B0 at 128x128, 250 fps) so that 100k frames
finish in minutes; memory flatness is a property of the host, bridge and trace pipeline,
which are the same for every model.

    python benchmarks/bench_cosim.py [--runs 3] [--frames 100000] [--skip-default] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from contextlib import contextmanager

TARGET_FPS = 500


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def timed(cls: type, method: str, into: dict[str, float], key: str):
    """Add the wall and CPU seconds spent in ``cls.method`` to ``into[key]`` (and ``key + '_cpu'``)."""
    real = getattr(cls, method)

    def wrapper(self, *a, **k):
        w, c = time.perf_counter(), time.process_time()
        try:
            return real(self, *a, **k)
        finally:
            into[key] += time.perf_counter() - w
            into[key + "_cpu"] += time.process_time() - c

    setattr(cls, method, wrapper)
    try:
        yield
    finally:
        setattr(cls, method, real)


def bench_default(tmp: str, runs: int) -> float:
    """Time the default scenario ``runs`` times after a warm-up; print the runs and the median
    run's split; return the median frames per wall-second."""
    from accelerator.model import Accelerator
    from cosim.scenario import load
    from cosim.system import simulate
    from traces import TraceWriter

    t0 = time.perf_counter()
    system, src = load("default")
    # a whole warm run: imports, lowering, SystemC JIT, profile tables, every program loaded
    simulate(system, os.path.join(tmp, "warm.h5"), scenario_source=src)
    setup = time.perf_counter() - t0
    print(f"default scenario: {system.duration_s:g} s simulated, {runs} runs after a warm-up "
          f"(set-up and warm-up {setup:.1f} s)")
    rows = []
    for i in range(runs):
        split = dict.fromkeys(("systemc", "systemc_cpu", "hdf5", "hdf5_cpu"), 0.0)
        with timed(Accelerator, "run_until", split, "systemc"), timed(TraceWriter, "flush", split, "hdf5"):
            w, c = time.perf_counter(), time.process_time()
            res = simulate(system, os.path.join(tmp, "default.h5"), scenario_source=src)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
        rows.append((res.frames / wall, res.frames, wall, cpu, split))
        print(f"  run {i + 1}: {res.frames} frames in {wall:.2f} s wall ({cpu:.2f} s CPU) -> "
              f"{res.frames / wall:.0f} frames per wall-second")
    fps, frames, wall, cpu, split = sorted(rows, key=lambda r: r[0])[len(rows) // 2]  # the median run
    print(f"  median: {statistics.median(r[0] for r in rows):.0f} frames per wall-second "
          f"(target >= {TARGET_FPS}); CPU-bound: {frames / cpu:.0f} frames per CPU-second")
    print(f"    {'per frame (the median run)':<40} {'wall ms':>7}  {'CPU ms':>7}  CPU share")
    parts = [("SystemC kernel", split["systemc"], split["systemc_cpu"]),
             ("trace HDF5 writes", split["hdf5"], split["hdf5_cpu"]),
             ("Python: host, bridge, results, recorder", wall - split["systemc"] - split["hdf5"],
              cpu - split["systemc_cpu"] - split["hdf5_cpu"])]
    for name, w, c in parts:
        print(f"    {name:<40} {1e3 * w / frames:7.2f}  {1e3 * c / frames:7.2f}  {100 * c / cpu:6.0f} %")
    print(f"    {'total':<40} {1e3 * wall / frames:7.2f}  {1e3 * cpu / frames:7.2f}")
    return statistics.median(r[0] for r in rows)


def bench_memory(tmp: str, n_frames: int) -> None:
    from cosim import System
    from cosim.system import simulate
    from host import FrameSource, Stream

    fps = 250.0
    system = System(name="memory", hardware="rt-64pe", duration_s=n_frames / fps, seed=0,
                    streams=[Stream(name="s", candidates=["segformer-b0@128x128"], source=FrameSource(fps=fps),
                                    governor="static")])
    checkpoints = sorted({min(10_000, n_frames), n_frames})
    seen: dict[int, float] = {}
    start = time.perf_counter()

    def tick(t: float, total: float) -> None:
        frames = int(t * fps)
        for c in checkpoints:
            if frames >= c and c not in seen:
                seen[c] = rss_mb()
                print(f"  after {c:>7,} frames: RSS {seen[c]:.0f} MiB ({time.perf_counter() - start:.0f} s wall)", flush=True)

    print(f"memory: {n_frames:,} frames of segformer-b0@128x128 at {fps:g} fps (static governor)")
    base = rss_mb()
    res = simulate(system, os.path.join(tmp, "memory.h5"), progress=tick)
    wall = time.perf_counter() - start
    print(f"  RSS before the run {base:.0f} MiB; {res.frames:,} frames in {wall:.0f} s "
          f"({res.frames / wall:.0f} frames/s); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if len(seen) == 2:
        a, b = (seen[c] for c in checkpoints)
        print(f"  growth from {checkpoints[0]:,} to {checkpoints[1]:,} frames: {b - a:+.0f} MiB (target: flat)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs of the default scenario (the median is reported)")
    ap.add_argument("--frames", type=int, default=100_000, help="frames of the memory run")
    ap.add_argument("--skip-default", action="store_true", help="only the memory run")
    ap.add_argument("--skip-memory", action="store_true", help="only the default-scenario speed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_default:
            bench_default(tmp, max(1, args.runs))
        if not args.skip_memory:
            bench_memory(tmp, args.frames)


if __name__ == "__main__":
    main()
