"""The SystemC accelerator model through `accelerator.model.Accelerator`.

One SystemC kernel per process: every test here shares the one `Accelerator` of the
default preset (runtime resources are reset by the fixture)."""

from dataclasses import replace

import numpy as np
import pytest
from process_model import model_fixtures

from accelerator.counters import COUNTER_INDEX as CI
from accelerator.counters import NUM_COUNTERS
from accelerator.mapping import ORDERS, evaluate, map_layer
from accelerator.model import Accelerator, ElaborationError
from accelerator.params import ParamError, RuntimeResources
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


acc, full_model = model_fixtures(HW)  # each test: the process's model at full resources


@pytest.fixture(scope="module")
def base(acc):
    return acc.run(block())


def test_one_accelerator_per_process_retargets_when_idle(acc):
    assert Accelerator.for_process(HW) is acc
    full = acc.run(block()).latency_s
    try:
        small = Accelerator.for_process(HW.replace(name="8pe", num_pes=8))
        assert small is acc and acc.hw.num_pes == 8
        assert acc.run(block()).latency_s > full
        h = acc.load(block())
        acc.submit(h, tag="busy")
        with pytest.raises(ElaborationError, match="only when idle"):
            Accelerator.for_process(HW)
        acc.run_until(acc.now_ps() + 10**15)
        acc.forget("busy")
    finally:
        Accelerator.for_process(HW)
    assert acc.hw == HW and acc.run(block()).latency_s == full


def test_the_constructor_is_refused_naming_for_process():
    with pytest.raises(TypeError, match=r"Accelerator\.for_process\(hw\)"):
        Accelerator(HW)


def test_programs_are_cached_by_content(acc):
    """Two layer lists of the same config name and length but other layers are two programs
    (they once shared one, keyed by name and layer count); equal content is one program."""
    a = [Layer("fc", "linear", C=64, K=64, H=16, W=1, P=16, Q=1)]
    b = [Layer("fc", "linear", C=64, K=128, H=16, W=1, P=16, Q=1)]
    ha, hb = acc.load(a, config="same-name"), acc.load(b, config="same-name")
    assert ha.id != hb.id and hb.layers == tuple(b)
    assert acc.run(hb).macs == 2 * acc.run(ha).macs
    assert acc.load(list(a), config="same-name") is ha


def test_layer_table_is_the_per_layer_view_of_the_result(base):
    """The one definition of the per-layer rows (`cosim simulate` prints and --json gives them)."""
    rows = base.layer_table()
    wl = block()
    assert [r["name"] for r in rows] == [l.name for l in wl.layers]
    assert [r["op_class"] for r in rows] == [l.op_class for l in wl.layers]
    assert sum(r["macs"] for r in rows) == base.macs and sum(r["dram_bytes"] for r in rows) == base.dram_bytes
    assert sum(r["energy_j"] for r in rows) == pytest.approx(base.energy_j, rel=1e-12)
    assert rows[0]["start_s"] >= 0 and all(r["latency_s"] > 0 and r["roofline_ratio"] >= 1 - 1e-9 for r in rows)
    assert [r["tiles"] for r in rows] == base.counter("tiles").tolist()


def test_a_new_user_gets_full_resources(acc):
    """Accelerator.for_process(hw) returns the process's one model at full resources, not at what an earlier
    user left set (tests sharing a worker process ran slower at 'full' resources before)."""
    full = acc.run(block()).latency_s
    acc.set_resources(active_pes=HW.num_pes // 2, clock_hz=HW.clock_hz / 2)
    assert acc.run(block()).latency_s > full
    again = Accelerator.for_process(HW)
    assert again is acc and again.resources == RuntimeResources.full(HW)
    assert again.run(block()).latency_s == full


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


def _sweep(acc, make, values, reference=None):
    return [acc.run(acc.load(make(v), reference=reference)) for v in values]


def _assert_never_more(runs):
    """Each run removes work from the one before: neither latency nor energy may grow."""
    for a, b in zip(runs, runs[1:]):
        assert b.latency_s <= a.latency_s, (a.config, b.config, b.latency_s / a.latency_s - 1)
        assert b.energy_j <= a.energy_j, (a.config, b.config, b.energy_j / a.energy_j - 1)
        assert b.macs <= a.macs


def _assert_sub_vector_keeps_cycles(a, b):
    """MAC layers of ``b`` that lost fewer channels than one vector (input channels) or one
    lane group (output channels) against the same-named layer of ``a`` keep their cycles;
    returns how many such layers lost channels."""
    la = {l.name: (i, l) for i, l in enumerate(a.layers)}
    ra, rb = a.result, b.result
    changed = 0
    for j, lb in enumerate(b.layers):
        if not lb.is_mac or lb.name not in la:
            continue
        i, l0 = la[lb.name]
        same = (l0.N, l0.P, l0.Q, l0.R, l0.S, cdiv(l0.K, LANES), cdiv(l0.C, VS)) == \
               (lb.N, lb.P, lb.Q, lb.R, lb.S, cdiv(lb.K, LANES), cdiv(lb.C, VS))
        if not same:
            continue
        assert rb.counters[j, CI["compute_cycles"]] == ra.counters[i, CI["compute_cycles"]], lb.name
        assert rb.counters[j, CI["macs_issued"]] == ra.counters[i, CI["macs_issued"]], lb.name
        assert rb.counters[j, CI["tiles"]] == ra.counters[i, CI["tiles"]], lb.name
        changed += lb.macs < l0.macs
    return changed


def test_removing_channels_never_increases_latency_or_energy(acc):
    # FFN width one channel at a time (crossing vector, lane and tile boundaries), then heads,
    # each with the full block's mapping (a dynamic model is mapped once, for its full size)
    _assert_never_more(_sweep(acc, lambda h: block(hid=h), range(256, 180, -1), reference=block(hid=256)))
    _assert_never_more(_sweep(acc, lambda n: block(heads=n), (5, 4, 3, 2, 1), reference=block(heads=5)))


def _dec(c, res=64):
    return Workload("synthetic", f"dec-{c}", (res, res), [
        Layer("proj", "linear", C=320, K=c, H=1024, W=1, P=1024, Q=1),
        Layer("fuse", "conv", C=4 * c, K=c, H=res, W=res, P=res, Q=res),
        Layer("cls", "conv", C=c, K=150, H=res, W=res, P=res, Q=res)])


def test_removing_decoder_channels_never_increases_latency_or_energy(acc):
    runs = _sweep(acc, _dec, list(range(768, 756, -1)) + list(range(756, 600, -7)), reference=_dec(768))
    _assert_never_more(runs)
    assert all(b.macs < a.macs for a, b in zip(runs, runs[1:]))


def test_a_reduced_configuration_runs_the_full_mapping(acc):
    full = acc.load(_dec(768))
    assert acc.load(_dec(768), reference=_dec(768)).mappings == full.mappings  # the full one: unchanged
    h = acc.load(_dec(733), reference=_dec(768))
    assert acc.load(_dec(733), reference=_dec(768)) is h  # cached, by configuration and reference
    assert acc.load(_dec(733)) is not h and acc.load(_dec(733), reference=full) is not h
    for m, mf in zip(h.mappings, full.mappings):
        assert (m.order, m.pes_k, m.pes_p, m.inputs_resident, m.P_t, m.Q_t) == \
               (mf.order, mf.pes_k, mf.pes_p, mf.inputs_resident, mf.P_t, mf.Q_t)
        assert m.K_t <= mf.K_t and m.C_t <= mf.C_t
    # a loaded program (with its own, e.g. hand-made, mappings) can be the reference
    odd = acc.load(_dec(768), mappings=[replace(m, P_t=max(1, m.P_t // 2)) for m in full.mappings])
    h2 = acc.load(_dec(733), reference=odd)
    assert [m.P_t for m in h2.mappings] == [m.P_t for m in odd.mappings]
    r = acc.run(h2)
    for i, m in enumerate(h2.mappings):
        assert r.counters[i, CI["tiles"]] == m.tiles and r.counter("dram_read_bytes")[i] == m.dram_read_bytes


def test_removing_less_than_a_vector_keeps_cycles(acc):
    a = acc.run(block(hid=256))
    b = acc.run(block(hid=256 - min(VS, LANES) + 1))
    names = [l.name for l in block().layers]
    for n in ("fc1", "fc2", "dw"):  # fc1: output channels (lanes); fc2: input channels (vectors)
        i = names.index(n)
        assert b.counters[i, CI["compute_cycles"]] == a.counters[i, CI["compute_cycles"]], n
        assert b.counters[i, CI["macs_issued"]] == a.counters[i, CI["macs_issued"]], n
        assert b.counters[i, CI["macs_useful"]] < a.counters[i, CI["macs_useful"]], n


# -- the real dynamic models (knobs applied to the torch modules, lowered to the IR) ---------

class _Run:
    def __init__(self, handle, result):
        self.layers, self.result = handle.layers, result
        self.latency_s, self.energy_j, self.macs, self.config = (result.latency_s, result.energy_j, result.macs,
                                                                 handle.config)


def _dynamic_sweep(acc, model, res, knob_list):
    """Run each configuration with the full configuration's mapping (``reference``)."""
    workloads = pytest.importorskip("workloads")
    full = workloads.lower(workloads.make_config(model, resolution=res))
    runs = []
    for knobs in knob_list:
        h = acc.load(workloads.lower(workloads.make_config(model, resolution=res, **knobs)), reference=full)
        runs.append(_Run(h, acc.run(h)))
    return runs


def _check_dynamic(runs):
    _assert_never_more(runs)
    # (layer names identify the same layer across configurations with the same layer list)
    return [_assert_sub_vector_keeps_cycles(a, b) if [l.name for l in a.layers] == [l.name for l in b.layers]
            or a.layers[0].name.startswith("segformer.") else 0 for a, b in zip(runs, runs[1:])]


SEG = "segformer-b2"
SEG_RES = (128, 128)


def test_segformer_decoder_channels_one_at_a_time(acc):
    # B2's decoder has 768 channels; VS=4: 768..765 are 192 vectors, 737 -> 736 crosses a vector
    runs = _dynamic_sweep(acc, SEG, SEG_RES, [dict(dec=c) for c in
                                              (768, 767, 766, 765, 764, 740, 737, 736, 733, 700, 512, 256, 64, 1)])
    sub = _check_dynamic(runs)
    assert sub[0] >= 2  # 768 -> 767: the stage projections (K) and the classifier (C) keep their cycles


def test_segformer_ffn_channels_one_at_a_time(acc):
    # stage 3 of B2: 2048 FFN channels
    f = (256, 512, 1280)
    runs = _dynamic_sweep(acc, SEG, SEG_RES, [dict(ffn=f + (c,)) for c in
                                              (2048, 2047, 2046, 2045, 2044, 2043, 2001, 1500, 1024, 5, 4, 1)])
    sub = _check_dynamic(runs)
    assert sub[0] >= 3  # fc1 (K), the depthwise conv (K) and fc2 (C) of every block of the stage


def test_segformer_heads_and_blocks(acc):
    runs = _dynamic_sweep(acc, SEG, SEG_RES, [dict(heads=h) for h in
                                              ("1.2.5.8", "1.2.5.7", "1.2.4.7", "1.2.4.4", "1.1.2.2", "1.1.1.1")])
    _check_dynamic(runs)
    runs = _dynamic_sweep(acc, SEG, SEG_RES, [dict(blocks=b) for b in
                                              ("3.4.6.3", "3.4.5.3", "3.3.5.3", "2.2.3.2", "1.1.1.1")])
    _check_dynamic(runs)
    runs = _dynamic_sweep(acc, SEG, SEG_RES, [dict(), dict(dec=500, ffn="200.400.1000.1500", heads="1.2.3.4"),
                                              dict(dec=300, ffn="100.300.900.1000", heads="1.1.3.4", blocks="2.3.4.2")])
    _check_dynamic(runs)


def test_ofa_resnet_expand_width_depth(acc):
    E = "35.35.35.35-35.35.35.35-35.35.35.35.35.35-35.35.35.35"
    runs = _dynamic_sweep(acc, "ofa-resnet50", (128, 128), [
        dict(), dict(expand=E.replace("35", "25", 3)), dict(expand=E.replace("35", "25")),
        dict(expand=E.replace("35", "20")), dict(expand=E.replace("35", "20"), width="80.100.100.100.100.100"),
        dict(expand=E.replace("35", "20"), width="65.65.65.65.65.65"),
        dict(expand="20.20.20-20.20.20-20.20.20.20.20-20.20.20", width="65.65.65.65.65.65", depth="2.1.1.1.1"),
        dict(expand="20.20-20.20-20.20.20.20-20.20", width="65.65.65.65.65.65", depth="0.0.0.0.0")])
    _check_dynamic(runs)


def test_swin_heads_and_blocks(acc):
    runs = _dynamic_sweep(acc, "swin-t", (224, 224), [
        dict(), dict(heads="3.6.12.23"), dict(heads="3.6.11.23"), dict(heads="2.5.9.20"), dict(heads="1.1.1.1"),
        dict(heads="1.1.1.1", blocks="2.2.5.2"), dict(heads="1.1.1.1", blocks="1.1.1.1")])
    _check_dynamic(runs)


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


def test_abort_while_the_last_store_of_a_layer_is_in_flight(acc):
    """The compute unit is idle, the layer's last output is still being written: the abort ends
    the inference at once; the host releases it; the stale store completion is ignored and the
    next inference runs normally (the old thread model read freed memory here). The write
    already issued still occupies the DRAM, so only the next inference may be slower."""
    wl = Workload("synthetic", "stores", (1, 1), [
        Layer("a", "add", elements=1 << 20, in_elements=2 << 20), Layer("b", "add", elements=1 << 18, in_elements=2 << 18)])
    h = acc.load(wl)
    base = acc.run(h)
    end0 = int(base.counters[0, CI["end_ps"]] - base.start_ps)
    for back in (1, 1000, 20_000, 200_000):
        t0 = acc.now_ps()
        a, b = acc.submit(h), acc.submit(h)
        assert acc.run_until(t0 + end0 - back) == []
        assert acc.abort()
        done = acc.run_until(t0 + 10**13)
        assert [c.tag for c in done] == [a] and done[0].aborted and done[0].end_ps == t0 + end0 - back
        r = acc.result(a, keep=False)
        assert r.layers_done == 0 and r.counters[1, CI["tiles"]] == 0
        done = acc.run_until(t0 + 10**13)
        assert [c.tag for c in done] == [b] and done[0].start_ps == t0 + end0 - back
        rb = acc.result(b, keep=False)
        assert rb.latency_s >= base.latency_s and not rb.aborted
        for n in ("tiles", "dram_read_bytes", "dram_write_bytes", "ppu_ops"):
            assert np.array_equal(rb.counter(n), base.counter(n)), n
        assert acc.run(h).latency_s == base.latency_s


def test_random_requests_aborts_and_resource_changes(acc):
    """A seeded storm of submits, aborts and resource changes: inferences complete in order,
    never overlap, and the accelerator is unchanged afterwards."""
    import random
    rng = random.Random(7)
    progs = [acc.load(block()), acc.load(block(tok=256, d=32, hid=64)), acc.load(_dec(100, res=16)),
             acc.load(Workload("synthetic", "empty", (1, 1), [Layer("z", "linear", C=0, K=0, P=0)]))]
    base = acc.run(progs[0])
    ends, n = [], 0
    t_end = acc.now_ps() + 20 * 10**9
    while acc.now_ps() < t_end:
        x = rng.random()
        if x < 0.3:
            acc.submit(rng.choice(progs), tag=f"storm-{n}")
            n += 1
        elif x < 0.4:
            acc.abort()
        elif x < 0.55:
            acc.set_resources(**rng.choice([dict(clock_hz=rng.choice([0.3e9, 1e9])), dict(active_pes=rng.randint(1, 16)),
                                            dict(dram_share=rng.choice([0.1, 1.0]))]))
        for c in acc.run_until(acc.now_ps() + rng.choice([1, 10**5, 10**7, 10**8, 10**9])):
            r = acc.result(c.tag, keep=False)
            assert c.start_ps <= c.end_ps == acc.now_ps()
            assert (r.layers_done < r.n_layers) if c.aborted else (r.layers_done == r.n_layers)
            ends.append((int(c.tag.split("-")[1]), c.start_ps, c.end_ps))
    acc.set_resources(RuntimeResources.full(HW))
    while acc.busy:
        for c in acc.run_until(acc.now_ps() + 10**13):
            acc.forget(c.tag)
    assert len(ends) > 20
    assert [e[0] for e in ends] == sorted(e[0] for e in ends)  # first come, first served
    assert all(b[1] >= a[2] for a, b in zip(ends, ends[1:]))  # one inference at a time
    acc.run_until(acc.now_ps() + 10**12)  # let in-flight transfers of aborted inferences drain
    assert acc.run(progs[0]).latency_s == base.latency_s


def test_kernel_ceiling_and_activation_count(acc, base):
    tiles = base.counter("tiles").sum()
    assert tiles > 10 * base.n_layers
    try:
        acc.sync = "tile"  # the reference mode: one activation per tile (its end) plus the start
        a0 = acc.activations  # and end of each layer and the inference
        r = acc.run(block())
        assert tiles <= acc.activations - a0 <= tiles + 2 * base.n_layers + 4
        # per layer: those while the layer is in flight (not the inference's start and end)
        assert acc.activations - a0 - 4 <= r.layer_activations.sum() <= acc.activations - a0
    finally:
        acc.sync = "decoupled"
    a0 = acc.activations  # temporally decoupled: at most one per layer (a hand-over between units)
    r2 = acc.run(block())
    assert acc.activations - a0 <= base.n_layers + 4
    rel = lambda x: np.concatenate([x.counters[:, :2] - x.start_ps, x.counters[:, 2:]], axis=1)  # noqa: E731
    assert np.array_equal(rel(r), rel(r2)) and r.latency_s == r2.latency_s
    with pytest.raises(ParamError, match="sync"):
        acc.sync = "never"
    assert acc.kernel_ceiling(20000) > 1e5
