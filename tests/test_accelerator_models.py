"""Accelerator invariants on the real models the issue names: SegFormer-B2 (512x512),
ResNet-50 and Swin-T (224x224), on the default preset."""

import numpy as np
import pytest

import workloads
from accelerator.counters import COUNTER_INDEX as CI
from accelerator.model import Accelerator
from accelerator.params import RuntimeResources
from accelerator.presets import DEFAULT_PRESET, load_preset

HW = load_preset(DEFAULT_PRESET)
MODELS = ["segformer-b2@512x512", "resnet50@224x224", "swin-t@224x224"]


def cdiv(a, b):
    return -(-a // b)


@pytest.fixture(scope="module")
def runs():
    acc = Accelerator(HW)
    out = {}
    for cid in MODELS:
        wl = workloads.lower(workloads.parse_config(cid))
        h = acc.load(wl, config=wl.config)
        out[cid] = (wl, h, acc.run(h))
    return acc, out


@pytest.mark.parametrize("cid", MODELS)
def test_issued_macs_are_vector_and_lane_rounded(runs, cid):
    _, out = runs
    wl, _, r = out[cid]
    expect = np.array([
        l.N * cdiv(l.K, HW.lanes) * HW.lanes * l.P * l.Q * cdiv(l.C, HW.vector_size) * HW.vector_size * l.R * l.S
        if l.is_mac else 0 for l in wl.layers], dtype=np.int64)
    assert np.array_equal(r.counter("macs_issued"), expect)
    assert r.macs == wl.total_macs


@pytest.mark.parametrize("cid", MODELS)
def test_latency_never_below_the_roofline(runs, cid):
    _, out = runs
    _, _, r = out[cid]
    ratio = r.layer_roofline_ratio
    assert np.nanmin(ratio) >= 1.0 - 1e-9
    assert r.roofline_ratio >= 1.0
    assert (r.layer_latency_s > 0).all()


@pytest.mark.parametrize("cid", MODELS)
def test_energy_breakdown_sums_to_total(runs, cid):
    acc, out = runs
    _, _, r = out[cid]
    assert set(r.energy) == set(acc.energy_model.components)
    assert sum(v.sum() for v in r.energy.values()) == pytest.approx(r.energy_j, rel=1e-12)
    assert all((v >= 0).all() for v in r.energy.values())


@pytest.mark.parametrize("cid", MODELS)
@pytest.mark.parametrize("change", [dict(active_pes=HW.num_pes // 2), dict(clock_hz=HW.clock_hz / 2),
                                    dict(dram_share=0.5)])
def test_fewer_resources_never_faster(runs, cid, change):
    acc, out = runs
    _, h, base = out[cid]
    r = acc.run(h, resources=RuntimeResources.full(HW).replace(**change))
    assert r.latency_s > base.latency_s
    assert (r.layer_latency_s >= base.layer_latency_s).all()


@pytest.mark.parametrize("cid", MODELS)
def test_same_input_twice_same_result(runs, cid):
    acc, out = runs
    _, h, base = out[cid]
    again = acc.run(h)
    assert np.array_equal(again.counters[:, CI["cycles"]:], base.counters[:, CI["cycles"]:])
    assert again.latency_s == base.latency_s and again.energy_j == base.energy_j
