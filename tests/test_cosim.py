"""Co-simulation: exact time synchronisation, resource changes, determinism, crash safety,
governor ordering on the default scenario, and clear errors for broken scenarios."""

import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import traces
import workloads
from accelerator.model import Accelerator
from accelerator.presets import load_preset
from cosim import System, simulate
from cosim.scenario import ScenarioError, load
from host import FrameSource, Piecewise, Stream, to_ps
from interrupt import interrupt_group

HW = "rt-64pe"
SMALL = "segformer-b0@128x128"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_system(**kw):
    base = dict(name="t", hardware=HW, duration_s=0.5, seed=5,
                streams=[Stream(name="s", candidates=[SMALL], source=FrameSource(fps=20.0), governor="static")])
    base.update(kw)
    return System(**base)


def standalone(config_id, **resources):
    acc = Accelerator.for_process(load_preset(HW))
    cfg = workloads.parse_config(config_id)
    wl = workloads.lower(cfg)
    acc.set_resources(**resources) if resources else None
    try:
        return acc.run(acc.load(wl, config=cfg.id))
    finally:
        acc.set_resources(clock_hz=acc.hw.clock_hz, active_pes=acc.hw.num_pes, dram_share=1.0)


def test_request_completes_at_t_plus_standalone_latency(tmp_path):
    res = simulate(small_system(), tmp_path / "a.h5", created="2026-01-01T00:00:00Z")
    lat_ps = to_ps(standalone(SMALL).latency_s)
    with traces.open(res.trace_path) as tr:
        f = tr.frames
    assert len(f) == 10 and not f.dropped.any()
    for _, r in f.iterrows():
        assert to_ps(r.start_s) == to_ps(r.arrival_s)  # idle accelerator: starts on arrival
        assert to_ps(r.end_s) - to_ps(r.start_s) == lat_ps  # to the picosecond


def test_resource_change_takes_effect_at_its_time(tmp_path):
    full = standalone(SMALL)
    half = standalone(SMALL, active_pes=load_preset(HW).num_pes // 2)
    assert half.latency_s > full.latency_s
    # the first frame starts at 0; halve the PEs in the middle of its inference
    t_change = full.latency_s / 2
    sysm = small_system(duration_s=0.05, resources=[Piecewise(resource="pe_share", points=[(0.0, 1.0), (t_change, 0.5)])])
    res = simulate(sysm, tmp_path / "b.h5", created="2026-01-01T00:00:00Z")
    with traces.open(res.trace_path) as tr:
        lay = tr.layers[tr.layers.frame == 0]
        rs = tr.resources
    assert ((rs.resource == "pe_share") & (rs.value == 0.5) & (np.isclose(rs.time_s, t_change))).any()
    dur = (lay.end_s - lay.start_s).to_numpy()
    full_d = (full.counter("end_ps") - full.counter("start_ps")) * 1e-12
    half_d = (half.counter("end_ps") - half.counter("start_ps")) * 1e-12
    before = (lay.end_s <= t_change).to_numpy()
    after = (lay.start_s >= t_change).to_numpy()
    assert before.any() and after.any()
    np.testing.assert_allclose(dur[before], full_d[before], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dur[after], half_d[after], rtol=0, atol=1e-12)
    # the frame as a whole took longer than at full resources, less than at half
    f0 = (lay.end_s.max() - lay.start_s.min())
    assert full.latency_s < f0 < half.latency_s


def test_same_seed_same_bytes_and_cache_does_not_matter(tmp_path, monkeypatch):
    from cosim import scenario

    system, src = load("default")
    kw = dict(duration_s=1.5, created="2026-01-01T00:00:00Z", scenario_source=src)
    a = simulate(system, tmp_path / "a.h5", **kw)
    b = simulate(system, tmp_path / "b.h5", use_profile_cache=False, **kw)
    c = simulate(system, tmp_path / "c.h5", seed=99, **kw)

    def raw(p):
        with h5py.File(p, "r") as f:
            return f["frames"][()].tobytes(), f["layers"][()].tobytes()

    assert raw(a.trace_path) == raw(b.trace_path)
    assert raw(a.trace_path)[0] != raw(c.trace_path)[0]


def _frames_on_disk(path) -> int:
    try:
        with traces.open(path) as tr:
            return len(tr.frames)
    except Exception:  # not there yet, or not readable yet
        return 0


def test_killed_run_leaves_a_readable_trace(tmp_path):
    out = tmp_path / "killed.h5"
    code = textwrap.dedent(f"""
        from cosim.scenario import load
        from cosim import simulate
        system, src = load("default")
        simulate(system, {str(out)!r}, duration_s=3600.0, scenario_source=src)
    """)  # an hour: with reuse a minute of it takes about a second, and the kill must find it running
    n = [0]

    def ready() -> bool:
        n[0] = _frames_on_disk(out)
        return n[0] >= 20

    interrupt_group([sys.executable, "-c", code], ready, signal.SIGKILL, ROOT)
    with traces.open(out) as tr:
        f = tr.frames
        assert len(f) >= n[0] >= 20
        assert list(f.frame) == list(range(len(f)))  # every flushed frame, in order
        assert tr.meta["complete"] is False or not tr.meta["complete"]


def test_ctrl_c_on_cosim_run_keeps_the_trace_and_says_where(tmp_path):
    """Ctrl-C (SIGINT to the process group) during `cosim run`: exit 130, one line naming the
    trace, and the trace keeps the frames written so far, marked incomplete."""
    out = tmp_path / "interrupted.h5"
    rc, err = interrupt_group([sys.executable, "-m", "cosim", "run", "--duration", "3600", "-o", str(out)],
                              lambda: _frames_on_disk(out) >= 20, signal.SIGINT, ROOT)
    assert rc == 130
    # (the last line: a first run also says what it lowers, compiles and profiles)
    assert err.strip().splitlines()[-1] == f"interrupted: {out} keeps every frame written so far (marked incomplete)"
    with traces.open(out) as tr:
        assert len(tr.frames) >= 20 and not tr.meta["complete"]


def test_governors_on_default_scenario(tmp_path):
    system, src = load("default")
    largest = "segformer-b4@512x512"
    miss = {}
    for name, gov in (("greedy", "greedy"), ("oracle", "oracle"), ("static", make_static(largest))):
        s = system.replace(streams=[system.streams[0].replace(governor=gov)])
        r = simulate(s, tmp_path / f"{name}.h5", duration_s=14.0, created="2026-01-01T00:00:00Z")
        row = r.summary[r.summary.stream == "all"].iloc[0]
        miss[name] = row.miss_rate
    assert miss["greedy"] < miss["static"]
    assert miss["oracle"] <= miss["greedy"]


def make_static(config):
    from host import make_governor

    return make_governor("static", config=config)


@pytest.mark.parametrize("body, match", [
    ("Stream(name='s', candidates=['segformer-b9'])", "unknown model|variant"),
    ("Stream(name='s', candidates=['segformer-b0'], source=FrameSource(fps=-5.0))", "fps"),
    ("Stream(name='s', candidates=['segformer-b0'])], resources=[Piecewise(resource='pe_share', points=[(0.0, 1.5)])", "pe_share"),
    ("Stream(name='s', candidates=['segformer-b0'])], resources=[CsvReplay(resource='clock_scale', path='/nonexistent.csv')", "no such file"),
])
def test_broken_scenario_stops_before_simulating(tmp_path, body, match):
    script = tmp_path / "broken.py"
    script.write_text(textwrap.dedent(f"""
        from cosim import System
        from host import *
        system = System(streams=[{body}], duration_s=1.0)
    """))
    out = tmp_path / "out.h5"
    r = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(script), "-o", str(out), "-q"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    import re
    assert re.search(match, r.stderr), r.stderr
    assert not out.exists()


def test_scenario_must_build_a_system(tmp_path):
    p = tmp_path / "empty.py"
    p.write_text("x = 1\n")
    with pytest.raises(ScenarioError, match="System"):
        load(str(p))
    with pytest.raises(ScenarioError, match="built-in scenario"):
        load("no-such-scenario")
