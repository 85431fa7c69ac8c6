"""Start-up cost of the SystemC model: the compiled library against cppyy's JIT.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_load.py [--runs 3]

Prints, each a median over ``--runs`` fresh processes with a warm cache:
``python -c "from accelerator import loader; loader.load()"`` with the compiled model
(``DYNVIT_SYSTEMC_BUILD=compiled``) and with the JIT path (``=jit``), next to
``python -c "import cppyy"`` (the floor both pay), and the one-off build time of the
compiled library (a fresh cache folder, so the compiler runs). The machines are noisy and
shared: read the ratios rather than the seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = "from accelerator import loader; loader.load(); assert loader.model_build().path == {mode!r}"
BUILD = "from accelerator import codegen, loader; loader.build_model(loader.find_systemc(), codegen.write_headers())"


def wall(code: str, **env: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="dynvit-bench-load-") as cache:
        build_s = wall(BUILD, DYNVIT_CACHE_DIR=cache)  # cold: compiles the library
        for mode in ("compiled", "jit"):  # warm the cache (shim, generated headers, library)
            wall(LOAD.format(mode=mode), DYNVIT_CACHE_DIR=cache, DYNVIT_SYSTEMC_BUILD=mode)
        times: dict[str, list[float]] = {"cppyy": [], "compiled": [], "jit": []}
        for _ in range(args.runs):  # interleaved, so machine noise hits all alike
            times["cppyy"].append(wall("import cppyy"))
            for mode in ("compiled", "jit"):
                times[mode].append(wall(LOAD.format(mode=mode), DYNVIT_CACHE_DIR=cache, DYNVIT_SYSTEMC_BUILD=mode))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"fresh process, warm cache (median of {args.runs}):")
    print(f"  import cppyy                     : {med['cppyy']:.2f} s")
    print(f"  loader.load(), compiled library  : {med['compiled']:.2f} s")
    print(f"  loader.load(), JIT (cppyy/cling) : {med['jit']:.2f} s")
    print(f"  JIT / compiled                   : {med['jit'] / med['compiled']:.1f}x; beyond `import cppyy`: "
          f"{med['compiled'] - med['cppyy']:.2f} s compiled vs {med['jit'] - med['cppyy']:.2f} s JIT")
    print(f"one-off build of the compiled library (cold cache, incl. Python start): {build_s:.1f} s")


if __name__ == "__main__":
    main()
