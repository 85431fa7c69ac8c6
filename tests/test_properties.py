"""Property-based tests (hypothesis): any scenario/System parameters, knob strings and
configuration ids, preset fields and resource timelines give a valid result or one clear
error (ParamError / ConfigError, both ValueError), never another exception, a hang (every
example runs under a timeout) or a native crash.

The examples are derandomized (the same ones on every run, no example database) and sized
to keep this file within about a minute on two cores.
"""

from __future__ import annotations

import math
import signal
import string
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workloads
from cosim import System
from host import At, FrameSource, Markov, Periodic, Piecewise, Scheduler, Stream
from host.resources import RESOURCES
from host.scheduler import resource_timelines
from vocab.units import MAX_CHANGES, PS_PER_S
from workloads.knobs import ConfigError
from vocab.params import ParamError

FAST = settings(max_examples=100, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CLEAR = (ParamError, ConfigError)


@contextmanager
def time_limit(seconds: float, what: str):
    """Fail (instead of hanging) if the block takes longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"{what} did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def clear_or_ok(fn, *a, **k):
    """Run fn: its result, or None for a clear error with a message naming something."""
    try:
        return fn(*a, **k)
    except CLEAR as e:
        msg = str(e)
        assert msg and "\n" not in msg.strip(), msg
        return None


# ---- strategies ---------------------------------------------------------------------------------

odd_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e-13, 1e-9, 1e-6, 1e6, 9.3e6, 1e300, -1.0, math.inf, -math.inf, math.nan]),
    st.floats(min_value=1e-4, max_value=100.0),
)
odd_ints = st.one_of(st.integers(), st.sampled_from([0, -1, 2**63 - 1, 2**63, 2**70, -(2**70)]))
numbers = st.one_of(odd_floats, odd_ints, st.booleans(), st.none(), st.text(max_size=5))
resource_names = st.one_of(st.sampled_from(list(RESOURCES)), st.text(max_size=12))
levels = st.one_of(st.floats(min_value=0.01, max_value=1.0), odd_floats)
MODELS = ["segformer-b0", "segformer-b2", "segformer-b5", "resnet50", "ofa-resnet50", "swin-t", "nonsense"]


@st.composite
def resource_models(draw):
    kind = draw(st.sampled_from(["piecewise", "periodic", "markov"]))
    res = draw(resource_names)
    if kind == "piecewise":
        pts = draw(st.lists(st.tuples(odd_floats, levels), max_size=6))
        return lambda: Piecewise(resource=res, points=pts)
    if kind == "periodic":
        pat = draw(st.lists(st.tuples(odd_floats, levels), min_size=0, max_size=4))
        start = draw(odd_floats)
        return lambda: Periodic(resource=res, pattern=pat, start_s=start)
    n = draw(st.integers(1, 3))
    states = draw(st.lists(levels, min_size=n, max_size=n))
    dwell = draw(st.lists(odd_floats, min_size=n, max_size=n + draw(st.integers(0, 1))))
    init = draw(st.one_of(st.integers(0, 3), odd_ints))
    return lambda: Markov(resource=res, states=states, mean_dwell_s=dwell, initial=init)


@st.composite
def systems(draw):
    name = draw(st.one_of(st.text(max_size=70), st.sampled_from(["all", "cam0", "x" * 64, "x" * 65])))
    fps = draw(odd_floats)
    changes = draw(st.lists(st.builds(lambda t, f: (t, f), odd_floats, st.one_of(st.none(), odd_floats)), max_size=2))
    src_kw = dict(fps=fps, jitter_s=draw(st.one_of(st.just(0.0), odd_floats)),
                  deadline_s=draw(st.one_of(st.just(0.0), odd_floats)), start_s=draw(st.one_of(st.just(0.0), odd_floats)))
    res = draw(st.lists(resource_models(), max_size=3))
    sched = dict(policy=draw(st.sampled_from(["fifo", "edf", "priority", "lifo"])),
                 late=draw(st.sampled_from(["drop", "abort", "finish", "never"])),
                 budget_window_s=draw(odd_floats))
    duration = draw(odd_floats)
    seed = draw(odd_ints)
    cands = draw(st.lists(st.sampled_from(["segformer-b0@128x128", "segformer-b1", "segformer-b9", "", "resnet50@64x64"]),
                          max_size=2))
    gov = draw(st.sampled_from(["static", "greedy", "feedback", "oracle", "nope"]))

    def build():
        source = FrameSource(changes=[At(t, fps=f) for t, f in changes], **src_kw)
        return System(name="p", streams=[Stream(name=name, candidates=cands, source=source, governor=gov)],
                      resources=[r() for r in res], scheduler=Scheduler(**sched), duration_s=duration, seed=seed)

    return build


# ---- properties ----------------------------------------------------------------------------------


@FAST
@given(systems())
def test_any_system_parameters_build_or_fail_clearly(build):
    with time_limit(5, "building a System"):
        system = clear_or_ok(build)
    if system is None:
        return
    assert system.duration_s > 0 and math.isfinite(system.duration_s)
    end_ps = int(round(system.duration_s * PS_PER_S))
    with time_limit(20, "generating resource timelines"):
        tls = clear_or_ok(resource_timelines, system.resources, end_ps, system.seed)
    for tl in (tls or {}).values():
        assert len(tl) <= MAX_CHANGES
        times = [t for t, _ in tl]
        assert all(0 <= t < end_ps for t in times) and times == sorted(set(times))


@st.composite
def valid_resource_models(draw):
    """Models with in-range values (the timeline property needs models that build)."""
    res = draw(st.sampled_from(["pe_share", "clock_scale", "dram_share"]))
    lv = st.floats(min_value=0.01, max_value=1.0)
    t = st.floats(min_value=0.0, max_value=1e4)
    d = st.floats(min_value=1e-6, max_value=100.0)
    kind = draw(st.sampled_from(["piecewise", "periodic", "markov"]))
    if kind == "piecewise":
        return Piecewise(resource=res, points=sorted(draw(st.lists(st.tuples(t, lv), max_size=6))))
    if kind == "periodic":
        return Periodic(resource=res, pattern=draw(st.lists(st.tuples(d, lv), min_size=1, max_size=4)),
                        start_s=draw(t))
    n = draw(st.integers(1, 3))
    return Markov(resource=res, states=draw(st.lists(lv, min_size=n, max_size=n)),
                  mean_dwell_s=draw(st.lists(d, min_size=n, max_size=n)), initial=draw(st.integers(0, n - 1)))


@settings(FAST, deadline=10_000)
@given(valid_resource_models(), st.floats(min_value=1e-3, max_value=3600.0), st.integers(0, 2**63 - 1))
def test_resource_timelines_are_valid(model, duration_s, seed):
    end_ps = int(round(duration_s * PS_PER_S))
    with time_limit(20, "generating a resource timeline"):
        tls = clear_or_ok(resource_timelines, [model], end_ps, seed)
    if tls is None:
        return
    spec = RESOURCES[model.resource]
    for t, v in tls[model.resource]:
        assert 0 <= t < end_ps
        spec.check(v, "timeline")


config_texts = st.one_of(
    st.builds(lambda m, r, kv: m + (f"@{r}" if r else "") + "".join(f"/{k}={v}" for k, v in kv),
              st.sampled_from(MODELS),
              st.one_of(st.none(), st.sampled_from(["512x512", "128x128", "64", "100000x100000", "0x0", "-32x32",
                                                    "32x", "x", "1e3x1e3", "224x224", "4096x4096", "4128x4128"])),
              st.lists(st.tuples(st.sampled_from(["heads", "mlp", "dec", "depth", "width", "blocks", "variant", "zz"]),
                                 st.one_of(st.sampled_from(["1.1.2.4", "0.5", "384", "1", "0", "-1", "nan", "inf",
                                                            "1.2.3", "99999", ""]),
                                           st.text(string.printable, max_size=8))),
                       max_size=3)),
    st.text(max_size=40),
)


workloads.families()  # import the model registry (and torch) once, outside the timed examples


@FAST
@given(config_texts)
def test_config_ids_parse_or_fail_clearly(text):
    with time_limit(5, f"parsing {text!r}"):
        cfg = clear_or_ok(workloads.parse_config, text)
    if cfg is not None:
        again = workloads.parse_config(cfg.id)  # the canonical id parses to itself
        assert again.id == cfg.id


@FAST
@given(st.dictionaries(st.sampled_from(["num_pes", "lanes", "vector_size", "clock_hz", "dram_bandwidth_bytes_per_s",
                                        "global_buffer_bytes", "dram_latency_s", "data_bytes", "technology_nm",
                                        "accum_bits", "nonsense"]), numbers, max_size=4))
def test_preset_fields_load_or_fail_clearly(changes):
    from accelerator.presets import load_preset

    base = load_preset("rt-64pe")
    with time_limit(5, "validating hardware"):
        hw = clear_or_ok(lambda: base.replace(**changes))
    if hw is not None:
        for name in hw.param_names():
            v = getattr(hw, name)
            assert not isinstance(v, float) or math.isfinite(v)


# ---- a few whole runs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("prop-runs")


@SLOW
@given(policy=st.sampled_from(["fifo", "edf", "priority"]), late=st.sampled_from(["drop", "abort", "finish"]),
       skip=st.booleans(), fps=st.floats(min_value=50.0, max_value=4000.0),
       deadline_s=st.one_of(st.just(0.0), st.floats(min_value=1e-5, max_value=0.01)),
       share=st.lists(st.floats(min_value=0.05, max_value=1.0), min_size=1, max_size=3),
       gov=st.sampled_from(["static", "greedy", "feedback", "oracle"]), seed=st.integers(0, 2**63 - 1))
def test_small_runs_give_consistent_traces(out_dir, policy, late, skip, fps, deadline_s, share, gov, seed):
    import traces
    from cosim import simulate

    system = System(name="prop", hardware="rt-64pe", duration_s=0.02, seed=seed,
                    streams=[Stream(name="s", candidates=["segformer-b0@128x128", "segformer-b1@128x128"], governor=gov,
                                    source=FrameSource(fps=fps, deadline_s=deadline_s))],
                    resources=[Piecewise(resource="pe_share", points=[(0.004 * i, v) for i, v in enumerate(share)])],
                    scheduler=Scheduler(policy=policy, late=late, skip_superseded=skip))
    with time_limit(120, "a small co-simulation"):
        res = simulate(system, out_dir / "run.h5", created="2026-01-01T00:00:00Z")
    with traces.open(res.trace_path) as t:
        f, lay = t.frames, t.layers
        assert list(f.groupby("stream").frame.apply(sorted).iloc[0]) == list(range(len(f)))
        ran = f[np.isfinite(f.start_s)]
        assert (ran.end_s >= ran.start_s).all() and (ran.start_s >= ran.arrival_s - 1e-15).all()
        assert not (f.missed & f.dropped).any()
        if len(lay):
            assert (lay.name != "").all() and (lay.end_s >= lay.start_s).all()
            keys = set(zip(lay.stream, lay.frame))
            assert keys <= set(zip(ran.stream, ran.frame))


@settings(FAST, max_examples=40)
@given(duration=st.one_of(st.none(), st.sampled_from(["inf", "-inf", "nan", "0", "-1", "1e7", "1e-300", "1e300", "abc",
                                                      "0.05"]), st.floats().map(repr)),
       seed=st.one_of(st.none(), st.integers().map(str), st.sampled_from([str(2**70), "-5", "1.5", "x"])))
def test_cli_run_numbers_never_give_a_traceback(tmp_path_factory, duration, seed):
    from typer.testing import CliRunner

    import cosim.cli_analysis  # noqa: F401
    import cosim.profiles
    from cosim.cli import app

    class Reached(Exception):
        pass

    def reached(*a, **k):
        raise Reached  # valid input: it got as far as profiling

    d = tmp_path_factory.mktemp("cli")
    s = d / "s.py"
    s.write_text("from cosim import System\nfrom host import *\nsystem = System(duration_s=0.1, streams=["
                 "Stream(name='s', candidates=['segformer-b0@128x128'])])\n")
    args = ["run", str(s), "-o", str(d / "o.h5"), "-q"]
    if duration is not None:
        args += ["--duration", duration]
    if seed is not None:
        args += ["--seed", seed]
    real = cosim.profiles.measure
    cosim.profiles.measure = reached
    try:
        with time_limit(20, "cosim run argument checks"):
            r = CliRunner().invoke(app, args)
    finally:
        cosim.profiles.measure = real
    if isinstance(r.exception, Reached):
        return
    assert r.exit_code == 2, (args, r.output, r.exception)
    assert "Traceback" not in r.output, r.output
