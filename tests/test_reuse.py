"""Exact reuse of inference results (cosim/reuse.py): the trace is the same, byte for byte, as
when every inference is simulated (reuse off, the reference), on shipped scenarios and on
randomised timelines with many resource changes inside single inferences, changes at the very
instant of a submit, aborts and several streams; and reuse does happen (else these would prove
nothing)."""

import glob
import os

import h5py
import numpy as np
import pytest

from cosim import System, simulate
from cosim.reuse import allowed
from cosim.scenario import load
from host import FrameSource, Markov, Piecewise, Scheduler, Stream

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "scenarios", "[!_]*.py")))
TABLES = ("frames", "layers", "resources", "configs")
CREATED = "2026-01-01T00:00:00Z"


def _tables(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in TABLES}


def _both(system, tmp_path, **kw):
    """Run with and without reuse; assert identical tables; return (tables, inferences reused)."""
    on = simulate(system, tmp_path / "on.h5", created=CREATED, reuse=True, **kw)
    off = simulate(system, tmp_path / "off.h5", created=CREATED, reuse=False, **kw)
    assert off.reused == 0
    ta, tb = _tables(on.trace_path), _tables(off.trace_path)
    for name in TABLES:
        assert ta[name].dtype == tb[name].dtype and ta[name].tobytes() == tb[name].tobytes(), name
    return ta, on.reused


@pytest.mark.parametrize("name", ["default"])
def test_shipped_scenarios_are_identical_with_reuse(name, tmp_path):
    system, source = load(name)
    t, reused = _both(system, tmp_path, duration_s=min(system.duration_s, 3.0), scenario_source=source)
    assert len(t["frames"]) > 10 and len(t["layers"]) > 100
    assert reused > len(t["frames"]) // 3  # steady phases: most inferences are reused


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_in_full_is_identical_with_reuse(name, tmp_path):
    system, source = load(name)
    t, reused = _both(system, tmp_path, scenario_source=source)
    # reuse is off by design where inferences share the model (preemption, several in flight):
    # there it must not happen at all; everywhere else it must (else this would prove nothing)
    assert reused > 0 if allowed(system) else reused == 0


def _random_system(seed: int, duration_s: float = 0.4) -> System:
    rng = np.random.default_rng(seed)
    # bursts of resource changes every ~0.3-3 ms (many inside one inference: B0/B1 take ms) with
    # quiet gaps of tens of ms between bursts (where reuse happens)
    pts, t = [], 0.0
    while t < duration_s:
        t += float(rng.uniform(0.02, 0.08))  # quiet gap
        for _ in range(int(rng.integers(1, 12))):
            t += float(rng.uniform(3e-4, 3e-3))
            pts.append((t, float(rng.choice([1.0, 0.75, 0.5, 0.25]))))
    # clock changes on the frame grid of stream a: at the very instant of a submit
    fps_a = float(rng.choice([50.0, 100.0, 125.0]))
    clock = [(k / fps_a, float(rng.choice([1.0, 0.8]))) for k in sorted(rng.choice(int(duration_s * fps_a), 6, replace=False))]
    late = str(rng.choice(["drop", "abort", "finish"]))
    return System(
        name=f"rand{seed}", hardware="rt-64pe", duration_s=duration_s, seed=seed,
        streams=[
            Stream(name="a", candidates=["segformer-b0@256x256", "segformer-b1@256x256"],
                   source=FrameSource(fps=fps_a), governor="greedy"),
            Stream(name="b", candidates=["segformer-b0@128x128"],
                   source=FrameSource(fps=float(rng.integers(20, 90)), jitter_s=float(rng.uniform(0, 2e-3)),
                                      deadline_s=float(rng.uniform(2e-3, 2e-2))), governor="static"),
        ],
        resources=[Piecewise(resource="pe_share", points=[(0.0, 1.0)] + pts),
                   Piecewise(resource="clock_scale", points=[(0.0, 1.0)] + clock),
                   Markov(resource="dram_share", states=[1.0, 0.5], mean_dwell_s=[0.1, 0.02])],
        scheduler=Scheduler(policy=str(rng.choice(["edf", "fifo"])), late=late),
    )


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_randomised_timelines_are_identical_with_reuse(seed, tmp_path):
    t, reused = _both(_random_system(seed), tmp_path)
    assert reused > 0 and len(t["frames"]) > 20


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20, 40))
def test_many_randomised_timelines_are_identical_with_reuse(seed, tmp_path):
    t, reused = _both(_random_system(seed, duration_s=1.0), tmp_path)
    assert reused > 0


def test_aborts_inside_inferences_are_simulated_not_reused(tmp_path):
    # deadlines shorter than B1's latency: every B1 frame is aborted at its deadline, which
    # falls inside the inference, so none of them can be reused; B0 frames finish and repeat
    system = System(
        name="aborts", hardware="rt-64pe", duration_s=0.5, seed=3,
        streams=[Stream(name="a", candidates=["segformer-b1@512x512"],
                        source=FrameSource(fps=40.0, deadline_s=1e-3), governor="static"),
                 Stream(name="b", candidates=["segformer-b0@128x128"], source=FrameSource(fps=30.0),
                        governor="static")],
        scheduler=Scheduler(policy="fifo", late="abort"),
    )
    t, reused = _both(system, tmp_path)
    fr = t["frames"]
    a = fr[fr["stream"] == b"a"]
    assert len(a) > 5 and a["dropped"].all()  # every B1 frame aborted ...
    assert 0 < reused < len(fr) - len(a)        # ... and reuse happened only among B0 frames


def test_reuse_is_off_where_several_inferences_can_share_the_accelerator():
    system, _ = load("default")
    assert allowed(system)

    class Sched:
        preemption = "checkpoint"

    class Sys:
        scheduler = Sched()

    assert not allowed(Sys())
    Sched.preemption, Sys.max_inflight = "none", 2
    assert not allowed(Sys())
    Sys.max_inflight = 1
    assert allowed(Sys())


def test_cli_reuse_off_gives_the_same_trace(tmp_path):
    from typer.testing import CliRunner

    from cosim.cli import app

    runner = CliRunner()
    for mode in ("on", "off"):
        r = runner.invoke(app, ["run", "--duration", "1", "-q", "--reuse", mode, "-o", str(tmp_path / f"{mode}.h5")])
        assert r.exit_code == 0, r.output
    ta, tb = _tables(tmp_path / "on.h5"), _tables(tmp_path / "off.h5")
    assert all(ta[t].tobytes() == tb[t].tobytes() for t in ("frames", "layers", "resources"))
    r = runner.invoke(app, ["run", "--reuse", "sometimes"])
    assert r.exit_code != 0 and "--reuse" in r.output and "Traceback" not in r.output
