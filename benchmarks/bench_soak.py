"""Soak test: a long co-simulation with resident memory sampled along the way.

Runs N frames (default 1,000,000) of a cheap configuration (SegFormer-B0 at 128x128,
250 fps, static governor, a Markov tenant so resources keep changing) and samples the
resident set size 100 times during the run. Prints the samples' range after a warm-up
(the first 10% of the run) and whether it stays within 5% (the target: flat memory, the
run keeps no per-frame objects), and the trace size.

    python benchmarks/bench_soak.py [--frames 1000000] [--out DIR]

On 2 shared cores 1 M frames take hours; `--frames` sets the length (the closing figures
state what was run). The trace of 1 M frames holds 164 M layer rows (several GB): `--out`
puts it on a disk with room (default: a temporary folder, removed afterwards).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(out_dir: str, n_frames: int) -> None:
    from cosim import System
    from cosim.system import simulate
    from host import FrameSource, Markov, Stream

    fps = 250.0
    system = System(name="soak", hardware="rt-64pe", duration_s=n_frames / fps, seed=0,
                    streams=[Stream(name="s", candidates=["segformer-b0@128x128"], source=FrameSource(fps=fps),
                                    governor="static")],
                    resources=[Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[2.0, 1.0])])
    samples: list[tuple[int, float, float]] = []  # (frames, RSS MiB, wall s)
    start = time.perf_counter()

    def tick(t: float, total: float) -> None:
        samples.append((int(t * fps), rss_mib(), time.perf_counter() - start))
        if len(samples) % 10 == 0:
            f, r, w = samples[-1]
            print(f"  {f:>9,} frames  RSS {r:7.1f} MiB  {w:7.0f} s wall", flush=True)

    print(f"soak: {n_frames:,} frames of segformer-b0@128x128 at {fps:g} fps, Markov pe_share tenant")
    base = rss_mib()
    path = os.path.join(out_dir, "soak.h5")
    res = simulate(system, path, progress=tick, overwrite=True)
    wall = time.perf_counter() - start
    warm = [r for f, r, _ in samples if f >= 0.1 * n_frames]
    lo, hi = min(warm), max(warm)
    print(f"  RSS before the run {base:.0f} MiB; {res.frames:,} frames in {wall:.0f} s ({res.frames / wall:.0f} frames/s)")
    print(f"  RSS after warm-up (10%..100% of the run, {len(warm)} samples): {lo:.1f} .. {hi:.1f} MiB, "
          f"spread {100 * (hi - lo) / lo:.2f}% (target <= 5%: {'ok' if hi - lo <= 0.05 * lo else 'NOT FLAT'})")
    fs = [f for f, _, _ in samples if f >= 0.1 * n_frames]
    if len(set(fs)) >= 2:  # least-squares slope of RSS over frames after warm-up
        mf, mr = sum(fs) / len(fs), sum(warm) / len(warm)
        slope = sum((f - mf) * (r - mr) for f, r in zip(fs, warm)) / sum((f - mf) ** 2 for f in fs)
        print(f"  RSS slope after warm-up: {slope * 1e5:+.2f} MiB per 100k frames "
              f"(extrapolated to 1M frames: {slope * 1e6:+.1f} MiB{'' if n_frames >= 10**6 else ', from a shorter run'})")
    print(f"  peak RSS of the process (incl. the end-of-run summary): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; trace {os.path.getsize(path) / 2**20:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1_000_000, help="frames to simulate (default 1,000,000)")
    ap.add_argument("--out", default=None, help="folder for the trace (default: a temporary folder)")
    a = ap.parse_args()
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        soak(a.out, a.frames)
    else:
        with tempfile.TemporaryDirectory() as d:
            soak(d, a.frames)


if __name__ == "__main__":
    main()
