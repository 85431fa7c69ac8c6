"""The shape-only tracer: op capture, dimensions, names, parameter attribution."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_counts import flop_macs

from workloads.extract import ExtractError, extract_layers
from workloads.ir import Workload


def params_of(module) -> int:
    return sum(p.numel() for p in module.parameters())


class Block(nn.Module):
    """Conv stem, tokens, a Linear, functional attention, residual, resize, pooling."""

    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.stem = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.norm = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.scale = nn.Parameter(torch.ones(c))  # own parameter, used functionally
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.ReLU()
        self.head = nn.Linear(c, 5)
        self.register_buffer("mask", torch.zeros(1, 1, 1, 1))

    def forward(self, x):
        x = self.stem(x)
        x = self.act(self.bn(self.dw(x))) + x
        b, c, h, w = x.shape
        t = self.norm(x.flatten(2).transpose(1, 2))  # (b, hw, c)
        q, k, v = self.qkv(t).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        const = torch.ones(4) * 2 + 1  # constant computation: no layer
        a = (q @ k.transpose(-2, -1)) * 0.5 + self.mask.squeeze(-1)
        a = a.softmax(-1)
        o = (a @ v).transpose(1, 2).reshape(b, h * w, c)
        t = t + self.proj(o) * self.scale
        y = t.transpose(1, 2).reshape(b, c, h, w)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        del const
        return self.head(y)


def _meta(module):
    return module.to("meta").eval()


def test_toy_block_layers_dims_and_params():
    m = _meta(Block())
    x = torch.zeros(2, 3, 16, 16, device="meta")
    layers, params = extract_layers(m, x)
    by = {l.name: l for l in layers}
    ops = [l.op for l in layers]
    # one conv layer per Conv2d, no double-counted bias adds inside them
    assert by["stem"].op == "conv" and (by["stem"].C, by["stem"].K, by["stem"].H, by["stem"].P) == (3, 8, 16, 8)
    assert by["stem"].stride == 2 and by["stem"].padding == 1 and by["stem"].R == 3 and by["stem"].N == 2
    assert by["dw"].groups == 8 and by["dw"].C == 1 and by["dw"].op_class == "depthwise"
    # Linear over (b, L, c): N=b, P=L, Q=1
    qkv = by["qkv"]
    assert (qkv.op, qkv.N, qkv.P, qkv.Q, qkv.C, qkv.K) == ("linear", 2, 64, 1, 8, 24)
    # the two attention matmuls between activations
    mms = [l for l in layers if l.op == "matmul"]
    assert len(mms) == 2 and all(l.weights_are_activations for l in mms)
    assert (mms[0].mm_b, mms[0].mm_m, mms[0].mm_k, mms[0].mm_n) == (4, 64, 4, 64)
    assert (mms[1].mm_b, mms[1].mm_m, mms[1].mm_k, mms[1].mm_n) == (4, 64, 64, 4)
    assert mms[0].macs == 4 * 64 * 4 * 64
    # PPU ops, in order, with element counts
    for op in ("batchnorm", "relu", "add", "layernorm", "mul", "softmax", "resize", "mean"):
        assert op in ops, op
    assert by["norm"].op == "layernorm" and by["norm"].elements == 2 * 64 * 8
    res = next(l for l in layers if l.op == "resize")
    assert res.elements == 2 * 8 * 16 * 16 and res.in_elements == 2 * 8 * 8 * 8
    sm = next(l for l in layers if l.op == "softmax")
    assert sm.elements == 4 * 64 * 64
    # the mask add involves an activation -> layer; the constant computation -> none
    assert sum(1 for l in layers if l.op == "add") == 3  # residual conv, mask, residual tokens
    assert sum(1 for l in layers if l.op == "mul") == 2  # * 0.5, * scale
    # parameters: all attributed, module-own parameter to the first layer of its module
    assert params == params_of(m) == sum(l.params for l in layers)
    # (the root's own `scale` goes to the first layer emitted while the root is on the
    # stack, which is the stem)
    assert layers[0].name == "stem" and layers[0].params == (3 * 8 * 9 + 8) + 8
    assert by["qkv"].params == 8 * 24 + 24 and by["norm"].params == 16
    # MACs agree with PyTorch's FLOP counter
    assert Workload("t", "t", (16, 16), layers, params).total_macs == flop_macs(m, x)


def test_repeated_names_get_counters():
    m = _meta(Block())
    layers, _ = extract_layers(m, torch.zeros(1, 3, 16, 16, device="meta"))
    names = [l.name for l in layers]
    assert len(names) == len(set(names))
    assert "matmul.0" in names and "matmul.1" in names and "add.0" in names


def test_fast_meta_shortcuts_give_identical_trace():
    m = _meta(Block())
    x = torch.zeros(2, 3, 16, 16, device="meta")
    assert extract_layers(m, x) == extract_layers(m, x, fast_meta=False)


def test_real_cpu_tensors_work_too():
    torch.manual_seed(0)
    m = Block().eval()
    x = torch.randn(1, 3, 16, 16)
    layers_cpu, p_cpu = extract_layers(m, x)
    layers_meta, p_meta = extract_layers(_meta(Block()), x.to("meta"))
    assert layers_cpu == layers_meta and p_cpu == p_meta


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 4)

    def forward(self, x):
        return self.used(x)


def test_unattributed_parameters_raise_with_names():
    with pytest.raises(ExtractError, match=r"unused\.weight"):
        extract_layers(_meta(Unused()), torch.zeros(1, 4, device="meta"))


class Cumsum(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=-1)


class Table(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(9, 2))
        self.register_buffer("index", torch.zeros(4, dtype=torch.long))

    def forward(self):
        return self.table[self.index].t()  # (2, 4), no activation: no layer


class UsesTable(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = Table()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        b = self.bias()
        return self.lin(x) + b


def test_params_of_a_module_without_layers_go_to_the_next_layer():
    layers, params = extract_layers(_meta(UsesTable()), torch.zeros(2, 4, device="meta"))
    assert [(l.name, l.op, l.params) for l in layers] == [("lin", "linear", 18 + 20), ("add", "add", 0)]
    assert params == 38


def test_unknown_op_on_activation_raises():
    with pytest.raises(ExtractError, match="cumsum"):
        extract_layers(Cumsum(), torch.zeros(1, 4, device="meta"))


class Functional(nn.Module):
    """Functional conv/linear on own parameters, fused SDPA, Conv1d."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(6, 3, 3, 3))
        self.lw = nn.Parameter(torch.zeros(10, 6))
        self.c1 = nn.Conv1d(6, 6, 3, padding=1)

    def forward(self, x):
        y = F.conv2d(x, self.w, stride=1, padding=1)  # (b, 6, h, w)
        t = y.flatten(2)  # (b, 6, hw)
        t = self.c1(t).transpose(1, 2)  # (b, hw, 6)
        q = t.reshape(t.shape[0], t.shape[1], 2, 3).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, q, q)
        return F.linear(a.transpose(1, 2).reshape(t.shape), self.lw)


def test_functional_ops_and_sdpa():
    m = _meta(Functional())
    x = torch.zeros(1, 3, 8, 8, device="meta")
    layers, params = extract_layers(m, x)
    ops = [l.op for l in layers]
    assert ops.count("conv") == 2 and ops.count("linear") == 1 and ops.count("matmul") == 2 and "softmax" in ops
    c1 = next(l for l in layers if l.name == "c1")
    assert (c1.H, c1.W, c1.P, c1.Q, c1.R, c1.S) == (1, 64, 1, 64, 1, 3)
    assert params == params_of(m) == sum(l.params for l in layers)
    assert sum(l.macs for l in layers) == flop_macs(m, x)


def test_layout_ops_make_no_layers():
    class Layout(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            y = self.lin(x)
            y = y.permute(0, 2, 1).contiguous().view(1, -1)
            y = torch.cat([y, y], 1)[:, :8].roll(1, 1)
            return F.dropout(y, 0.5, training=False)

    layers, _ = extract_layers(_meta(Layout()), torch.zeros(1, 3, 4, device="meta"))
    assert [l.op for l in layers] == ["linear"]
