"""Mapping: tilings fit the buffers, are cached and printable, errors name the parameter,
and the search is invariant to removing fewer channels than one vector."""

import pytest

from dataclasses import replace

from accelerator.mapping import (ORDERS, MappingError, Tiling, _map_mac, evaluate, legal, map_layer, map_layers,
                                 map_layers_like, map_like)
from accelerator.program import PROGRAM_FIELDS, encode_program
from accelerator.presets import load_preset
from workloads.ir import Layer

HW = load_preset("simba-like")

LAYERS = [
    Layer("patch", "conv", C=3, K=64, H=512, W=512, P=128, Q=128, R=7, S=7, stride=4, padding=3),
    Layer("q", "linear", C=64, K=64, H=16384, W=1, P=16384, Q=1),
    Layer("sr", "conv", C=64, K=64, H=128, W=128, P=16, Q=16, R=8, S=8, stride=8),
    Layer("qk", "matmul", N=2, C=64, K=256, H=4096, W=1, P=4096, Q=1, weights_are_activations=True),
    Layer("av", "matmul", N=5, C=256, K=64, H=1024, W=1, P=1024, Q=1, weights_are_activations=True),
    Layer("dw", "conv", C=1, K=256, H=128, W=128, P=128, Q=128, R=3, S=3, padding=1, groups=256),
    Layer("grp", "conv", C=16, K=64, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1, groups=4),
    Layer("fuse", "conv", C=3072, K=768, H=128, W=128, P=128, Q=128),
    Layer("fc2", "linear", C=2048, K=512, H=256, W=1, P=256, Q=1),
    Layer("sm", "softmax", elements=2 * 4096 * 256, in_elements=2 * 4096 * 256),
    Layer("add", "add", elements=4096 * 128, in_elements=2 * 4096 * 128),
    Layer("up", "resize", elements=768 * 128 * 128, in_elements=768 * 32 * 32),
]


class _Smaller:
    """``hw`` with one buffer capacity overridden (beyond what HardwareParams would validate)."""

    def __init__(self, hw, name, value):
        self._hw, self._name, self._value = hw, name, value

    def __getattr__(self, k):
        return self._value if k == self._name else getattr(self._hw, k)


@pytest.mark.parametrize("layer", LAYERS, ids=[l.name for l in LAYERS])
def test_mapping_fits_the_buffers(layer):
    m = map_layer(layer, HW)
    assert m.glb_bytes <= HW.global_buffer_bytes
    if m.kind == "mac":
        assert m.wbuf_bytes_per_pe <= HW.weight_buffer_bytes
        assert m.ibuf_bytes_per_pe <= HW.input_buffer_bytes
        assert m.accum_entries_per_lane <= HW.accum_entries_per_lane
        assert m.pes_k * m.pes_p == HW.num_pes
        assert m.K_t % HW.lanes == 0 or m.K_t >= layer.K
        assert m.C_t % HW.vector_size == 0 or m.C_t >= layer.C
        assert m.order in ORDERS and m.order[-1] == "c"
        # the one legality rule agrees with the occupancy the mapping reports, and is tight:
        # a buffer one byte smaller than what the tiling occupies rejects it
        assert legal(layer, m.tiling, HW)
        for buf, used in (("weight_buffer_bytes", m.wbuf_bytes_per_pe), ("input_buffer_bytes", m.ibuf_bytes_per_pe),
                          ("global_buffer_bytes", m.glb_bytes)):
            assert not legal(layer, m.tiling, _Smaller(HW, buf, used - 1)), buf
        assert not legal(layer, replace(m.tiling, pes_p=m.pes_p + 1), HW)
        # DRAM traffic is at least compulsory (every operand once, outputs once)
        assert m.dram_write_bytes == layer.output_elements * HW.data_bytes
        assert m.dram_read_bytes >= layer.weight_elements * HW.data_bytes
        # cycles at least the vector/lane-rounded work on all PEs
        assert m.compute_cycles * HW.peak_macs_per_cycle >= layer.macs
    else:
        assert m.dram_read_bytes == layer.in_elements * HW.data_bytes
        assert m.dram_write_bytes == layer.elements * HW.data_bytes
    assert m.tiles >= 1


def test_mapping_is_printable_and_cached():
    m = map_layer(LAYERS[1], HW)
    s = str(m)
    assert "q [linear]" in s and "DRAM" in s and "tiles" in s
    d = m.to_dict()
    assert d["layer"] == "q" and d["dram_bytes"] == m.dram_bytes and isinstance(d["order"], str)
    before = _map_mac.cache_info().hits
    m2 = map_layer(Layer("q2", "linear", C=64, K=64, H=16384, W=1, P=16384, Q=1), HW)
    assert _map_mac.cache_info().hits == before + 1  # same dims + hardware: cached
    assert m2.layer == "q2" and m2.K_t == m.K_t and m2.P_t == m.P_t


def test_removing_less_than_a_vector_keeps_the_tiling():
    vs, lanes = HW.vector_size, HW.lanes
    a = map_layer(Layer("a", "linear", C=64, K=64, H=4096, W=1, P=4096, Q=1), HW)
    for c, k in [(64 - vs + 1, 64), (64, 64 - lanes + 1), (61, 62)]:
        b = map_layer(Layer("b", "linear", C=c, K=k, H=4096, W=1, P=4096, Q=1), HW)
        assert (b.N_t, b.K_t, b.C_t, b.P_t, b.Q_t, b.pes_k, b.pes_p, b.order) == \
               (a.N_t, a.K_t, a.C_t, a.P_t, a.Q_t, a.pes_k, a.pes_p, a.order)
        assert b.compute_cycles == a.compute_cycles
        assert b.dram_bytes <= a.dram_bytes


def test_too_small_buffer_names_the_parameter():
    conv7 = Layer("big", "conv", C=64, K=64, H=64, W=64, P=64, Q=64, R=7, S=7, padding=3)
    hw = HW.replace(weight_buffer_bytes=1024)
    with pytest.raises(MappingError, match="weight_buffer_bytes"):
        map_layer(conv7, hw)
    hw = HW.replace(input_buffer_bytes=128)
    with pytest.raises(MappingError, match="input_buffer_bytes"):
        map_layer(conv7, hw)
    hw = HW.replace(global_buffer_bytes=256)
    with pytest.raises(MappingError, match="global_buffer_bytes"):
        map_layer(conv7, hw)


def test_encode_program_shape():
    ms = map_layers(LAYERS, HW)
    prog = encode_program(LAYERS, ms, HW)
    assert prog.shape == (len(LAYERS), len(PROGRAM_FIELDS))
    assert prog.dtype.name == "int64"


# -- dynamic configurations: the full model's mapping, clipped -----------------------------

def _tiling(m):
    return (m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p, m.order, m.inputs_resident, m.E_t)


@pytest.mark.parametrize("layer", LAYERS, ids=[l.name for l in LAYERS])
def test_map_like_of_the_layer_itself_is_its_mapping(layer):
    m = map_layer(layer, HW)
    assert map_like(layer, layer, m, HW) == m


def test_map_like_keeps_the_tiling_and_clips_it_to_the_reduced_layer():
    vs, lanes = HW.vector_size, HW.lanes
    full = Layer("fuse", "conv", C=3072, K=768, H=32, W=32, P=32, Q=32)
    mf = map_layer(full, HW)
    for c in (3071, 3069, 2960, 2048, 700, 5, 1):
        k = c // 4 or 1
        small = Layer("fuse", "conv", C=c, K=k, H=32, W=32, P=32, Q=32)
        m = map_like(small, full, mf, HW)
        assert (m.order, m.pes_k, m.pes_p, m.inputs_resident, m.P_t, m.Q_t, m.N_t) == \
               (mf.order, mf.pes_k, mf.pes_p, mf.inputs_resident, mf.P_t, mf.Q_t, mf.N_t)
        assert m.K_t == min(mf.K_t, -(-k // lanes) * lanes) and m.C_t == min(mf.C_t, -(-c // vs) * vs)
        assert m == evaluate(small, m, HW)  # costs are the reduced layer's
        # each loop runs fewer (or as many) trips of no larger tiles: no cost grows
        assert m.tiles <= mf.tiles and m.compute_cycles <= mf.compute_cycles
        assert m.dram_read_bytes <= mf.dram_read_bytes and m.dram_write_bytes <= mf.dram_write_bytes
        assert m.wbuf_bytes_per_pe <= mf.wbuf_bytes_per_pe and m.ibuf_bytes_per_pe <= mf.ibuf_bytes_per_pe
        assert m.glb_bytes <= mf.glb_bytes and m.accum_entries_per_lane <= HW.accum_entries_per_lane


def test_map_like_removing_less_than_a_vector_keeps_the_cycles():
    vs, lanes = HW.vector_size, HW.lanes
    full = Layer("fc", "linear", C=1024, K=1024, H=1024, W=1, P=1024, Q=1)
    mf = map_layer(full, HW)
    for c, k in [(1024 - vs + 1, 1024), (1024, 1024 - lanes + 1), (1021, 1022)]:
        m = map_like(Layer("fc", "linear", C=c, K=k, H=1024, W=1, P=1024, Q=1), full, mf, HW)
        assert m.compute_cycles == mf.compute_cycles and m.tiles == mf.tiles
        assert m.dram_bytes < mf.dram_bytes


def test_map_like_refuses_what_is_not_a_reduction():
    full = Layer("c", "conv", C=64, K=64, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1)
    mf = map_layer(full, HW)
    assert map_like(replace(full, K=65), full, mf, HW) is None  # larger
    assert map_like(replace(full, R=1, S=1, padding=0), full, mf, HW) is None  # other kernel
    assert map_like(replace(full, stride=2, P=16, Q=16), full, mf, HW) is None
    assert map_like(replace(full, groups=2, C=32), full, mf, HW) is None  # grouped vs dense
    assert map_like(Layer("c", "add", elements=10, in_elements=20), full, mf, HW) is None
    dw = Layer("dw", "conv", C=1, K=256, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1, groups=256)
    m = map_like(replace(dw, K=100, groups=100), dw, map_layer(dw, HW), HW)  # depthwise: channels per group kept
    assert m is not None and m.K_t <= map_layer(dw, HW).K_t
    one = map_like(replace(dw, K=1, groups=1), dw, map_layer(dw, HW), HW)  # down to one channel: one group
    assert one is not None and one.pes_k == map_layer(dw, HW).pes_k
    assert map_like(replace(dw, K=2, groups=1), dw, map_layer(dw, HW), HW) is None  # 2 channels, 1 group: dense


def test_map_like_of_a_ppu_layer_keeps_the_slice_size():
    full = Layer("gelu", "gelu", elements=1024 * 4096, in_elements=1024 * 4096)
    mf = map_layer(full, HW)
    m = map_like(replace(full, elements=1000 * 4096, in_elements=1000 * 4096), full, mf, HW)
    assert m.E_t == mf.E_t and m.tiles <= mf.tiles and m.compute_cycles <= mf.compute_cycles
    tiny = map_like(replace(full, elements=7, in_elements=7), full, mf, HW)
    assert tiny.E_t == 7 and tiny.tiles == 1


def test_map_layers_like_matches_by_name_and_maps_the_rest_on_their_own():
    full = [Layer("a", "linear", C=512, K=2048, H=4096, W=1, P=4096, Q=1),
            Layer("b", "linear", C=2048, K=512, H=4096, W=1, P=4096, Q=1)]
    red = [Layer("b", "linear", C=1000, K=512, H=4096, W=1, P=4096, Q=1),
           Layer("new", "linear", C=1000, K=512, H=4096, W=1, P=4096, Q=1)]
    ms = map_layers_like(red, full, HW)
    mb = map_layer(full[1], HW)
    assert [m.layer for m in ms] == ["b", "new"]
    assert _tiling(ms[0])[:-1] == (mb.N_t, mb.K_t, min(mb.C_t, 1000), mb.P_t, mb.Q_t, mb.pes_k, mb.pes_p,
                                   mb.order, mb.inputs_resident)
    assert ms[1] == map_layer(red[1], HW)
    # the reference's own mappings may be given (e.g. hand-made ones)
    odd = [replace(map_layer(l, HW), P_t=512) for l in full]
    assert map_layers_like(red[:1], full, HW, odd)[0].P_t == 512
    with pytest.raises(ValueError):
        map_layers_like(red, full, HW, odd[:1])


def test_mapper_choices_persist_on_disk_and_bad_entries_are_ignored(tmp_path, monkeypatch):
    import json

    from accelerator import mapping as M
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path))
    layer = Layer("fc", "linear", C=96, K=80, H=300, W=1, P=300, Q=1)
    hw = HW.replace(name="cache-test")
    M._disk_cache.cache_clear(), M._map_mac.cache_clear()
    m = map_layer(layer, hw)
    files = list((tmp_path / "mappings").glob("*.jsonl"))
    assert len(files) == 1
    key, choice = json.loads(files[0].read_text().splitlines()[0])
    assert Tiling.from_json(choice) == m.tiling
    # a new process reads the choice instead of searching; garbage and illegal tilings are skipped
    with open(files[0], "a") as f:
        f.write("not json\n")
        f.write(json.dumps([key.replace("96", "97"), [1, 10**6, 4, 1, 1, 1, hw.num_pes, "k>n>p>q>c", 0]]) + "\n")  # no fit
        f.write(json.dumps([key.replace("96", "98"), [8, 8, 8, 1, 1, 1, hw.num_pes, "q>k>c", 0]]) + "\n")  # no such order
    M._disk_cache.cache_clear(), M._map_mac.cache_clear()
    store = M._disk_cache(hw)
    assert len(store.entries) == 1 and store.get(key) == m.tiling
    calls = []
    monkeypatch.setattr(M, "_choose", lambda hw, shapes: calls.append(1) or [
        M._disk_cache(hw).put(M._shape_key(d, op), m.tiling) for d, op in shapes])
    assert map_layer(layer, hw) == m and not calls
    # the disk cache can be switched off
    monkeypatch.setenv("DYNVIT_MAPPING_CACHE", "0")
    M._disk_cache.cache_clear(), M._map_mac.cache_clear()
    assert map_layer(layer, hw) == m and calls == [1]
    M._disk_cache.cache_clear(), M._map_mac.cache_clear()



def test_a_choice_another_process_stored_since_is_found(tmp_path):
    """Two stores on one file (a sweep's two workers): a key the other has appended since is
    read on a miss; a last line still being written is read once it is whole."""
    import json

    from accelerator.choices import ChoiceStore

    path = tmp_path / "choices.jsonl"
    store = lambda: ChoiceStore(path, tuple, list, lambda k, c: len(c) == 2)  # noqa: E731
    a, b = store(), store()
    assert b.get("x") is None
    a.put("x", (1, 2))
    assert b.get("x") == (1, 2)
    with open(path, "a") as f:  # another writer, half-way through its line
        f.write(json.dumps(["y", [3, 4]])[:-3])
    assert b.get("y") is None
    with open(path, "a") as f:
        f.write(json.dumps(["y", [3, 4]])[-3:] + "\n" + json.dumps(["z", [5]]) + "\n")  # z: rejected by check
    assert b.get("y") == (3, 4) and b.get("z") is None and a.get("y") == (3, 4)

# -- the final ranking: the estimate's best candidates, simulated -------------------------

def test_candidates_simulated_together_cost_what_each_costs_alone():
    from accelerator.mapping import MacDims, _shortlist, simulated
    hw = load_preset("vs8")
    a, b = LAYERS[1], LAYERS[2]
    ta, tb = ([t for t, _ in _shortlist(MacDims.of(l), hw)][:n] for l, n in ((a, 3), (b, 2)))
    together = simulated(hw, [(MacDims.of(a), a.op, ta), (MacDims.of(b), b.op, tb)])
    alone = [[simulated(hw, [(MacDims.of(l), l.op, [t])])[0][0] for t in ts] for l, ts in ((a, ta), (b, tb))]
    assert together == alone
    assert all(s > 0 and e > 0 for row in together for s, e in row)


@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_the_choice_is_the_best_simulated_finalist(objective):
    from accelerator.mapping import finalists
    hw = load_preset("vs16").replace(mapping_objective=objective)
    layer = Layer("proj", "conv", C=64, K=160, H=32, W=32, P=32, Q=32)
    fin = finalists(layer, hw)
    assert len(fin) >= 6
    key = {"edp": lambda s, e: (s * e, s), "energy": lambda s, e: (e, s), "latency": lambda s, e: (s, e)}[objective]
    best = min(fin, key=lambda f: key(f[1], f[2]))
    assert map_layer(layer, hw).tiling == best[0].tiling
    # the finalists' estimates (the pipeline estimate) are within a few percent of the simulation
    errs = [m.time_s / s - 1 for m, s, _ in fin]
    assert all(abs(e) <= FINALIST_TIME_REL for e in errs), errs


# the pipeline estimate against the simulated time on the mapper's finalists (issue 25 asks for
# 10 %; measured, the first 6 finalists of every MAC layer shape: SegFormer-B2, ResNet-50 and
# Swin-T on 7 presets -2.3 %..+1.4 % (`scripts/estimate_error.py`); SegFormer-B0 on vs8 and
# rt-64pe -3.4 %..+0.6 %, the worst where a resident input's DRAM reads are spread evenly)
FINALIST_TIME_REL = 0.05


def _finalist_errors(models, presets):
    """`scripts/estimate_error.py`'s measurement, its distribution printed."""
    import importlib.util
    from pathlib import Path

    import numpy as np

    spec = importlib.util.spec_from_file_location(
        "estimate_error", Path(__file__).resolve().parents[1] / "scripts" / "estimate_error.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.finalist_errors(models, presets)
    e = np.array([x[0] for x in out])
    print(f"{e.size} finalists: min {e.min():+.2%}, p5 {np.percentile(e, 5):+.2%}, median {np.median(e):+.2%}, "
          f"p95 {np.percentile(e, 95):+.2%}, max {e.max():+.2%}")
    return out


def test_the_time_estimate_of_the_finalists_is_within_5_percent_of_the_simulation():
    errs = _finalist_errors(["segformer-b0@512x512"], ["vs8", "rt-64pe"])
    assert len(errs) > 50
    assert all(abs(e) <= FINALIST_TIME_REL for e, _, _ in errs), max(errs, key=lambda x: abs(x[0]))


@pytest.mark.slow
def test_the_time_estimate_of_every_shipped_layers_finalists_is_within_5_percent():
    """Every MAC layer shape of the three shipped families, the first 6 finalists, on 7 presets."""
    errs = _finalist_errors(["segformer-b2@512x512", "resnet50@224x224", "swin-t@224x224"],
                            ["simba-like", "sq16", "vs8", "vs16", "vs32", "lanes4-vs32", "rt-64pe"])
    assert all(abs(e) <= FINALIST_TIME_REL for e, _, _ in errs), max(errs, key=lambda x: abs(x[0]))


def test_cosim_map_compare_estimate_prints_estimate_and_simulation_side_by_side():
    import json

    from typer.testing import CliRunner

    from cosim.cli import app
    r = CliRunner().invoke(app, ["map", "segformer-b0", "--layer", "3", "--hw", "vs8", "--compare-estimate", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)  # stderr may carry first-use progress lines
    rows = rows["layers"][0]["candidates"]
    assert sum(c["chosen"] for c in rows) == 1 and len(rows) >= 6
    chosen = next(c for c in rows if c["chosen"])
    assert chosen["sim_edp_js"] == min(c["sim_edp_js"] for c in rows)
    assert all(c["time_err"] == pytest.approx(c["time_s"] / c["sim_time_s"] - 1) for c in rows)
    r = CliRunner().invoke(app, ["map", "segformer-b0", "--layer", "3", "--hw", "vs8", "--compare-estimate"])
    assert r.exit_code == 0 and "sim. us" in r.output and "est. us" in r.output


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["vs8", "vs16", "vs32", "simba-like", "lanes4-vs32", "sq16", "rt-64pe"])
def test_no_sampled_shipped_layer_has_a_candidate_simulating_1_percent_better(preset):
    """Sampled layer shapes of the shipped models: the chosen tiling against the estimate's 48 best
    distinct tilings and 24 random legal ones, all simulated."""
    import numpy as np

    import workloads
    from accelerator.mapping import MacDims, _objective_keys, _ranked, simulated
    from accelerator.tiling import Tiling, _grid_candidates, _legal
    hw = load_preset(preset)
    rng = np.random.default_rng(0)
    shapes = {}
    for cid in ("segformer-b2@512x512", "resnet50@224x224", "swin-t@224x224"):
        for l in workloads.lower(workloads.parse_config(cid)).layers:
            if l.is_mac and l.macs:
                shapes.setdefault((MacDims.of(l), l.op), l)
    for (d, op), l in list(shapes.items())[::4]:
        chosen = map_layer(l, hw).tiling
        cands = [t for _, t, _ in _ranked(d, hw, _grid_candidates(d, hw), 48, distinct=True)]
        NT, KT, CT, PT, QT, PK = _grid_candidates(d, hw)
        ok, _ = _legal(d, hw, NT, KT, CT, PT, QT, PK)
        for i in rng.choice(np.flatnonzero(ok), size=min(24, int(ok.sum())), replace=False):
            cands.append(Tiling(int(NT[i]), int(KT[i]), int(CT[i]), int(PT[i]), int(QT[i]), int(PK[i]),
                                hw.num_pes // int(PK[i]), ORDERS[int(rng.integers(len(ORDERS)))], False))
        costs = simulated(hw, [(d, op, [chosen] + cands)])[0]
        keys = [_objective_keys(e, s, hw.mapping_objective)[0] for s, e in costs]
        assert keys[0] <= 1.01 * min(keys), (preset, l.name, chosen, cands[int(np.argmin(keys[1:]))])


# -- pruning the finalists by a bound leaves the choice as it was ------------------------------

def _pruned_and_full_choices(hw, model_ids, monkeypatch):
    """Per MAC layer shape of the models: the choice with the finalists pruned by the bound (the
    mapper), the choice simulating every finalist, and how many finalists each simulated."""
    import workloads
    from accelerator import mapping as M
    shapes = {}
    for cid in model_ids:
        for l in workloads.lower(workloads.parse_config(cid)).layers:
            if l.is_mac and l.macs:
                shapes.setdefault((M.MacDims.of(l), l.op), l)
    todo = []
    for d, op in shapes:
        try:
            todo.append((M._shape_key(d, op), d, op, M._shortlist(d, hw)))
        except MappingError:
            continue
    out = {}
    for first in (M.SIM_FIRST, 10 ** 9):
        monkeypatch.setattr(M, "SIM_FIRST", first)
        sims = M._pruned_finalists(hw, todo)
        out[first] = ([M._best_simulated(hw, [t for t, _ in s], [c for _, c in s], d)
                       for (_, d, _, _), s in zip(todo, sims)], sum(len(s) for s in sims))
    (pruned, n_pruned), (full, n_full) = out.values()
    return pruned, full, n_pruned, n_full


def test_pruning_the_finalists_by_the_bound_keeps_every_choice(monkeypatch):
    pruned, full, n_pruned, n_full = _pruned_and_full_choices(load_preset("vs8"), ["segformer-b0@512x512"],
                                                              monkeypatch)
    assert pruned == full
    assert n_pruned < n_full / 2  # the bound saves most of the simulation (else it would be moot)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["vs8", "vs16", "vs32", "simba-like", "lanes4-vs8", "lanes4-vs32", "sq16", "sq32",
                                    "rt-64pe"])
def test_pruning_keeps_every_choice_of_every_shipped_model(preset, monkeypatch):
    """Every MAC layer shape of every shipped model family (SegFormer B0..B5, ResNet-50 and its
    OFA sub-nets, Swin-T) at its default input."""
    import workloads
    ids = [n for n in workloads.model_names() if n not in ("segformer", "segformer-demo")]
    pruned, full, n_pruned, n_full = _pruned_and_full_choices(load_preset(preset), ids, monkeypatch)
    assert pruned == full, [i for i, (a, b) in enumerate(zip(pruned, full)) if a != b]
    print(f"{preset}: {len(full)} shapes, {n_pruned} of {n_full} finalists simulated")


def test_shapes_shortlisted_on_threads_get_the_shortlists_made_one_at_a_time(monkeypatch):
    """`map_layers` shortlists a model's layer shapes on `mapper_threads` threads (OMP_NUM_THREADS,
    as Dask's workers set it, or the CPUs): each shape's finalists and bounds are the same."""
    import workloads
    from accelerator import mapping as M
    hw = load_preset("vs8")
    dims = list(dict.fromkeys(M.MacDims.of(l) for l in workloads.lower(workloads.make_config("segformer-b0")).layers
                              if l.is_mac and l.macs))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = M._shortlists(hw, dims)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert M.mapper_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    assert M.mapper_threads() == M.MAX_MAPPER_THREADS
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert M._shortlists(hw, dims) == one and all(one)
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert M.mapper_threads() >= 1
