"""Host unit tests: resource timelines, frame sources, governors on profile tables (pure SimPy)."""

import math

import numpy as np
import pytest
import simpy

from host import (At, Candidate, CsvReplay, FrameSource, Markov, Periodic, Piecewise, ProfileTable,
                  ResourceLevel, make_governor, to_ps)
from host.frames import Frame
from host.governors import OBJECTIVES, GovernorView
from host.resources import merged_levels
from vocab.params import ParamError

END = to_ps(10.0)


def test_objectives_match_trace_schema():
    from traces import schema

    assert tuple(OBJECTIVES) == tuple(schema.OBJECTIVES)


def test_piecewise_and_periodic_timelines():
    pw = Piecewise(resource="clock_scale", points=[(0.0, 1.0), (2.0, 0.5), (2.0, 0.6), (5.0, 0.6), (7.0, 1.0)])
    assert pw.timeline(END, None) == [(0, 1.0), (to_ps(2.0), 0.6), (to_ps(7.0), 1.0)]
    per = Periodic(resource="pe_share", pattern=[(1.0, 1.0), (0.5, 0.25)])
    tl = per.timeline(to_ps(3.0), None)
    assert tl[:4] == [(0, 1.0), (to_ps(1.0), 0.25), (to_ps(1.5), 1.0), (to_ps(2.5), 0.25)]


def test_markov_is_seeded_and_in_range():
    m = Markov(resource="pe_share", states=[1.0, 0.5, 0.25], mean_dwell_s=[1.0, 0.5, 0.2])
    a = m.timeline(END, np.random.default_rng(7))
    b = m.timeline(END, np.random.default_rng(7))
    c = m.timeline(END, np.random.default_rng(8))
    assert a == b and a != c
    assert all(v in (1.0, 0.5, 0.25) for _, v in a)
    assert all(t1 < t2 for (t1, _), (t2, _) in zip(a, a[1:]))
    assert all(v1 != v2 for (_, v1), (_, v2) in zip(a, a[1:]))


@pytest.mark.parametrize("kw, field", [
    (dict(resource="pe_share", points=[(0.0, 1.5)]), "pe_share"),
    (dict(resource="pe_share", points=[(0.0, 0.0)]), "pe_share"),
    (dict(resource="bogus", points=[]), "resource"),
    (dict(resource="clock_scale", points=[(3.0, 1.0), (1.0, 0.5)]), "time"),
])
def test_piecewise_bad_input(kw, field):
    with pytest.raises(ParamError, match=field):
        Piecewise(**kw)


def test_csv_replay(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("time_s,value\n0,1.0\n1.5,0.5\n3,0.75\n")
    tl = CsvReplay(resource="dram_share", path=str(p)).timeline(END, None)
    assert tl == [(0, 1.0), (to_ps(1.5), 0.5), (to_ps(3.0), 0.75)]
    with pytest.raises(ParamError, match="no such file"):
        CsvReplay(resource="dram_share", path=str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,value\n0,2.0\n")
    with pytest.raises(ParamError, match="dram_share"):
        CsvReplay(resource="dram_share", path=str(bad))


def test_merged_levels():
    m = merged_levels({"pe_share": [(0, 1.0), (10, 0.5)], "clock_scale": [(5, 0.6)]})
    assert [t for t, _ in m] == [0, 5, 10]
    assert m[-1][1]["pe_share"] == 0.5 and m[-1][1]["clock_scale"] == 0.6


def test_frame_source_rate_change_and_deadlines():
    env = simpy.Environment()
    got: list[Frame] = []
    src = FrameSource(fps=10.0, changes=[At(1.0, fps=20.0)])
    env.process(src.run(env, "s", 0, ("a",), got.append, np.random.default_rng(0), to_ps(2.0)))
    env.run()
    assert len(got) == 10 + 20
    assert got[1].arrival_ps - got[0].arrival_ps == to_ps(0.1)
    assert got[-1].arrival_ps - got[-2].arrival_ps == to_ps(0.05)
    assert all(f.deadline_ps - f.arrival_ps in (to_ps(0.1), to_ps(0.05)) for f in got)
    with pytest.raises(ParamError, match="fps"):
        FrameSource(fps=-1.0)
    with pytest.raises(ParamError, match="jitter"):
        FrameSource(fps=100.0, jitter_s=0.01)


def _profile():
    t = ProfileTable()
    for cfg, lat in (("small", 0.010), ("mid", 0.020), ("big", 0.040)):
        for share in (1.0, 0.5):
            t.add(cfg, ResourceLevel(share, 1.0, 1.0), lat / share, lat * 1.0)
    return t


def _view(slack_s, share=1.0, energy_left=math.inf, acc=(30.0, 40.0, 50.0), future=None):
    cands = [Candidate(config=c, model=c, useful_macs=m, accuracy=a)
             for c, m, a in zip(("small", "mid", "big"), (1, 2, 4), acc)]
    frame = Frame(stream="s", index=0, arrival_ps=0, deadline_ps=to_ps(slack_s))
    obj = "accuracy" if not any(math.isnan(a) for a in acc) else "useful_macs proxy"
    return frame, GovernorView(now_ps=0, frame=frame, candidates=cands, objective=obj,
                               level=ResourceLevel(share, 1.0, 1.0), energy_left_j=energy_left,
                               profile=_profile(), future=future)


def test_greedy_picks_best_that_fits():
    g = make_governor("greedy")
    assert g.choose(*_view(0.05)) == "big"
    assert g.choose(*_view(0.03)) == "mid"
    assert g.choose(*_view(0.05, share=0.5)) == "mid"   # big needs 80 ms at half the PEs
    assert g.choose(*_view(0.001)) == "small"           # nothing fits: the fastest
    assert make_governor("greedy", on_infeasible="drop").choose(*_view(0.001)) is None
    assert g.choose(*_view(0.05, energy_left=0.025)) == "mid"  # big's 40 mJ over budget


def test_unknown_accuracy_uses_declared_proxy():
    frame, view = _view(0.05, acc=(30.0, math.nan, 50.0))
    assert view.objective == "useful_macs proxy"
    assert make_governor("greedy").choose(frame, view) == "big"


def test_feedback_corrects_with_observations():
    g = make_governor("feedback", alpha=1.0)
    assert g.choose(*_view(0.045)) == "big"
    g.observe(None, 0.040, 0.080)  # observed twice the prediction
    assert g.choose(*_view(0.045)) == "mid"


def test_oracle_integrates_future_resources():
    # full resources for 10 ms, then half: big needs 10 ms at full (1/4 done) + 60 ms at half -> 70 ms
    fut = lambda now: [(0, ResourceLevel(1.0, 1.0, 1.0)), (to_ps(0.010), ResourceLevel(0.5, 1.0, 1.0))]
    o = make_governor("oracle")
    frame, view = _view(0.05, future=fut)
    assert o.finish_ps(view.candidates[2], view) == pytest.approx(to_ps(0.070))
    assert o.choose(frame, view) == "mid"  # greedy would pick big (40 ms at the current level)
    assert make_governor("greedy").choose(*_view(0.05)) == "big"


def test_unknown_governor():
    with pytest.raises(ParamError, match="allowed: static, greedy, feedback, oracle"):
        make_governor("nope")


def test_profile_prediction_is_conservative_between_levels():
    t = _profile()
    assert t.predict("big", ResourceLevel(0.75, 1.0, 1.0)) == t.predict("big", ResourceLevel(0.5, 1.0, 1.0))
    lat, _ = t.predict("big", ResourceLevel(0.25, 1.0, 1.0))
    assert lat == pytest.approx(0.080 * 2)


def test_greedy_paces_the_energy_budget_over_the_window():
    frame, view = _view(0.05, energy_left=0.100)
    view.window_left_s = 0.5  # ten more 50 ms frames expected: 10 mJ each
    g = make_governor("greedy")
    assert view.energy_share_j == pytest.approx(0.010)
    assert g.choose(frame, view) == "small"  # 10 mJ fits the paced share, 20 and 40 do not
    assert make_governor("greedy", pace_energy=False).choose(frame, view) == "big"
