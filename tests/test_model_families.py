"""One test suite that every registered model family runs (`workloads.families()`).

A new family is tested by registering it: each check below is parametrised over the
registry, on the family's ``representative_model`` (its smallest published model whose knobs
can be set) at the smallest resolution the family allows, and on configurations built from
the knobs' own declarations (``Knob.allowed`` / ``default``), whatever the family:

* the full configuration, each knob reduced on its own (every stage at a middle value) and
  one random configuration of all knobs (seeded);
* (a) the IR's MACs and parameters equal PyTorch's FlopCounterMode count and the parameters
  of the same knob-applied torch module;
* (b) the torch modules have the parameter (and MAC) counts the family declares as published
  (``Family.published_sizes()``);
* (c) every knob lowers to the IR and executes: the sliced module runs a forward pass on a
  small input, with the full model's output shape;
* (d) MACs are monotone in each knob: lowering any stage of any knob (from the full model,
  one allowed value at a time) never increases MACs or parameters, and its lowest value
  removes MACs;
* (e) configuration ids round-trip through ``workloads.parse_config``;
* (f) the lowered workload runs on the SystemC accelerator (default preset): per layer,
  ``macs_useful`` equals the IR's MACs and ``macs_issued`` its vector/lane-rounded MACs, the
  energy breakdown sums to the total, no layer beats its roofline, a reduced configuration
  (mapped like its full one) is never slower nor costlier, fewer resources are never faster,
  and the same input gives the same result.

Slow (``make test-slow``): (a) on every model name of every family at its default
resolution, and (f) on each family's default configuration (SegFormer-B2 at 512x512,
ResNet-50, OFA ResNet-50, Swin-T at 224x224).
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
import pytest
import torch
from torch_counts import flop_macs, nparams

import workloads
from workloads.knobs import Config, Family, Knob, is_range

FAMILIES = list(workloads.families())


def fam(name: str) -> Family:
    return workloads.families()[name]


# ---- the knob space, read from the knobs' declarations ----------------------------------


def smallest_resolution(f: Family) -> tuple[int, int]:
    m = f.resolution_multiple
    side = -(-f.min_resolution // m) * m
    return side, side


def representative(f: Family) -> str:
    return f.representative_model or f.family


def free_knobs(f: Family, model: str) -> list[Knob]:
    """The knobs a configuration of ``model`` can set (not those its name spells)."""
    spelled = f.name_presets(model)
    return [k for k in f.knobs if k.name not in spelled]


def _ctx(f: Family, model: str, res) -> dict:
    """The context a knob's ``allowed``/``default`` see in the full configuration: resolution,
    the name's knobs, then every other knob at its default, in declared order."""
    ctx = {"resolution": res, **f.name_presets(model)}
    for k in f.knobs:
        if k.name not in ctx:
            ctx[k.name] = k.default(ctx)
    return ctx


def _ctx_before(f: Family, knob: Knob, ctx: dict) -> dict:
    names = [k.name for k in f.knobs]
    keep = set(names[: names.index(knob.name)]) | {"resolution"}
    return {k: v for k, v in ctx.items() if k in keep}


def slot_values(knob: Knob, ctx: dict) -> list[list]:
    """The allowed values of each independently settable slot of ``knob``, ascending: one slot
    for an integer or choice knob, one per stage otherwise (a per-block knob sets every
    block of a stage together)."""
    allowed = knob.allowed(ctx)
    if knob.kind == "choice":
        return [list(allowed)]
    if knob.kind == "int":
        lo, hi = allowed
        step = knob.step(ctx) if knob.step else 1
        return [[v for v in range(lo, hi + 1) if v % step == 0]]
    if knob.kind == "per_stage":
        steps = knob.step(ctx) if knob.step else [1] * len(allowed)
        out = []
        for rng, st in zip(allowed, steps):
            if not is_range(rng):
                out.append(sorted(rng))
            elif knob.kind == "per_stage":
                out.append([v for v in range(rng[0], rng[1] + 1) if v % st == 0])
            else:
                out.append([rng[0], (rng[0] + rng[1]) / 2, rng[1]])
        return out
    if knob.kind == "per_block":
        return [sorted(allowed) for _ in knob.default(ctx)]
    raise AssertionError(f"knob {knob.name}: kind {knob.kind!r} is unknown to the family test suite; teach it here")


def slots_of(knob: Knob, value) -> list:
    if knob.kind in ("choice", "int"):
        return [value]
    if knob.kind == "per_block":
        return [max(stage) for stage in value]
    return list(value)


def with_slot(knob: Knob, value, i: int, v):
    """``value`` with slot ``i`` set to ``v``."""
    if knob.kind in ("choice", "int"):
        return v
    if knob.kind == "per_block":
        return tuple(tuple([v] * len(g)) if j == i else g for j, g in enumerate(value))
    return tuple(v if j == i else x for j, x in enumerate(value))


def make(f: Family, model: str, res, **knobs) -> Config:
    return f.config(name=model, resolution=res, **knobs)


def full_config(f: Family) -> Config:
    return make(f, representative(f), smallest_resolution(f))


def reduced_config(f: Family, knob: Knob) -> Config:
    """``knob`` with every slot at the middle of its allowed values below the full value (or
    another value, for an unordered choice); every other knob at its default."""
    model, res = representative(f), smallest_resolution(f)
    ctx = _ctx(f, model, res)
    before = _ctx_before(f, knob, ctx)
    value = ctx[knob.name]
    if knob.kind == "choice":
        return make(f, model, res, **{knob.name: next(v for v in knob.allowed(before) if v != value)})
    for i, (cur, allowed) in enumerate(zip(slots_of(knob, value), slot_values(knob, before))):
        below = [v for v in allowed if v < cur]
        if below:
            value = with_slot(knob, value, i, below[len(below) // 2])
    return make(f, model, res, **{knob.name: value})


def random_config(f: Family, rng: random.Random, model: str | None = None, res=None) -> Config:
    """Every free knob at a random allowed value (per block for per-block knobs)."""
    model = model or representative(f)
    res = res or smallest_resolution(f)
    ctx = {"resolution": res, **f.name_presets(model)}
    values = {}
    for knob in f.knobs:
        if knob.name in ctx:
            continue
        slots = slot_values(knob, ctx)
        if knob.kind == "per_block":
            v = tuple(tuple(rng.choice(slots[s]) for _ in g) for s, g in enumerate(knob.default(ctx)))
        elif knob.kind in ("choice", "int"):
            v = rng.choice(slots[0])
        else:
            v = tuple(rng.choice(s) for s in slots)
        ctx[knob.name] = values[knob.name] = v
    return make(f, model, res, **values)


def sample_configs(f: Family) -> list[Config]:
    """The full configuration, each knob reduced alone, and one random configuration."""
    cfgs = [full_config(f)] + [reduced_config(f, k) for k in free_knobs(f, representative(f))]
    if free_knobs(f, representative(f)):
        cfgs.append(random_config(f, random.Random(f.family)))
    out = []
    for c in cfgs:
        if c not in out:
            out.append(c)
    return out


def knob_chains(f: Family, knob: Knob) -> list[tuple[str, list[Config]]]:
    """Per slot of ``knob``: the full configuration, then that slot lowered step by step
    (the middle of the values below, then the lowest)."""
    model, res = representative(f), smallest_resolution(f)
    ctx = _ctx(f, model, res)
    full = ctx[knob.name]
    chains = []
    for i, (cur, allowed) in enumerate(zip(slots_of(knob, full), slot_values(knob, _ctx_before(f, knob, ctx)))):
        below = [v for v in allowed if v < cur]
        steps = sorted({below[len(below) // 2], below[0]}, reverse=True) if below else []
        if steps:
            chains.append((f"{knob.name}[{i}]", [full_config(f)] +
                           [make(f, model, res, **{knob.name: with_slot(knob, full, i, v)}) for v in steps]))
    return chains


def ordered_knobs() -> list[tuple[str, str]]:
    """(family, knob) of every knob whose values are ordered (monotonicity makes sense)."""
    return [(n, k.name) for n in FAMILIES for k in free_knobs(fam(n), representative(fam(n))) if k.kind != "choice"]


# ---- measurements -----------------------------------------------------------------------


@lru_cache(maxsize=None)
def lowered(config: Config):
    return workloads.lower(config)


def torch_count(f: Family, config: Config) -> tuple[int, int]:
    """(MACs by PyTorch's FlopCounterMode, parameters) of the knob-applied module (meta)."""
    m = f.build_torch(config, device="meta")
    return flop_macs(m, f.example_input(config, device="meta")), nparams(m)


def assert_ir_equals_torch(f: Family, config: Config) -> None:
    wl = lowered(config)
    macs, params = torch_count(f, config)
    assert (wl.total_macs, wl.params) == (macs, params), config.id
    assert sum(l.params for l in wl.layers) == wl.params, config.id


# ---- (a) IR == PyTorch's count ------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_ir_macs_and_params_equal_the_flop_counter(family):
    f = fam(family)
    for c in sample_configs(f):
        assert_ir_equals_torch(f, c)


def _every_model():
    out = []
    for n in FAMILIES:
        f = fam(n)
        for model in f.model_names():
            out.append(pytest.param(n, model, id=f"{n}:{model}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family, model", _every_model())
def test_every_model_at_its_default_resolution_ir_equals_the_flop_counter(family, model):
    f = fam(family)
    c = f.config(name=model)
    assert_ir_equals_torch(f, c)
    if free_knobs(f, model):
        assert_ir_equals_torch(f, random_config(f, random.Random(model), model=model, res=c.resolution))


# ---- (b) published sizes -----------------------------------------------------------------


def _declared():
    return [pytest.param(n, m, id=f"{n}:{m}") for n in FAMILIES for m in fam(n).published_sizes()]


@pytest.mark.parametrize("family, model", _declared())
def test_torch_model_has_the_published_size(family, model):
    f = fam(family)
    pub = f.published_sizes()[model]
    assert pub.source and (pub.params is not None or pub.macs is not None)
    c = f.config(name=model, resolution=pub.resolution)
    if pub.macs is None:
        m = f.build_torch(c, device="meta")
        macs, params = None, nparams(m)
    else:
        macs, params = torch_count(f, c)
        assert abs(macs - pub.macs) <= pub.macs_tol, (model, macs, pub.source)
    if pub.params is not None:
        assert abs(params - pub.params) <= pub.params_tol, (model, params, pub.source)


def test_every_declared_published_size_names_a_model_of_its_family():
    for n in FAMILIES:
        for model in fam(n).published_sizes():
            assert workloads.family_of(model) is fam(n), model


# ---- (c) every knob lowers and executes --------------------------------------------------


@pytest.fixture
def one_torch_thread():
    """Forward passes on one thread: these inputs are tiny, and two intra-op threads on two
    busy cores (xdist) spin-wait: a Swin-T forward then costs 3.3 s of CPU instead of 0.2 s."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_knob_lowers_and_executes(family, one_torch_thread):
    f = fam(family)
    full = full_config(f)
    choices = [k.name for k in f.knobs if k.kind == "choice"]
    torch.manual_seed(0)
    x = torch.randn_like(f.example_input(full))
    shape = None
    for c in sample_configs(f):
        wl = lowered(c)
        assert wl.layers and wl.total_macs > 0 and wl.config == c.id
        if c != full and all(c[k] == full[k] for k in choices):  # reduced, not switched: less work
            assert wl.total_macs < lowered(full).total_macs, c.id
        with torch.no_grad():
            y = f.build_torch(c)(x)
        assert torch.isfinite(y).all(), c.id
        shape = shape or tuple(y.shape)
        assert tuple(y.shape) == shape, c.id  # knobs never change what the model outputs


def test_every_family_has_a_representative_and_sample_configs():
    for n in FAMILIES:
        f = fam(n)
        assert workloads.family_of(representative(f)) is f
        cfgs = sample_configs(f)
        assert cfgs[0] == full_config(f)
        # each knob reduced alone is there, none twice (the random one may equal another: it is then dropped)
        assert all(reduced_config(f, k) in cfgs for k in free_knobs(f, representative(f)))
        assert len(set(cfgs)) == len(cfgs) >= 1 + len(free_knobs(f, representative(f)))


# ---- (d) MACs monotone in each knob ------------------------------------------------------


@pytest.mark.parametrize("family, knob", ordered_knobs(), ids=[f"{f}:{k}" for f, k in ordered_knobs()])
def test_macs_monotone_in_each_knob(family, knob):
    f = fam(family)
    kd = next(k for k in f.knobs if k.name == knob)
    chains = knob_chains(f, kd)
    assert chains, f"knob {knob} of {family} has no value below its default on {representative(f)}"
    for label, chain in chains:
        costs = [(lowered(c).total_macs, lowered(c).params) for c in chain]
        for (m0, p0), (m1, p1), c in zip(costs, costs[1:], chain[1:]):
            assert m1 <= m0 and p1 <= p0, (label, c.id, m0, m1, p0, p1)
        assert costs[-1][0] < costs[0][0], (label, chain[-1].id)  # the lowest value removes work


# ---- (e) config ids round-trip ------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_config_ids_round_trip(family):
    f = fam(family)
    rng = random.Random(f"ids-{family}")
    cfgs = sample_configs(f) + [f.config(name=m) for m in f.model_names()]
    lo, m = smallest_resolution(f)[0], f.resolution_multiple
    resolutions = [(lo, lo), f.default_resolution, (lo + m, lo), (lo, lo + 2 * m)]
    cfgs += [random_config(f, rng, res=rng.choice(resolutions)) for _ in range(10)]
    for c in cfgs:
        back = workloads.parse_config(c.id)
        assert back == c and back.id == c.id, c.id
        assert workloads.full_config(c).name == c.name


# ---- (f) on the SystemC accelerator ------------------------------------------------------


def cdiv(a, b):
    return -(-a // b)


@pytest.fixture(scope="module")
def acc():
    from accelerator.model import Accelerator
    from accelerator.presets import DEFAULT_PRESET, load_preset

    return Accelerator.for_process(load_preset(DEFAULT_PRESET))


def assert_runs_consistently(acc, full_cfg: Config, reduced: list[Config]) -> None:
    from accelerator.counters import COUNTER_INDEX as CI
    from accelerator.params import RuntimeResources

    hw = acc.hw
    full_wl = lowered(full_cfg)
    full_h = acc.load(full_wl, config=full_wl.config)
    base = None
    for c in [full_cfg] + reduced:
        wl = lowered(c)
        h = full_h if c == full_cfg else acc.load(wl, config=wl.config, reference=full_h)
        r = acc.run(h)
        assert np.array_equal(r.counter("macs_useful"), [l.macs for l in wl.layers]), c.id
        assert r.macs == wl.total_macs, c.id
        issued = [l.N * cdiv(l.K, hw.lanes) * hw.lanes * l.P * l.Q * cdiv(l.C, hw.vector_size) * hw.vector_size
                  * l.R * l.S if l.is_mac else 0 for l in wl.layers]
        assert np.array_equal(r.counter("macs_issued"), issued), c.id
        assert set(r.energy) == set(acc.energy_model.components)
        assert sum(v.sum() for v in r.energy.values()) == pytest.approx(r.energy_j, rel=1e-12)
        assert all((v >= 0).all() for v in r.energy.values())
        assert (r.layer_latency_s > 0).all() and np.nanmin(r.layer_roofline_ratio) >= 1.0 - 1e-9, c.id
        if base is None:
            base = r
            again = acc.run(h)
            assert np.array_equal(again.counters[:, CI["cycles"]:], r.counters[:, CI["cycles"]:])
            assert (again.latency_s, again.energy_j) == (r.latency_s, r.energy_j)
            for change in (dict(active_pes=hw.num_pes // 2), dict(clock_hz=hw.clock_hz / 2), dict(dram_share=0.5)):
                slow = acc.run(h, resources=RuntimeResources.full(hw).replace(**change))
                assert slow.latency_s > r.latency_s, change
                assert (slow.layer_latency_s >= r.layer_latency_s).all(), change
        else:  # a dynamic configuration runs its full configuration's mapping with less work
            assert r.latency_s <= base.latency_s and r.energy_j <= base.energy_j, c.id


@pytest.mark.parametrize("family", FAMILIES)
def test_lowered_workload_runs_on_the_accelerator(acc, family):
    f = fam(family)
    cfgs = sample_configs(f)
    assert_runs_consistently(acc, cfgs[0], cfgs[1:])


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_default_configuration_runs_on_the_accelerator(acc, family):
    f = fam(family)
    full = f.config()
    reduced = [random_config(f, random.Random(f"acc-{family}"), model=full.name, res=full.resolution)] \
        if free_knobs(f, full.name) else []
    assert_runs_consistently(acc, full, reduced)
