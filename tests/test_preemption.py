"""Preemption in the SystemC model (issue 22): KILL, CHECKPOINT and DRAIN at tile and layer
boundaries, through `accelerator.model.Accelerator` (PREMA's mechanisms, Choi and Rhu, HPCA 2020).

A preempted-and-resumed inference does exactly the work of an uninterrupted one: every counter of
the uninterrupted run is equal, and what preemption adds is only in the ``preempt_*`` counters."""

import numpy as np
import pytest
from process_model import model_fixtures
from test_energy import PREEMPTION_PRICES

from accelerator.counters import COUNTER_INDEX as CI
from accelerator.params import ParamError
from accelerator.presets import load_preset
from accelerator.counters import TENANCY_COUNTERS
from workloads.ir import Layer, Workload

HW = load_preset("simba-like")
# the counters of the work itself: equal between an uninterrupted and a checkpointed run
WORK = [n for n in CI if n not in TENANCY_COUNTERS and n not in ("start_ps", "end_ps", "cycles", "stall_dram_ps")]


def victim():
    """Layers with a tiled reduction (partial sums live between tiles) and PPU layers."""
    L = [
        Layer("fc0", "linear", C=1024, K=512, H=64, W=1, P=64, Q=1),  # C in tiles of 4: partial sums
        Layer("ln", "layernorm", elements=1024 * 512, in_elements=1024 * 512),
        Layer("fc1", "linear", C=512, K=2048, H=1024, W=1, P=1024, Q=1),
        Layer("conv", "conv", C=256, K=256, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1),
        Layer("gelu", "gelu", elements=256 * 1024, in_elements=256 * 1024),
        Layer("fc2", "linear", C=2048, K=256, H=64, W=1, P=64, Q=1),
    ]
    return Workload("synthetic", "preempt-victim", (32, 32), L)


def intruder():
    L = [Layer("fc", "linear", C=256, K=256, H=256, W=1, P=256, Q=1)]
    return Workload("synthetic", "preempt-intruder", (16, 16), L)


acc, full_model = model_fixtures(HW)  # each test: the process's model at full resources, decoupled


@pytest.fixture(scope="module")
def ref(acc):
    return acc.run(acc.load(victim()), tag="ref")


def run_to(acc, tag):
    """Advance until `tag` has a completion; returns it."""
    while True:
        for c in acc.run_until(acc.now_ps() + 10**15):
            if c.tag == tag:
                return c


def preempted(acc, ref, frac, mech, gran):
    """Run the victim, preempt it at `frac` of its uninterrupted latency for the intruder, resume it.
    Returns (its result, the preemption's completion, request time relative to its start)."""
    hv, hi = acc.load(victim()), acc.load(intruder())
    t0 = acc.now_ps()
    acc.submit(hv, "v")
    t_req = int(frac * (ref.end_ps - ref.start_ps))
    assert acc.run_until(t0 + t_req) == []
    acc.submit(hi, "i")
    assert acc.preempt(mech, gran)
    stop = run_to(acc, "v")
    assert stop.preempted and not stop.aborted
    run_to(acc, "i")  # the intruder runs in between
    acc.resume("v")
    end = run_to(acc, "v")
    assert not end.preempted and not end.aborted
    acc.forget("i")
    return acc.result("v", keep=False), stop, t0, t_req


def work(r):
    return {n: int(r.counter(n).sum()) for n in WORK}


@pytest.mark.parametrize("gran", ["tile", "layer"])
def test_checkpoint_resume_does_exactly_the_work_of_an_uninterrupted_run(acc, ref, gran):
    spilled = 0
    # fc0 and fc2 (1.9 % of the time each) tile the reduction; in the last layer there is no layer
    # boundary left (test_no_boundary_left_means_it_finishes)
    for frac in (0.01, 0.37, 0.88) + ((0.99,) if gran == "tile" else ()):
        r, stop, t0, t_req = preempted(acc, ref, frac, "checkpoint", gran)
        assert work(r) == work(ref)  # MACs, tiles, every byte of the work: equal
        assert r.layers_done == ref.n_layers
        assert int(r.counter("preemptions").sum()) == 1
        spill, restore = int(r.counter("preempt_spill_bytes").sum()), int(r.counter("preempt_restore_bytes").sum())
        if gran == "layer":  # nothing is live on chip at a layer boundary: every output is in DRAM
            assert spill == restore == 0
        else:
            assert restore > 0  # at least the operand tiles of the PE buffers come back
        spilled += spill
        # the overhead is its own energy component, at the per-action energies of the model
        pj = acc.energy_model.pj
        want = sum(int(r.counter(c).sum()) * pj[a] for c, a in PREEMPTION_PRICES) * 1e-12
        assert r.energy_by_component["preemption"] == pytest.approx(want, rel=1e-12)
        assert (want > 0) == (gran == "tile")
        # it stopped no earlier than asked, and took longer than alone
        assert stop.end_ps >= t0 + t_req
        assert r.end_ps - r.start_ps > ref.end_ps - ref.start_ps
    if gran == "tile":
        assert spilled > 0  # some stop fell inside a reduction: partial sums went to DRAM and back


def test_no_boundary_left_means_it_finishes(acc, ref):
    acc.submit(acc.load(victim()), "v")
    t0 = acc.now_ps()
    assert acc.run_until(t0 + int(0.99 * (ref.end_ps - ref.start_ps))) == []
    acc.submit(acc.load(intruder()), "i")
    assert acc.preempt("checkpoint", "layer")
    c = run_to(acc, "v")
    assert not c.preempted and c.end_ps - c.start_ps == ref.end_ps - ref.start_ps
    run_to(acc, "i")
    acc.forget("i")
    acc.forget("v")


def test_kill_redoes_the_work(acc, ref):
    r, stop, t0, t_req = preempted(acc, ref, 0.5, "kill", "tile")
    lost = int(r.counter("preempt_discarded_macs").sum())
    assert lost > 0
    assert r.macs == ref.macs + lost  # the killed work, then all of it again
    assert int(r.counter("preempt_spill_bytes").sum()) == int(r.counter("preempt_restore_bytes").sum()) == 0
    assert stop.end_ps == t0 + t_req or stop.end_ps > t0 + t_req  # at the next tile boundary, no spill
    assert r.layers_done == ref.n_layers


def test_drain_finishes_the_layer_first(acc, ref):
    for frac in (0.2, 0.55):
        r, stop, t0, t_req = preempted(acc, ref, frac, "drain", "tile")
        rel = t_req + (ref.start_ps - ref.submit_ps)
        starts = ref.counter("start_ps") - ref.submit_ps
        ends = ref.counter("end_ps") - ref.submit_ps
        k = int(np.nonzero((starts <= rel) & (rel < ends))[0][0])  # the layer in flight when asked
        assert stop.end_ps - t0 == ends[k]  # it stopped exactly when that layer ended alone
        assert work(r) == work(ref)
        assert int(r.counter("preempt_spill_bytes").sum()) == int(r.counter("preempt_restore_bytes").sum()) == 0


def test_preemption_is_the_same_in_both_sync_modes(acc, ref):
    got = {}
    for mode in ("decoupled", "tile"):
        acc.sync = mode
        r, stop, t0, _ = preempted(acc, ref, 0.42, "checkpoint", "tile")
        c = r.counters.copy()
        c[:, [CI["start_ps"], CI["end_ps"]]] -= t0  # absolute times: relative to the submission
        got[mode] = (c, r.start_ps - t0, r.end_ps - t0, stop.end_ps - t0)
    a, b = got["decoupled"], got["tile"]
    assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]


def test_bad_preemption_arguments_are_one_clear_error(acc):
    with pytest.raises(ParamError, match="mechanism"):
        acc.preempt("pause", "tile")
    with pytest.raises(ParamError, match="granularity"):
        acc.preempt("kill", "none")
    assert acc.preempt("kill", "tile") is False  # nothing runs
    with pytest.raises(KeyError):
        acc.resume("nope")


def test_preempted_in_the_instant_it_was_submitted(acc, ref):
    """The DMA engine takes a submitted inference a delta cycle later: a preemption asked in the
    same instant stops it at its first layer boundary, before any work."""
    hv, hi = acc.load(victim()), acc.load(intruder())
    t0 = acc.now_ps()
    acc.submit(hv, "v")
    acc.submit(hi, "i")
    assert acc.preempt("checkpoint", "tile")
    stop = run_to(acc, "v")
    assert stop.preempted and stop.end_ps == t0
    run_to(acc, "i")
    acc.resume("v")
    run_to(acc, "v")
    acc.forget("i")
    r = acc.result("v", keep=False)
    assert work(r) == work(ref) and int(r.counter("preemptions").sum()) == 1
