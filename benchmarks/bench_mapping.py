"""What ranking the finalists by simulation costs and buys (issue 25).

For SegFormer-B2 at 512x512 on new hardware points (vs8/vs16/vs32 with a global buffer size no
cache has seen, the on-disk choice cache off), it prints:

* mapping wall time: the estimate-only search on one thread (the previous mapper: the
  estimate's best of every distinct layer shape) and the mapper now (estimate shortlist, then
  the finalists that the time bound cannot exclude, simulated in two batches; the shapes
  shortlisted on `mapper_threads` threads: OMP_NUM_THREADS or the CPUs), with the one-off
  start of the measuring process apart;
* the same mapping with every finalist simulated (the path before the bound, issue 23), its
  wall time, the ratio, and whether every choice is identical;
* how many candidates were simulated, and how many layer shapes changed their choice against
  the estimate-only search;
* the whole model's MAC layers simulated with either choice (time, energy), and the decoder
  fuse layer (62% of B2's MACs) alone.

    PYTHONPATH=. python benchmarks/bench_mapping.py [--presets vs8,vs16,vs32]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["DYNVIT_MAPPING_CACHE"] = "0"  # every point is new

TARGET_S = 0.3  # a new hardware point for SegFormer-B2 mapped in under this (issue 23)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="vs8,vs16,vs32")
    ap.add_argument("--model", default="segformer-b2")
    args = ap.parse_args()

    import workloads
    from accelerator import mapping as M
    from accelerator.measure import simulate
    from accelerator.presets import load_preset

    first_default = M.SIM_FIRST
    wl = workloads.lower(workloads.make_config(args.model))
    mac = [l for l in wl.layers if l.is_mac and l.macs > 0]
    shapes = {(M.MacDims.of(l), l.op) for l in mac}
    print(f"{args.model}: {len(mac)} MAC layers, {len(shapes)} distinct shapes")
    for p in args.presets.split(","):
        base = load_preset(p)
        hw = base.replace(global_buffer_bytes=base.global_buffer_bytes + 1024 * base.lanes)
        t0 = time.perf_counter()
        est = {s: M._rank(s[0], hw, M._grid_candidates(s[0], hw))[0] for s in shapes}
        t_est = time.perf_counter() - t0
        if p == args.presets.split(",")[0]:
            t1 = time.perf_counter()
            M.simulated(hw, [(*next(iter(shapes)), [next(iter(est.values()))])])
            print(f"  start of the measuring process: {time.perf_counter() - t1:.2f} s (once per process)")
        t0 = time.perf_counter()
        n_short = sum(len(M._shortlist(d, hw)) for d, _ in shapes)
        t_short = time.perf_counter() - t0
        timed = {}
        for first in (10 ** 9, M.SIM_FIRST):  # every finalist simulated, then the mapper's pruning
            M._map_mac.cache_clear()
            M._disk_cache.cache_clear()
            n_sim, sim = [0], M.simulated

            def counting(hw_, items, sim=sim, n_sim=n_sim):
                n_sim[0] += sum(len(ts) for _, _, ts in items)
                return sim(hw_, items)
            M.simulated, M.SIM_FIRST = counting, first
            t0 = time.perf_counter()
            timed[first] = (M.map_layers(wl.layers, hw), time.perf_counter() - t0, n_sim[0])
            M.simulated, M.SIM_FIRST = sim, first_default
        (full, t_full, n_full), (new, t_new, n_new) = timed.values()
        same = [m.tiling if m.kind == "mac" else m for m in full] == [m.tiling if m.kind == "mac" else m for m in new]
        old = [M._mac_mapping(M.MacDims.of(l), hw, l.name, l.op, est[(M.MacDims.of(l), l.op)]) for l in mac]
        new = [m for l, m in zip(wl.layers, new) if l.is_mac and l.macs > 0]
        changed = len({(M.MacDims.of(l), l.op) for l, o, n in zip(mac, old, new) if o.tiling != n.tiling})
        so, eo = simulate(hw, mac, old)
        sn, en = simulate(hw, mac, new)
        fi = [i for i, l in enumerate(mac) if l.name.endswith("linear_fuse")]
        print(f"{p} (global_buffer_bytes {hw.global_buffer_bytes}): mapping estimate-only (one thread) {t_est:.2f} s, "
              f"now {t_new:.2f} s on {M.mapper_threads()} thread(s) (shortlists alone, one thread, {t_short:.2f} s; "
              f"{n_new} of {n_short} finalists simulated); "
              f"{changed} of {len(shapes)} shapes chose otherwise")
        print(f"  every finalist simulated (before the bound): {t_full:.2f} s, {n_full} simulated; "
              f"with the bound {t_new / t_full:.2f}x the time; choices identical: {same}; "
              f"target (issue 23) {TARGET_S} s: {'met' if t_new <= TARGET_S else 'not met'}")
        print(f"  MAC layers simulated: {so.sum() * 1e3:.3f} -> {sn.sum() * 1e3:.3f} ms, "
              f"{eo.sum() * 1e3:.3f} -> {en.sum() * 1e3:.3f} mJ")
        for i in fi:
            print(f"  {mac[i].name}: {so[i] * 1e3:.4f} -> {sn[i] * 1e3:.4f} ms, {eo[i] * 1e3:.4f} -> "
                  f"{en[i] * 1e3:.4f} mJ ({(en[i] / eo[i] - 1) * 100:+.2f}% energy); "
                  f"{old[i].tiling.to_json()} -> {new[i].tiling.to_json()}")


if __name__ == "__main__":
    main()
