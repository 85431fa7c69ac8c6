"""Lower an ONNX graph to the layer IR, by shapes only (the ``onnx`` package's shape inference).

The rules are those of the torch path (`workloads.extract`), so that a model exported to ONNX
lowers to the same layers, MACs and op classes as its torch module:

* ``Conv`` (1-d/2-d; grouped, depthwise, strided, dilated: dilation does not change MACs and
  is not representable in the IR, as on the torch path) -> ``conv``; ``Gemm``/``MatMul`` with a
  constant (initializer) operand -> ``linear`` over the activation's leading dimensions
  (``N`` = first dimension, ``P`` = the product of the middle ones, as for ``nn.Linear``);
  ``MatMul``/``Gemm`` between two activations -> an attention ``matmul``
  (``weights_are_activations``). A bias ``Add`` of a constant right after a MAC node whose
  output only it reads is part of that layer (``nn.Linear`` exports as MatMul + Add).
* Element-wise, normalisation, softmax, resize, pooling and reduction nodes on activations ->
  the PPU ops of :data:`PPU_OPS` with ``elements`` (output elements) and ``in_elements`` (the
  activation inputs' elements; initializers and constants are not counted). The erf form of
  GELU that exporters before opset 20 write (``x * 0.5 * (1 + erf(x / sqrt 2))``, five nodes)
  is one ``gelu`` layer, as on the torch path.
* Layout and bookkeeping nodes (:data:`NO_LAYER`: reshapes, transposes, concatenation,
  slicing, casts, padding, ``Identity``, ``Dropout``, comparisons) produce no layer; neither do
  nodes whose inputs are all constants or shape values (``Shape``'s output is metadata, not
  an activation), as the torch path ignores mask and index construction.
* Any other node on an activation is an :class:`OnnxImportError` naming its op type and node,
  never dropped.

Batch normalisation exported in eval mode is usually folded into the preceding ``Conv`` by the
exporters (``torch.onnx.export`` does so unless ``training=TrainingMode.PRESERVE``): such a file
has no ``batchnorm`` layers, faithfully to what it computes. Parameters: every floating-point
initializer with more than one element that a MAC, normalisation or element-wise layer reads (a
batch norm's running statistics excluded, as torch counts them as buffers; resize scales are not
parameters), attributed to the first layer reading it. The dynamo exporter
(``torch.onnx.export(..., dynamo=True)``) works offline too; it folds batch norms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from vocab.errors import UserError

from .ir import Layer, layers_from_records

__all__ = ["OnnxImportError", "lower_onnx", "input_resolution", "PPU_OPS", "NO_LAYER"]


class OnnxImportError(UserError, ValueError):
    """An ONNX file that cannot be lowered faithfully (unknown op, unknown shape, bad file)."""


# ONNX op type -> IR PPU op (the classes of workloads.extract._PPU_MAP)
PPU_OPS: dict[str, str] = {
    "LayerNormalization": "layernorm", "GroupNormalization": "layernorm", "InstanceNormalization": "layernorm",
    "RMSNormalization": "layernorm", "SimplifiedLayerNormalization": "layernorm",
    "BatchNormalization": "batchnorm",
    "Softmax": "softmax", "LogSoftmax": "softmax",
    "Gelu": "gelu", "FastGelu": "gelu", "Sigmoid": "gelu", "Tanh": "gelu", "HardSwish": "gelu",
    "HardSigmoid": "gelu", "Elu": "gelu", "Selu": "gelu", "Mish": "gelu", "Softplus": "gelu", "Exp": "gelu",
    "Erf": "gelu", "Log": "gelu",
    "Relu": "relu", "Clip": "relu", "LeakyRelu": "relu", "PRelu": "relu", "Max": "relu", "Min": "relu",
    "Add": "add", "Sub": "add", "Where": "add", "Sum": "add",
    "Mul": "mul", "Neg": "mul", "Pow": "mul", "Abs": "mul",
    "Div": "div", "Reciprocal": "div", "Sqrt": "div",
    "Resize": "resize", "Upsample": "resize",
    "MaxPool": "pool", "AveragePool": "pool", "LpPool": "pool", "GlobalMaxPool": "pool",
    "GlobalAveragePool": "mean", "ReduceMean": "mean", "ReduceSum": "mean", "ReduceMax": "mean",
    "ReduceMin": "mean", "ReduceL2": "mean",
}
NO_LAYER = frozenset("""
    Reshape Transpose Flatten Squeeze Unsqueeze Concat Split Slice Gather GatherElements GatherND
    Identity Dropout Cast CastLike Expand Pad Tile Constant ConstantOfShape Shape Size Range
    Equal Less LessOrEqual Greater GreaterOrEqual Not And Or Xor IsNaN IsInf
    DepthToSpace SpaceToDepth ScatterND ScatterElements Trilu NonZero Einsum_layout
""".split())
_MAC_OPS = frozenset({"Conv", "Gemm", "MatMul"})
_METADATA = frozenset({"Shape", "Size"})  # outputs describe a tensor; they are not activations
_UNSUPPORTED_HINT = {
    "ConvTranspose": "transposed convolution is not supported by the IR",
    "Einsum": "export with the einsum expanded into MatMul/Transpose",
    "Loop": "control flow is not supported", "If": "control flow is not supported",
    "Scan": "control flow is not supported",
}


def _attrs(node) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _dims(vi) -> list[int | str | None]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _load(model: Any):
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    p = Path(model)
    if not p.is_file():
        raise OnnxImportError(f"ONNX file {str(model)!r}: no such file")
    try:
        return onnx.load(str(p))
    except Exception as e:  # protobuf's DecodeError and friends
        raise OnnxImportError(f"ONNX file {str(model)!r} could not be read: {type(e).__name__}: {e}") from None


def _graph_inputs(m):
    inits = {i.name for i in m.graph.initializer}
    return [i for i in m.graph.input if i.name not in inits]


def input_resolution(model: Any) -> tuple[tuple[int, int] | None, bool]:
    """The (H, W) of the model's first image-like input and whether they are symbolic (then the
    resolution must be given); (None, False) for an input without two spatial dimensions."""
    m = _load(model)
    ins = _graph_inputs(m)
    if not ins:
        raise OnnxImportError("the ONNX graph has no input")
    d = _dims(ins[0])
    if len(d) < 3:
        return None, False
    h, w = (d[-2], d[-1]) if len(d) >= 4 else (1, d[-1])
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        return (h, w), False
    return None, True


def _fix_input_dims(m, resolution: tuple[int, int] | None):
    """Batch (and, if symbolic, H x W from ``resolution``) of every graph input made static."""
    for vi in _graph_inputs(m):
        dims = vi.type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i == 0:
                d.dim_value = 1  # batch: one frame
            elif resolution is not None and len(dims) >= 4 and i in (len(dims) - 2, len(dims) - 1):
                d.dim_value = resolution[i - len(dims) + 2]
            else:
                raise OnnxImportError(f"ONNX input {vi.name!r}: dimension {i} is symbolic "
                                      f"({d.dim_param or '?'}); export the model with static shapes")


class _Graph:
    """Shapes, constants, activations and consumers of an inferred ONNX graph."""

    def __init__(self, m) -> None:
        import onnx
        from onnx import numpy_helper

        self.shapes: dict[str, list] = {}
        for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
            self.shapes[vi.name] = _dims(vi)
        self.init: dict[str, Any] = {}
        for t in m.graph.initializer:
            self.shapes[t.name] = list(t.dims)
            self.init[t.name] = t
        self.float_init = {n for n, t in self.init.items()
                           if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16,
                                              onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE)}
        self.numpy = numpy_helper.to_array
        for n in m.graph.node:  # exporters alias equal initializers through Identity: each is a parameter
            if n.op_type == "Identity" and n.input[0] in self.init:
                self.init[n.output[0]] = self.init[n.input[0]]
                self.shapes[n.output[0]] = self.shapes[n.input[0]]
                if n.input[0] in self.float_init:
                    self.float_init.add(n.output[0])
        self.acts = {vi.name for vi in _graph_inputs(m)}
        self.consts: set[str] = set()  # outputs of nodes that read only constants
        for n in m.graph.node:
            if all(not i or i in self.init or i in self.consts for i in n.input):
                self.consts.update(n.output)
        self.consumers: dict[str, list] = defaultdict(list)
        for n in m.graph.node:
            for i in n.input:
                if i:
                    self.consumers[i].append(n)
        self.graph_outputs = {o.name for o in m.graph.output}

    def shape(self, name: str, node) -> list[int]:
        s = self.shapes.get(name)
        if not s or not all(isinstance(d, int) and d > 0 for d in s):
            if s == [] and name in self.shapes:  # a scalar
                return []
            raise OnnxImportError(f"ONNX node {node.name or node.op_type!r} ({node.op_type}): the shape of tensor "
                                  f"{name!r} is unknown after shape inference ({s or 'no shape'}); export the "
                                  f"model with static shapes")
        return list(s)

    def numel(self, name: str, node) -> int:
        return math.prod(self.shape(name, node))

    def is_act(self, name: str) -> bool:
        return name in self.acts


def _gelu_chains(g: _Graph, nodes) -> dict[int, tuple[str, str, set[int]]]:
    """The erf-GELU subgraphs ``Mul(0.5)(Mul(x, Add(1)(Erf(Div(x, sqrt 2)))))`` (the last two Muls
    in either order): {index of the last node: (input x, output, indices of its nodes)}."""
    pos = {id(n): i for i, n in enumerate(nodes)}
    prod = {o: n for n in nodes for o in n.output}
    out: dict[int, tuple[str, str, set[int]]] = {}

    def one_consumer(name):
        c = g.consumers.get(name, [])
        return c[0] if len(c) == 1 and name not in g.graph_outputs else None

    def const_operand(n):
        return len(n.input) == 2 and sum(i in g.init or i in g.consts for i in n.input) == 1

    for e in nodes:
        if e.op_type != "Erf":
            continue
        d = prod.get(e.input[0])
        if d is None or d.op_type not in ("Div", "Mul") or not const_operand(d):
            continue
        x = next(i for i in d.input if not (i in g.init or i in g.consts))
        add = one_consumer(e.output[0])
        if add is None or add.op_type != "Add" or not const_operand(add):
            continue
        m1 = one_consumer(add.output[0])
        if m1 is None or m1.op_type != "Mul":
            continue
        used = {pos[id(d)], pos[id(e)], pos[id(add)], pos[id(m1)]}
        other = next(i for i in m1.input if i != add.output[0])
        if other == x:  # x * (1 + erf) then * 0.5
            m2 = one_consumer(m1.output[0])
            if m2 is None or m2.op_type != "Mul" or not const_operand(m2):
                continue
            used.add(pos[id(m2)])
            y = m2.output[0]
        else:  # (x * 0.5) * (1 + erf)
            h = prod.get(other)
            if h is None or h.op_type != "Mul" or x not in h.input or not const_operand(h):
                continue
            used.add(pos[id(h)])
            y = m1.output[0]
        out[max(used)] = (x, y, used)
    return out


def _infer(m):
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(m, data_prop=True)
    except Exception as e:
        raise OnnxImportError(f"ONNX shape inference failed: {type(e).__name__}: {str(e).splitlines()[0]}") from None


_FOLD_MAX = 4096  # elements: shape values and index vectors, never weights or activations


def _fold_shape_values(m) -> bool:
    """Evaluate the nodes computing shape values (``Shape`` of a tensor whose shape inference knows,
    and integer arithmetic on such values and constants, e.g. the split points of a ``chunk``) with
    ONNX's reference evaluator, and store their results as initializers; True if any was folded."""
    import numpy as np
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    shapes = {vi.name: _dims(vi) for vi in list(m.graph.value_info) + list(m.graph.input)}
    vals: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    keep, folded = [], []
    for n in m.graph.node:
        out = None
        if n.op_type in ("Shape", "Size") and n.input[0] not in vals:
            s = shapes.get(n.input[0])
            if s and all(isinstance(d, int) and d > 0 for d in s):
                a = _attrs(n)
                shp = np.array(s, dtype=np.int64)
                out = [shp[a.get("start", 0):a.get("end", len(s))] if n.op_type == "Shape"
                       else np.array(int(np.prod(shp)), dtype=np.int64)]
        elif n.op_type == "Constant" or (n.input and all(not i or i in vals for i in n.input)):
            if all(i in vals and vals[i].size <= _FOLD_MAX for i in n.input if i) and n.op_type not in _MAC_OPS:
                try:
                    out = ReferenceEvaluator(n).run(None, {i: vals[i] for i in n.input if i})
                except Exception:
                    out = None
                if out is not None and any(np.asarray(o).size > _FOLD_MAX for o in out):
                    out = None
        if out is not None:
            for name, v in zip(n.output, out):
                vals[name] = np.asarray(v)
        if out is None or n.op_type == "Constant":  # constants stay nodes (not parameters)
            keep.append(n)
            continue
        folded += [numpy_helper.from_array(np.asarray(v), name) for name, v in zip(n.output, out)]
    if not folded:
        return False
    del m.graph.node[:]
    m.graph.node.extend(keep)
    m.graph.initializer.extend(folded)
    return True


def lower_onnx(model: Any, resolution: tuple[int, int] | None = None) -> tuple[list[Layer], int]:
    """The layer IR of an ONNX model (a path or a ``ModelProto``): ``(layers, parameters)``.

    ``resolution`` (H, W) sets symbolic spatial input dimensions; a symbolic batch is 1."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(_load(model))
    _fix_input_dims(m, resolution)
    m = _infer(m)
    for _ in range(8):  # shape arithmetic that inference cannot follow, evaluated, then inferred again
        if not _fold_shape_values(m):
            break
        m = _infer(m)
    g = _Graph(m)
    nodes = list(m.graph.node)
    gelu = _gelu_chains(g, nodes)
    in_gelu = {i for _, _, used in gelu.values() for i in used}
    records: list[dict] = []
    folded: dict[int, int] = {}  # node index of a folded bias Add -> index of its MAC record
    attributed: set[str] = set()

    def emit(node, op: str, params_from: list[str], **fields) -> None:
        params = 0
        for name in params_from:
            if name in g.float_init and name not in attributed and g.numel(name, node) > 1:
                attributed.add(name)
                params += g.numel(name, node)
        records.append(dict(name=node.name or f"{node.op_type}_{len(records)}", op=op, params=params, **fields))

    for idx, node in enumerate(nodes):
        ins = [i for i in node.input if i]
        acts_in = [i for i in ins if g.is_act(i)]
        if not acts_in or node.op_type in _METADATA:
            continue  # constants and shape arithmetic: no layer, outputs are not activations
        g.acts.update(o for o in node.output if o)
        if idx in in_gelu:
            if idx in gelu:
                x, y, _ = gelu[idx]
                emit(node, "gelu", [], elements=g.numel(y, node), in_elements=g.numel(x, node))
            continue
        op = node.op_type
        if op in NO_LAYER:
            continue
        if idx in folded:
            rec = records[folded[idx]]
            for name in ins:
                if name in g.float_init and name not in attributed and g.numel(name, node) > 1:
                    attributed.add(name)
                    rec["params"] += g.numel(name, node)
            continue
        if op in _MAC_OPS:
            _emit_mac(g, node, emit, acts_in)
            _fold_bias(g, nodes, idx, node, len(records) - 1, folded)
            continue
        ppu = PPU_OPS.get(op)
        if ppu is None:
            hint = _UNSUPPORTED_HINT.get(op, "add it to workloads/onnx_import.py's op tables (as a PPU op or a "
                                              "no-layer layout op)")
            raise OnnxImportError(f"unsupported ONNX op {op} at node {node.name or '(unnamed)'!r} on an "
                                  f"activation: {hint}")
        # parameters: a normalisation's scale and bias (not a batch norm's running statistics), a
        # PRelu slope, a learned operand of an element-wise op; never Resize scales or Clip bounds
        pfrom = ins[1:3] if ppu in ("batchnorm", "layernorm") or op == "PRelu" else \
            ins if ppu in ("add", "mul", "div") else []
        emit(node, ppu, pfrom, elements=g.numel(node.output[0], node),
             in_elements=sum(g.numel(i, node) for i in acts_in))

    layers = layers_from_records(records)
    return layers, sum(l.params for l in layers)


def _fold_bias(g: _Graph, nodes, idx: int, node, rec: int, folded: dict[int, int]) -> None:
    """An Add of a constant that alone reads the MAC node's output is the layer's bias."""
    y = node.output[0]
    cons = g.consumers.get(y, [])
    if len(cons) != 1 or cons[0].op_type != "Add" or y in g.graph_outputs:
        return
    add = cons[0]
    other = [i for i in add.input if i != y]
    if len(other) == 1 and other[0] in g.init and other[0] not in g.acts:
        folded[nodes.index(add)] = rec


def _emit_mac(g: _Graph, node, emit, acts_in: list[str]) -> None:
    op = node.op_type
    a = _attrs(node)
    where = f"ONNX node {node.name or op!r} ({op})"
    if op == "Conv":
        x, w = node.input[0], node.input[1]
        if g.is_act(w):
            raise OnnxImportError(f"{where}: a convolution with run-time weights is not supported by the IR")
        xs, ws, ys = g.shape(x, node), g.shape(w, node), g.shape(node.output[0], node)
        if len(xs) == 4:
            n, h, wd, p, q, r, s = xs[0], xs[2], xs[3], ys[2], ys[3], ws[2], ws[3]
        elif len(xs) == 3:
            n, h, wd, p, q, r, s = xs[0], 1, xs[2], 1, ys[2], 1, ws[2]
        else:
            raise OnnxImportError(f"{where}: {len(xs) - 2}-d convolution is not supported by the IR")
        pads = a.get("pads") or [0]
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            k = r if len(xs) == 4 else s  # SAME_*: total padding k - 1 for stride 1, as torch's 'same'
            dil = (a.get("dilations") or [1])[0]
            pads = [dil * (k - 1) // 2]
        emit(node, "conv", list(node.input[1:3]), N=n, C=ws[1], K=ws[0], H=h, W=wd, P=p, Q=q, R=r, S=s,
             stride=int((a.get("strides") or [1])[0]), padding=int(pads[0]), groups=int(a.get("group", 1)))
        return
    A, B = node.input[0], node.input[1]
    As, Bs = g.shape(A, node), g.shape(B, node)
    if op == "Gemm":
        if a.get("transA", 0):
            As = As[::-1]
        if a.get("transB", 0):
            Bs = Bs[::-1]
    if len(As) < 2 or len(Bs) < 2:
        raise OnnxImportError(f"{where}: matrix-vector products are not supported by the IR")
    m, k, n = As[-2], As[-1], Bs[-1]
    if g.is_act(A) and g.is_act(B):
        b = math.prod(_broadcast(As[:-2], Bs[:-2], where))
        emit(node, "matmul", [], N=b, C=k, K=n, H=m, W=1, P=m, Q=1, mm_b=b, mm_m=m, mm_k=k, mm_n=n,
             weights_are_activations=True)
        return
    if not g.is_act(A):
        raise OnnxImportError(f"{where}: a constant first operand (weights @ activation) is not supported by the "
                              f"IR; transpose the product in the model")
    if len(Bs) > 2:
        raise OnnxImportError(f"{where}: a batched constant second operand is not supported by the IR")
    N = As[0]
    P = math.prod(As[1:-1]) if len(As) >= 3 else 1
    emit(node, "linear", list(node.input[1:3]), N=N, C=k, K=n, H=P, W=1, P=P, Q=1)


def _broadcast(a: list[int], b: list[int], where: str) -> list[int]:
    out = []
    for i in range(max(len(a), len(b))):
        x = a[-1 - i] if i < len(a) else 1
        y = b[-1 - i] if i < len(b) else 1
        if x != y and 1 not in (x, y):
            raise OnnxImportError(f"{where}: batch dimensions {a} and {b} do not broadcast")
        out.append(max(x, y))
    return out[::-1]
