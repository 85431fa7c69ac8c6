"""A plain list of layer shapes (YAML or CSV) as a workload: Timeloop-style dimensions.

Each row is one layer in execution order. MAC layers use the names of Timeloop's convolution
problem: ``R S`` (kernel), ``P Q`` (output rows, columns), ``C`` (input channels, all groups),
``M`` (output channels), ``N`` (batch), ``stride`` (or ``Hstride``/``Wstride``: the first is
kept), ``padding``, ``groups`` (``G``); ``op`` is ``conv`` (default when ``R``/``S`` > 1),
``linear`` or ``matmul`` (an activation-by-activation product: ``N`` batches of a ``P x C``
by ``C x M`` product). Non-MAC layers give their ``op`` (one of `workloads.ir.PPU_OPS`),
``elements`` and optionally ``in_elements`` (default: ``elements``). ``name`` is optional.

YAML: either a list of rows or ``{layers: [...]}``, or one Timeloop v0.4 problem file
(``{problem: {shape, instance}}``, e.g. from ``cosim workload --to timeloop``; padding is not
part of a Timeloop problem and is taken as 0); CSV: a header row with these names.
Input size ``H x W`` is derived from ``P, Q, R, S, stride, padding`` unless given.

    - {name: conv1, R: 7, S: 7, P: 112, Q: 112, C: 3, M: 64, stride: 2, padding: 3}
    - {name: attn.qk, op: matmul, N: 8, P: 196, C: 64, M: 196}
    - {name: act, op: gelu, elements: 802816}
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

from vocab.errors import UserError

from .ir import MAC_OPS, PPU_OPS, Layer

__all__ = ["LayerListError", "read_layer_list", "layers_from_rows", "FIELDS"]

_INT_FIELDS = ("N", "C", "M", "K", "P", "Q", "R", "S", "H", "W", "stride", "Hstride", "Wstride", "padding",
               "groups", "G", "elements", "in_elements")
FIELDS = ("name", "op") + _INT_FIELDS


class LayerListError(UserError, ValueError):
    """A layer list that cannot be read; the message names the row and the field."""


def _int(row: dict, key: str, where: str, default: int | None = None) -> int | None:
    v = row.get(key)
    if v is None or v == "":
        return default
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise LayerListError(f"{where}: {key} = {v!r} is not an integer") from None
    if not f.is_integer() or f < 0:
        raise LayerListError(f"{where}: {key} = {v!r} must be an integer >= 0")
    return int(f)


def _row_layer(i: int, row: dict[str, Any], source: str) -> Layer:
    where = f"{source} row {i + 1}"
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise LayerListError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    name = str(row.get("name") or f"layer{i}")
    R, S = _int(row, "R", where, 1), _int(row, "S", where, 1)
    op = str(row.get("op") or ("conv" if (R > 1 or S > 1) else "linear" if row.get("M") is not None or
                                row.get("K") is not None else "")).lower()
    if op not in MAC_OPS + PPU_OPS:
        raise LayerListError(f"{where}: op = {op or '(missing)'!r} is not one of {', '.join(MAC_OPS + PPU_OPS)}")
    if op not in MAC_OPS:
        e = _int(row, "elements", where)
        if not e:
            raise LayerListError(f"{where}: a {op} layer needs elements (output elements) > 0")
        return Layer(name=name, op=op, elements=e, in_elements=_int(row, "in_elements", where, e))
    M = _int(row, "M", where, _int(row, "K", where))
    C, P = _int(row, "C", where), _int(row, "P", where, 1)
    if not M or not C:
        raise LayerListError(f"{where}: a {op} layer needs C (input channels) and M (output channels) > 0")
    N, Q = _int(row, "N", where, 1), _int(row, "Q", where, 1)
    G = _int(row, "groups", where, _int(row, "G", where, 1)) or 1
    if C % G or M % G:
        raise LayerListError(f"{where}: groups = {G} must divide C = {C} and M = {M}")
    stride = _int(row, "stride", where, _int(row, "Hstride", where, 1)) or 1
    pad = _int(row, "padding", where, 0)
    if op == "matmul":
        return Layer(name=name, op=op, N=N, C=C, K=M, H=P, W=1, P=P, Q=1, mm_b=N, mm_m=P, mm_k=C, mm_n=M,
                     weights_are_activations=True)
    H = _int(row, "H", where, (P - 1) * stride + R - 2 * pad)
    W = _int(row, "W", where, (Q - 1) * stride + S - 2 * pad)
    params = M * (C // G) * R * S
    return Layer(name=name, op=op, N=N, C=C // G, K=M, H=max(1, H), W=max(1, W), P=P, Q=Q, R=R, S=S,
                 stride=stride, padding=pad, groups=G, params=params)


def _timeloop_row(problem: dict, name: str, where: str) -> dict[str, Any]:
    """A row from a Timeloop v0.4 problem (its ``instance``; ``M`` and ``C`` per group there)."""
    inst = problem.get("instance")
    if not isinstance(inst, dict):
        raise LayerListError(f"{where}: a Timeloop problem needs an instance mapping")
    shape_name = str((problem.get("shape") or {}).get("name", ""))
    G = int(inst.get("G", 1))
    row = {k: inst[k] for k in ("N", "P", "Q", "R", "S") if k in inst}
    row.update(name=name, C=int(inst.get("C", 0)) * G, M=int(inst.get("M", 0)) * G, groups=G,
               stride=inst.get("Hstride", 1))
    if shape_name.startswith("matmul"):
        row["op"] = "matmul"
    elif shape_name.startswith("linear"):
        row["op"] = "linear"
    return row


def layers_from_rows(rows: Iterable[dict[str, Any]], source: str = "layer list") -> list[Layer]:
    layers = [_row_layer(i, dict(r), source) for i, r in enumerate(rows)]
    if not layers:
        raise LayerListError(f"{source}: no layers")
    names = [l.name for l in layers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise LayerListError(f"{source}: layer names must be unique; repeated: {', '.join(dup)}")
    return layers


def read_layer_list(path: str | Path) -> list[Layer]:
    """The layers of a YAML or CSV layer list (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise LayerListError(f"layer list {str(path)!r}: no such file")
    text = p.read_text()
    if p.suffix.lower() == ".csv":
        rows = [{k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in r.items() if k}
                for r in csv.DictReader(text.splitlines())]
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise LayerListError(f"layer list {str(path)!r}: not valid YAML: {e}") from None
        if isinstance(data, dict) and isinstance(data.get("problem"), dict):
            data = [_timeloop_row(data["problem"], p.stem.split(".")[0], str(path))]
        elif isinstance(data, dict):
            data = data.get("layers")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise LayerListError(f"layer list {str(path)!r}: must be a list of layer mappings "
                                 f"(or {{layers: [...]}}), each with fields of {', '.join(FIELDS)}")
        rows = data
    return layers_from_rows(rows, source=str(path))
