"""The SystemC accelerator model through `accelerator.model.Accelerator`.

One SystemC kernel per process: every test here shares the one `Accelerator` of the
default preset (runtime resources are reset by the fixture)."""

from dataclasses import replace

import numpy as np
import pytest

from accelerator.counters import COUNTER_INDEX as CI
from accelerator.counters import COUNTER_NAMES, NUM_COUNTERS
from accelerator.mapping import ORDERS, evaluate, map_layer
from accelerator.model import Accelerator, ElaborationError
from accelerator.params import RuntimeResources
from accelerator.presets import load_preset
from workloads.ir import Layer, Workload

HW = load_preset("simba-like")
VS, LANES = HW.vector_size, HW.lanes


def cdiv(a, b):
    return -(-a // b)


def block(tok=1024, d=64, hid=256, heads=2, kv=256, name="blk"):
    """A SegFormer-like encoder block (+ a patch embedding) as IR layers."""
    s = int(tok ** 0.5)
    hd = 64
    L = [
        Layer("patch", "conv", C=3, K=d, H=4 * s, W=4 * s, P=s, Q=s, R=7, S=7, stride=4, padding=3),
        Layer("ln", "layernorm", elements=tok * d, in_elements=tok * d),
        Layer("q", "linear", C=d, K=heads * hd, H=tok, W=1, P=tok, Q=1),
        Layer("qk", "matmul", N=heads, C=hd, K=kv, H=tok, W=1, P=tok, Q=1, weights_are_activations=True),
        Layer("sm", "softmax", elements=heads * tok * kv, in_elements=heads * tok * kv),
        Layer("av", "matmul", N=heads, C=kv, K=hd, H=tok, W=1, P=tok, Q=1, weights_are_activations=True),
        Layer("o", "linear", C=heads * hd, K=d, H=tok, W=1, P=tok, Q=1),
        Layer("add", "add", elements=tok * d, in_elements=2 * tok * d),
        Layer("fc1", "linear", C=d, K=hid, H=tok, W=1, P=tok, Q=1),
        Layer("dw", "conv", C=1, K=hid, H=s, W=s, P=s, Q=s, R=3, S=3, padding=1, groups=hid),
        Layer("gelu", "gelu", elements=hid * tok, in_elements=hid * tok),
        Layer("fc2", "linear", C=hid, K=d, H=tok, W=1, P=tok, Q=1),
        Layer("grp", "conv", C=16, K=d, H=s, W=s, P=s, Q=s, R=3, S=3, padding=1, groups=d // 16),
        Layer("up", "resize", elements=d * 4 * tok, in_elements=d * tok),
    ]
    return Workload("synthetic", f"{name}-t{tok}-d{d}-h{hid}-n{heads}", (4 * s, 4 * s), L)


@pytest.fixture(scope="module")
def acc():
    return Accelerator(HW)


@pytest.fixture(autouse=True)
def full_resources(acc):
    acc.set_resources(RuntimeResources.full(HW))
    yield
    acc.set_resources(RuntimeResources.full(HW))


@pytest.fixture(scope="module")
def base(acc):
    return acc.run(block())


def test_one_accelerator_per_process_retargets_when_idle(acc):
    assert Accelerator(HW) is acc
    full = acc.run(block()).latency_s
    try:
        small = Accelerator(HW.replace(name="8pe", num_pes=8))
        assert small is acc and acc.hw.num_pes == 8
        assert acc.run(block()).latency_s > full
        h = acc.load(block())
        acc.submit(h, tag="busy")
        with pytest.raises(ElaborationError, match="only when idle"):
            Accelerator(HW)
        acc.run_until(acc.now_ps() + 10**15)
        acc.forget("busy")
    finally:
        Accelerator(HW)
    assert acc.hw == HW and acc.run(block()).latency_s == full


def test_counters_order_agrees_with_cpp(acc):
    ns = acc._ns
    assert int(ns.NUM_COUNTERS) == NUM_COUNTERS
    assert [str(ns.counter_name(i)) for i in range(NUM_COUNTERS)] == list(COUNTER_NAMES)


def test_result_shape_and_basic_invariants(base):
    c = base.counters
    assert c.shape == (len(block().layers), NUM_COUNTERS) and c.dtype == np.int64
    assert not base.aborted and base.layers_done == len(block().layers)
    assert (c[:, CI["end_ps"]] > c[:, CI["start_ps"]]).all()
    # layers run in order, each starts when the previous one's outputs are stored
    assert (c[1:, CI["start_ps"]] == c[:-1, CI["end_ps"]]).all()
    assert c[0, CI["start_ps"]] == base.start_ps and c[-1, CI["end_ps"]] == base.end_ps
    assert base.latency_s > 0 and base.energy_j > 0
    assert 0 < base.utilization <= 1
    assert base.macs == sum(l.macs for l in block().layers)
    assert (c[:, CI["tiles"]] >= 1).all()
    assert (c[:, CI["cycles"]] >= c[:, CI["compute_cycles"]] - 1).all()


def test_issued_macs_are_the_vector_and_lane_rounded_workload(base):
    for i, l in enumerate(block().layers):
        expect = l.N * cdiv(l.K, LANES) * LANES * l.P * l.Q * cdiv(l.C, VS) * VS * l.R * l.S if l.is_mac else 0
        assert base.counters[i, CI["macs_issued"]] == expect, l.name
        assert base.counters[i, CI["macs_useful"]] == l.macs, l.name
    dw = [l.name for l in block().layers].index("dw")
    # depthwise: one useful channel per vector
    assert base.counters[dw, CI["macs_issued"]] == VS * base.counters[dw, CI["macs_useful"]]


def test_latency_is_at_least_the_roofline_for_each_layer(base):
    lat = base.layer_latency_s
    assert (lat >= base.roofline_layer_s * (1 - 1e-9)).all()
    assert base.roofline_ratio >= 1.0
    assert np.nanmin(base.layer_roofline_ratio) >= 1.0 - 1e-9


def test_energy_breakdown_sums_to_the_total(base, acc):
    total = sum(v.sum() for v in base.energy.values())
    assert base.energy_j == pytest.approx(total, rel=1e-12)
    assert set(base.energy) == set(acc.energy_model.components)
    assert base.layer_energy_j.sum() == pytest.approx(base.energy_j, rel=1e-12)
    assert all((v >= 0).all() for v in base.energy.values())


def test_mapping_dram_traffic_equals_the_cpp_tile_replay(acc):
    wl = block(tok=4096, d=128, hid=512, heads=3)
    extra = [
        Layer("fuse", "conv", C=3072, K=768, H=64, W=64, P=64, Q=64),  # reduction split over tiles
        Layer("fc2", "linear", C=2048, K=512, H=256, W=1, P=256, Q=1),
        Layer("odd", "conv", C=13, K=37, H=31, W=29, P=15, Q=14, R=5, S=3, stride=2, padding=1),
        Layer("swin", "matmul", N=192, C=32, K=49, H=49, W=1, P=49, Q=1, weights_are_activations=True),
        Layer("pool", "pool", elements=1000, in_elements=49000),
    ]
    wl = Workload("synthetic", "replay", (1, 1), list(wl.layers) + extra)
    h = acc.load(wl)
    r = acc.run(h)
    rd, wr = r.counter("dram_read_bytes"), r.counter("dram_write_bytes")
    for i, m in enumerate(h.mappings):
        assert rd[i] == m.dram_read_bytes, str(m)
        assert wr[i] == m.dram_write_bytes, str(m)
        assert r.counters[i, CI["tiles"]] == m.tiles, str(m)
        assert r.counters[i, CI["compute_cycles"]] == m.compute_cycles, str(m)


def test_analytic_traffic_equals_the_cpp_replay_for_every_order_and_residency(acc):
    """The closed-form DRAM model against the tile-by-tile replay, on tilings that reload."""
    cases = [
        (Layer("lin", "linear", C=320, K=1280, H=512, W=1, P=512, Q=1), dict(K_t=256, C_t=128, P_t=96)),
        (Layer("conv", "conv", C=48, K=96, H=30, W=34, P=15, Q=17, R=3, S=3, stride=2, padding=1),
         dict(K_t=32, C_t=16, P_t=4, Q_t=5)),
        (Layer("dw", "conv", C=1, K=40, H=20, W=20, P=20, Q=20, R=3, S=3, padding=1, groups=40),
         dict(K_t=8, P_t=6, Q_t=7)),
        (Layer("grp", "conv", C=8, K=48, H=12, W=12, P=12, Q=12, R=3, S=3, padding=1, groups=6),
         dict(K_t=12, C_t=4, P_t=5)),
        (Layer("mm", "matmul", N=6, C=40, K=50, H=70, W=1, P=70, Q=1, weights_are_activations=True),
         dict(N_t=4, K_t=24, C_t=16, P_t=32)),
    ]
    layers, maps = [], []
    for layer, tile in cases:
        m0 = map_layer(layer, HW)
        for order in ORDERS:
            for res in (False, True):
                m = replace(m0, order=order, inputs_resident=res, **tile)
                layers.append(layer)
                maps.append(evaluate(layer, m, HW))
    wl = Workload("synthetic", "orders", (1, 1), layers)
    r = acc.run(acc.load(wl, mappings=maps))
    for i, m in enumerate(maps):
        assert r.counter("dram_read_bytes")[i] == m.dram_read_bytes, str(m)
        assert r.counter("dram_write_bytes")[i] == m.dram_write_bytes, str(m)
        assert r.counter("tiles")[i] == m.tiles, str(m)
        assert r.counter("compute_cycles")[i] == m.compute_cycles, str(m)
    # the orders really differ in traffic
    assert len({m.dram_read_bytes for m in maps[:6]}) > 1


def test_same_input_twice_gives_the_same_result(acc, base):
    again = acc.run(block())
    rel = lambda r: r.counters - np.where(np.isin(np.arange(NUM_COUNTERS), [CI["start_ps"], CI["end_ps"]]),
                                           r.start_ps, 0)
    assert np.array_equal(rel(again), rel(base))
    assert again.energy_j == base.energy_j and again.latency_s == base.latency_s


def _sweep(acc, make, values):
    return [acc.run(make(v)) for v in values]


def test_removing_channels_never_increases_latency_or_energy(acc):
    # FFN width one channel at a time (crossing vector, lane and tile boundaries), then heads
    for runs in (_sweep(acc, lambda h: block(hid=h), range(256, 180, -1)),
                 _sweep(acc, lambda n: block(heads=n), (5, 4, 3, 2, 1))):
        for a, b in zip(runs, runs[1:]):
            assert b.latency_s <= a.latency_s, (a.config, b.config)
            assert b.energy_j <= a.energy_j, (a.config, b.config)


def test_removing_decoder_channels_never_increases_the_energy_delay_product(acc):
    """The mapper's objective is monotone by construction (see accelerator.mapping)."""
    def dec(c):
        return Workload("synthetic", f"dec-{c}", (64, 64), [
            Layer("proj", "linear", C=320, K=c, H=1024, W=1, P=1024, Q=1),
            Layer("fuse", "conv", C=4 * c, K=c, H=64, W=64, P=64, Q=64),
            Layer("cls", "conv", C=c, K=150, H=64, W=64, P=64, Q=64)])
    runs = _sweep(acc, dec, range(768, 600, -7))
    for a, b in zip(runs, runs[1:]):
        assert b.latency_s * b.energy_j <= a.latency_s * a.energy_j, (a.config, b.config)
        assert b.macs < a.macs


def test_removing_less_than_a_vector_keeps_cycles(acc):
    a = acc.run(block(hid=256))
    b = acc.run(block(hid=256 - min(VS, LANES) + 1))
    names = [l.name for l in block().layers]
    for n in ("fc1", "fc2", "dw"):  # fc1: output channels (lanes); fc2: input channels (vectors)
        i = names.index(n)
        assert b.counters[i, CI["compute_cycles"]] == a.counters[i, CI["compute_cycles"]], n
        assert b.counters[i, CI["macs_issued"]] == a.counters[i, CI["macs_issued"]], n
        assert b.counters[i, CI["macs_useful"]] < a.counters[i, CI["macs_useful"]], n


@pytest.mark.parametrize("change", [dict(active_pes=8), dict(active_pes=5), dict(clock_hz=0.5e9),
                                    dict(dram_share=0.5), dict(dram_share=0.1)])
def test_fewer_resources_are_never_faster(acc, base, change):
    r = acc.run(block(), resources=RuntimeResources.full(HW).replace(**change))
    assert (r.layer_latency_s >= base.layer_latency_s).all()
    assert r.latency_s > base.latency_s
    # the work (tiles, MACs, traffic) does not depend on the resources
    for n in ("tiles", "macs_issued", "dram_read_bytes", "dram_write_bytes", "noc_bytes"):
        assert np.array_equal(r.counter(n), base.counter(n)), n


def _run_with_change(acc, h, at_ps, **change):
    tag = acc.submit(h)
    start = acc.now_ps()
    assert acc.run_until(start + at_ps) == []
    acc.set_resources(**change)
    done = acc.run_until(start + 10**12)
    assert [c.tag for c in done] == [tag]
    acc.set_resources(RuntimeResources.full(HW))
    return acc.result(tag, keep=False)


@pytest.mark.parametrize("change", [dict(clock_hz=HW.clock_hz / 2), dict(active_pes=HW.num_pes // 2)])
def test_resource_change_acts_at_the_next_tile_boundary(acc, change):
    # one compute-bound layer of identical tiles
    layer = Layer("fc", "linear", C=256, K=256, H=16384, W=1, P=16384, Q=1)
    h = acc.load(Workload("synthetic", "one-layer", (1, 1), [layer]))
    m = h.mappings[0]
    assert 16384 % m.P_t == 0 and 256 % m.K_t == 0 and m.C_t == 256 and m.tiles > 8
    base = acc.run(h)
    T = m.compute_cycles // m.tiles * 1000  # ps per tile at 1 GHz with all PEs
    lat = base.end_ps - base.start_ps
    mid = lat // 2 + 7
    r0 = _run_with_change(acc, h, mid, **change)
    r1 = _run_with_change(acc, h, mid + 100, **change)  # same tile in progress: same result
    r2 = _run_with_change(acc, h, mid + T, **change)  # one tile later: one fast tile more
    l0, l1, l2 = (r.end_ps - r.start_ps for r in (r0, r1, r2))
    assert l0 > lat
    assert l0 == l1
    assert l0 - l2 == T  # each tile after the change takes 2T instead of T
    for r in (r0, r1, r2):  # the work itself does not change
        assert r.counter("compute_cycles")[0] > 0
        assert r.counter("tiles")[0] == base.counter("tiles")[0]
        assert r.counter("dram_read_bytes")[0] == base.counter("dram_read_bytes")[0]


def test_run_until_returns_at_the_completion_and_queues_in_order(acc, base):
    h = acc.load(block())
    lat = base.end_ps - base.start_ps
    t = acc.now_ps()
    a = acc.submit(h, tag="a")
    b = acc.submit(h, tag="b")
    assert acc.busy
    assert acc.run_until(t + lat // 2) == [] and acc.now_ps() == t + lat // 2
    done = acc.run_until(t + 10 * lat)
    assert [c.tag for c in done] == ["a"] and acc.now_ps() == done[0].end_ps == t + lat
    done = acc.run_until(t + 10 * lat)
    assert [c.tag for c in done] == ["b"] and done[0].start_ps == t + lat and acc.now_ps() == t + 2 * lat
    assert not acc.busy
    assert acc.run_until(t + 3 * lat) == [] and acc.now_ps() == t + 3 * lat  # idle: time still advances
    ra, rb = acc.result("a"), acc.result("b")
    assert ra.latency_s == rb.latency_s == base.latency_s
    assert rb.queue_s == pytest.approx(lat * 1e-12)


def test_abort_stops_at_a_tile_boundary_with_partial_counters(acc, base):
    h = acc.load(block())
    lat = base.end_ps - base.start_ps
    t = acc.now_ps()
    tag = acc.submit(h)
    acc.run_until(t + lat // 2)
    assert acc.abort()
    done = acc.run_until(t + 10 * lat)
    assert len(done) == 1 and done[0].aborted and done[0].end_ps < t + lat
    r = acc.result(tag)
    assert r.aborted and 0 < r.layers_done < len(block().layers)
    assert r.counter("tiles").sum() < base.counter("tiles").sum()
    assert r.macs < base.macs and r.energy_j < base.energy_j
    # layers after the abort never started
    assert (r.counters[r.layers_done + 1:, CI["tiles"]] == 0).all()
    assert not acc.busy and not acc.abort()
    # the accelerator runs normally afterwards
    again = acc.run(h)
    assert again.latency_s == base.latency_s


def test_kernel_ceiling_and_activation_count(acc, base):
    a0 = acc.activations
    acc.run(block())
    assert acc.activations - a0 >= base.counter("tiles").sum()
    assert acc.kernel_ceiling(20000) > 1e5
