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
from vocab.params import ParamError

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


# ---- item 6: infinite, absurd and too-fine numbers ------------------------------------------

INF = math.inf


@pytest.mark.parametrize("make, match", [
    (lambda: system(duration_s=INF), "duration_s"),
    (lambda: system(duration_s=1e7), "duration_s"),
    (lambda: system(seed=2**70), "seed"),
    (lambda: system(seed=-1), "seed"),
    (lambda: At(INF, fps=10.0), "At.time_s"),
    (lambda: At(2e6, fps=10.0), "At.time_s"),
    (lambda: At(1.0, fps=INF), "fps"),
    (lambda: At(1.0, fps=1e-300), "fps"),
    (lambda: FrameSource(fps=1e-300), "fps"),
    (lambda: FrameSource(deadline_s=INF), "deadline_s"),
    (lambda: FrameSource(start_s=INF), "start_s"),
    (lambda: FrameSource(jitter_s=INF), "jitter_s"),
    (lambda: Piecewise(resource="pe_share", points=[(0.0, 1.0), (INF, 0.5)]), r"points\[1\] time"),
    (lambda: Piecewise(resource="pe_share", points=[(math.nan, 0.5)]), r"points\[0\] time"),
    (lambda: Piecewise(resource="pe_share", points=[(0.0, "half")]), "not a number"),
    (lambda: Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[INF, 1.0]), r"mean_dwell_s\[0\]"),
    (lambda: Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[1e-13, 1.0]), r"mean_dwell_s\[0\]"),
    (lambda: Periodic(resource="pe_share", pattern=[(1e-13, 0.5), (1.0, 1.0)]), r"pattern\[0\] duration"),
    (lambda: Periodic(resource="pe_share", pattern=[(INF, 0.5)]), r"pattern\[0\] duration"),
    (lambda: Periodic(resource="pe_share", pattern=[(1.0, 0.5)], start_s=INF), "start_s"),
    (lambda: Scheduler(budget_window_s=1e-13), "budget_window_s"),
    (lambda: Scheduler(budget_window_s=INF), "budget_window_s"),
])
def test_absurd_numbers_are_refused_with_the_field_named(make, match):
    with pytest.raises(ParamError, match=match):
        make()


@pytest.mark.parametrize("model", [
    lambda: Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[1e-6, 1e-6]),
    # found by hypothesis: a slow state the chain rarely visits hid two fast ones from the up-front check
    lambda: Markov(resource="pe_share", states=[1.0, 0.5, 0.25], mean_dwell_s=[10.0, 1e-6, 1e-6],
                   transitions=[[0.0, 0.5, 0.5], [0.0001, 0.0, 0.9999], [0.0001, 0.9999, 0.0]]),
    lambda: Periodic(resource="pe_share", pattern=[(1e-6, 0.5), (1e-6, 1.0)]),
])
def test_too_many_resource_changes_stop_quickly(model):
    import time

    from host.scheduler import resource_timelines

    t0 = time.perf_counter()
    with pytest.raises(ParamError, match="changes over the run"):
        resource_timelines([model()], 3600 * 10**12, seed=1)
    assert time.perf_counter() - t0 < 5.0


def test_csv_replay_with_an_infinite_time(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("time_s,value\n0,1.0\ninf,0.5\n")
    with pytest.raises(ParamError, match="line 3"):
        CsvReplay(resource="pe_share", path=str(p))


def test_huge_resolution_is_refused():
    import workloads

    with pytest.raises(workloads.ConfigError, match="at most 4096"):
        workloads.parse_config("segformer-b0@100000x100000")


@pytest.mark.parametrize("field, value, match", [
    ("clock_hz", INF, "finite"),
    ("dram_bandwidth_bytes_per_s", INF, "finite"),
    ("num_pes", 10**9, "num_pes"),
])
def test_absurd_hardware_is_refused(field, value, match):
    from accelerator.presets import load_preset

    with pytest.raises(ParamError, match=match):  # refused where the hardware is made
        load_preset("rt-64pe").replace(**{field: value})


def test_cli_simulate_with_absurd_hardware(tmp_path):
    import cosim.cli_analysis  # noqa: F401
    from cosim.cli import app

    y = tmp_path / "big.yaml"
    y.write_text("preset: big\nbase: rt-64pe\ndescription: t\nsources: {}\n"
                 "params:\n  num_pes: {value: 1000000000, kind: choice, source: t}\n")
    r = CliRunner().invoke(app, ["simulate", "segformer-b0", "-r", "128x128", "--hw", str(y)])
    assert r.exit_code == 2 and "num_pes" in r.output and "Traceback" not in r.output, r.output


@pytest.mark.parametrize("args, match", [
    (["--duration", "inf"], "duration"),
    (["--duration", "1e7"], "duration"),
    (["--seed", str(2**70)], "seed"),
])
def test_cli_run_with_absurd_numbers(cli, tmp_path, args, match):
    out = run_cli(cli, tmp_path, """
        system = System(duration_s=0.1, streams=[Stream(name="s", candidates=["segformer-b0@128x128"])])
    """, *args)
    assert re.search(match, out), out
