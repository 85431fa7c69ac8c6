"""Mapping: per layer, the tiling and loop order the accelerator executes.

The SystemC model (``accelerator/src/``) executes a layer tile by tile; this module
chooses the tiles. The hardware organisation it maps onto (Simba-like):

* **Tile loops.** A MAC layer's loop nest ``n, k, p, q, c (, r, s)`` is tiled into
  ``N_t, K_t, P_t, Q_t, C_t`` (the kernel ``R x S`` is never split). The tile loops run in
  one of a few orders over ``n, k, p, q``; the reduction loop ``c`` is always innermost,
  so the outputs of a tile are stored once, after its last reduction tile (no partial
  sums to DRAM). Between consecutive tiles only the operand tiles whose index changed are
  loaded. A PPU (non-MAC) layer is cut into slices of ``E_t`` output elements.
* **Where data lives.** Inputs and outputs are staged in the global buffer (GLB), double
  buffered: ``2 x (input tile + output tile) <= global_buffer_bytes``; an input tensor
  small enough may stay resident in the GLB (then it comes from DRAM once). Weights (and a
  matmul's second operand, an activation) bypass the GLB, as in Simba: DRAM -> NoC -> PE
  weight buffers.
* **PE partition.** A tile is split over ``pes_k x pes_p = num_pes`` PEs: output channels
  in whole lane groups (``lanes`` channels) across ``pes_k``, output rows across
  ``pes_p``. Per PE, double-buffered: weights ``2 x K_pe x C_t x R x S`` (``x N_t`` for a
  matmul) within ``weight_buffer_bytes``, inputs ``2 x N_t x C_in x rows x cols`` within
  ``input_buffer_bytes``. When ``C_t < C`` (reduction split over tiles) a PE's partial
  sums must stay in its accumulation banks across tiles:
  ``ceil(K_pe/lanes) x rows_pe x Q_t x N_t <= accum entries per lane``; otherwise the PE
  sweeps its share in accumulation-sized blocks, draining each after its full reduction.
  Buffer occupancy counts whole vectors (channels rounded up to ``vector_size``) and whole
  lanes (output channels rounded up to ``lanes``).
* **Choice.** Candidates: channel tiles of whole lane groups / vectors from a fixed grid,
  balanced spatial tiles, every PE split, the three loop orders, with and without an input
  resident in the GLB. Each is costed by `accelerator.cost` -- exactly the action counts the
  C++ model will produce, their energy by the one `EnergyModel`, and a time estimate -- on
  the *actual* layer (not the vector-rounded one: a one-channel depthwise group moves one
  channel). The hardware's ``mapping_objective`` picks: energy-delay product (default;
  minimising DRAM traffic alone picks tilings with idle PEs, minimising time alone trades a
  lot of energy for a little time), energy, or latency; ties go to the fewer tiles.
  `mapping_candidates` gives the runner-up too, or searches every legal tiling exhaustively.
* **Dynamic configurations reuse the full model's mapping** (``map_layers_like``), as a
  dynamic-inference system does: the model is mapped once for its full configuration, and a
  reduced configuration runs the same tilings, loop orders and PE partitions with shorter
  loop trip counts (tile sizes clipped to the reduced dimensions; skipped channels, heads
  and blocks only shorten or remove tile loops; nothing is re-mapped at run time). Every
  tile of the reduced layer then moves and computes no more than the matching tile of the
  full layer, and the tile sequence only loses tiles, so latency and energy never grow when
  work is removed; removing fewer channels than one vector (or lane group) leaves the cycles
  unchanged. A layer is matched by name; one without a match, or whose structure differs
  (op, kernel, stride, padding, channels per group) or that is larger along some dimension,
  is mapped on its own.

The costs a `Mapping` records (tiles, DRAM bytes, cycles, ``time_s``, ``energy_j``) are the
cost model's; a test checks the counts equal the simulation's for every layer of several
models on every preset.

Non-MAC ops run on the PPU with a number of element-operations (*passes*) per output
element. These are structural assumptions of this model, not measured numbers:
``PPU_PASSES`` (layer norm: statistics + normalise = 2; softmax: max, exp-and-sum,
divide = 3; bilinear resize: 4 taps = 4; pooling/mean: the window = in/out elements;
others 1).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, astuple, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vocab.errors import UserError
from workloads.ir import Layer

from .cost import LayerCost, MacDims, cdiv as _cdiv, mac_cost, mac_totals, ppu_cost

__all__ = [
    "Mapping", "MappingError", "map_layer", "map_layers", "evaluate", "encode_program", "PROGRAM_FIELDS",
    "ORDERS", "PPU_PASSES", "OBJECTIVES", "map_like", "map_layers_like", "mapping_candidates", "layer_cost",
    "energy_model",
]

# The fields of one layer record of a program, in order: (name, C++ enumerator). The one
# definition: accelerator/codegen.py generates enum Field of the C++ model from it.
PROGRAM_FIELD_DECLS: tuple[tuple[str, str], ...] = (
    ("kind", "F_KIND"), ("passes", "F_PASSES"), ("N", "F_N"), ("C", "F_C"), ("K", "F_K"), ("H", "F_H"),
    ("W", "F_W"), ("P", "F_P"), ("Q", "F_Q"), ("R", "F_R"), ("S", "F_S"), ("stride", "F_STRIDE"),
    ("padding", "F_PAD"), ("groups", "F_GROUPS"), ("weights_are_activations", "F_WACT"), ("data_bytes", "F_DB"),
    ("accum_bytes", "F_ACCB"), ("N_t", "F_NT"), ("K_t", "F_KT"), ("C_t", "F_CT"), ("P_t", "F_PT"),
    ("Q_t", "F_QT"), ("pes_k", "F_PK"), ("pes_p", "F_PP"), ("order0", "F_ORD0"), ("order1", "F_ORD1"),
    ("order2", "F_ORD2"), ("order3", "F_ORD3"), ("order4", "F_ORD4"), ("weights_resident", "F_WRES"),
    ("inputs_resident", "F_IRES"), ("elements", "F_ELEMS"), ("in_elements", "F_IN_ELEMS"), ("E_t", "F_ET"),
    ("macs", "F_MACS"), ("accum_entries", "F_AENT"),
)
PROGRAM_FIELDS: tuple[str, ...] = tuple(n for n, _ in PROGRAM_FIELD_DECLS)
FIELD = {n: i for i, n in enumerate(PROGRAM_FIELDS)}
NUM_FIELDS = len(PROGRAM_FIELDS)

# Loop dimensions of a MAC layer's tiles (enum Dim, generated) and layer kinds (enum Kind, generated).
DIMS = ("n", "k", "p", "q", "c")
KINDS = ("mac", "ppu")
# Tile-loop orders considered (outermost first); c is always innermost.
ORDERS: tuple[tuple[str, ...], ...] = (
    ("k", "n", "p", "q", "c"),  # weight tile outermost: weights reused across all spatial tiles
    ("n", "k", "p", "q", "c"),
    ("n", "p", "q", "k", "c"),  # input tile outermost: inputs reused across output-channel tiles
)
PPU_PASSES = {"layernorm": 2, "batchnorm": 1, "softmax": 3, "gelu": 1, "relu": 1, "add": 1, "mul": 1,
              "div": 1, "resize": 4}
KIND_MAC, KIND_PPU = KINDS.index("mac"), KINDS.index("ppu")


class MappingError(UserError, ValueError):
    """No tiling of a layer fits the hardware's buffers; the message names the parameter."""


@dataclass(frozen=True)
class Mapping:
    """How one layer is tiled, partitioned and ordered, and what that costs (`accelerator.cost`)."""

    layer: str
    op: str
    kind: str  # "mac" | "ppu"
    N_t: int = 0
    K_t: int = 0
    C_t: int = 0
    P_t: int = 0
    Q_t: int = 0
    pes_k: int = 0
    pes_p: int = 0
    order: tuple[str, ...] = ()
    weights_resident: bool = False
    inputs_resident: bool = False
    E_t: int = 0
    passes: int = 0
    # costs on the actual layer (accelerator.cost)
    tiles: int = 0
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0
    compute_cycles: int = 0  # with all PEs active
    # occupancy of the largest tile
    wbuf_bytes_per_pe: int = 0
    ibuf_bytes_per_pe: int = 0
    accum_entries_per_lane: int = 0
    glb_bytes: int = 0
    # the cost model's estimate (accelerator.cost): seconds and joules with all resources
    time_s: float = 0.0
    energy_j: float = 0.0

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["order"] = ">".join(self.order)
        d["dram_bytes"] = self.dram_bytes
        return d

    def __str__(self) -> str:
        if self.kind == "ppu":
            return (f"{self.layer} [{self.op}] PPU E_t={self.E_t} x{self.passes} passes, {self.tiles} tiles, "
                    f"DRAM r/w {self.dram_read_bytes}/{self.dram_write_bytes} B, {self.compute_cycles} cycles, "
                    f"GLB {self.glb_bytes} B; est. {self.time_s * 1e6:.4g} us, {self.energy_j * 1e6:.4g} uJ")
        res = " inputs resident in GLB" if self.inputs_resident else ""
        return (f"{self.layer} [{self.op}] tile N{self.N_t} K{self.K_t} C{self.C_t} P{self.P_t} Q{self.Q_t}, "
                f"PEs {self.pes_k}(K) x {self.pes_p}(P), order {'>'.join(self.order)}{res}; {self.tiles} tiles, "
                f"DRAM r/w {self.dram_read_bytes}/{self.dram_write_bytes} B, {self.compute_cycles} cycles; "
                f"per PE W {self.wbuf_bytes_per_pe} B, I {self.ibuf_bytes_per_pe} B, "
                f"acc {self.accum_entries_per_lane}/lane; GLB {self.glb_bytes} B; "
                f"est. {self.time_s * 1e6:.4g} us, {self.energy_j * 1e6:.4g} uJ")


# -- MAC layers ----------------------------------------------------------------------------

def _mac_dims(layer: Layer) -> MacDims:
    H = layer.H if layer.H > 0 else (layer.P - 1) * layer.stride + layer.R - 2 * layer.padding
    W = layer.W if layer.W > 0 else (layer.Q - 1) * layer.stride + layer.S - 2 * layer.padding
    return MacDims(N=max(1, layer.N), C=layer.C, K=layer.K, H=max(1, H), W=max(1, W), P=layer.P, Q=max(1, layer.Q),
                   R=max(1, layer.R), S=max(1, layer.S), stride=max(1, layer.stride), padding=layer.padding,
                   groups=max(1, layer.groups), wact=bool(layer.weights_are_activations))


def _cin(d: MacDims, kt, ct):
    """Input channels an output-channel tile of kt reads (upper bound for grouped convs);
    ct may be vector-rounded: at most the layer's C channels per group are read."""
    ct = np.minimum(ct, d.C)
    if d.groups > 1:
        Kg = d.kg
        return (_cdiv(kt, Kg) + np.where((Kg > 1) & (kt % Kg != 0), 1, 0)) * ct
    return ct + 0 * kt


def _rows(pt, stride, R, H):
    return np.minimum((pt - 1) * stride + R, np.maximum(H, 1))


_GRID = sorted({1, 2, 3, 4, 5, 6, 7, 8, 10, 12} | {m * 2 ** k for m in (4, 5, 6) for k in range(1, 14)})


def _grid(D: int, unit: int) -> list[int]:
    """Tile sizes along a channel-like dimension: unit x a fixed grid, clipped to D.

    The grid does not depend on D (only the clipping does), so every tiling of a layer is
    also a tiling of the same layer with fewer channels."""
    g = _cdiv(D, unit)
    return sorted({min(D, m * unit) for m in _GRID if m < g} | {D}, reverse=True)


def _splits(D: int, limit: int = 20) -> list[int]:
    """Balanced tile sizes along a spatial dimension: ceil(D/d)."""
    ds = set(range(1, 9)) | {2 ** k for k in range(4, 20)} | {3 * 2 ** k for k in range(2, 19)}
    out = sorted({_cdiv(D, d) for d in ds if d <= D}, reverse=True)
    if len(out) > limit:  # keep the large ones and a geometric sample of the rest
        keep = out[:8] + out[8::max(1, (len(out) - 8) // (limit - 8))]
        out = sorted(set(keep) | {out[-1]}, reverse=True)
    return out


def _divisors(n: int) -> list[int]:
    return [p for p in range(1, n + 1) if n % p == 0]


def _weights_fit(d: MacDims, hw, NT, KT, CT, PK) -> np.ndarray:
    """Double-buffered weights of a PE's share (whole lanes, whole vectors) fit its weight buffer."""
    kpeg = _cdiv(_cdiv(KT, hw.lanes), PK)
    vs = hw.vector_size
    return 2 * (NT if d.wact else 1) * kpeg * hw.lanes * _cdiv(CT, vs) * vs * d.R * d.S * hw.data_bytes \
        <= hw.weight_buffer_bytes


def _legal(d: MacDims, hw, NT, KT, CT, PT, QT, PK) -> tuple[np.ndarray, np.ndarray]:
    """Which tilings fit the PE buffers, accumulation banks and the GLB; and which of them may
    also hold the whole input resident in the GLB. Occupancy counts whole vectors and lanes."""
    lanes, vs, db = hw.lanes, hw.vector_size, hw.data_bytes
    Cr = _cdiv(d.C, vs) * vs
    kpeg = _cdiv(_cdiv(KT, lanes), PK)
    ppe = _cdiv(PT, hw.num_pes // PK)
    ok = _weights_fit(d, hw, NT, KT, CT, PK)
    cin_pe = _cdiv(_cin(d, np.minimum(kpeg * lanes, KT), CT), vs) * vs
    cols = np.minimum((QT - 1) * d.stride + d.S, d.W)
    ok &= 2 * NT * cin_pe * _rows(ppe, d.stride, d.R, d.H) * cols * db <= hw.input_buffer_bytes
    ok &= (CT >= Cr) | (kpeg * ppe * QT * NT <= hw.accum_entries_per_lane)  # partial sums kept across tiles
    cin_t = _cdiv(_cin(d, KT, CT), vs) * vs
    out_t = 2 * NT * KT * PT * QT * db
    ok &= 2 * NT * cin_t * _rows(PT, d.stride, d.R, d.H) * cols * db + out_t <= hw.global_buffer_bytes
    in_total = d.N * _cdiv(d.C * d.groups, vs) * vs * d.H * d.W * db
    return ok, ok & (in_total + out_t <= hw.global_buffer_bytes)


def _grid_candidates(d: MacDims, hw) -> tuple[np.ndarray, ...]:
    """The mapper's candidate tilings: channel tiles from a fixed grid of whole lanes/vectors,
    balanced spatial tiles, every PE split (output channels x output rows). Combinations whose
    weights cannot fit the PE weight buffers are dropped before the spatial axes are added."""
    lanes, vs = hw.lanes, hw.vector_size
    Kr, Cr = _cdiv(d.K, lanes) * lanes, _cdiv(d.C, vs) * vs
    arr = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    NT, KT, CT, PK = (a.ravel() for a in np.meshgrid(arr(_grid(d.N, 1)), arr(_grid(Kr, lanes)), arr(_grid(Cr, vs)),
                                                      arr(_divisors(hw.num_pes)), indexing="ij"))
    fit = _weights_fit(d, hw, NT, KT, CT, PK)
    if fit.any():
        NT, KT, CT, PK = (a[fit] for a in (NT, KT, CT, PK))
    sp = [a.ravel() for a in np.meshgrid(arr(_splits(d.P, 20)), arr(_splits(d.Q, 10)), indexing="ij")]
    n, m = NT.size, sp[0].size
    rep = lambda a: np.repeat(a, m)  # noqa: E731
    return rep(NT), rep(KT), rep(CT), np.tile(sp[0], n), np.tile(sp[1], n), rep(PK)


def _all_candidates(d: MacDims, hw) -> tuple[np.ndarray, ...]:
    """Every tiling: any batch/row/column tile size, any whole number of lane groups and of
    vectors, every PE split (for exhaustive search on small layers)."""
    lanes, vs = hw.lanes, hw.vector_size
    axes = [range(1, d.N + 1), range(lanes, _cdiv(d.K, lanes) * lanes + 1, lanes),
            range(vs, _cdiv(d.C, vs) * vs + 1, vs), range(1, d.P + 1), range(1, d.Q + 1), _divisors(hw.num_pes)]
    return tuple(a.ravel() for a in np.meshgrid(*[np.array(list(x), dtype=np.int64) for x in axes], indexing="ij"))


OBJECTIVES = ("edp", "energy", "latency")


def _objective_keys(e, t, objective: str) -> tuple[np.ndarray, ...]:
    """Sort keys (energy in J, time in s), most significant first."""
    if objective == "energy":
        return (e, t)
    if objective == "latency":
        return (t, e)
    return (e * t, t)


def _rank(d: MacDims, hw, cands: tuple[np.ndarray, ...], top: int = 1) -> list[tuple]:
    """The best ``top`` legal tilings of ``cands`` under the hardware's mapping objective, each
    (nt, kt, ct, pt, qt, pk, order index, inputs resident); distinct in tile sizes or PE split
    (the same tiling in another loop order often costs the same)."""
    NT, KT, CT, PT, QT, PK = cands
    ok, res_ok = _legal(d, hw, NT, KT, CT, PT, QT, PK)
    if not ok.any():
        raise MappingError(_explain(d, hw))
    em = energy_model(hw)
    rows = []
    for res in (False, True):
        sel = res_ok if res else ok
        if not sel.any():
            continue
        c = tuple(a[sel] for a in cands)
        totals = mac_totals(d, hw, em, *c[:5], c[5], hw.num_pes // c[5], [(o, res) for o in ORDERS])
        for oi, (e, t, tiles) in enumerate(totals):
            keys = [np.broadcast_to(k, c[0].shape) for k in _objective_keys(e, t, hw.mapping_objective) + (tiles,)]
            # the best few by the first key (with all its ties), then ordered by every key
            want = min(top * len(ORDERS) * 2, keys[0].size)
            thr = np.partition(keys[0], want - 1)[want - 1]
            pool = np.flatnonzero(keys[0] <= thr)
            idx = pool[np.lexsort([k[pool] for k in keys[::-1]])][:want]
            for i in idx:
                rows.append((tuple(float(k[i]) for k in keys), tuple(int(a[i]) for a in c) + (oi, res)))
    rows.sort(key=lambda r: r[0])
    out, seen = [], set()
    for _, t in rows:
        if t[:6] not in seen:
            seen.add(t[:6])
            out.append(t)
    return out[:top]


@lru_cache(maxsize=4096)
def _map_mac(d: MacDims, hw, op: str) -> Mapping:
    store = _disk_cache(hw)
    key = json.dumps([list(astuple(d)), op])
    choice = store.get(key)
    if choice is None:
        choice = _rank(d, hw, _grid_candidates(d, hw))[0]
        store.put(key, choice)
    nt, kt, ct, pt, qt, pk, oi, res = choice
    return _mac_mapping(d, hw, "", op, nt, kt, ct, pt, qt, pk, hw.num_pes // pk, ORDERS[oi], bool(res))


# -- the mapper's choices on disk ------------------------------------------------------------

class _ChoiceCache:
    """The mapper's choices for one hardware, kept across processes: one JSON line per layer shape
    in ``<cache dir>/mappings/<key>.jsonl`` (appended, so concurrent processes only add lines),
    keyed by a hash of the hardware parameters and of every source that decides a choice. An
    entry that does not parse or is not a legal tiling is ignored (and mapped again)."""

    def __init__(self, hw, path) -> None:
        self.hw, self.path, self.entries = hw, path, {}
        try:
            lines = path.read_text().splitlines() if path is not None else []
        except OSError:
            lines = []
        for line in lines:
            try:
                k, v = json.loads(line)
                v = tuple(int(x) for x in v)
                if len(v) == 8 and 0 <= v[6] < len(ORDERS) and self._legal(k, v):
                    self.entries[k] = v
            except (ValueError, TypeError, KeyError, IndexError):
                continue

    def _legal(self, key: str, v: tuple) -> bool:
        dims, _op = json.loads(key)
        d = MacDims(*dims)
        ok, res_ok = _legal(d, self.hw, *(np.int64(x) for x in v[:6]))
        return bool(res_ok if v[7] else ok) and self.hw.num_pes % v[5] == 0

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, v: tuple) -> None:
        v = tuple(int(x) for x in v)
        self.entries[key] = v
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:  # one short line per write: appends do not interleave
                f.write(json.dumps([key, list(v)]) + "\n")
        except OSError:
            self.path = None  # a read-only cache folder: keep the choices in memory only


@lru_cache(maxsize=1)
def _sources_hash() -> str:
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(list(root.glob("*.py")) + list((root / "data").glob("*.yaml"))):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=64)
def _disk_cache(hw) -> _ChoiceCache:
    if os.environ.get("DYNVIT_MAPPING_CACHE", "1") == "0":
        return _ChoiceCache(hw, None)
    from vocab.paths import cache_dir
    key = hashlib.sha256((_sources_hash() + json.dumps(hw.to_dict(), sort_keys=True)).encode()).hexdigest()[:24]
    return _ChoiceCache(hw, cache_dir("mappings") / f"{key}.jsonl")


def _mac_mapping(d: MacDims, hw, name: str, op: str, nt: int, kt: int, ct: int, pt: int, qt: int,
                 pk: int, pp: int, order: tuple[str, ...], res: bool) -> Mapping:
    """A MAC tiling with its costs (cost model) and buffer occupancy on the actual layer ``d``."""
    lanes, vs, db = hw.lanes, hw.vector_size, hw.data_bytes
    RS = d.R * d.S
    cost = mac_cost(d, hw, energy_model(hw), nt, kt, ct, pt, qt, pk, pp, order, res)
    cnt = {k: int(np.asarray(v)) for k, v in cost.counts.items()}
    kpeg = _cdiv(_cdiv(kt, lanes), pk)
    ppe = _cdiv(pt, pp)
    cin_pe = _cdiv(int(_cin(d, min(kpeg * lanes, kt), ct)), vs) * vs
    cols = min((qt - 1) * d.stride + d.S, d.W)
    rows = int(_rows(ppe, d.stride, d.R, d.H))
    cin_t = _cdiv(int(_cin(d, kt, ct)), vs) * vs
    in_total = d.N * _cdiv(d.C * d.groups, vs) * vs * d.H * d.W * db
    glb = (in_total if res else 2 * nt * cin_t * int(_rows(pt, d.stride, d.R, d.H)) * cols * db) \
        + 2 * nt * kt * pt * qt * db
    return Mapping(
        layer=name, op=op, kind="mac", N_t=nt, K_t=kt, C_t=ct, P_t=pt, Q_t=qt, pes_k=pk, pes_p=pp,
        order=tuple(order), weights_resident=False, inputs_resident=bool(res), tiles=cnt["tiles"],
        dram_read_bytes=cnt["dram_read_bytes"], dram_write_bytes=cnt["dram_write_bytes"],
        compute_cycles=cnt["compute_cycles"],
        wbuf_bytes_per_pe=2 * (nt if d.wact else 1) * kpeg * lanes * _cdiv(ct, vs) * vs * RS * db,
        ibuf_bytes_per_pe=2 * nt * cin_pe * rows * cols * db,
        accum_entries_per_lane=kpeg * ppe * qt * nt if ct < d.C else min(kpeg * ppe * qt * nt,
                                                                        hw.accum_entries_per_lane),
        glb_bytes=int(glb), time_s=float(cost.time_s), energy_j=float(cost.total_energy_j),
    )


def _explain(d: MacDims, hw) -> str:
    lanes, vs, db = hw.lanes, hw.vector_size, hw.data_bytes
    RS = d.R * d.S
    cin = _cdiv(int(_cin(d, min(lanes, _cdiv(d.K, lanes) * lanes), vs)), vs) * vs
    w = 2 * lanes * vs * RS * db
    i = 2 * cin * min(d.R, d.H) * min(d.S, d.W) * db
    g = 2 * (cin * min(d.R, d.H) * min(d.S, d.W) + lanes) * db
    what = []
    if w > hw.weight_buffer_bytes:
        what.append(f"weight_buffer_bytes [B] = {hw.weight_buffer_bytes} < {w} (2 x lanes x vector_size x R x S x "
                    f"data_bytes)")
    if i > hw.input_buffer_bytes:
        what.append(f"input_buffer_bytes [B] = {hw.input_buffer_bytes} < {i} (2 x one vector of input channels x R x S)")
    if g > hw.global_buffer_bytes:
        what.append(f"global_buffer_bytes [B] = {hw.global_buffer_bytes} < {g} (2 x (smallest input tile + output "
                    f"tile))")
    if not what:
        what.append(f"accum_buffer_bytes [B] = {hw.accum_buffer_bytes} (no tiling fits the per-lane accumulation "
                    f"banks)")
    return (f"no tiling fits the hardware even for the smallest tile "
            f"(1 x {lanes} output channels x {vs} input channels x 1 x 1 pixels): " + "; ".join(what))


# -- PPU layers ----------------------------------------------------------------------------

def ppu_passes(layer: Layer) -> int:
    if layer.op in ("pool", "mean"):
        return max(1, _cdiv(layer.in_elements, max(1, layer.elements)))
    return PPU_PASSES.get(layer.op, 1)


@lru_cache(maxsize=4096)
def _map_ppu(op: str, E: int, IN: int, hw, passes: int) -> Mapping:
    GLB, db = hw.global_buffer_bytes, hw.data_bytes
    if E <= 0:
        return Mapping(layer="", op=op, kind="ppu", E_t=1, passes=passes)
    ratio = IN / E
    et = int((GLB // (2 * db)) / (1.0 + ratio))
    while et >= 1 and 2 * db * (et + _cdiv(et * IN, E)) > GLB:
        et -= 1
    if et < 1:
        raise MappingError(f"({op}): global_buffer_bytes [B] = {GLB} cannot double-buffer one "
                           f"output element and its {ratio:.3g} input elements")
    et = min(et, E)
    n = _cdiv(E, et)
    return _ppu_mapping(op, E, IN, hw, passes, _cdiv(E, n))


def _ppu_mapping(op: str, E: int, IN: int, hw, passes: int, et: int) -> Mapping:
    db = hw.data_bytes
    cost = ppu_cost(E, IN, passes, hw, energy_model(hw), et)
    cnt = {k: int(np.asarray(v)) for k, v in cost.counts.items()}
    return Mapping(layer="", op=op, kind="ppu", E_t=et, passes=passes, tiles=cnt["tiles"],
                   dram_read_bytes=cnt["dram_read_bytes"], dram_write_bytes=cnt["dram_write_bytes"],
                   compute_cycles=cnt["compute_cycles"], glb_bytes=2 * db * (et + _cdiv(et * IN, E)),
                   time_s=float(cost.time_s), energy_j=float(cost.total_energy_j))


# -- API -----------------------------------------------------------------------------------

def _named(layer: Layer, fn):
    try:
        return _renamed(fn(), layer.name)
    except MappingError as e:
        if str(e).startswith("layer "):
            raise
        raise MappingError(f"layer {layer.name!r} {e}") from None


def map_layer(layer: Layer, hw) -> Mapping:
    """The mapping of one layer on ``hw`` (cached by layer dimensions and hardware): the legal
    tiling of least cost under ``hw.mapping_objective`` (see `accelerator.cost`)."""
    if layer.is_mac:
        d = _mac_dims(layer)
        if layer.macs == 0:
            return Mapping(layer=layer.name, op=layer.op, kind="mac", N_t=1, K_t=1, C_t=1, P_t=1, Q_t=1,
                           pes_k=1, pes_p=hw.num_pes, order=ORDERS[0])
        return _named(layer, lambda: _map_mac(d, hw, layer.op))
    return _named(layer, lambda: _map_ppu(layer.op, int(layer.elements), int(layer.in_elements), hw,
                                          ppu_passes(layer)))


def mapping_candidates(layer: Layer, hw, top: int = 2, exhaustive: bool = False) -> list[Mapping]:
    """The ``top`` best tilings of a MAC layer under ``hw.mapping_objective``, best first: from
    the mapper's candidate grid, or (``exhaustive``) from every legal tiling, loop order, PE
    split and residency (slow: for small layers)."""
    if not layer.is_mac or layer.macs == 0:
        return [map_layer(layer, hw)]
    d = _mac_dims(layer)
    cands = _all_candidates(d, hw) if exhaustive else _grid_candidates(d, hw)
    try:
        best = _rank(d, hw, cands, top)
    except MappingError as e:
        raise MappingError(f"layer {layer.name!r} {e}") from None
    return [_renamed(_mac_mapping(d, hw, "", layer.op, nt, kt, ct, pt, qt, pk, hw.num_pes // pk, ORDERS[oi],
                                  bool(res)), layer.name) for nt, kt, ct, pt, qt, pk, oi, res in best]


def evaluate(layer: Layer, m: Mapping, hw) -> Mapping:
    """Recompute the costs (counts, time, energy) of any tiling/order/residency of a MAC
    layer, e.g. one edited with ``dataclasses.replace`` (buffers are not checked)."""
    if not layer.is_mac or layer.macs == 0:
        return m
    d = _mac_dims(layer)
    e = _mac_mapping(d, hw, m.layer, m.op, m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p, tuple(m.order),
                     m.inputs_resident)
    return replace(m, tiles=e.tiles, dram_read_bytes=e.dram_read_bytes, dram_write_bytes=e.dram_write_bytes,
                   compute_cycles=e.compute_cycles, time_s=e.time_s, energy_j=e.energy_j)


def layer_cost(layer: Layer, m: Mapping, hw) -> LayerCost:
    """The cost model's counts, time and energy by component of ``layer`` run with ``m``."""
    em = energy_model(hw)
    if layer.is_mac:
        d = _mac_dims(layer)
        if layer.macs == 0:
            return LayerCost(counts={}, time_s=np.zeros(()), energy_j={c: np.zeros(()) for c in em.components})
        return mac_cost(d, hw, em, m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p, tuple(m.order),
                        m.inputs_resident)
    return ppu_cost(int(layer.elements), int(layer.in_elements), int(m.passes), hw, em, max(1, m.E_t))


@lru_cache(maxsize=64)
def energy_model(hw):
    """The `EnergyModel` of ``hw`` (cached): the mapper and the simulator's results share it."""
    from .energy import EnergyModel
    return EnergyModel(hw)


def _renamed(m: Mapping, name: str) -> Mapping:
    return replace(m, layer=name)


def map_layers(layers: Sequence[Layer], hw) -> list[Mapping]:
    return [map_layer(l, hw) for l in layers]


# -- dynamic configurations: the full model's mapping with shorter trip counts -------------

@lru_cache(maxsize=8192)
def _clip_mac(d: MacDims, hw, op: str, ref: tuple) -> Mapping:
    nt, kt, ct, pt, qt, pk, pp, order, res = ref
    lanes, vs = hw.lanes, hw.vector_size
    # channel tiles are clipped to the lane/vector-rounded dimension (whole lanes and vectors;
    # the C++ walker clips to the layer), spatial and batch tiles to the dimension
    return _mac_mapping(d, hw, "", op, min(nt, d.N), min(kt, _cdiv(d.K, lanes) * lanes),
                        min(ct, _cdiv(d.C, vs) * vs), min(pt, d.P), min(qt, d.Q), pk, pp, order, res)


def map_like(layer: Layer, ref_layer: Layer, ref_mapping: Mapping, hw) -> Mapping | None:
    """The mapping ``ref_mapping`` of ``ref_layer`` applied to ``layer``, a reduced version of it.

    Same tile-loop order, PE partition and residency; tile sizes clipped to ``layer``'s
    dimensions, so the loops only run fewer (or shorter) trips. Costs are recomputed for
    ``layer``. None when ``layer`` is not a reduction of ``ref_layer``: another op or
    structure (kernel, stride, padding, channels per group) or larger along a dimension.
    """
    if layer.op != ref_layer.op or layer.is_mac != ref_layer.is_mac:
        return None
    if not layer.is_mac:
        E, IN = int(layer.elements), int(layer.in_elements)
        if ref_mapping.kind != "ppu" or E > ref_layer.elements or IN > ref_layer.in_elements:
            return None
        if E <= 0:
            return _renamed(_map_ppu(layer.op, E, IN, hw, ppu_passes(layer)), layer.name)
        et = min(max(1, int(ref_mapping.E_t)), E)
        if 2 * hw.data_bytes * (et + _cdiv(et * IN, E)) > hw.global_buffer_bytes:  # more input per output
            return None
        return _renamed(_ppu_mapping(layer.op, E, IN, hw, ppu_passes(layer), et), layer.name)
    if layer.macs == 0:
        return map_layer(layer, hw)
    if ref_mapping.kind != "mac" or not ref_mapping.order or ref_layer.macs == 0:
        return None
    d, r = _mac_dims(layer), _mac_dims(ref_layer)
    if (d.R, d.S, d.stride, d.padding, d.wact) != (r.R, r.S, r.stride, r.padding, r.wact):
        return None
    if r.groups > 1:  # grouped: same output channels per group, or a single group of the reference
        if (d.kg != r.kg) if d.groups > 1 else (d.K > r.kg):
            return None
    elif d.groups > 1:
        return None
    if any(getattr(d, f) > getattr(r, f) for f in ("N", "C", "K", "H", "W", "P", "Q")):
        return None
    m = ref_mapping
    ref = (m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p, tuple(m.order), bool(m.inputs_resident))
    return _renamed(_clip_mac(d, hw, layer.op, ref), layer.name)


def map_layers_like(layers: Sequence[Layer], reference: Sequence[Layer], hw,
                    ref_mappings: Sequence[Mapping] | None = None) -> list[Mapping]:
    """Map a dynamic configuration with the mapping of its full configuration ``reference``.

    Each layer whose name matches a reference layer runs that layer's mapping with tile
    sizes clipped to its dimensions (`map_like`); the others are mapped on their own.
    ``ref_mappings`` (one per reference layer) default to ``map_layers(reference, hw)``.
    """
    reference = list(getattr(reference, "layers", reference))
    if ref_mappings is None:
        ref_mappings = map_layers(reference, hw)
    elif len(ref_mappings) != len(reference):
        raise ValueError(f"{len(ref_mappings)} reference mappings for {len(reference)} reference layers")
    by_name = {l.name: (l, m) for l, m in zip(reference, ref_mappings)}
    out = []
    for l in layers:
        hit = by_name.get(l.name)
        m = map_like(l, hit[0], hit[1], hw) if hit is not None else None
        out.append(m if m is not None else map_layer(l, hw))
    return out


def encode_program(layers: Sequence[Layer], mappings: Sequence[Mapping], hw) -> np.ndarray:
    """The flat int64 program the C++ model executes: [n_layers, NUM_FIELDS]."""
    prog = np.zeros((len(layers), NUM_FIELDS), dtype=np.int64)
    accb = _cdiv(int(hw.accum_bits), 8)
    db = int(hw.data_bytes)
    for i, (l, m) in enumerate(zip(layers, mappings)):
        row = prog[i]
        row[FIELD["data_bytes"]] = db
        row[FIELD["accum_bytes"]] = accb
        row[FIELD["accum_entries"]] = hw.accum_entries_per_lane
        if l.is_mac:
            d = _mac_dims(l)
            row[FIELD["kind"]] = KIND_MAC
            for f in ("N", "C", "K", "H", "W", "P", "Q", "R", "S", "stride", "groups"):
                row[FIELD[f]] = getattr(d, f)
            row[FIELD["padding"]] = d.padding
            if l.macs == 0:
                row[FIELD["N"]] = 0  # no tiles
            row[FIELD["weights_are_activations"]] = int(d.wact)
            for f in ("N_t", "K_t", "C_t", "P_t", "Q_t"):
                row[FIELD[f]] = getattr(m, f)
            row[FIELD["pes_k"]] = m.pes_k
            row[FIELD["pes_p"]] = m.pes_p
            for j, dim in enumerate(m.order):
                row[FIELD[f"order{j}"]] = DIMS.index(dim)
            row[FIELD["weights_resident"]] = int(m.weights_resident)
            row[FIELD["inputs_resident"]] = int(m.inputs_resident)
            row[FIELD["macs"]] = l.macs
        else:
            row[FIELD["kind"]] = KIND_PPU
            row[FIELD["passes"]] = m.passes
            row[FIELD["elements"]] = l.elements
            row[FIELD["in_elements"]] = l.in_elements
            row[FIELD["E_t"]] = m.E_t
    return prog
