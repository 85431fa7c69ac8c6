"""Trace a real torch module to the layer IR, by shapes only.

``extract_layers(module, example_input)`` runs ``module`` once (normally on the
``meta`` device, so no arithmetic happens) under a
:class:`torch.utils._python_dispatch.TorchDispatchMode` that sees every ATen op the
forward pass executes, plus forward pre/post hooks on every sub-module that keep
the stack of module paths. Functional code (attention matmuls, softmax,
``interpolate``, residual adds) is therefore captured as well as modules.

Rules (what becomes a :class:`~workloads.ir.Layer`):

* Everything executed inside an ``nn.Conv1d``/``nn.Conv2d``/``nn.Linear`` (or a
  subclass) becomes ONE ``conv``/``linear`` layer with the module's dimensions; the
  ATen ops inside it (``addmm``, the bias add, views) are not counted again.
  A Linear over an input ``(B, *L, C)`` is ``N=B, P=prod(L), Q=1, C=in, K=out``.
* Outside those modules:

  - ``bmm``/``mm``/``baddbmm``/``addmm`` between two activations -> ``matmul``
    (``mm_b, mm_m, mm_k, mm_n`` and ``N=b, P=m, Q=1, C=k, K=n``,
    ``weights_are_activations=True``); with one constant operand (a functional
    ``F.linear`` on a parameter) -> ``linear``; a functional ``convolution`` -> ``conv``.
    ``baddbmm``/``addmm``'s extra add is folded into the matmul.
  - fused scaled-dot-product attention kernels -> ``matmul`` (QK^T), ``softmax``,
    ``matmul`` (AV) (the scale is folded). On the meta/CPU path PyTorch decomposes
    SDPA into these ops itself, so this only matters on other back-ends.
  - pointwise, normalisation, resize, pooling and reductions ON ACTIVATIONS -> the
    PPU ops of :data:`_PPU_MAP` with ``elements`` (output elements) and
    ``in_elements`` (elements of the activation inputs read; parameters, buffers
    and constants such as a broadcast bias are not counted).
  - layout ops (views, reshapes, permutes, transposes, expand, contiguous copies,
    ``cat``/``stack``/``split``, slicing and indexing, ``roll``, padding, dtype
    casts) and dropout in eval produce NO layer: on the accelerator a layout change
    is address generation of the producer/consumer's DMA, not computation.
  - ops whose inputs are all constants (mask or position-index construction,
    weight re-arrangement) produce no layer: they do not depend on the frame and
    would be precomputed once.
  - an ATen op on an activation that is in none of the tables raises
    :class:`ExtractError` naming the op and module, so that no work is silently
    dropped; extend the tables (with a reason) when a new model needs it.

An *activation* is a tensor derived from the example input (tracked through every
op, including views).

Parameters: each module's own (non-recursive) parameters are attributed to the
first layer emitted while that module is on the module stack; a module that emits
no layer itself (e.g. Swin's relative-position-bias table, only gathered by index)
passes them to the next layer emitted after it, i.e. to their consumer. The sum of
``Layer.params`` equals ``sum(p.numel() for p in module.parameters())``; a
parameter never attributed (its module was never called, or nothing was emitted
after it) raises ``ExtractError`` with its name.

Names: MAC modules get their module path (``segformer.stages.1.blocks.0.attention.q_proj``);
ops inside a leaf module (``nn.LayerNorm``, ``nn.ReLU`` ...) that module's path; other
functional ops ``<path of the innermost module>.<op>``; a name that occurs more than
once in a trace gets ``.0``, ``.1``, ... appended in execution order.

Not representable in the IR and ignored: convolution dilation (does not change
MACs), asymmetric stride/padding (the first spatial value is recorded).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from .ir import Layer, layers_from_records


class ExtractError(RuntimeError):
    """The module could not be lowered faithfully (unknown op, unattributed parameters)."""


# ---------------------------------------------------------------------------
# op tables (keys: ATen overload-packet names with a trailing "_" of in-place
# variants removed)

# PPU ops on activations. Several ATen ops share one IR op where the PPU does the
# same class of work: "gelu" stands for any transcendental activation (GELU, SiLU,
# sigmoid, tanh, hardswish, exp, erf ...), "relu" for clamps, "add" for
# element-wise binary/select ops, "mean" for reductions.
_PPU_MAP: dict[str, str] = {
    # normalisation
    "native_layer_norm": "layernorm",
    "layer_norm": "layernorm",
    "native_group_norm": "layernorm",
    "rms_norm": "layernorm",
    "_fused_rms_norm": "layernorm",
    "native_batch_norm": "batchnorm",
    "_native_batch_norm_legit": "batchnorm",
    "_native_batch_norm_legit_no_training": "batchnorm",
    "batch_norm": "batchnorm",
    # softmax
    "_softmax": "softmax",
    "softmax": "softmax",
    "_safe_softmax": "softmax",
    "_log_softmax": "softmax",
    # activations
    "gelu": "gelu",
    "silu": "gelu",
    "sigmoid": "gelu",
    "tanh": "gelu",
    "hardswish": "gelu",
    "hardsigmoid": "gelu",
    "elu": "gelu",
    "mish": "gelu",
    "exp": "gelu",
    "erf": "gelu",
    "relu": "relu",
    "hardtanh": "relu",
    "clamp": "relu",
    "clamp_min": "relu",
    "clamp_max": "relu",
    "leaky_relu": "relu",
    # element-wise arithmetic
    "add": "add",
    "sub": "add",
    "rsub": "add",
    "where": "add",
    "masked_fill": "add",
    "mul": "mul",
    "neg": "mul",
    "pow": "mul",
    "div": "div",
    "reciprocal": "div",
    "sqrt": "div",
    "rsqrt": "div",
    # resize
    "upsample_bilinear2d": "resize",
    "upsample_nearest2d": "resize",
    "upsample_bicubic2d": "resize",
    "_upsample_bilinear2d_aa": "resize",
    "_upsample_nearest_exact2d": "resize",
    "upsample_nearest1d": "resize",
    "upsample_linear1d": "resize",
    # pooling and reductions
    "avg_pool1d": "pool",
    "avg_pool2d": "pool",
    "max_pool1d": "pool",
    "max_pool2d": "pool",
    "max_pool2d_with_indices": "pool",
    "adaptive_max_pool2d": "pool",
    "_adaptive_avg_pool2d": "mean",
    "adaptive_avg_pool2d": "mean",
    "mean": "mean",
    "sum": "mean",
    "amax": "mean",
}

# Ops that never produce a layer (layout, copies, constants, bookkeeping).
_NO_LAYER = frozenset(
    """
    view _unsafe_view reshape view_as alias as_strided detach lift_fresh lift_fresh_copy
    permute transpose t expand expand_as unsqueeze squeeze flatten unflatten
    clone contiguous _to_copy to copy copy_ _copy_from _copy_from_and_resize
    cat stack split split_with_sizes unbind chunk narrow slice select index index_select
    gather take roll flip constant_pad_nd pad reflection_pad2d replication_pad2d
    empty empty_like empty_strided new_empty new_empty_strided zeros zeros_like new_zeros
    ones ones_like new_ones full full_like new_full fill scalar_tensor arange
    dropout native_dropout feature_dropout alpha_dropout bernoulli
    _local_scalar_dense item sym_size sym_stride sym_numel sym_storage_offset
    eq ne lt le gt ge logical_not logical_and logical_or bitwise_not
    unfold im2col col2im repeat _reshape_alias unsafe_split unsafe_chunk
    """.split()
)

_MATMUL_OPS = frozenset({"bmm", "mm", "matmul", "baddbmm", "addmm", "addbmm"})
_SDPA_OPS = frozenset(
    {
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
        "scaled_dot_product_attention",
    }
)

_MAC_MODULES = (nn.Conv1d, nn.Conv2d, nn.Linear)


def _prod(xs) -> int:
    return int(math.prod(int(x) for x in xs))


def _pair0(v: Any) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _conv_padding(mod: nn.Module) -> int:
    pad = mod.padding
    if isinstance(pad, str):  # 'valid' | 'same'
        if pad == "valid":
            return 0
        return _pair0(mod.dilation) * (_pair0(mod.kernel_size) - 1) // 2
    return _pair0(pad)


def _tensors(obj, out: list | None = None) -> list:
    """The tensors in nested tuples/lists/dicts (a cheaper tree_flatten for op arguments)."""
    if out is None:
        out = []
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            if isinstance(o, torch.Tensor):
                out.append(o)
            elif isinstance(o, (tuple, list, dict)):
                _tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out)
    return out


def _first_tensor(xs) -> torch.Tensor | None:
    for x in xs:
        if isinstance(x, torch.Tensor):
            return x
    return None


# ---------------------------------------------------------------------------
# Fast shape functions for the meta device. PyTorch computes the meta outputs of
# many ops (layer norm, bilinear upsampling, element-wise ops, addmm) through
# Python reference decompositions that cost about a millisecond each; for the few
# ops that dominate transformer traces the output shape is computed directly here.
# Outputs are contiguous, which is all a shape-only trace needs (a contiguous
# tensor accepts every later view). Tests check that the trace is identical with
# and without these shortcuts.

_FAST_UNARY = frozenset(
    """gelu relu silu sigmoid tanh hardswish hardsigmoid hardtanh elu leaky_relu exp erf neg
    rsqrt sqrt reciprocal clamp clamp_min clamp_max _softmax _safe_softmax _log_softmax""".split()
)
_FAST_BINARY = frozenset({"add", "sub", "mul", "div"})
_FAST_UPSAMPLE = frozenset({"upsample_bilinear2d", "upsample_nearest2d", "upsample_bicubic2d"})


def _meta_empty(shape, dtype) -> torch.Tensor:
    return torch.empty(tuple(shape), dtype=dtype, device="meta")


def _fast_meta(func, args, kwargs, flat_in) -> Any:
    """The output of ``func`` on meta tensors, or None to run the real meta kernel."""
    name = func.overloadpacket.__name__
    inplace = name.endswith("_") and not name.startswith("_")
    base = name[:-1] if inplace else name
    if base not in _FAST_UNARY and base not in _FAST_BINARY and base not in _FAST_UPSAMPLE and base not in (
        "native_layer_norm", "mm", "addmm", "bmm", "baddbmm"
    ):
        return None
    if func._overloadname == "out" or "out" in kwargs:
        return None
    for t in flat_in:
        if t.device.type != "meta":
            return None
    x = args[0]
    if inplace:
        if base in _FAST_UNARY or base in _FAST_BINARY:
            if base in _FAST_BINARY and isinstance(args[1], torch.Tensor):
                if torch.broadcast_shapes(x.shape, args[1].shape) != x.shape:
                    return None
            return x
        return None
    if base in _FAST_UNARY:
        dtype = torch.float32 if base in ("_softmax", "_log_softmax") and args[2] else x.dtype
        return _meta_empty(x.shape, dtype)
    if base in _FAST_BINARY:
        if len(args) < 2:
            return None
        a, b = args[0], args[1]
        shapes = [t.shape for t in (a, b) if isinstance(t, torch.Tensor)]
        return _meta_empty(torch.broadcast_shapes(*shapes), torch.result_type(a, b))
    if base == "native_layer_norm":
        nd = len(args[1])
        stat = tuple(x.shape[: x.dim() - nd]) + (1,) * nd
        return (_meta_empty(x.shape, x.dtype), _meta_empty(stat, x.dtype), _meta_empty(stat, x.dtype))
    if base in _FAST_UPSAMPLE:
        size = args[1] if len(args) > 1 else kwargs.get("output_size")
        if not size or x.dim() != 4:
            return None
        return _meta_empty((x.shape[0], x.shape[1], int(size[0]), int(size[1])), x.dtype)
    if base in ("mm", "addmm", "bmm", "baddbmm"):
        a, b = (args[1], args[2]) if base in ("addmm", "baddbmm") else (args[0], args[1])
        if base in ("mm", "addmm") and a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0]:
            return _meta_empty((a.shape[0], b.shape[1]), a.dtype)
        if base in ("bmm", "baddbmm") and a.dim() == 3 and b.dim() == 3 and a.shape[0] == b.shape[0] and a.shape[2] == b.shape[1]:
            return _meta_empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)
        return None
    return None


class FastMetaMode(TorchDispatchMode):
    """Shape-only execution helper: runs ops on meta tensors with the shortcuts above.

    Enter it BEFORE another mode (e.g. ``FlopCounterMode``) so that the other mode
    still sees every op and only the meta shape computation is shortened."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat = _tensors(args)
        if kwargs:
            _tensors(kwargs, flat)
        out = _fast_meta(func, args, kwargs, flat)
        return func(*args, **kwargs) if out is None else out


class _Tracer(TorchDispatchMode):
    def __init__(self, root: nn.Module):
        super().__init__()
        self.records: list[dict] = []
        self.stack: list[nn.Module] = []
        self.names: dict[int, str] = {}
        self.own_params: dict[int, list[tuple[str, int]]] = {}
        self.attributed: set[int] = set()
        self.pending: list[nn.Module] = []  # on the stack, params not attributed yet
        self.mac_depth = 0
        self.fast_meta = True
        self.acts: dict[int, torch.Tensor] = {}  # id -> activation tensor (kept alive)
        self.mac_inputs: list[tuple | None] = []
        seen: set[int] = set()
        self.leaves = {id(m) for m in root.modules() if next(m.children(), None) is None}
        for name, mod in root.named_modules(remove_duplicate=False):
            if id(mod) in self.names:
                continue
            self.names[id(mod)] = name
            own = []
            for pname, p in mod.named_parameters(recurse=False):
                if id(p) in seen:
                    continue
                seen.add(id(p))
                own.append((f"{name}.{pname}" if name else pname, p.numel()))
            if own:
                self.own_params[id(mod)] = own

    # ---- helpers -------------------------------------------------------------
    def path(self) -> str:
        return self.names.get(id(self.stack[-1]), "") if self.stack else ""

    def is_act(self, t: Any) -> bool:
        return isinstance(t, torch.Tensor) and id(t) in self.acts

    def mark(self, t: Any) -> None:
        if isinstance(t, torch.Tensor):
            self.acts[id(t)] = t

    def emit(self, name: str, op: str, **fields: Any) -> None:
        params = 0
        if self.pending:
            for m in self.pending:
                params += sum(n for _, n in self.own_params[id(m)])
                self.attributed.add(id(m))
            self.pending.clear()
        self.records.append(dict(name=name, op=op, params=params, **fields))

    # ---- module hooks --------------------------------------------------------
    def pre_hook(self, mod: nn.Module, args: tuple, kwargs: dict) -> None:
        self.stack.append(mod)
        if id(mod) in self.own_params and id(mod) not in self.attributed and mod not in self.pending:
            self.pending.append(mod)
        if isinstance(mod, _MAC_MODULES):
            x = args[0] if args else _first_tensor(kwargs.values())
            self.mac_inputs.append(tuple(x.shape) if isinstance(x, torch.Tensor) else None)
            self.mac_depth += 1

    def post_hook(self, mod: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if isinstance(mod, _MAC_MODULES):
            self.mac_depth -= 1
            in_shape = self.mac_inputs.pop()
            if self.mac_depth == 0:
                out = output if isinstance(output, torch.Tensor) else _tensors(output)[0]
                self.emit_mac_module(mod, in_shape, tuple(out.shape))
        if self.stack and self.stack[-1] is mod:
            self.stack.pop()
        else:  # an exception unwound part of the stack
            while self.stack and self.stack.pop() is not mod:
                pass
        # a module that leaves the stack with its parameters unattributed (it emitted no
        # layer, e.g. a position-bias table gathered by index) stays pending: its
        # parameters go to the next layer emitted, i.e. to their consumer

    def emit_mac_module(self, mod: nn.Module, x: tuple | None, y: tuple) -> None:
        name = self.names.get(id(mod), "?")
        if x is None:
            raise ExtractError(f"{name}: could not see the input tensor of {type(mod).__name__}")
        if isinstance(mod, nn.Linear):
            n = x[0] if len(x) >= 2 else 1
            p = _prod(x[1:-1]) if len(x) >= 3 else 1
            self.emit(name, "linear", N=n, C=mod.in_features, K=mod.out_features, H=p, W=1, P=p, Q=1)
            return
        if isinstance(mod, nn.Conv1d):
            n, h, w = (x[0] if len(x) == 3 else 1), 1, x[-1]
            p, q = 1, y[-1]
            r, s = 1, _pair0(mod.kernel_size)
        else:  # Conv2d
            n = x[0] if len(x) == 4 else 1
            h, w, p, q = x[-2], x[-1], y[-2], y[-1]
            r, s = mod.kernel_size
        self.emit(
            name,
            "conv",
            N=n,
            C=mod.in_channels // mod.groups,
            K=mod.out_channels,
            H=h,
            W=w,
            P=p,
            Q=q,
            R=r,
            S=s,
            stride=_pair0(mod.stride),
            padding=_conv_padding(mod),
            groups=mod.groups,
        )

    # ---- ATen ops ------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat_in = _tensors(args)
        if kwargs:
            _tensors(kwargs, flat_in)
        out = _fast_meta(func, args, kwargs, flat_in) if self.fast_meta else None
        if out is None:
            out = func(*args, **kwargs)
        acts = self.acts
        acts_in = [t for t in flat_in if id(t) in acts]
        if acts_in:
            for t in _tensors(out):
                acts[id(t)] = t
            if self.mac_depth == 0:
                self.handle(func, args, kwargs, out, acts_in)
        return out

    def handle(self, func, args, kwargs, out, acts_in) -> None:
        op = func.overloadpacket.__name__
        if op.endswith("_"):  # in-place variant (add_, relu_, ...)
            op = op[:-1]
        if op in _NO_LAYER:
            return
        base = self.path()
        # inside a leaf module (nn.LayerNorm, nn.ReLU, nn.Upsample, ...) the layer is
        # named after the module itself; otherwise after the module and the op
        if base and id(self.stack[-1]) in self.leaves:
            prefix, leaf = base, True
        else:
            prefix, leaf = (f"{base}." if base else ""), False
        def nm(o: str) -> str:
            return prefix if leaf else prefix + o

        if op in _MATMUL_OPS:
            self.handle_matmul(op, args, nm)
            return
        if op in _SDPA_OPS:
            q, k, v = args[0], args[1], args[2]
            b = _prod(q.shape[:-2])
            L, E, S, Ev = q.shape[-2], q.shape[-1], k.shape[-2], v.shape[-1]
            self.emit_matmul(nm("matmul"), b, L, E, S)
            self.emit(nm("softmax"), "softmax", elements=b * L * S, in_elements=b * L * S)
            self.emit_matmul(nm("matmul"), b, L, S, Ev)
            return
        if op == "convolution":
            self.handle_functional_conv(args, nm)
            return
        ppu = _PPU_MAP.get(op)
        if ppu is None:
            raise ExtractError(
                f"unsupported ATen op aten.{op} on an activation in module {base or '<root>'!r}; "
                f"add it to workloads/extract.py's op tables (as a PPU op or as a no-layer layout op)"
            )
        o = out if isinstance(out, torch.Tensor) else _tensors(out)[0]
        self.emit(nm(ppu), ppu, elements=o.numel(), in_elements=sum(t.numel() for t in acts_in))

    def emit_matmul(self, name: str, b: int, m: int, k: int, n: int) -> None:
        self.emit(
            name, "matmul", N=b, C=k, K=n, H=m, W=1, P=m, Q=1,
            mm_b=b, mm_m=m, mm_k=k, mm_n=n, weights_are_activations=True,
        )

    def handle_matmul(self, op: str, args, nm) -> None:
        a, w = (args[1], args[2]) if op in ("baddbmm", "addmm", "addbmm") else (args[0], args[1])
        if a.dim() == 1 or w.dim() == 1:
            raise ExtractError(f"{nm(op)}: matrix-vector products are not supported by the IR")
        b = _prod(torch.broadcast_shapes(a.shape[:-2], w.shape[:-2])) if op != "addbmm" else a.shape[0]
        m, k, n = a.shape[-2], a.shape[-1], w.shape[-1]
        if self.is_act(a) and self.is_act(w):
            self.emit_matmul(nm("matmul"), b, m, k, n)
        else:  # functional linear on a constant operand
            self.emit(nm("linear"), "linear", N=b, C=k, K=n, H=m, W=1, P=m, Q=1)

    def handle_functional_conv(self, args, nm) -> None:
        x, w = args[0], args[1]
        stride, padding, _dil, transposed, _opad, groups = args[3:9]
        if transposed:
            raise ExtractError(f"{nm('convolution')}: transposed convolution is not supported by the IR")
        if x.dim() == 4:
            n, h, wd = x.shape[0], x.shape[2], x.shape[3]
            r, s = w.shape[2], w.shape[3]
        elif x.dim() == 3:
            n, h, wd, r, s = x.shape[0], 1, x.shape[2], 1, w.shape[2]
        else:
            raise ExtractError(f"{nm('convolution')}: {x.dim() - 2}-d convolution is not supported by the IR")
        pad = _pair0(padding) if isinstance(padding, (list, tuple)) else int(padding)
        # output spatial size from the usual formula (dilation ignored: it does not change MACs)
        if x.dim() == 4:
            p = (h + 2 * _pair0(padding) - _pair0(_dil) * (r - 1) - 1) // _pair0(stride) + 1
            pad_w = int(padding[1]) if isinstance(padding, (list, tuple)) and len(padding) > 1 else pad
            st_w = int(stride[1]) if isinstance(stride, (list, tuple)) and len(stride) > 1 else _pair0(stride)
            dil_w = int(_dil[1]) if isinstance(_dil, (list, tuple)) and len(_dil) > 1 else _pair0(_dil)
            q = (wd + 2 * pad_w - dil_w * (s - 1) - 1) // st_w + 1
        else:
            p, q = 1, (wd + 2 * pad - _pair0(_dil) * (s - 1) - 1) // _pair0(stride) + 1
        self.emit(
            nm("conv"), "conv", N=n, C=w.shape[1], K=w.shape[0], H=h, W=wd, P=p, Q=q, R=r, S=s,
            stride=_pair0(stride), padding=pad, groups=int(groups),
        )


def extract_layers(module: nn.Module, example_input: Any, *, fast_meta: bool = True) -> tuple[list[Layer], int]:
    """Trace one forward pass of ``module`` on ``example_input`` into IR layers.

    ``example_input`` is a tensor (called as ``module(x)``), a tuple/list
    (``module(*x)``) or a dict (``module(**x)``); every tensor in it is an
    activation. Run it on the meta device for speed (no arithmetic is done).
    Returns ``(layers, total_params)``; ``sum(l.params for l in layers) ==
    total_params == sum(p.numel() for p in module.parameters())``.
    ``fast_meta=False`` runs PyTorch's own meta kernels for every op (slower; the
    tests use it to check the shortcuts).
    """
    tracer = _Tracer(module)
    tracer.fast_meta = fast_meta
    handles = []
    for mod in {id(m): m for m in module.modules()}.values():
        handles.append(mod.register_forward_pre_hook(tracer.pre_hook, with_kwargs=True))
        handles.append(mod.register_forward_hook(tracer.post_hook, with_kwargs=True, always_call=True))
    for t in _tensors(example_input):
        tracer.mark(t)
    try:
        with torch.no_grad(), tracer:
            if isinstance(example_input, dict):
                module(**example_input)
            elif isinstance(example_input, (tuple, list)):
                module(*example_input)
            else:
                module(example_input)
    finally:
        for h in handles:
            h.remove()

    total = sum(p.numel() for p in module.parameters())
    attributed = sum(r["params"] for r in tracer.records)
    if attributed != total:
        never = [
            pname
            for mid, plist in tracer.own_params.items()
            if mid not in tracer.attributed
            for pname, _ in plist
        ]
        raise ExtractError(
            f"{total - attributed} parameters were never attributed to a layer (their module emitted no layer "
            f"while on the stack, or was never called): {', '.join(never[:20])}{' ...' if len(never) > 20 else ''}"
        )

    return layers_from_records(tracer.records), total

