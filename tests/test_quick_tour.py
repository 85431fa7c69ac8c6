"""The README's quick tour is self-contained: every file a line reads was written by an earlier
line, and (slow) the whole tour runs as written, in order, in an empty temporary folder."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tour_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## A quick tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()]


def _command(line: str) -> list[str]:
    return shlex.split(line, comments=True)


OUTPUT_OPTIONS = {"-o", "--out", "--csv", "--chrome-trace", "--perfetto", "--parquet", "--plot"}
VALUE_OPTIONS = OUTPUT_OPTIONS | {"--duration", "--seed", "--set", "--accuracy", "--sync", "-j", "--workers"}


def test_every_file_the_tour_reads_is_written_earlier():
    written: set[str] = set()
    read_any = False
    for line in tour_lines():
        words = _command(line)
        if not words or words[0] != "cosim":
            if words[:1] == ["printf"]:
                written.add(words[-1])  # printf ... > FILE
            continue
        outs = {words[i + 1] for i, w in enumerate(words[:-1]) if w in OUTPUT_OPTIONS}
        ins = [w for i, w in enumerate(words) if i and words[i - 1] not in OUTPUT_OPTIONS
               and re.search(r"^runs/", w) and w not in outs]
        for p in ins:
            read_any = True
            assert p in written, f"{line!r} reads {p}, which no earlier line writes"
        written |= outs
        if words[1:2] == ["run"] and not outs:  # cosim run's default output
            scen = next((w for i, w in enumerate(words) if i >= 2 and not w.startswith("-")
                         and words[i - 1] not in VALUE_OPTIONS), "default")
            seed = words[words.index("--seed") + 1] if "--seed" in words else "1"
            written.add(f"runs/{scen}-seed{seed}.h5")
        if words[1:2] == ["sweep"]:
            written.add(words[words.index("-o") + 1])
    assert read_any


@pytest.mark.slow
def test_the_quick_tour_runs_end_to_end(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "cosim"  # the installed `cosim` script, for this checkout
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m cosim \"$@\"\n")
    shim.chmod(0o755)
    work = tmp_path / "tour"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    for line in tour_lines():
        if line.startswith(". "):
            continue  # activating the checkout's venv: this test runs in it already
        r = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, f"{line}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    for f in ("runs/default-seed1.h5", "runs/two.h5", "runs/compare.csv", "runs/default.pftrace",
              "runs/default-tables/frames.parquet", "runs/tiny-pareto_latency_s_energy_j.png"):
        assert (work / f).is_file(), f
