"""The Once-For-All ResNet-50 design space (workloads/ofa_resnet.py): its channel rules, analytic
cost, knob errors, named sub-nets (and the script that fits them), supernet weight slicing.

What every family is checked for (ResNet-50 included: published size, IR == FlopCounterMode,
knobs lower and execute, monotone MACs, ids, the accelerator) is in tests/test_model_families.py."""

import random

import pytest
import torch
import torch.nn.functional as F
from knob_errors import bad_knobs_test
from torch_counts import flop_macs, nparams

from workloads.knobs import ConfigError
from workloads.ofa_resnet import (
    BASE_DEPTH_LIST,
    EXPAND_PCT,
    INPUT_CHANNEL,
    MID_INPUT_CHANNEL,
    NAMED_SUBNETS,
    STAGE_WIDTHS,
    WIDTH_PCT,
    OFAResNet50Family,
    make_divisible,
    middle_channels,
)

OFA = OFAResNet50Family()


def random_config(rng, resolution=None):
    depth = (rng.choice((0, 2)),) + tuple(rng.choice((0, 1, 2)) for _ in range(4))
    expand = tuple(tuple(rng.choice(EXPAND_PCT) for _ in range(b + d)) for b, d in zip(BASE_DEPTH_LIST, depth[1:]))
    width = tuple(rng.choice(WIDTH_PCT) for _ in range(6))
    return OFA.config(resolution=resolution, depth=depth, expand=expand, width=width)


# ---------------------------------------------------------------------------- OFA space
def test_ofa_channel_lists_follow_make_divisible():
    assert make_divisible(41.6) == 40 and make_divisible(166.4) == 168 and make_divisible(1331.2) == 1328
    assert INPUT_CHANNEL == [40, 48, 64] and MID_INPUT_CHANNEL == [24, 24, 32]
    assert STAGE_WIDTHS == [[168, 208, 256], [336, 408, 512], [664, 816, 1024], [1328, 1640, 2048]]
    assert middle_channels(2048, 35) == 720 and middle_channels(256, 25) == 64 and middle_channels(168, 20) == 32


def test_ofa_largest_and_smallest():
    big, small = OFA.largest(), OFA.smallest()
    assert big.id == "ofa-resnet50@224x224"
    assert small.id == (
        "ofa-resnet50@224x224/depth=0.0.0.0.0/expand=20.20-20.20-20.20.20.20-20.20/width=65.65.65.65.65.65"
    )
    assert OFA.cost(big) == (7_491_643_904, 48_105_992)
    assert OFA.cost(small) == (962_192_128, 6_539_280)


def _analytic_cases():
    rng = random.Random(0)
    cases = [(f"random-{i}", random_config(rng, resolution=rng.choice([(64, 64), (96, 128), (172, 172)])))
             for i in range(4)]
    cases += [("largest", OFA.largest()), ("smallest", OFA.smallest())]
    return cases + [(n, OFA.config(n)) for n in NAMED_SUBNETS]


@pytest.mark.parametrize("label, c", _analytic_cases(), ids=[c[0] for c in _analytic_cases()])
def test_ofa_analytic_cost_equals_the_module(label, c):
    # (the IR equals the module too, and the module runs: tests/test_model_families.py)
    m = OFA.build_torch(c, device="meta")
    assert OFA.cost(c) == (flop_macs(m, c.resolution), nparams(m))
    # only the active layers exist
    assert len(m.blocks) == sum(b + d for b, d in zip(BASE_DEPTH_LIST, c["depth"][1:]))
    assert len(m.input_stem) == (3 if c["depth"][0] == 2 else 2)


def test_ofa_macs_monotone_when_a_knob_removes_work():
    rng = random.Random(7)
    for _ in range(6):
        c = random_config(rng)
        macs, params = OFA.cost(c)
        d, e, w = list(c["depth"]), [list(g) for g in c["expand"]], list(c["width"])
        smaller = []
        for i in range(5):
            if d[i] > 0:
                dd = d.copy()
                dd[i] = 0 if i == 0 else d[i] - 1
                ee = [g[: b + x] for g, b, x in zip(e, BASE_DEPTH_LIST, dd[1:])]
                smaller.append(dict(depth=tuple(dd), expand=tuple(map(tuple, ee)), width=tuple(w)))
        for s, g in enumerate(e):
            for b, v in enumerate(g):
                if v > min(EXPAND_PCT):
                    ee = [list(x) for x in e]
                    ee[s][b] = EXPAND_PCT[EXPAND_PCT.index(v) - 1]
                    smaller.append(dict(depth=tuple(d), expand=tuple(map(tuple, ee)), width=tuple(w)))
        for i, v in enumerate(w):
            if v > min(WIDTH_PCT):
                ww = w.copy()
                ww[i] = WIDTH_PCT[WIDTH_PCT.index(v) - 1]
                smaller.append(dict(depth=tuple(d), expand=tuple(map(tuple, e)), width=tuple(ww)))
        for kn in smaller:
            m2, p2 = OFA.cost(OFA.config(**kn))
            # OFA's stem convs 1-2 have 24 channels at both 65% and 80% (make_divisible(c // 2, 8))
            same = kn["width"][0] == 65 and w[0] == 80 and kn["width"][1:] == tuple(w[1:]) and kn["depth"] == tuple(d)
            assert (m2 == macs and p2 == params) if same else (m2 < macs and p2 <= params), kn
    # resolution
    assert OFA.cost(OFA.config(resolution=192))[0] < OFA.cost(OFA.config())[0]


test_ofa_bad_knobs_name_knob_and_allowed_values = bad_knobs_test(OFA, [
    (dict(depth="1.2.2.2.2"), r"knob depth stage 1 = 1 is not allowed.*\{0,2\} \| 0\.\.2"),
    (dict(depth="2.2.3.2.2"), r"knob depth stage 3 = 3 is out of range.*0\.\.2"),
    (dict(depth="2.2.2"), r"knob depth takes 5 values"),
    (dict(expand="30"), r"knob expand stage 1 block 1 = 30 is not allowed.*\{20,25,35\}"),
    (dict(expand="35.35-35"), r"knob expand needs 4-4-6-4 blocks per stage.*\{20,25,35\}"),
    (dict(depth="2.0.0.0.0", expand="35.35.35"), r"knob expand=.* has 3 values.*2\+2\+4\+2=10.*\{20,25,35\}"),
    (dict(expand="a.b"), r"knob expand=.*must be integers.*\{20,25,35\}"),
    (dict(width="50.100.100.100.100.100"), r"knob width stage 1 = 50 is not allowed.*\{65,80,100\}"),
    (dict(width="100"), r"knob width takes 6 values"),
    (dict(kernel="3"), r"unknown knob 'kernel'.*depth, expand, width"),
    (dict(resolution="225"), r"resolution=225x225 is not allowed.*multiples of 4"),
])


def test_ofa_bad_model_name_and_contradiction():
    with pytest.raises(ConfigError, match="contradicts the model name"):
        OFA.config("ofa-resnet50-mac4.1b", width="100.100.100.100.100.100")


def test_ofa_expand_text_forms():
    # (ids round-trip: tests/test_model_families.py) shorthand and grouped forms parse to the same config
    a = OFA.config(depth="2.0.0.0.0", expand="25")
    b = OFA.config(depth="2.0.0.0.0", expand="25.25-25.25-25.25.25.25-25.25")
    c = OFA.config(depth="2.0.0.0.0", expand="25.25.25.25.25.25.25.25.25.25")
    assert a == b == c and a.id == b.id == c.id
    assert a.id == "ofa-resnet50@224x224/depth=2.0.0.0.0/expand=25.25-25.25-25.25.25.25-25.25"


# ---------------------------------------------------------------------------- named sub-nets
@pytest.mark.parametrize("name", list(NAMED_SUBNETS))
def test_named_subnets_ids(name):
    # (their published MACs and params: OFAResNet50Family.published_sizes, tests/test_model_families.py)
    n = NAMED_SUBNETS[name]
    c = OFA.config(name)
    assert c.id == f"{name}@{n['resolution'][0]}x{n['resolution'][1]}"
    # the same network built from knobs gets the named id
    same = OFA.config(resolution=c.resolution, depth=c["depth"], expand=c["expand"], width=c["width"])
    assert same.id == c.id
    assert n["exact"] is False  # approximations (see module docstring)
    assert OFA.published_sizes()[name].macs == n["published"]["macs"]


def _fit_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "fit_ofa_subnets.py"
    spec = importlib.util.spec_from_file_location("fit_ofa_subnets", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, path


def test_shipped_subnets_file_is_what_the_fit_script_writes():
    from workloads.ofa_resnet import SUBNETS_FILE, subnet_cost

    fit, _ = _fit_script()
    shipped = fit.read(SUBNETS_FILE)
    assert fit.render(shipped) == SUBNETS_FILE.read_text()  # no hand edits
    assert list(shipped) == list(NAMED_SUBNETS) == [p[0] for p in fit.PUBLISHED]
    for name, n in shipped.items():
        res = (n["resolution"], n["resolution"])
        assert (n["fitted"]["macs"], n["fitted"]["params"]) == subnet_cost(n["depth"], n["expand"], n["width"], res)
        assert abs(n["fitted"]["macs"] - n["published"]["macs"]) <= fit.MAC_TOL
        assert abs(n["fitted"]["params"] - n["published"]["params"]) <= fit.PARAM_TOL


@pytest.mark.slow
def test_re_running_the_fit_script_reproduces_the_shipped_subnets():
    import subprocess
    import sys

    _, path = _fit_script()
    r = subprocess.run([sys.executable, str(path), "--check"], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identical" in r.stdout


def test_named_subnet_accuracy_entries_are_labelled_approximate():
    from workloads.accuracy import accuracy_of

    for name, n in NAMED_SUBNETS.items():
        acc = accuracy_of(OFA.config(name))
        assert acc.value == n["published"]["top1"] and acc.metric == "ImageNet top-1"
        assert acc.label.startswith("approximate: config chosen to match published MACs")
        assert n["net_id"] in acc.source
    assert not accuracy_of(OFA.config("ofa-resnet50-mac4.1b", resolution=192)).known
    assert not accuracy_of(OFA.largest()).known


# ---------------------------------------------------------------------------- supernet weights
def _randomize_bn(module, gen):
    for mod in module.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=gen) * 0.1)


def _to_ofa_dynamic_keys(sd):
    """Our static layout -> the key layout of OFA's OFAResNets (Dynamic* wrappers)."""
    out = {}
    for k, v in sd.items():
        head, _, leaf = k.rpartition(".")
        last = head.rsplit(".", 1)[-1]
        if last in ("conv", "bn", "linear"):
            k = f"{head}.{last}.{leaf}"
        out[k] = v
    return out


def _ofa_dynamic_forward(sd, c, x):
    """OFAResNets.forward after set_active_subnet(d, e, w), on the supernet tensors
    (ofa/imagenet_classification/elastic_nn/networks/ofa_resnets.py and
    elastic_nn/modules/dynamic_layers.py: DynamicConv2d / DynamicBatchNorm2d slice the
    leading channels)."""
    d, e, w = c["depth"], c["expand"], [WIDTH_PCT.index(v) for v in c["width"]]

    def cbn(prefix, x, cout, stride=1, k=None, act=True):
        wt = sd[prefix + ".conv.weight"][:cout, : x.shape[1]]
        x = F.conv2d(x, wt, stride=stride, padding=wt.shape[-1] // 2)
        b = prefix + ".bn."
        x = F.batch_norm(x, sd[b + "running_mean"][:cout], sd[b + "running_var"][:cout],
                         sd[b + "weight"][:cout], sd[b + "bias"][:cout], False, 0.1, 1e-5)
        return F.relu(x) if act else x

    mid = MID_INPUT_CHANNEL[w[0]]
    x = cbn("input_stem.0", x, mid, 2)
    if d[0] == 2:
        x = x + cbn("input_stem.1.conv", x, mid)
    x = cbn("input_stem.2", x, INPUT_CHANNEL[w[1]])
    x = F.max_pool2d(x, 3, 2, 1)
    start = 0
    for s, base in enumerate(BASE_DEPTH_LIST):
        cout = STAGE_WIDTHS[s][w[s + 2]]
        for i in range(base + d[s + 1]):
            p = f"blocks.{start + i}"
            stride = (1, 2, 2, 2)[s] if i == 0 else 1
            mc = middle_channels(cout, e[s][i])
            if i == 0:
                r = F.avg_pool2d(x, stride, stride, 0, ceil_mode=True) if stride > 1 else x
                r = cbn(p + ".downsample", r, cout, act=False)
            else:
                r = x
            y = cbn(p + ".conv1", x, mc)
            y = cbn(p + ".conv2", y, mc, stride)
            y = cbn(p + ".conv3", y, cout, act=False)
            x = F.relu(y + r)
        start += base + 2
    x = x.mean(3).mean(2)
    return F.linear(x, sd["classifier.linear.weight"][:, : x.shape[1]], sd["classifier.linear.bias"])


def test_subnet_weights_are_sliced_from_the_supernet_like_ofa():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    sup = OFA.build_supernet()
    with torch.no_grad():
        _randomize_bn(sup, gen)
    sd = {k: v.clone() for k, v in sup.state_dict().items()}
    ofa_sd = {"state_dict": _to_ofa_dynamic_keys(sd)}  # the layout of OFA's ofa_resnet50 checkpoint
    assert "blocks.0.conv1.conv.conv.weight" in ofa_sd["state_dict"]
    assert "input_stem.1.conv.conv.conv.weight" in ofa_sd["state_dict"]
    assert "classifier.linear.linear.weight" in ofa_sd["state_dict"]
    x = torch.randn(1, 3, 64, 64, generator=gen)
    rng = random.Random(11)
    cfgs = [OFA.largest(64), OFA.smallest(64), OFA.config("ofa-resnet50-mac1.8b", resolution=64)]
    cfgs += [random_config(rng, resolution=64) for _ in range(2)]
    with torch.no_grad():
        for i, c in enumerate(cfgs):
            m = OFA.build_torch(c, weights=ofa_sd if i % 2 else sd)  # both key layouts
            ref = _ofa_dynamic_forward(sd, c, x)
            torch.testing.assert_close(m(x), ref, rtol=1e-4, atol=1e-4)
        # the largest sub-net IS the supernet
        torch.testing.assert_close(OFA.build_torch(OFA.largest(64), weights=sd)(x), sup(x))
    with pytest.raises(ConfigError, match="meta"):
        OFA.build_torch(OFA.smallest(), device="meta", weights=sd)
