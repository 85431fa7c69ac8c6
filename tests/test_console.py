"""The command line's output fits where it goes: one message is one line when the output is not
a terminal (a log, a pipe, pytest), whatever the path lengths and COLUMNS; in an 80-column
terminal the tables fit without truncating a value; text is printed as written (no markup)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_analysis import make_trace

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def long_traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("c")
    for i in range(8):  # a temporary path longer than any terminal
        d = d / f"a-rather-long-folder-name-number-{i}"
    d.mkdir(parents=True)
    a = make_trace(d / "first-trace-with-a-long-name-seed1.h5")
    b = make_trace(d / "second-trace-with-a-long-name-seed2.h5", seed=2, scale=1.6)
    assert len(str(a)) > 300
    return a, b


def cosim(*args, columns: int, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    return subprocess.run([sys.executable, "-m", "cosim", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300, **kw)


@pytest.mark.parametrize("columns", [80, 300])
def test_piped_messages_are_whole_lines(long_traces, columns, tmp_path):
    a, b = long_traces
    r = cosim("trace", "repair", a, columns=columns)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and r.stdout.startswith(f"{a}: nothing to repair; holds 80 frames"), r.stdout
    csv = tmp_path / ("x" * 120) / "cmp.csv"
    r = cosim("compare", a, b, "--csv", str(csv), columns=columns)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for want in (f"  first-trace-with-a-long-name-seed1: {a}  (synthetic test scenario)", f"wrote {csv} "):
        assert any(line.startswith(want) for line in lines), (want, r.stdout)
    rows = [line for line in lines if line.startswith("│ miss rate [%]")]
    assert len(rows) == 1 and rows[0].count("│") == 2 + 6, r.stdout  # one table row: metric + 3 streams x 2 traces
    missing = tmp_path / ("y" * 200) / "missing.h5"
    r = cosim("report", str(missing), columns=columns)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and str(missing) in r.stderr, r.stderr


def test_brackets_are_printed_as_written(tmp_path):
    d = tmp_path / "[bold]red[/]"
    r = cosim("report", str(d / "t.h5"), columns=80)
    assert r.returncode == 2 and "[bold]red[/]" in r.stderr, r.stderr


def _in_terminal(code: str, columns: int = 80) -> str:
    """Run python code with stdout on a pseudo-terminal of ``columns`` columns; its output."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=slave, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=300)
    os.close(master)
    assert p.returncode == 0, p.stderr.read().decode()
    return ANSI.sub("", out.decode()).replace("\r", "")


def test_tables_fit_an_80_column_terminal_without_truncating(long_traces):
    a, b = long_traces
    code = f"""
import traces
from cosim.cli_common import print_summary
with traces.open({str(a)!r}) as t:
    print_summary(traces.summary(t), title="summary", metrics=traces.accuracy_metrics(t))
"""
    out = _in_terminal(code)
    lines = out.splitlines()
    assert lines and max(len(x) for x in lines) <= 80, out  # the footnote wraps at words in a terminal
    assert "…" not in out, out
    import traces
    from traces.summary import SUMMARY_FORMATS as F, accuracy_cell

    with traces.open(a) as t:
        s, m = traces.summary(t), traces.accuracy_metrics(t)
    for _, r in s.iterrows():  # every value whole, on one line
        for k in ("frames", "miss_rate", "energy_per_frame_j", "latency_p50_s", "latency_p99_s"):
            assert re.search(rf"(^|\s){re.escape(F[k].cell(r[k]))}(\s|$)", out, re.M), (k, F[k].cell(r[k]), out)
        assert accuracy_cell(r, m.get(r["stream"], "")) in out
    assert "partial mean" in out  # the synthetic trace has configurations of unknown accuracy


def test_compare_fits_an_80_column_terminal(long_traces):
    a, b = long_traces
    code = f"""
import sys
from cosim.cli import app
sys.argv = ["cosim", "compare", {str(a)!r}, {str(b)!r}]
try:
    app()
except SystemExit as e:
    assert not e.code, e.code
"""
    out = _in_terminal(code)
    table = [x for x in out.splitlines() if x[:1] in "┏┃┡│└"]
    assert table and max(len(x) for x in table) <= 80, out
    assert "…" not in out
    assert "not ranked by accuracy" in out and "partial" in out, out
