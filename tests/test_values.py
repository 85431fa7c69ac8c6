"""Components are values: defaults are not shared, building a Stream does not change it,
and simulating the same System twice (or a replaced copy) gives identical traces."""

from __future__ import annotations

import h5py

from cosim import System, simulate
from host import FeedbackGovernor, FrameSource, Piecewise, Scheduler, Stream

CREATED = "2026-01-01T00:00:00Z"
CANDS = [f"segformer-b{i}@128x128" for i in range(3)]


def tables(p):
    with h5py.File(p, "r") as f:
        return {t: f[t][()].tobytes() for t in ("frames", "layers", "resources", "configs")}


def test_list_defaults_are_not_shared():
    a, b = Piecewise(resource="pe_share"), Piecewise(resource="pe_share")
    a.points.append((0.0, 0.5))
    assert b.points == [] and Piecewise(resource="clock_scale").points == []
    s1, s2 = FrameSource(), FrameSource()
    assert s1.changes is not s2.changes
    x = System(streams=[Stream(name="a", candidates=CANDS)])
    y = System(streams=[Stream(name="b", candidates=CANDS)])
    assert x.resources is not y.resources and x.scheduler is not y.scheduler


def test_building_a_stream_does_not_change_it():
    s = Stream(name="s", candidates=CANDS, governor="feedback")
    assert s.governor == "feedback"
    assert s.replace(priority=1).governor == "feedback"


def _system(governor):
    # every frame starts at full PE share (what the governor predicts with) and loses most of
    # the PEs 0.1 ms later: the feedback governor learns a large correction factor
    period = 1 / 600
    points = [p for i in range(60) for p in ((i * period, 1.0), (i * period + 1e-4, 0.0625))]
    return System(name="v", hardware="rt-64pe", duration_s=0.1, seed=4,
                  streams=[Stream(name="s", candidates=CANDS, source=FrameSource(fps=600.0), governor=governor)],
                  resources=[Piecewise(resource="pe_share", points=points)],
                  scheduler=Scheduler(late="finish"))


def test_same_system_twice_gives_identical_traces(tmp_path):
    for name, gov in (("by_name", "feedback"), ("instance", FeedbackGovernor(alpha=0.9))):
        system = _system(gov)
        a = simulate(system, tmp_path / f"{name}-a.h5", created=CREATED)
        b = simulate(system, tmp_path / f"{name}-b.h5", created=CREATED)
        c = simulate(system.replace(name="v2"), tmp_path / f"{name}-c.h5", created=CREATED)
        ta = tables(a.trace_path)
        assert tables(b.trace_path) == ta, name
        assert tables(c.trace_path) == ta, name
