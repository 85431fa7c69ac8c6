"""Swin-T with dynamic blocks and heads (workloads/swin.py): what skipping does to the module.

What every family is checked for (published size, IR == FlopCounterMode, knobs lower and
execute, monotone MACs, ids, the accelerator) is in tests/test_model_families.py."""

import copy

import pytest
import torch
from knob_errors import bad_knobs_test
from torch_counts import flop_macs, nparams

from workloads.swin import NUM_HEADS, SwinFamily, apply_knobs

SWIN = SwinFamily()


def meta_cost(cfg):
    m = SWIN.build_torch(cfg, device="meta")
    return flop_macs(m, cfg.resolution), nparams(m)


@pytest.fixture(scope="module")
def full_model():
    torch.manual_seed(0)
    m = SWIN.build_torch(SWIN.config())
    with torch.no_grad():  # non-zero relative position bias so that slicing it matters
        for name, p in m.named_parameters():
            if "relative_position_bias_table" in name:
                p.normal_(0, 0.5)
    return m


def test_skipped_config_shape_and_work_really_removed():
    c = SWIN.config(blocks="1.1.3.1", heads="1.2.4.8")
    assert c.id == "swin-t@224x224/blocks=1.1.3.1/heads=1.2.4.8"
    m = SWIN.build_torch(c, device="meta")  # (it runs: tests/test_model_families.py)
    stages = m.swin.encoder.layers
    assert [len(s.blocks) for s in stages] == [1, 1, 3, 1]
    att = stages[2].blocks[0].attention
    q = att.q_proj if hasattr(att, "q_proj") else att.self.query
    assert q.out_features == 4 * 32
    assert meta_cost(c)[0] < 0.45 * meta_cost(SWIN.config())[0]


def _neutralize_block(layer):
    """Make a SwinLayer the identity (both residual branches output 0)."""
    att = layer.attention
    o = att.o_proj if hasattr(att, "o_proj") else att.output.dense
    o.weight.zero_()
    o.bias.zero_()
    layer.mlp.fc2.weight.zero_() if hasattr(layer.mlp, "fc2") else layer.output.dense.weight.zero_()
    (layer.mlp.fc2.bias if hasattr(layer.mlp, "fc2") else layer.output.dense.bias).zero_()


def _mask_heads(layer, keep):
    """Zero the output-projection columns of heads >= keep (they then contribute nothing)."""
    att = layer.attention
    o = att.o_proj if hasattr(att, "o_proj") else att.output.dense
    o.weight[:, keep * 32:] = 0


def test_skipping_equals_masking_the_full_model(full_model):
    """Truncated blocks == identity blocks; sliced heads == heads masked out of the output
    projection (so q/k/v, bias table and output slicing are consistent, shifted blocks included)."""
    blocks, heads = (2, 1, 3, 2), (2, 6, 5, 7)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        sliced = apply_knobs(copy.deepcopy(full_model), blocks, heads)
        masked = copy.deepcopy(full_model)
        for stage, nb, nh, full_h in zip(masked.swin.encoder.layers, blocks, heads, NUM_HEADS):
            for i, layer in enumerate(stage.blocks):
                if i >= nb:
                    _neutralize_block(layer)
                elif nh < full_h:
                    _mask_heads(layer, nh)
        torch.testing.assert_close(sliced(x), masked(x), rtol=1e-4, atol=1e-4)
    assert nparams(sliced) < nparams(full_model)


def test_weights_of_the_full_model_load_before_slicing(full_model):
    sd = full_model.state_dict()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(SWIN.build_torch(SWIN.config(), weights=sd)(x), full_model(x))
        c = SWIN.config(blocks="2.2.5.2", heads="3.6.12.12")
        ref = apply_knobs(copy.deepcopy(full_model), c["blocks"], c["heads"])
        torch.testing.assert_close(SWIN.build_torch(c, weights=sd)(x), ref(x))


test_bad_knobs_name_knob_and_allowed_values = bad_knobs_test(SWIN, [
    (dict(blocks="3.2.6.2"), r"knob blocks stage 1 = 3 is out of range.*1\.\.2 \| 1\.\.2 \| 1\.\.6 \| 1\.\.2"),
    (dict(blocks="2.2.0.2"), r"knob blocks stage 3 = 0 is out of range"),
    (dict(heads="3.6.13.24"), r"knob heads stage 3 = 13 is out of range.*1\.\.3 \| 1\.\.6 \| 1\.\.12 \| 1\.\.24"),
    (dict(heads="3.6"), r"knob heads takes 4 values"),
    (dict(window="5"), r"unknown knob 'window'.*blocks, heads"),
    (dict(resolution="192"), r"resolution=192x192 is not allowed.*multiples of 32 and at least 224"),
    (dict(resolution="240"), r"resolution=240x240 is not allowed"),
])
