"""Exact reuse of inference results (cosim/reuse.py) against today's path (every inference
simulated, ``reuse=False``), measured in one run on the same machine: the ratios are the
figures to read (the machine may be loaded; wall and CPU seconds are both printed).

1. The built-in default scenario (30 s, SegFormer at 30 fps): frames per wall-second of
   `cosim.simulate` end to end (co-simulation, trace writing, the trace's summary), the median
   of ``--runs`` runs each way after a warm-up: today's path (every inference simulated, every
   row through HDF5's filters), with reuse, and with reuse and whole trace chunks filtered in
   Python and written directly (traces/chunks.py: ISA-L's deflate); the four tables are checked
   byte-identical.
2. A long two-stream scenario with resource changes every few seconds (SegFormer at 30 fps and
   a second SegFormer stream at 30 fps, a Markov tenant on the PEs with dwell times of seconds,
   periodic thermal throttling): ``--long-s`` simulated seconds with reuse (memory sampled
   every tenth of the run: it must stay flat), ``--long-ref-s`` of them without; both
   extrapolated linearly to one hour (3600 s), said so in the output (``--long-s 3600`` runs the
   whole hour with reuse: about a minute on 2 cores).

    python benchmarks/bench_reuse.py [--runs 3] [--long-s 600] [--long-ref-s 60]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time

TARGET_FPS = 5000
TARGET_HOUR_S = 120.0
TABLES = ("frames", "layers", "resources", "configs")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hashes(path) -> dict[str, str]:
    import h5py

    with h5py.File(path, "r") as f:
        return {t: hashlib.sha256(f[t][()].tobytes()).hexdigest() for t in TABLES}


# (label, reuse, whole chunks written directly (traces/chunks.py) or through HDF5's filters)
PATHS = (("today (every inference simulated)", False, False), ("with reuse", True, False),
         ("reuse + direct chunks (ISA-L)", True, True))


def bench_default(tmp: str, runs: int) -> None:
    from cosim.scenario import load
    from cosim.system import simulate
    from traces.chunks import ChunkCompressor

    system, src = load("default")
    t0 = time.perf_counter()
    simulate(system, os.path.join(tmp, "warm.h5"), scenario_source=src)  # imports, JIT, profiles, programs
    print(f"1. default scenario ({system.duration_s:g} s simulated; warm-up {time.perf_counter() - t0:.1f} s), "
          f"median of {runs} runs each, alternating:")
    out: dict[str, list] = {p[0]: [] for p in PATHS}
    digests = {}
    try:
        for i in range(runs):
            for label, reuse, direct in PATHS:
                ChunkCompressor.enabled = direct
                path = os.path.join(tmp, f"default-{reuse}-{direct}.h5")
                w, c = time.perf_counter(), time.process_time()
                res = simulate(system, path, scenario_source=src, created="2026-01-01T00:00:00Z", reuse=reuse)
                wall, cpu = time.perf_counter() - w, time.process_time() - c
                out[label].append((res.frames / wall, wall, cpu, res.reused, res.frames))
                digests.setdefault(label, hashes(path))
    finally:
        ChunkCompressor.enabled = True
    for label, _, _ in PATHS:
        fps, wall, cpu, reused, frames = sorted(out[label])[len(out[label]) // 2]
        print(f"   {label:36s} {fps:8.0f} frames/s  ({frames} frames in {wall:.2f} s wall, {cpu:.2f} s CPU of the process "
              f"(all threads); {reused} reused)")
    today = statistics.median(x[0] for x in out[PATHS[0][0]])
    ratios = ", ".join(f"{lb}: {statistics.median(x[0] for x in out[lb]) / today:.1f}x" for lb, _, _ in PATHS[1:])
    same = len(set(map(str, digests.values()))) == 1
    best = max(x[0] for lb, _, _ in PATHS[1:] for x in out[lb])
    print(f"   ratios to today: {ratios}; traces {'byte-identical' if same else 'DIFFERENT'} ({', '.join(TABLES)}); "
          f"target >= {TARGET_FPS} frames/s: {'met' if best >= TARGET_FPS else 'NOT met'} (best run {best:.0f})")


def long_system(duration_s: float):
    from cosim import System
    from host import FrameSource, Markov, Periodic, Scheduler, Stream

    seg = [f"segformer-b{i}@512x512" for i in range(3)]
    return System(
        name="long_two_streams", hardware="rt-64pe", duration_s=duration_s, seed=7,
        streams=[Stream(name="front", candidates=seg, source=FrameSource(fps=30.0), governor="greedy", priority=1),
                 Stream(name="rear", candidates=["segformer-b0@256x256", "segformer-b1@256x256"],
                        source=FrameSource(fps=30.0, start_s=0.004), governor="greedy", priority=0)],
        resources=[Markov(resource="pe_share", states=[1.0, 0.75, 0.5], mean_dwell_s=[4.0, 2.0, 2.0]),
                   Periodic(resource="clock_scale", pattern=[(7.0, 1.0), (3.0, 0.8)])],
        scheduler=Scheduler(policy="priority", late="drop"),
    )


def bench_long(tmp: str, long_s: float, ref_s: float) -> None:
    from cosim.system import simulate

    simulate(long_system(5.0), os.path.join(tmp, "warm-long.h5"))  # programs of this scenario loaded
    print(f"2. two streams, resource changes every few seconds; one hour from {long_s:g} s (reuse) and "
          f"{ref_s:g} s (today) simulated (extrapolated linearly where shorter):")
    rss: list[tuple[float, float]] = []

    def progress(t, total):
        if not rss or t - rss[-1][0] >= total / 10 - 1e-9:
            rss.append((t, rss_mb()))

    w = time.perf_counter()
    res = simulate(long_system(long_s), os.path.join(tmp, "long.h5"), progress=progress)
    wall = time.perf_counter() - w
    w = time.perf_counter()
    from traces.chunks import ChunkCompressor

    ChunkCompressor.enabled = False  # today's path: every row through HDF5's filters
    try:
        ref = simulate(long_system(ref_s), os.path.join(tmp, "long-ref.h5"), reuse=False)
    finally:
        ChunkCompressor.enabled = True
    ref_wall = time.perf_counter() - w
    hour, ref_hour = wall * 3600 / long_s, ref_wall * 3600 / ref_s
    print(f"   today:      {ref.frames} frames in {ref_wall:.1f} s wall -> one hour ~{ref_hour / 60:.1f} min")
    print(f"   with reuse: {res.frames} frames in {wall:.1f} s wall ({res.reused} reused) -> one hour "
          f"~{hour:.0f} s; ratio {ref_hour / hour:.1f}x; target < {TARGET_HOUR_S:g} s: "
          f"{'met' if hour < TARGET_HOUR_S else 'NOT met'} ({'measured' if long_s >= 3600 else 'extrapolated'})")
    first = next((m for t, m in rss if t >= long_s / 10), rss[0][1])
    print("   resident memory over the run (MiB): " + ", ".join(f"{t:.0f} s: {m:.0f}" for t, m in rss)
          + f"; growth after the first tenth {rss[-1][1] - first:+.1f} MiB")
    if ref_s <= long_s:  # the reference's trace is a prefix run: compare it with reuse on the same span
        short = simulate(long_system(ref_s), os.path.join(tmp, "long-on.h5"))
        same = hashes(short.trace_path) == hashes(ref.trace_path)
        print(f"   {ref_s:g} s with and without reuse: traces {'byte-identical' if same else 'DIFFERENT'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--long-s", type=float, default=600.0, help="simulated seconds of the long run with reuse")
    ap.add_argument("--long-ref-s", type=float, default=60.0, help="simulated seconds of the long run without")
    ap.add_argument("--skip-default", action="store_true")
    ap.add_argument("--skip-long", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not a.skip_default:
            bench_default(tmp, a.runs)
        if not a.skip_long:
            bench_long(tmp, a.long_s, a.long_ref_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
