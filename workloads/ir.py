"""The layer IR: one small, printable record per executed operation.

A model lowered to the IR is a flat list of `Layer` records in execution order.
Each record carries the loop dimensions the accelerator's mapper needs and
nothing else; the IR imports no other part of dynvit-cosim.

Loop-dimension conventions (the names of Timeloop/ZigZag's conv problem):

* MAC ops (``conv``, ``linear``, ``matmul``) are all expressed as one
  convolution-shaped loop nest::

      for n<N, k<K, p<P, q<Q, c<C, r<R, s<S:
          out[n, k, p, q] += in[n, g*C + c, p*stride + r - pad, q*stride + s - pad] * w[k, c, r, s]

  where ``C`` is the reduction channels *per group* and ``K`` the total output
  channels; with ``groups`` > 1 each group of ``K/groups`` outputs reads its own
  ``C`` inputs. A ``linear`` over ``L`` tokens is ``P=L, Q=1, R=S=1``.
* An activation-by-activation ``matmul`` ``out[b] = A[b] (M x Kr) @ B[b] (Kr x Nc)``
  keeps its own names (``mm_b, mm_m, mm_k, mm_n``) and is also lowered to the same
  nest as ``N=b, P=m, Q=1, C=k, K=n`` with ``weights_are_activations=True`` (its
  second operand is produced at run time, so it always comes from memory).
* Non-MAC ops (``layernorm``, ``softmax``, ``gelu``, ``relu``, ``add``, ``mul``,
  ``div``, ``resize``, ``pool``, ``batchnorm``, ``mean``) carry ``elements``
  (output elements) and ``in_elements`` (input elements read).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from vocab.names import OP_CLASSES

# Op kinds the IR may hold. MAC ops run on the PE array, the rest on the PPU.
MAC_OPS = ("conv", "linear", "matmul")
PPU_OPS = (
    "layernorm",
    "batchnorm",
    "softmax",
    "gelu",
    "relu",
    "add",
    "mul",
    "div",
    "resize",
    "pool",
    "mean",
)
OPS = MAC_OPS + PPU_OPS



@dataclass(frozen=True)
class Layer:
    """One executed operation of a model, with the loop dimensions of its nest."""

    name: str
    op: str
    # convolution-shaped loop nest (MAC ops)
    N: int = 1
    C: int = 0
    K: int = 0
    H: int = 0
    W: int = 0
    P: int = 0
    Q: int = 0
    R: int = 1
    S: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    # activation-by-activation matmul (B, M, K, N), zero otherwise
    mm_b: int = 0
    mm_m: int = 0
    mm_k: int = 0
    mm_n: int = 0
    weights_are_activations: bool = False
    # non-MAC ops
    elements: int = 0
    in_elements: int = 0
    # storage
    bytes_per_element: int = 1
    params: int = 0

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"Layer {self.name!r}: op={self.op!r} is not one of {', '.join(OPS)}")

    @property
    def is_mac(self) -> bool:
        return self.op in MAC_OPS

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates of the operation (0 for non-MAC ops)."""
        if not self.is_mac:
            return 0
        return self.N * self.K * self.P * self.Q * self.C * self.R * self.S

    @property
    def op_class(self) -> str:
        if not self.is_mac:
            return "non_mac"
        if self.op == "matmul":
            return "attention"
        if self.groups > 1 and self.C == 1:
            return "depthwise"
        if self.R == 1 and self.S == 1:
            return "pointwise"
        return "dense_conv"

    @property
    def weight_elements(self) -> int:
        """Elements of the stationary operand (weights, or B of a matmul)."""
        if not self.is_mac:
            return 0
        return self.N * self.K * self.C if self.weights_are_activations else self.K * self.C * self.R * self.S

    @property
    def output_elements(self) -> int:
        if not self.is_mac:
            return self.elements
        return self.N * self.K * self.P * self.Q

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(macs=self.macs, op_class=self.op_class)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Layer":
        """The inverse of `to_dict`: every field must be present with its type, and the derived
        values it carries (``macs``, ``op_class``) must agree, or ValueError."""
        kw = {}
        for f in dataclasses.fields(cls):
            v = d[f.name] if f.name in d else None
            want = bool if f.type == "bool" else str if f.type == "str" else int
            if type(v) is not want:
                raise ValueError(f"layer field {f.name}={v!r} is not a {want.__name__}")
            kw[f.name] = v
        layer = cls(**kw)
        if (d.get("macs"), d.get("op_class")) != (layer.macs, layer.op_class):
            raise ValueError(f"layer {layer.name!r}: macs/op_class do not match its dimensions")
        return layer


@dataclass
class Workload:
    """A model lowered to the IR for one configuration."""

    model: str
    config: str
    resolution: tuple[int, int]
    layers: list[Layer] = field(default_factory=list)
    params: int = 0

    @property
    def total_macs(self) -> int:
        return sum(l.macs for l in self.layers)

    def breakdown(self) -> dict[str, int]:
        """MACs by op class (non_mac counts elements, not MACs, and is reported as 0 MACs)."""
        out = {c: 0 for c in OP_CLASSES}
        for l in self.layers:
            out[l.op_class] += l.macs
        return out

    def non_mac_elements(self) -> int:
        return sum(l.elements for l in self.layers if not l.is_mac)

    def to_dict(self, with_layers: bool = True) -> dict:
        d = {
            "model": self.model,
            "config": self.config,
            "resolution": list(self.resolution),
            "total_macs": self.total_macs,
            "params": self.params,
            "breakdown": self.breakdown(),
            "non_mac_elements": self.non_mac_elements(),
            "num_layers": len(self.layers),
        }
        if with_layers:
            d["layers"] = [l.to_dict() for l in self.layers]
        return d

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, d: dict) -> "Workload":
        """The inverse of `to_dict` (with layers); ValueError (or KeyError/TypeError) if ``d`` is
        not one, including when its derived totals disagree with its layers."""
        wl = cls(model=str(d["model"]), config=str(d["config"]), resolution=tuple(int(x) for x in d["resolution"]),
                 layers=[Layer.from_dict(l) for l in d["layers"]], params=int(d["params"]))
        if (d.get("total_macs"), d.get("num_layers")) != (wl.total_macs, len(wl.layers)):
            raise ValueError(f"workload {wl.config!r}: total_macs/num_layers do not match its layers")
        return wl


def total_macs(layers: Iterable[Layer]) -> int:
    return sum(l.macs for l in layers)


def layers_from_records(records: list[dict]) -> list[Layer]:
    """Layers of the recorded dicts (consumed), a name used more than once numbered ``name.0``,
    ``name.1``, ... in order (the torch and the ONNX lowerings name layers alike)."""
    counts = Counter(r["name"] for r in records)
    seen: Counter = Counter()
    layers = []
    for r in records:
        name = r.pop("name")
        if counts[name] > 1:
            k = seen[name]
            seen[name] += 1
            name = f"{name}.{k}"
        layers.append(Layer(name=name, **r))
    return layers
