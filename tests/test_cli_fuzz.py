"""A property-based fuzz of the command line under file-system faults (issue 20, item 7).

Every subcommand that reads or writes a file is called with each kind of bad input (missing,
a folder, binary, truncated, empty) and bad output (an existing file, a parent that is a
file, a read-only folder, a full small tmpfs, the input itself, /proc), with and without
--force. The property: exit code 0, or one clear line (exit 2, or 1 for a run cut short);
never a traceback; never a changed input. The default run draws a bounded number of examples
(about a minute on 2 cores); ``-m slow`` draws many more.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

import traces
from cosim.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "workloads" / "data" / "measured"
SCENARIO = textwrap.dedent("""
    from cosim import System
    from host import FrameSource, Stream
    system = System(name="tiny", hardware="rt-64pe", duration_s=0.05, seed=1,
                    streams=[Stream(name="s", candidates=["segformer-b0@128x128"], governor="static",
                                    source=FrameSource(fps=20.0))])
""")

INPUT_FAULTS = ("valid", "missing", "folder", "binary", "truncated", "empty")
OUTPUT_FAULTS = ("new", "existing", "parent_is_file", "readonly", "full", "input", "proc")


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Valid inputs of every kind, and (as root) a read-only and a full small tmpfs."""
    from workloads.synthetic import write_dataset

    base = tmp_path_factory.mktemp("fuzz")
    inp = base / "inputs"
    inp.mkdir()
    with traces.TraceWriter(inp / "t.h5", seed=1, scenario="", hardware={}, tool_version="t",
                            created="2025-01-01T00:00:00Z") as w:
        w.append_frames({"stream": "s", "frame": 0, "arrival_s": 0.0, "deadline_s": 0.1, "start_s": 0.0,
                         "end_s": 0.05, "config": "segformer-b0", "accuracy": 1.0, "latency_s": 0.05,
                         "energy_j": 1e-3, "missed": False, "dropped": False})
    res = inp / "res"
    res.mkdir()
    pd.DataFrame({"point_id": ["a", "b"], "preset": ["x", "y"], "latency_s": [1.0, 2.0], "energy_j": [2.0, 1.0],
                  "error": ["", ""]}).to_parquet(res / "part-a.parquet")
    shutil.copy(ROOT / "accelerator" / "presets" / "simba-like.yaml", inp / "hw.yaml")
    (inp / "scen.py").write_text(SCENARIO)
    shutil.copy(DEMO / "segformer-demo.yaml", inp / "prof.yaml")
    shutil.copytree(DEMO / "segformer-demo-checkpoint", inp / "ck")
    write_dataset(inp / "data", train=0, val=1)
    (inp / "spec.yaml").write_text("name: f\nmode: simulate\naxes:\n  num_pes: [0]\nfixed: {model: segformer-demo}\n")
    mounts = {}
    if os.geteuid() == 0:
        for kind, opts in (("readonly", "ro,size=64k"), ("full", "size=16k")):
            d = base / kind
            d.mkdir()
            if subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)]).returncode == 0:
                mounts[kind] = d
        if "full" in mounts:
            with contextlib.suppress(OSError), open(mounts["full"] / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
    yield {"base": base, "inputs": inp, "mounts": mounts}
    for d in mounts.values():
        subprocess.run(["umount", str(d)])


def _input(world, kind: str, valid: Path, scratch: Path) -> str:
    if kind == "valid":
        return str(valid)
    if kind == "missing":
        return str(scratch / ("missing" + valid.suffix))
    if kind == "folder":
        d = scratch / ("dir" + valid.suffix)
        d.mkdir(exist_ok=True)
        return str(d)
    p = scratch / (kind + valid.suffix)
    if kind == "binary":
        p.write_bytes(b"\x00\xff\xfe\x01binary\x00" * 64)
    elif kind == "empty":
        p.write_bytes(b"")
    elif valid.is_file():  # truncated
        p.write_bytes(valid.read_bytes()[: max(1, valid.stat().st_size // 2)])
    else:  # a truncated folder input: its largest file cut in half
        shutil.copytree(valid, p)
        big = max((q for q in p.rglob("*") if q.is_file()), key=lambda q: q.stat().st_size)
        big.write_bytes(big.read_bytes()[: big.stat().st_size // 2])
    return str(p)


def _output(world, kind: str, name: str, scratch: Path, inp: str) -> str | None:
    if kind == "new":
        return str(scratch / "out" / name)
    if kind == "existing":
        p = scratch / name
        p.write_text("precious")
        return str(p)
    if kind == "parent_is_file":
        (scratch / "afile").write_text("x")
        return str(scratch / "afile" / name)
    if kind in ("readonly", "full"):
        d = world["mounts"].get(kind)
        return None if d is None else str(d / name)
    if kind == "input":
        return inp
    return "/proc/" + name


# name -> (input kind: valid path under inputs/, output file name or None, args(inp, out, force))
COMMANDS = {
    "hw show": ("hw.yaml", None, lambda i, o, f: ["hw", "show", i]),
    "map": ("hw.yaml", None, lambda i, o, f: ["map", "segformer-demo", "--hw", i, "--layer", "0"]),
    "simulate": ("hw.yaml", None, lambda i, o, f: ["simulate", "segformer-demo", "--hw", i, "--rows", "1"]),
    "run": ("scen.py", "t.h5", lambda i, o, f: ["run", i, "-o", o, "-q", *f]),
    "report": ("t.h5", "rep", lambda i, o, f: ["report", i, "-o", o, "--markdown"]),
    "export": ("t.h5", "t.json", lambda i, o, f: ["export", i, "--chrome-trace", o, *f]),
    "compare --csv": ("t.h5", "c.csv", lambda i, o, f: ["compare", i, i, "--csv", o, *f]),
    "compare --plot": ("t.h5", "c.png", lambda i, o, f: ["compare", i, i, "--plot", o, *f]),
    "trace repair": ("t.h5", None, lambda i, o, f: ["trace", "repair", i]),
    "pareto": ("res", "p.png", lambda i, o, f: ["pareto", i, "-o", o, *f]),
    "report-accuracy": ("prof.yaml", "rep", lambda i, o, f: ["report-accuracy", i, "-o", o]),
    "accuracy": ("ck", "p.yaml", lambda i, o, f: ["accuracy", "segformer-demo", "--checkpoint", i, "--data",
                                                  "DATA", "-o", o, "--threads", "1", "-q"]),
    "sweep": ("spec.yaml", "sw", lambda i, o, f: ["sweep", i, "-o", o, "-q", "-j", "1"]),
    "reproduce": (None, "repro", lambda i, o, f: ["reproduce", "-o", o, "-q", "-j", "1"]),
}
# what would do long work with valid inputs and outputs (a whole study, a Dask cluster):
# only their faults are drawn
NEEDS_A_FAULT = {"sweep": "input", "reproduce": "output"}
# repairing a trace writes into it by design: only inputs it must refuse are drawn
WRITES_ITS_INPUT = {"trace repair"}


# Faults of the sweep's own inputs (binary spec files, damaged Parquet parts) are drawn like every
# other fault; AWAITING stays empty (kept for a branch whose fixes are not merged yet).
AWAITING: set = set()


def check_cli(world, cmd: str, in_kind: str, out_kind: str, force: bool, awaiting_ok: bool = False) -> None:
    valid_name, out_name, make = COMMANDS[cmd]
    if NEEDS_A_FAULT.get(cmd) == "input" and in_kind == "valid":
        in_kind = "binary"
    if (cmd, in_kind) in AWAITING and not awaiting_ok:
        in_kind = "missing"
    if cmd == "reproduce" and out_kind in ("new", "full", "input"):
        out_kind = "parent_is_file"
    if cmd in WRITES_ITS_INPUT and in_kind in ("valid", "truncated"):
        in_kind = "binary"
    with tempfile.TemporaryDirectory(dir=world["base"]) as scratch:
        scratch = Path(scratch)
        valid = world["inputs"] / valid_name if valid_name else world["inputs"] / "scen.py"
        inp = _input(world, in_kind, valid, scratch)
        out = _output(world, out_kind, out_name, scratch, inp) if out_name else None
        if out_name and out is None:
            return  # no tmpfs here (not root)
        args = [a.replace("DATA", str(world["inputs"] / "data")) for a in make(inp, out, ["--force"] if force else [])]
        before_in, before = _digest(world["inputs"]), _digest(scratch)
        r = CliRunner().invoke(app, args)
        text = r.output.strip()
        assert r.exception is None or isinstance(r.exception, SystemExit), \
            f"{args}: traceback {type(r.exception).__name__}: {r.exception}\n{text[-2000:]}"
        assert r.exit_code in (0, 1, 2), (args, r.exit_code, text[-2000:])
        if r.exit_code:  # one error line at the end (normal output, e.g. a table, may come first)
            assert text.count("error:") == 1 and "Traceback" not in text, (args, text)
            assert len(text[text.index("error:"):].splitlines()) <= 3, (args, text)
        assert _digest(world["inputs"]) == before_in, f"{args} changed an input"
        after = _digest(scratch)
        replaceable = out_kind == "existing" and force  # the one file --force allows to replace
        changed = [p for p, h in before.items() if after.get(p) != h and not (replaceable and scratch / p == Path(out))]
        assert not changed, f"{args} changed {changed}"


_cases = st.tuples(st.sampled_from(sorted(COMMANDS)), st.sampled_from(INPUT_FAULTS), st.sampled_from(OUTPUT_FAULTS),
                   st.booleans())


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=_cases)
def test_cli_fuzz(world, case):
    check_cli(world, *case)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_cases)
def test_cli_fuzz_many(world, case):
    check_cli(world, *case)


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_every_command_with_its_worst_faults(world, cmd):
    """Each command once with a binary input and once with an output under a file (the two
    faults that gave tracebacks most often), whatever the draw above picked."""
    check_cli(world, cmd, "binary", "new", False)
    check_cli(world, cmd, "valid" if cmd not in NEEDS_A_FAULT else "binary", "parent_is_file", True)


@pytest.mark.parametrize("cmd, kind", [("pareto", "binary"), ("pareto", "truncated"), ("pareto", "empty"),
                                       ("sweep", "binary")])
def test_the_sweep_inputs_faults(world, cmd, kind):
    check_cli(world, cmd, kind, "new", False)
