"""Preemptive scheduling of the one accelerator (issue 22): preemptive EDF and preemptive priority
on the co-simulation (SimPy host + SystemC model), against their non-preemptive forms."""

import numpy as np
import pytest
from process_model import run_alone

import traces
from traces import tenancy
from traces.chrome import chrome_events
from traces.summary import summary_dict
from cosim import System, simulate
from host import FrameSource, Scheduler, Stream
from vocab.params import ParamError

HW = "rt-64pe"
SHORT = "segformer-b0@128x128"
LONG = "segformer-b0@512x512"
CREATED = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def lat():
    """Standalone latencies (s) of SHORT and LONG at full resources."""
    out = {c: run_alone(HW, c).latency_s for c in (SHORT, LONG)}
    assert out[LONG] > 6 * out[SHORT]
    return out


def run(tmp_path, name, scheduler, streams, duration_s):
    system = System(name=name, hardware=HW, duration_s=duration_s, seed=5, streams=streams, scheduler=scheduler)
    res = simulate(system, tmp_path / f"{name}.h5", created=CREATED)
    with traces.open(res.trace_path) as tr:
        if scheduler.tenants:  # the multi-tenant metrics hold what they define
            m = tenancy.metrics(tr).set_index("stream")
            assert (m.antt.dropna() >= 1 - 1e-9).all()  # no frame turns around faster than alone
            # (NaN: no frame of the stream completed, e.g. one KILL starves)
            assert ((m.stp <= m.completed + 1e-9) | m.stp.isna()).all()
            f, lay = tr.frames, tr.layers
            assert m.preemptions["all"] == f.preemptions.sum()
            # a completed frame's layers hold each of its preemptions (an aborted one's unfinished
            # layer is not stored)
            done = f[~f.dropped.astype(bool) & f.end_s.notna()].set_index(["stream", "frame"]).preemptions
            per = lay.groupby(["stream", "frame"]).c_preemptions.sum().reindex(done.index, fill_value=0)
            assert (per == done).all()
            assert summary_dict(tr)["tenancy"]["all"]["preemptions"] == m.preemptions["all"]
            # the Chrome/Perfetto export names preempted frames and gives their count
            marked = [e for e in chrome_events(tr, layers=False) if e["ph"] == "X" and "preempted x" in e["name"]]
            assert sum(e["args"]["preemptions"] for e in marked) == 2 * m.preemptions["all"]  # host + accelerator
        return tr.frames.copy(), tr.layers.copy()


def edf_case(lat):
    """One long frame with a loose deadline; a short frame arrives while it runs, with a deadline
    the long frame's remaining time would break."""
    L, S = lat[LONG], lat[SHORT]
    return [
        Stream(name="long", candidates=[LONG], governor="static", source=FrameSource(fps=1.0, deadline_s=3 * L)),
        Stream(name="short", candidates=[SHORT], governor="static",
               source=FrameSource(fps=1.0, start_s=0.3 * L, deadline_s=3 * S)),
    ], 2 * L


def test_non_preemptive_edf_misses(tmp_path, lat):
    streams, dur = edf_case(lat)
    f_np, _ = run(tmp_path, "np", Scheduler(policy="edf", late="finish"), streams, dur)
    assert len(f_np) == 2 and f_np.missed.sum() == 1  # the short frame waits for the long one
    assert bool(f_np.set_index("stream").missed["short"])


@pytest.mark.parametrize("mechanism", ["checkpoint", pytest.param("kill", marks=pytest.mark.slow),
                                       pytest.param("drain", marks=pytest.mark.slow)])
def test_preemptive_edf_meets_every_deadline_where_non_preemptive_edf_misses(tmp_path, lat, mechanism):
    streams, dur = edf_case(lat)
    f_p, lay = run(tmp_path, f"p-{mechanism}", Scheduler(policy="edf", late="finish", preemption="tile",
                                                         mechanism=mechanism), streams, dur)
    assert len(f_p) == 2 and not f_p.missed.any() and not f_p.dropped.any()
    assert f_p.end_s.notna().all()  # both ran to the end
    assert int(lay[lay.stream == "long"].c_preemptions.sum()) == 1
    if mechanism != "checkpoint":  # kill and drain save nothing
        assert lay.c_preempt_spill_bytes.sum() + lay.c_preempt_restore_bytes.sum() == 0
    else:
        assert lay.c_preempt_restore_bytes.sum() > 0 and lay.energy_preemption_j.sum() > 0
    if mechanism == "kill":
        assert lay[lay.stream == "long"].c_preempt_discarded_macs.sum() > 0
    # the short frame took the accelerator within a layer (drain) or a tile of its arrival
    fs = f_p.set_index("stream")
    assert fs.start_s["short"] < fs.arrival_s["short"] + lat[SHORT]


def priority_streams(lat):
    L, S = lat[LONG], lat[SHORT]
    return [
        Stream(name="lo", candidates=[LONG], governor="static", priority=0,
               source=FrameSource(fps=1.0 / (1.5 * L), deadline_s=20 * L)),
        Stream(name="mid", candidates=[SHORT], governor="static", priority=1,
               source=FrameSource(fps=1.0 / (2.5 * S), start_s=0.11 * L, deadline_s=40 * S)),
        Stream(name="hi", candidates=[SHORT], governor="static", priority=2,
               source=FrameSource(fps=1.0 / (7 * S), start_s=0.2 * L, deadline_s=40 * S)),
    ], 4 * L


def inversions(frames, layers):
    """Layers of a lower-priority frame that began while a higher-priority frame waited or ran."""
    prio = {"lo": 0, "mid": 1, "hi": 2}
    bad = 0
    for _, h in frames[np.isfinite(frames.end_s)].iterrows():
        lower = layers[layers.stream.map(prio) < prio[h.stream]]
        bad += int(((lower.start_s > h.arrival_s) & (lower.start_s < h.end_s)).sum())
    return bad


def test_without_preemption_a_lower_priority_frame_holds_the_accelerator(tmp_path, lat):
    streams, dur = priority_streams(lat)
    f0, lay0 = run(tmp_path, "np", Scheduler(policy="priority", late="finish"), streams, dur)
    assert inversions(f0, lay0) > 0  # the check below can fail


@pytest.mark.parametrize("preemption,mechanism", [
    ("tile", "checkpoint"), pytest.param("layer", "checkpoint", marks=pytest.mark.slow),
    pytest.param("tile", "drain", marks=pytest.mark.slow), pytest.param("tile", "kill", marks=pytest.mark.slow)])
def test_priority_inversion_is_impossible_under_preemptive_priority(tmp_path, lat, preemption, mechanism):
    streams, dur = priority_streams(lat)
    f, lay = run(tmp_path, "pp", Scheduler(policy="priority", late="finish", preemption=preemption,
                                          mechanism=mechanism), streams, dur)
    assert len(f) > 10 and inversions(f, lay) == 0
    assert lay.c_preemptions.sum() > 0


@pytest.mark.slow
def test_prema_token_policy_runs_and_preempts(tmp_path, lat):
    streams, dur = priority_streams(lat)
    f, lay = run(tmp_path, "prema", Scheduler(policy="prema", late="finish", preemption="tile"), streams, dur)
    assert len(f) > 10 and f.end_s.notna().sum() > 10  # (overloaded: frames queued at the end are dropped)
    assert lay.c_preemptions.sum() > 0


def test_preemption_needs_a_ranking_policy():
    with pytest.raises(ParamError, match="preemption"):
        Scheduler(policy="fifo", preemption="tile")
    with pytest.raises(ParamError, match="mechanism"):
        Scheduler(policy="edf", preemption="tile", mechanism="pause")


@pytest.mark.slow
def test_multi_tenant_trace_is_the_same_in_both_sync_modes(tmp_path):
    """Preemptions, spills and restores are decided at the same instants with one kernel activation
    per tile (the reference mode) as with temporal decoupling: the traces are equal, bit for bit."""
    import h5py

    from cosim import scenario as scen

    system, source = scen.load("multi_tenant")
    got = []
    for sync in ("decoupled", "tile"):
        res = simulate(system, tmp_path / f"{sync}.h5", created=CREATED, duration_s=1.0, sync=sync)
        with h5py.File(res.trace_path, "r") as f:
            got.append({t: f[t][()].tobytes() for t in ("frames", "layers", "resources", "configs")})
    assert got[0] == got[1]
    with traces.open(tmp_path / "tile.h5") as tr:
        assert tr.frames.preemptions.sum() > 0
