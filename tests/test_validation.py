"""Bad input is refused when the System is built (or before any work), with one line naming
the field and what is allowed; never a traceback after the run, a hang or a crash."""

from __future__ import annotations

import math
import re
import textwrap

import pytest
from typer.testing import CliRunner

from cosim import System
from host import At, CsvReplay, FrameSource, Markov, Periodic, Piecewise, Scheduler, Stream
from workloads.params import ParamError

SMALL = "segformer-b0@128x128"


def stream(**kw):
    base = dict(name="s", candidates=[SMALL], governor="static")
    base.update(kw)
    return Stream(**base)


def system(**kw):
    base = dict(name="t", hardware="rt-64pe", duration_s=0.1, seed=1, streams=[stream()])
    base.update(kw)
    return System(**base)


# ---- item 7: stream names ----------------------------------------------------------------


@pytest.mark.parametrize("name, match", [
    ("all", "reserved"),
    ("x" * 65, "at most 64"),
    ("é" * 33, "at most 64"),  # 66 bytes in UTF-8
    ("tab\there", "printable"),
    ("nul\x00", "printable"),
])
def test_bad_stream_name_is_refused_when_the_system_is_built(name, match):
    with pytest.raises(ParamError, match=match):
        system(streams=[stream(name=name)])


def test_longest_stream_name_is_fine():
    system(streams=[stream(name="x" * 64)])


@pytest.fixture
def cli(monkeypatch):
    import cosim.cli_analysis  # noqa: F401
    import cosim.profiles
    from cosim.cli import app

    def boom(*a, **k):
        raise AssertionError("profiling started: the bad input was not caught up front")

    monkeypatch.setattr(cosim.profiles, "measure", boom)
    return CliRunner(), app


def run_cli(cli, tmp_path, body, *args):
    runner, app = cli
    s = tmp_path / "s.py"
    s.write_text(textwrap.dedent("""
        import math
        from cosim import System
        from host import *
    """) + textwrap.dedent(body))
    r = runner.invoke(app, ["run", str(s), "-o", str(tmp_path / "o.h5"), "-q", *args])
    out = r.output.strip()
    assert r.exit_code == 2, (out, r.exception)
    assert "error:" in out and "Traceback" not in out, out
    return " ".join(out.split())


def test_cli_stream_named_all(cli, tmp_path):
    out = run_cli(cli, tmp_path, """
        system = System(duration_s=0.1, streams=[Stream(name="all", candidates=["segformer-b0@128x128"])])
    """)
    assert "reserved" in out
