"""Timeline export sizes: Perfetto protobuf parts vs Chrome-trace JSON, per simulated minute.

Runs the default scenario (`scenarios/default.py`) for ``--duration`` simulated seconds, exports
its trace both ways and prints the bytes and export seconds per simulated minute, then what a
30-minute and an 8-hour run give (both grow linearly with simulated time: the default scenario
is a steady 30 fps stream): total size, number of Perfetto parts and the largest part against
the Perfetto UI's documented limit (the in-browser trace processor's memory, typically ~2 GB, with
a proto trace inflating 2-4x: perfetto.dev/docs/visualization/large-traces).

    python benchmarks/bench_perfetto.py [--duration 30] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time

UI_MEMORY_BYTES = 2 * 10**9  # documented typical browser limit
INFLATION = 4                # documented worst case for uncompressed proto traces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0, help="simulated seconds of the default scenario")
    ap.add_argument("--out", default=None, help="folder for the trace and exports (default: a temporary one)")
    a = ap.parse_args()

    from cosim import scenario as scen
    from cosim.system import simulate
    from traces.chrome import export_chrome_trace
    from traces.perfetto import MAX_PART_BYTES, export_perfetto

    import traces

    with tempfile.TemporaryDirectory(prefix="bench-perfetto-") as tmp:
        d = a.out or tmp
        os.makedirs(d, exist_ok=True)
        system, source = scen.load("default")
        h5 = os.path.join(d, "default.h5")
        t0 = time.perf_counter()
        simulate(system, h5, duration_s=a.duration, scenario_source=source, created="1970-01-01T00:00:00Z",
                 overwrite=True)
        sim_s = time.perf_counter() - t0
        with traces.open(h5) as t:
            n_frames, n_layers = len(t.frames), t.rows("layers")
        t0, c0 = time.perf_counter(), time.process_time()
        parts = export_perfetto(h5, os.path.join(d, "default.pftrace"))
        pf_s, pf_cpu = time.perf_counter() - t0, time.process_time() - c0
        pf_bytes = sum(os.path.getsize(p) for p in parts)
        t0, c0 = time.perf_counter(), time.process_time()
        js = export_chrome_trace(h5, os.path.join(d, "default.json"))
        js_s, js_cpu = time.perf_counter() - t0, time.process_time() - c0
        js_bytes = os.path.getsize(js)

    minutes = a.duration / 60.0
    print(f"default scenario, {a.duration:g} s simulated: {n_frames} frames, {n_layers} layer rows "
          f"(simulation {sim_s:.1f} s wall)")
    print(f"per simulated minute: perfetto {pf_bytes / minutes / 1e6:.1f} MB (export {pf_cpu / minutes:.1f} s CPU, "
          f"{pf_s / minutes:.1f} s wall), chrome JSON {js_bytes / minutes / 1e6:.1f} MB (export {js_cpu / minutes:.1f} s "
          f"CPU, {js_s / minutes:.1f} s wall); {pf_bytes / max(1, n_layers):.1f} vs {js_bytes / max(1, n_layers):.1f} "
          "bytes per layer row")
    limit = UI_MEMORY_BYTES / INFLATION
    print(f"Perfetto UI: ~{UI_MEMORY_BYTES / 1e9:.0f} GB in-browser memory at up to {INFLATION}x inflation -> "
          f"a part should stay under ~{limit / 1e6:.0f} MB; parts are cut at {MAX_PART_BYTES / 2**20:.0f} MiB")
    for label, run_min in (("30 minutes", 30), ("8 hours", 480)):
        pf = pf_bytes / minutes * run_min
        js_total = js_bytes / minutes * run_min
        n_parts = max(1, math.ceil(pf / MAX_PART_BYTES))
        print(f"{label}: perfetto {pf / 1e9:.2f} GB in {n_parts} part(s) of <= {MAX_PART_BYTES / 1e6:.0f} MB "
              f"(each opens: {MAX_PART_BYTES * INFLATION / 1e9:.2f} GB <= {UI_MEMORY_BYTES / 1e9:.0f} GB), "
              f"~{pf_cpu / minutes * run_min / 60:.0f} min CPU to export; chrome JSON {js_total / 1e9:.2f} GB in one file")


if __name__ == "__main__":
    main()
