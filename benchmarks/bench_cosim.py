"""End-to-end co-simulation speed and memory.

Prints, for the built-in default scenario (SegFormer at 30 fps for 30 s on rt-64pe, greedy
governor, full SystemC detail): set-up time (imports, lowering, profile tables), frames
simulated per wall-second of the co-simulation itself, and SystemC calls per frame.
Then the memory of a long run: resident set size after 10k and after 100k frames. The
long run uses a cheap configuration (SegFormer-B0 at 128x128, 250 fps) so that 100k frames
finish in minutes; memory flatness is a property of the host, bridge and trace pipeline,
which are the same for every model.

    python benchmarks/bench_cosim.py [--frames 100000] [--skip-default]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_default(tmp: str) -> None:
    from cosim.scenario import load
    from cosim.system import simulate

    t0 = time.perf_counter()
    system, src = load("default")
    # a short warm run: imports, lowering, SystemC JIT and profile tables
    simulate(system, os.path.join(tmp, "warm.h5"), duration_s=0.1, scenario_source=src)
    setup = time.perf_counter() - t0
    marks: list[tuple[float, float]] = []
    t1 = time.perf_counter()
    res = simulate(system, os.path.join(tmp, "default.h5"), scenario_source=src,
                   progress=lambda t, total: marks.append((t, time.perf_counter())))
    wall = time.perf_counter() - t1
    print(f"default scenario: {res.frames} frames, {system.duration_s:g} s simulated")
    print(f"  set-up (imports, lowering, SystemC JIT, profiles): {setup:.1f} s")
    print(f"  co-simulation wall: {wall:.2f} s -> {res.frames / wall:.1f} frames per wall-second (target >= 100)")


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
    ap.add_argument("--frames", type=int, default=100_000, help="frames of the memory run")
    ap.add_argument("--skip-default", action="store_true", help="only the memory run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_default:
            bench_default(tmp)
        bench_memory(tmp, args.frames)


if __name__ == "__main__":
    main()
