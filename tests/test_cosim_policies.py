"""Co-simulation under every late-work and queue policy, and with CsvReplay resources:
each run completes, and its trace is consistent (frames, their layers, resources)."""

import math

import numpy as np
import pytest
from process_model import run_alone

import traces
from cosim import System, simulate
from host import CsvReplay, FrameSource, Scheduler, Stream, to_ps

HW = "rt-64pe"
SMALL = "segformer-b0@128x128"
CREATED = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def latency_s():
    """Standalone latency and layer count of SMALL at full resources."""
    r = run_alone(HW, SMALL)
    return r.latency_s, r.n_layers


def run(tmp_path, name, *, scheduler, streams=None, duration_s=0.2, resources=(), fps=20.0, deadline_s=0.0):
    streams = streams or [Stream(name="s", candidates=[SMALL], governor="static",
                                 source=FrameSource(fps=fps, deadline_s=deadline_s))]
    system = System(name=name, hardware=HW, duration_s=duration_s, seed=3, streams=streams,
                    resources=list(resources), scheduler=scheduler)
    res = simulate(system, tmp_path / f"{name}.h5", created=CREATED)
    tr = traces.open(res.trace_path)
    return res, tr


def check_layers_inside_frames(tr):
    f, lay = tr.frames, tr.layers
    ran = f[np.isfinite(f.start_s)].set_index(["stream", "frame"])
    for (s, n), g in lay.groupby(["stream", "frame"]):
        r = ran.loc[(s, n)]
        assert list(g.layer) == list(range(len(g)))  # no gaps, no invented rows
        assert g.start_s.min() >= r.start_s - 1e-12 and g.end_s.max() <= r.end_s + 1e-12
        assert (g.end_s >= g.start_s).all()
    # every layer row belongs to a frame that ran
    keys = set(map(tuple, lay[["stream", "frame"]].drop_duplicates().to_numpy().tolist()))
    assert keys <= set(ran.index.tolist())


def test_late_abort_records_only_the_layers_reached(tmp_path, latency_s):
    lat, n_layers = latency_s
    # deadline at half the inference: every frame is aborted part-way
    res, tr = run(tmp_path, "abort", scheduler=Scheduler(late="abort"), deadline_s=lat / 2)
    with tr:
        f = tr.frames
        assert len(f) == 4
        assert f.dropped.all() and not f.missed.any() and f.accuracy.isna().all()
        assert np.all(np.isfinite(f.end_s))
        np.testing.assert_allclose(f.end_s - f.start_s, lat / 2, atol=lat * 0.2)  # stops at a tile boundary
        lay = tr.layers
        per = lay.groupby("frame").size()
        assert len(per) == 4 and (per > 0).all() and (per < n_layers).all()
        check_layers_inside_frames(tr)


def test_late_finish_runs_late_frames_to_the_end(tmp_path, latency_s):
    lat, n_layers = latency_s
    res, tr = run(tmp_path, "finish", scheduler=Scheduler(late="finish"), deadline_s=lat / 2)
    with tr:
        f = tr.frames
        assert len(f) == 4 and not f.dropped.any() and f.missed.all()
        np.testing.assert_allclose(f.latency_s, lat, rtol=0.02)  # ran to the end, late
        assert (tr.layers.groupby("frame").size() == n_layers).all()
        check_layers_inside_frames(tr)


def test_skip_superseded_drops_queued_frames_only(tmp_path, latency_s):
    lat, _ = latency_s
    fps = 3.5 / lat  # frames arrive 3.5x faster than they run: the queue would grow without bound
    res, tr = run(tmp_path, "skip", scheduler=Scheduler(policy="fifo", late="finish", skip_superseded=True),
                  fps=fps, duration_s=20 * lat)
    with tr:
        f = tr.frames
        assert len(f) >= 60
        dropped = f[f.dropped]
        assert len(dropped) > len(f) / 2
        assert dropped.start_s.isna().all()  # superseded frames never started
        ran = f[~f.dropped]
        assert (np.diff(ran.frame.to_numpy()) > 1).any()  # the ones it ran skip over superseded frames
        check_layers_inside_frames(tr)


def test_fifo_serves_in_arrival_order(tmp_path, latency_s):
    lat, _ = latency_s
    streams = [Stream(name="a", candidates=[SMALL], governor="static", priority=0,
                      source=FrameSource(fps=1 / (3 * lat), deadline_s=1.0)),
               Stream(name="b", candidates=[SMALL], governor="static", priority=5,
                      source=FrameSource(fps=1 / (3 * lat), start_s=lat / 3, deadline_s=0.5))]
    res, tr = run(tmp_path, "fifo", scheduler=Scheduler(policy="fifo", late="finish"), streams=streams,
                  duration_s=12 * lat)
    with tr:
        f = tr.frames[~tr.frames.dropped].sort_values("start_s")
        assert len(f) >= 8 and set(f.stream) == {"a", "b"}
        assert (np.diff(f.arrival_s.to_numpy()) >= 0).all()  # started in arrival order
        check_layers_inside_frames(tr)


def test_csv_replay_applies_its_levels_at_their_times(tmp_path):
    csv = tmp_path / "tenant.csv"
    csv.write_text("time_s,value\n0.0,1.0\n0.05,0.5\n0.12,0.25\n0.5,1.0\n")
    res, tr = run(tmp_path, "csv", scheduler=Scheduler(), duration_s=0.2,
                  resources=[CsvReplay(resource="pe_share", path=str(csv))])
    with tr:
        r = tr.resources[tr.resources.resource == "pe_share"]
        assert [(to_ps(t), v) for t, v in zip(r.time_s, r.value)] == [(0, 1.0), (to_ps(0.05), 0.5), (to_ps(0.12), 0.25)]
        f = tr.frames
        assert len(f) == 4 and math.isclose(f.arrival_s.iloc[1], 0.05)
        # less of the PE array after 0.05 s: later frames take longer than the first one
        assert f.latency_s.iloc[1] > f.latency_s.iloc[0] and f.latency_s.iloc[3] > f.latency_s.iloc[1]
        check_layers_inside_frames(tr)
