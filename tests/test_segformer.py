"""SegFormer family: what its knobs do to the module and the IR, weights, errors, ids.

What every family is checked for (published sizes, IR == FlopCounterMode, knobs lower and
execute, monotone MACs, ids, the accelerator) is in tests/test_model_families.py."""

import contextlib
import copy
from functools import lru_cache

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from workloads.extract import FastMetaMode, extract_layers
from workloads.knobs import ConfigError
from workloads.segformer import VARIANTS, SegFormerFamily, _set_stage_blocks, _stage_blocks

FAM = SegFormerFamily()


@lru_cache(maxsize=None)
def lowered(config):
    return FAM.lower(config)


def flop_macs_and_params(config, fast=False):
    """Independent check: PyTorch's FLOP counter on the same knob-applied module (meta).

    ``fast``: PyTorch's (slow, Python) meta kernels are replaced by the extractor's
    shape shortcuts underneath the counter, which still sees and counts every ATen op;
    test_extract/test_fast_meta_* check that the shortcuts give the same shapes."""
    m = FAM.build_torch(config, device="meta")
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), contextlib.ExitStack() as stack:
        if fast:
            stack.enter_context(FastMetaMode())
        stack.enter_context(fc)
        m(FAM.example_input(config, device="meta"))
    return fc.get_total_flops() // 2, sum(p.numel() for p in m.parameters())


def test_fast_meta_shortcuts_identical_on_segformer():
    c = FAM.config(name="segformer-b0", resolution="128x192", heads="1.1.3.5", ffn="128.200.640.1000", dec=99)
    m = FAM.build_torch(c, device="meta")
    x = FAM.example_input(c, device="meta")
    assert extract_layers(m, x) == extract_layers(m, x, fast_meta=False)
    assert flop_macs_and_params(c, fast=True) == flop_macs_and_params(c, fast=False)


def test_variants_ordered_by_macs():
    by_variant = [lowered(FAM.config(name=f"segformer-{v}", resolution="128x128")).total_macs for v in VARIANTS]
    assert by_variant == sorted(by_variant)


def test_b2_op_class_breakdown():
    w = lowered(FAM.config(name="segformer-b2"))
    bd = w.breakdown()
    for cls in ("dense_conv", "pointwise", "depthwise", "attention"):
        assert bd[cls] > 0, cls
    assert sum(bd.values()) == w.total_macs
    conv = bd["dense_conv"] + bd["pointwise"] + bd["depthwise"]
    # the paper's finding: convolutions (incl. 1x1) hold most MACs, not attention
    assert conv > 0.5 * w.total_macs
    assert conv > 5 * bd["attention"]


def test_decoder_resize_and_fuse_in_ir():
    c = FAM.config(name="segformer-b2", resolution="256x256", dec=100)
    w = FAM.lower(c)
    resize = [l for l in w.layers if l.op == "resize"]
    assert len(resize) == 4 and all(l.elements == 100 * 64 * 64 for l in resize)
    fuse = next(l for l in w.layers if l.name.endswith("linear_fuse"))
    assert (fuse.op, fuse.C, fuse.K, fuse.P, fuse.Q) == ("conv", 400, 100, 64, 64)
    cls = next(l for l in w.layers if l.name.endswith("classifier"))
    assert (cls.C, cls.K) == (100, 150)


# transformers 5 and 4.x name SegFormer's sub-modules differently
def _q_proj(attn):
    return attn.q_proj if hasattr(attn, "q_proj") else attn.self.query


def _out_proj(attn):
    return attn.o_proj if hasattr(attn, "o_proj") else attn.output.dense


def _fc2(mlp):
    return mlp.fc2 if hasattr(mlp, "fc2") else mlp.dense2


def test_knobs_shrink_the_layers():
    c = FAM.config(name="segformer-b1", resolution="128x128", heads="1.1.3.8", ffn="256.512.1000.2048", blocks="2.1.2.2")
    w = lowered(c)
    m = FAM.build_torch(c, device="meta")
    path = {id(mod): n for n, mod in m.named_modules()}
    stages = _stage_blocks(m)
    assert [len(b) for b in stages] == [2, 1, 2, 2]
    blk = stages[2][0]
    by = {l.name: l for l in w.layers}
    q = by[path[id(_q_proj(blk.attention))]]
    assert q.K == 3 * 64
    qk = next(l for l in w.layers if l.op == "matmul" and l.name.startswith(path[id(blk.attention)]))
    assert qk.mm_b == 3 and qk.mm_k == 64
    dw = by[path[id(blk.mlp.dwconv.dwconv)]]
    assert dw.K == dw.groups == 1000 and dw.C == 1
    # the dropped block of stage 1 is gone from the IR: 7 blocks, 7 attentions
    assert sum(1 for l in w.layers if l.op == "softmax") == 7
    assert sum(1 for l in lowered(FAM.config(name="segformer-b1", resolution="128x128")).layers if l.op == "softmax") == 8


# ---- executable model ------------------------------------------------------------


def test_executable_output_is_a_quarter_resolution_label_map():
    # (every knob executes on every family: tests/test_model_families.py)
    c = FAM.config(name="segformer-b1", resolution="64x128", heads="1.2.5.1", dec=256, blocks="2.2.1.2")
    m = FAM.build_torch(c)
    h, w = c.resolution
    with torch.no_grad():
        y = m(torch.randn(1, 3, h, w))
    assert y.shape == (1, 150, h // 4, w // 4)
    assert torch.isfinite(y).all()


@pytest.fixture(scope="module")
def b0_full():
    torch.manual_seed(0)
    return FAM.build_torch(FAM.config(name="segformer-b0", resolution="64x64"))


def test_weights_load_then_slice_equals_masked_full_model(b0_full):
    """Slicing with full weights computes exactly what the full model computes when the
    skipped heads/channels/blocks contribute nothing: the work is really removed, and
    the kept weights are the first-n ones."""
    c = FAM.config(name="segformer-b0", resolution="64x96", heads="1.1.3.4", ffn="64.100.300.512", dec=100, blocks="1.2.1.2")
    sliced = FAM.build_torch(c, weights=b0_full.state_dict())
    ref = copy.deepcopy(b0_full)
    D, d = VARIANTS["b0"]["decoder_hidden_size"], c["dec"]
    hd = 32  # b0 head size
    with torch.no_grad():
        for i, blocks in enumerate(_stage_blocks(ref)):
            for blk in blocks:
                _out_proj(blk.attention).weight[:, c["heads"][i] * hd :] = 0
                _fc2(blk.mlp).weight[:, c["ffn"][i] :] = 0
            _set_stage_blocks(ref, i, list(blocks)[: c["blocks"][i]])
        ref.decode_head.classifier.weight[:, d:] = 0
        for j in range(4):
            ref.decode_head.linear_fuse.weight[:, j * D + d : (j + 1) * D] = 0
        x = torch.randn(1, 3, 64, 96)
        y, yr = sliced(x), ref(x)
    assert y.shape == yr.shape == (1, 150, 16, 24)
    assert torch.allclose(y, yr, rtol=1e-4, atol=1e-6 * yr.abs().max().item())
    # and the sliced module holds fewer parameters
    assert sum(p.numel() for p in sliced.parameters()) < sum(p.numel() for p in b0_full.parameters())


def test_default_config_with_weights_is_the_full_model(b0_full):
    c = FAM.config(name="segformer-b0", resolution="64x64")
    m = FAM.build_torch(c, weights=b0_full.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(m(x), b0_full(x))


# ---- configuration errors and ids ---------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(name="segformer-b0", heads="1.2.5.9"), ["heads", "1..8"]),
        (dict(name="segformer-b2", blocks="3.4.7.3"), ["blocks", "1..6"]),
        (dict(name="segformer-b2", blocks="0.4.6.3"), ["blocks", "1..3"]),
        (dict(name="segformer-b2", blocks="3.4.6"), ["blocks", "one per stage"]),
        (dict(name="segformer-b2", ffn="a.b.c.d"), ["ffn", "1..2048"]),
        (dict(name="segformer-b1", dec=257), ["dec", "1..256"]),
        (dict(name="segformer-b2", dec="x"), ["dec", "1..768"]),
        (dict(name="segformer", variant="b7"), ["variant", "b0", "b5"]),
        (dict(name="segformer-b2", variant="b3"), ["variant", "contradicts"]),
        (dict(name="segformer-b2", width="1"), ["unknown knob", "width", "heads"]),
        (dict(name="segformer-b9"), ["segformer-b9", "segformer-b0", "segformer-b5"]),
        (dict(name="segformer-b2", resolution="100x100"), ["resolution", "multiples of 32"]),
        (dict(name="segformer-b2", resolution="32x32"), ["resolution", "at least 64"]),
        (dict(name="segformer-b2", resolution="big"), ["resolution", "HxW"]),
    ],
)
def test_config_errors_name_field_and_allowed_values(kwargs, words):
    with pytest.raises(ConfigError) as e:
        FAM.config(**kwargs)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_config_ids_spell_the_variant_and_only_non_default_knobs():
    # (ids round-trip: tests/test_model_families.py)
    assert FAM.config().id == "segformer-b2@512x512"
    assert FAM.config(name="segformer", variant="b4", resolution="640x640").id == "segformer-b4@640x640"
    assert FAM.config(name="segformer-b2", heads="1.2.4.8").id == "segformer-b2@512x512/heads=1.2.4.8"
    assert FAM.config(name="segformer-b5", resolution="512x1024", dec=384).id == "segformer-b5@512x1024/dec=384"
    # typed and text values give the same config; default values are not spelled
    assert FAM.config(name="segformer-b2", heads=(1, 2, 5, 8), dec="768").id == "segformer-b2@512x512"


def test_registry_knows_segformer():
    from workloads import registry

    c = registry.make_config("SegFormer-B1", resolution="256x256", heads="1.1.1.1")
    assert c.id == "segformer-b1@256x256/heads=1.1.1.1"
    assert registry.parse_config(c.id) == c
    assert registry.lower(c).total_macs == FAM.lower(c).total_macs
