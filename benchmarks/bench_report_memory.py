"""Peak memory of `cosim report` and `cosim export --chrome-trace` on a long trace.

Builds a long trace by repeating a real run: the default scenario is co-simulated for
`--template-s` seconds (30 s: 901 frames, ~214k layer rows), and its rows are written again
and again, shifted in time, until the trace covers `--minutes` of simulated time (default 60:
108k frames, ~25.7M layer rows). Then each analysis command runs in a child process and its
peak resident set size (ru_maxrss) is printed. Both read /layers one slice at a time, so
their memory is bounded by the slice size and the number of frames, not by the layer rows.

    python benchmarks/bench_report_memory.py [--minutes 60] [--skip-export] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_long_trace(out_dir: str, minutes: float, template_s: float) -> str:
    import numpy as np

    import traces
    from cosim.scenario import load
    from cosim.system import simulate

    tpl = os.path.join(out_dir, "template.h5")
    system, src = load("default")
    simulate(system, tpl, duration_s=template_s, scenario_source=src, overwrite=True)
    t = traces.open(tpl)
    F, L, R, C = t.frames, t.layers, t.resources, t.configs
    extras = t.extra_columns("layers")
    path = os.path.join(out_dir, f"long-{minutes:g}min.h5")
    reps = int(np.ceil(minutes * 60 / template_s))
    nf = int(F["frame"].max()) + 1
    t0 = time.perf_counter()
    with traces.TraceWriter(path, seed=1, scenario=src, hardware=t.meta["hardware"], tool_version="bench",
                            layer_extra_columns=extras, overwrite=True) as w:
        for _, c in C.iterrows():
            w.add_config(c["config"], model=c["model"], knobs=c["knobs"], macs=int(c["macs"]), params=int(c["params"]),
                         accuracy=float(c["accuracy"]), accuracy_metric=c["accuracy_metric"],
                         accuracy_source=c["accuracy_source"], accuracy_label=c["accuracy_label"], objective=c["objective"])
        for k in range(reps):
            dt = k * template_s
            f = F.copy()
            for col in ("arrival_s", "deadline_s", "start_s", "end_s"):
                f[col] = f[col] + dt
            f["frame"] = f["frame"] + k * nf
            lay = L.copy()
            lay["start_s"] += dt
            lay["end_s"] += dt
            lay["frame"] = lay["frame"] + k * nf
            r = R.copy()
            r["time_s"] += dt
            w.append_resources(r)
            w.append_layers(lay)
            w.append_frames(f)
    t.close()
    with traces.open(path) as t:
        rows = (len(t), t.rows("layers"))
    print(f"long trace: {minutes:g} min simulated, {rows[0]:,} frames, {rows[1]:,} layer rows, "
          f"{os.path.getsize(path) / 2**20:.0f} MiB, written in {time.perf_counter() - t0:.0f} s")
    return path


def peak_rss_of(args: list[str]) -> tuple[float, float]:
    """Run `python -m cosim.cli ARGS` in a child; (peak RSS MiB, wall s)."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "cosim.cli", *args], cwd=ROOT,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"cosim {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    kib = int(next(line for line in r.stdout.splitlines() if line.startswith("RSS")).split()[1])
    return kib / 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="simulated minutes of the long trace (default 60)")
    ap.add_argument("--template-s", type=float, default=30.0, help="seconds of the default run repeated")
    ap.add_argument("--skip-export", action="store_true", help="only the report (the JSON is ~300 B per layer row)")
    ap.add_argument("--out", default=None, help="folder for the files (default: a temporary folder)")
    a = ap.parse_args()
    d = a.out or tempfile.mkdtemp(prefix="bench-report-")
    os.makedirs(d, exist_ok=True)
    path = make_long_trace(d, a.minutes, a.template_s)
    rss, wall = peak_rss_of(["report", path, "--out", os.path.join(d, "report")])
    print(f"cosim report: peak RSS {rss:.0f} MiB, {wall:.0f} s")
    if not a.skip_export:
        out = os.path.join(d, "long.json")
        rss, wall = peak_rss_of(["export", path, "--chrome-trace", out, "--force"])
        print(f"cosim export --chrome-trace: peak RSS {rss:.0f} MiB, {wall:.0f} s, JSON {os.path.getsize(out) / 2**30:.2f} GiB")
        os.unlink(out)
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          "for building the trace)")
    if not a.out:
        import shutil

        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
