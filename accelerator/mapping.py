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
* **Choice.** Among the tilings that fit (every tile-loop order, with and without an input
  resident in the GLB), the one with the least estimated energy-delay product, then the
  fewest cycles, then the fewest tiles. Energy = the fixed compute energy (issued MACs with
  their buffer reads) + data movement: DRAM traffic (which dominates, so this is in effect
  "least DRAM traffic") plus NoC, GLB and PE-buffer writes (replication of a tile into
  several PEs), at the per-byte energies of `accelerator.energy`; delay = max(PE-array
  cycles / clock, DRAM bytes / bandwidth). Minimising DRAM traffic alone picks tilings with
  idle PEs, and minimising time alone trades a lot of energy for a little time; the product
  avoids both.
* **Monotone in the channels.** The search runs on the vector/lane-rounded layer, so removing
  fewer channels than one vector (or one lane group) does not change the tiling. Channel
  tile sizes come from a grid that does not depend on the layer (only clipped to it), so a
  tiling of a layer is also a tiling of the same layer with fewer channels at no higher
  estimated cost: the estimated energy-delay product never grows when channels are removed.
  Re-optimising a smaller layer may still pick a tiling that trades a little energy for
  more time saved (seen: -4.8 % latency, +2 % energy on a decoder fuse layer).
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

The analytic DRAM traffic of a mapping (``Mapping.dram_read_bytes`` /
``dram_write_bytes``) is exactly what the C++ tile replay moves (a test checks it): for an
operand whose tile index depends on the loop set ``D``, with ``j*`` the innermost tile loop
in ``D`` that has more than one trip, every iteration of the loops at or outside ``j*``
loads a new tile, so its traffic is ``(product of trips of the loops outside or at j* that
are not in D) x (sum of its tile sizes over D)``.

Non-MAC ops run on the PPU with a number of element-operations (*passes*) per output
element. These are structural assumptions of this model, not measured numbers:
``PPU_PASSES`` (layer norm: statistics + normalise = 2; softmax: max, exp-and-sum,
divide = 3; bilinear resize: 4 taps = 4; pooling/mean: the window = in/out elements;
others 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from workloads.ir import Layer

__all__ = [
    "Mapping", "MappingError", "map_layer", "map_layers", "evaluate", "encode_program", "PROGRAM_FIELDS",
    "ORDERS", "PPU_PASSES", "hw_key", "map_like", "map_layers_like",
]

# Mirrors enum Field in accelerator/src/program.h (a test checks they agree).
PROGRAM_FIELDS: tuple[str, ...] = (
    "kind", "passes", "N", "C", "K", "H", "W", "P", "Q", "R", "S", "stride", "padding", "groups",
    "weights_are_activations", "data_bytes", "accum_bytes", "N_t", "K_t", "C_t", "P_t", "Q_t",
    "pes_k", "pes_p", "order0", "order1", "order2", "order3", "order4", "weights_resident",
    "inputs_resident", "elements", "in_elements", "E_t", "macs", "accum_entries",
)
FIELD = {n: i for i, n in enumerate(PROGRAM_FIELDS)}
NUM_FIELDS = len(PROGRAM_FIELDS)

DIMS = ("n", "k", "p", "q", "c")  # enum Dim in program.h
# Tile-loop orders considered (outermost first); c is always innermost.
ORDERS: tuple[tuple[str, ...], ...] = (
    ("k", "n", "p", "q", "c"),  # weight tile outermost: weights reused across all spatial tiles
    ("n", "k", "p", "q", "c"),
    ("n", "p", "q", "k", "c"),  # input tile outermost: inputs reused across output-channel tiles
)
PPU_PASSES = {"layernorm": 2, "batchnorm": 1, "softmax": 3, "gelu": 1, "relu": 1, "add": 1, "mul": 1,
              "div": 1, "resize": 4}
KIND_MAC, KIND_PPU = 0, 1


class MappingError(ValueError):
    """No tiling of a layer fits the hardware's buffers; the message names the parameter."""


def _cdiv(a, b):
    return -(-a // b)


def hw_key(hw) -> tuple:
    """The hardware parameters a mapping depends on (the cache key)."""
    return (int(hw.num_pes), int(hw.lanes), int(hw.vector_size), int(hw.weight_buffer_bytes),
            int(hw.input_buffer_bytes), int(hw.accum_buffer_bytes), int(hw.accum_bits),
            int(hw.global_buffer_bytes), int(hw.data_bytes), int(hw.ppu_elements_per_cycle),
            int(hw.noc_bytes_per_cycle))


@dataclass(frozen=True)
class Mapping:
    """How one layer is tiled, partitioned and ordered, and what that costs (analytic)."""

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
    # analytic costs (actual layer dims)
    tiles: int = 0
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0
    compute_cycles: int = 0  # with all PEs active
    # occupancy of the largest tile
    wbuf_bytes_per_pe: int = 0
    ibuf_bytes_per_pe: int = 0
    accum_entries_per_lane: int = 0
    glb_bytes: int = 0

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
                    f"GLB {self.glb_bytes} B")
        res = " inputs resident in GLB" if self.inputs_resident else ""
        return (f"{self.layer} [{self.op}] tile N{self.N_t} K{self.K_t} C{self.C_t} P{self.P_t} Q{self.Q_t}, "
                f"PEs {self.pes_k}(K) x {self.pes_p}(P), order {'>'.join(self.order)}{res}; {self.tiles} tiles, "
                f"DRAM r/w {self.dram_read_bytes}/{self.dram_write_bytes} B, {self.compute_cycles} cycles; "
                f"per PE W {self.wbuf_bytes_per_pe} B, I {self.ibuf_bytes_per_pe} B, "
                f"acc {self.accum_entries_per_lane}/lane; GLB {self.glb_bytes} B")


# -- helpers -------------------------------------------------------------------------------

def _tile_sum(D, T, f):
    """Sum of f(size) over the tiles of a dimension D cut into tiles of T (arrays ok)."""
    D = np.asarray(D)
    T = np.asarray(T)
    full = D // T
    r = D % T
    return full * f(T) + np.where(r > 0, f(np.maximum(r, 1)), 0)


def _per_unique(T, f) -> np.ndarray:
    """f over the distinct values of T, broadcast back to T's shape."""
    T = np.asarray(T, dtype=np.int64)
    u, inv = np.unique(T, return_inverse=True)
    return np.array([f(int(t)) for t in u], dtype=np.int64)[inv].reshape(T.shape)


def _window_sum(P: int, T, stride: int, R: int, pad: int, H: int) -> np.ndarray:
    """Sum over output tiles (size T along P) of the clipped input rows each reads."""
    if stride == 1 and R == 1 and pad == 0 and H >= P:
        return np.full(np.shape(T), P, dtype=np.int64)

    def one(t: int) -> int:
        o0 = np.arange(0, P, t, dtype=np.int64)
        ot = np.minimum(t, P - o0)
        lo = np.maximum(o0 * stride - pad, 0)
        hi = np.minimum((o0 + ot - 1) * stride - pad + R, H)
        return int(np.maximum(hi - lo, 0).sum())
    return _per_unique(T, one)


def _groups_sum(K: int, T, Kg: int) -> np.ndarray:
    """Sum over output-channel tiles of the number of groups each covers."""
    def one(t: int) -> int:
        k0 = np.arange(0, K, t, dtype=np.int64)
        kt = np.minimum(t, K - k0)
        return int(((k0 + kt - 1) // Kg - k0 // Kg + 1).sum())
    return _per_unique(T, one)


def _multiplier(order: Sequence[str], deps: set[str], trips: dict[str, np.ndarray]) -> np.ndarray:
    """How many times the tiles of an operand depending on `deps` are (re)loaded: the product
    of the trips of loops not in deps at or outside the innermost dep loop with > 1 trip."""
    shape = np.broadcast(*trips.values()).shape
    mult = np.ones(shape, dtype=np.int64)
    seen = np.zeros(shape, dtype=bool)  # a dep loop with >1 trip at this level or inside
    for d in reversed(order):
        t = np.broadcast_to(trips[d], shape)
        if d in deps:
            seen = seen | (t > 1)
        else:
            mult = np.where(seen, mult * t, mult)
    return mult


def _deps(wact: bool, grouped: bool) -> tuple[set[str], set[str]]:
    wd = {"k", "c"} | ({"n"} if wact else set())
    idp = {"n", "p", "q", "c"} | ({"k"} if grouped else set())
    return wd, idp


def _rows(pt, stride, R, H):
    return np.minimum((pt - 1) * stride + R, np.maximum(H, 1))


# -- MAC layers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _MacDims:
    N: int
    C: int
    K: int
    H: int
    W: int
    P: int
    Q: int
    R: int
    S: int
    stride: int
    padding: int
    groups: int
    wact: bool


def _mac_dims(layer: Layer) -> _MacDims:
    H = layer.H if layer.H > 0 else (layer.P - 1) * layer.stride + layer.R - 2 * layer.padding
    W = layer.W if layer.W > 0 else (layer.Q - 1) * layer.stride + layer.S - 2 * layer.padding
    return _MacDims(N=max(1, layer.N), C=layer.C, K=layer.K, H=max(1, H), W=max(1, W), P=layer.P, Q=max(1, layer.Q),
                    R=max(1, layer.R), S=max(1, layer.S), stride=max(1, layer.stride), padding=layer.padding,
                    groups=max(1, layer.groups), wact=bool(layer.weights_are_activations))


def _cin(d: _MacDims, kt, ct):
    """Input channels an output-channel tile of kt reads (upper bound for grouped convs);
    ct may be vector-rounded: at most the layer's C channels per group are read."""
    ct = np.minimum(ct, d.C)
    if d.groups > 1:
        Kg = max(1, d.K // d.groups)
        return (_cdiv(kt, Kg) + np.where((Kg > 1) & (kt % Kg != 0), 1, 0)) * ct
    return ct + 0 * kt


def _mac_costs(d: _MacDims, hwk: tuple, NT, KT, CT, PT, QT, PK, PP, order, ires):
    """Analytic tiles, DRAM bytes, cycles of tilings (numpy arrays broadcast together)."""
    num_pes, lanes, vs, *_rest = hwk
    db = hwk[8]
    RS = d.R * d.S
    tn, tk, tc, tp, tq = (_cdiv(d.N, NT), _cdiv(d.K, KT), _cdiv(d.C, CT), _cdiv(d.P, PT), _cdiv(d.Q, QT))
    tiles = tn * tk * tc * tp * tq
    # cycles (all PEs active: one chunk per PE, one round)
    sum_kpe = _tile_sum(d.K, KT, lambda t: _cdiv(_cdiv(t, lanes), PK))
    sum_ppe = _tile_sum(d.P, PT, lambda t: _cdiv(t, PP))
    sum_vec = _tile_sum(d.C, CT, lambda t: _cdiv(t, vs))
    cycles = sum_kpe * sum_ppe * d.Q * d.N * (sum_vec * RS + 1)
    # DRAM
    w_sum = (d.N if d.wact else 1) * d.K * d.C * RS * db
    if d.groups > 1:
        cin_sum = _groups_sum(d.K, KT, max(1, d.K // d.groups)) * d.C
    else:
        cin_sum = d.C
    i_sum = d.N * cin_sum * _window_sum(d.P, PT, d.stride, d.R, d.padding, d.H) \
        * _window_sum(d.Q, QT, d.stride, d.S, d.padding, d.W) * db
    wd, idp = _deps(d.wact, d.groups > 1)
    trips = {"n": tn, "k": tk, "p": tp, "q": tq, "c": tc}
    w_bytes = w_sum * _multiplier(order, wd, trips)
    i_bytes = np.where(ires, i_sum, i_sum * _multiplier(order, idp, trips))
    o_bytes = d.N * d.K * d.P * d.Q * db
    return tiles, w_bytes + i_bytes, o_bytes, cycles


_GRID = sorted({1, 2, 3, 4, 5, 6, 7, 8, 10, 12} | {m * 2 ** k for m in (4, 5, 6) for k in range(1, 14)})


def _grid(D: int, unit: int) -> list[int]:
    """Tile sizes along a channel-like dimension: unit x a fixed grid, clipped to D.

    The grid does not depend on D (only the clipping does), so every tiling of a layer is
    also a tiling of the same layer with fewer channels, at no higher cost: the search is
    monotone in the channel counts."""
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


# pJ/B: DRAM, weight-buffer write, input-buffer write, NoC, GLB read, GLB write; pJ/MAC with its
# buffer reads; clock (Hz); DRAM bandwidth (B/s)
_DEFAULT_EW = (64.0, 2.5, 3.5, 0.5, 1.6, 2.1, 6.0, 1e9, 25.6e9)


def _movement_pj(d: _MacDims, hwk: tuple, ew: tuple, NT, KT, CT, PT, QT, PK, PP, order, ires):
    """Estimated data-movement energy (pJ) of tilings: DRAM, NoC, GLB and PE-buffer writes."""
    lanes = hwk[1]
    db = hwk[8]
    e_dram, e_wbw, e_ibw, e_noc, e_glr, e_glw = ew[:6]
    tn, tk, tc, tp, tq = (_cdiv(d.N, NT), _cdiv(d.K, KT), _cdiv(d.C, CT), _cdiv(d.P, PT), _cdiv(d.Q, QT))
    wd, idp = _deps(d.wact, d.groups > 1)
    trips = {"n": tn, "k": tk, "p": tp, "q": tq, "c": tc}
    w_sum = (d.N if d.wact else 1) * d.K * d.C * d.R * d.S * db
    cin_sum = _groups_sum(d.K, KT, max(1, d.K // d.groups)) * d.C if d.groups > 1 else d.C
    i_sum = d.N * cin_sum * _window_sum(d.P, PT, d.stride, d.R, d.padding, d.H) \
        * _window_sum(d.Q, QT, d.stride, d.S, d.padding, d.W) * db
    w_loads = w_sum * _multiplier(order, wd, trips)
    i_loads = i_sum * _multiplier(order, idp, trips)
    i_dram = np.where(ires, i_sum, i_loads)
    groups_t = _cdiv(KT, lanes)
    kpe = _cdiv(groups_t, PK)
    nk = 1 if d.groups > 1 else _cdiv(groups_t, kpe)
    npp = _cdiv(PT, _cdiv(PT, PP))
    o = d.N * d.K * d.P * d.Q * db
    return ((w_loads + i_dram + o) * e_dram + w_loads * (npp * e_wbw + e_noc)
            + i_loads * (nk * e_ibw + e_noc + e_glr) + i_dram * e_glw + o * (e_noc + e_glw + e_glr))


@lru_cache(maxsize=4096)
def _map_mac(d: _MacDims, hwk: tuple, name: str, op: str, ew: tuple = _DEFAULT_EW) -> Mapping:
    num_pes, lanes, vs, WB, IB, AB, accum_bits, GLB, db, _ppu, _noc = hwk
    e_lane = AB * 8 // (lanes * accum_bits)
    RS = d.R * d.S
    # search on the vector/lane-rounded layer
    Kr = _cdiv(d.K, lanes) * lanes
    Cr = _cdiv(d.C, vs) * vs
    r = _MacDims(**{**asdict(d), "K": Kr, "C": Cr})

    # stage 1: (N_t, K_t, PEs on K, C_t) that fit the PE weight buffers
    nts = np.array(_grid(d.N, 1), dtype=np.int64)
    kts = np.array(_grid(Kr, lanes), dtype=np.int64)
    pks = np.array([p for p in range(1, num_pes + 1) if num_pes % p == 0], dtype=np.int64)
    cts = np.array(_grid(Cr, vs), dtype=np.int64)
    NT, KT, PK, CT = (a.ravel() for a in np.meshgrid(nts, kts, pks, cts, indexing="ij"))
    kpeg = _cdiv(_cdiv(KT, lanes), PK)
    ok_w = 2 * (NT if d.wact else 1) * kpeg * lanes * CT * RS * db <= WB
    if not ok_w.any():
        raise MappingError(_explain(d, r, hwk, name))
    NT, KT, PK, CT = (a[ok_w] for a in (NT, KT, PK, CT))
    # stage 2: x (Q_t, P_t) that fit the input buffers, accumulation banks and the GLB
    qts = np.array(_splits(d.Q, 10), dtype=np.int64)
    pts = np.array(_splits(d.P, 20), dtype=np.int64)
    n1 = NT.size
    NT, KT, PK, CT = (np.repeat(a, qts.size * pts.size) for a in (NT, KT, PK, CT))
    QT = np.tile(np.repeat(qts, pts.size), n1)
    PT = np.tile(pts, n1 * qts.size)
    PP = num_pes // PK
    kpeg = _cdiv(_cdiv(KT, lanes), PK)
    ppe = _cdiv(PT, PP)
    cin_pe = _cdiv(_cin(d, np.minimum(kpeg * lanes, KT), CT), vs) * vs
    cols = np.minimum((QT - 1) * d.stride + d.S, d.W)
    ok = 2 * NT * cin_pe * _rows(ppe, d.stride, d.R, d.H) * cols * db <= IB
    ok &= (CT >= Cr) | (kpeg * ppe * QT * NT <= e_lane)  # partial sums kept across reduction tiles
    cin_t = _cdiv(_cin(d, KT, CT), vs) * vs
    ok &= 2 * (NT * cin_t * _rows(PT, d.stride, d.R, d.H) * cols + NT * KT * PT * QT) * db <= GLB
    if not ok.any():
        raise MappingError(_explain(d, r, hwk, name))
    NT, KT, PK, CT, QT, PP, PT = (a[ok] for a in (NT, KT, PK, CT, QT, PP, PT))
    # input residency: the whole input in the GLB next to the double-buffered outputs
    in_total = d.N * _cdiv(d.C * d.groups, vs) * vs * d.H * d.W * db
    can_res = in_total + 2 * NT * KT * PT * QT * db <= GLB

    big = np.iinfo(np.int64).max // 4  # invalid candidates
    cands = []
    for oi, order in enumerate(ORDERS):
        for res in (False, True):
            if res and not can_res.any():
                continue
            tiles, rd, wr, cyc = _mac_costs(r, hwk, NT, KT, CT, PT, QT, PK, PP, order, res)
            mv = _movement_pj(r, hwk, ew, NT, KT, CT, PT, QT, PK, PP, order, res)
            valid = can_res if res else np.ones(can_res.shape, dtype=bool)
            cands.append((np.where(valid, cyc, big), np.where(valid, mv, np.inf), tiles, rd + wr, oi, res))
    # energy-delay product of each tiling: (fixed compute energy + data movement) x
    # max(PE-array time, DRAM time); both factors only shrink when a layer loses channels
    issued = r.N * Kr * r.P * r.Q * Cr * RS
    e_fixed = issued * ew[6]
    pick = None
    for cyc, mv, tiles, rd, oi, res in cands:
        t = np.maximum(cyc / ew[7], rd / ew[8])
        edp = (e_fixed + mv) * t
        idx = np.lexsort((tiles, cyc, edp))[0]
        k = (float(edp[idx]), int(cyc[idx]), int(tiles[idx]), oi, res)
        if pick is None or k[:3] < pick[0][:3]:
            pick = (k, idx)
    (_, _, _, oi, res), idx = pick
    nt, kt, ct, pt, qt, pk = (int(a[idx]) for a in (NT, KT, CT, PT, QT, PK))
    return _mac_mapping(d, hwk, name, op, nt, kt, ct, pt, qt, pk, num_pes // pk, ORDERS[oi], bool(res))


def _mac_mapping(d: _MacDims, hwk: tuple, name: str, op: str, nt: int, kt: int, ct: int, pt: int, qt: int,
                 pk: int, pp: int, order: tuple[str, ...], res: bool) -> Mapping:
    """A MAC tiling with its analytic costs and buffer occupancy on the actual layer ``d``."""
    num_pes, lanes, vs, WB, IB, AB, accum_bits, GLB, db, _ppu, _noc = hwk
    e_lane = AB * 8 // (lanes * accum_bits)
    RS = d.R * d.S
    tiles, rd, wr, cyc = (int(x) for x in _mac_costs(d, hwk, nt, kt, ct, pt, qt, pk, pp, order, res))
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
        order=tuple(order), weights_resident=False, inputs_resident=bool(res), tiles=tiles, dram_read_bytes=rd,
        dram_write_bytes=wr, compute_cycles=cyc,
        wbuf_bytes_per_pe=2 * (nt if d.wact else 1) * kpeg * lanes * _cdiv(ct, vs) * vs * RS * db,
        ibuf_bytes_per_pe=2 * nt * cin_pe * rows * cols * db,
        accum_entries_per_lane=kpeg * ppe * qt * nt if ct < d.C else min(kpeg * ppe * qt * nt, e_lane),
        glb_bytes=int(glb),
    )


def _explain(d: _MacDims, r: _MacDims, hwk: tuple, name: str) -> str:
    num_pes, lanes, vs, WB, IB, AB, accum_bits, GLB, db, _p, _n = hwk
    RS = d.R * d.S
    cin = _cdiv(int(_cin(d, min(lanes, r.K), vs)), vs) * vs
    w = 2 * lanes * vs * RS * db
    i = 2 * cin * min(d.R, d.H) * min(d.S, d.W) * db
    g = 2 * (cin * min(d.R, d.H) * min(d.S, d.W) + lanes) * db
    what = []
    if w > WB:
        what.append(f"weight_buffer_bytes [B] = {WB} < {w} (2 x lanes x vector_size x R x S x data_bytes)")
    if i > IB:
        what.append(f"input_buffer_bytes [B] = {IB} < {i} (2 x one vector of input channels x R x S)")
    if g > GLB:
        what.append(f"global_buffer_bytes [B] = {GLB} < {g} (2 x (smallest input tile + output tile))")
    if not what:
        what.append(f"accum_buffer_bytes [B] = {AB} (no tiling fits the per-lane accumulation banks)")
    return (f"layer {name!r}: no tiling fits the hardware even for the smallest tile "
            f"(1 x {lanes} output channels x {vs} input channels x 1 x 1 pixels): " + "; ".join(what))


# -- PPU layers ----------------------------------------------------------------------------

def ppu_passes(layer: Layer) -> int:
    if layer.op in ("pool", "mean"):
        return max(1, _cdiv(layer.in_elements, max(1, layer.elements)))
    return PPU_PASSES.get(layer.op, 1)


@lru_cache(maxsize=4096)
def _map_ppu(op: str, E: int, IN: int, hwk: tuple, name: str, passes: int) -> Mapping:
    GLB, db, epc = hwk[7], hwk[8], hwk[9]
    if E <= 0:
        return Mapping(layer=name, op=op, kind="ppu", E_t=1, passes=passes)
    ratio = IN / E
    et = int((GLB // (2 * db)) / (1.0 + ratio))
    while et >= 1 and 2 * db * (et + _cdiv(et * IN, E)) > GLB:
        et -= 1
    if et < 1:
        raise MappingError(f"layer {name!r} ({op}): global_buffer_bytes [B] = {GLB} cannot double-buffer one "
                           f"output element and its {ratio:.3g} input elements")
    et = min(et, E)
    n = _cdiv(E, et)
    return _ppu_mapping(op, E, IN, hwk, name, passes, _cdiv(E, n))


def _ppu_mapping(op: str, E: int, IN: int, hwk: tuple, name: str, passes: int, et: int) -> Mapping:
    db, epc = hwk[8], hwk[9]
    cycles = int(_tile_sum(E, et, lambda t: _cdiv(t * passes, epc)))
    return Mapping(layer=name, op=op, kind="ppu", E_t=et, passes=passes, tiles=_cdiv(E, et), dram_read_bytes=IN * db,
                   dram_write_bytes=E * db, compute_cycles=int(cycles),
                   glb_bytes=2 * db * (et + _cdiv(et * IN, E)))


# -- API -----------------------------------------------------------------------------------

def map_layer(layer: Layer, hw) -> Mapping:
    """The mapping of one layer on ``hw`` (cached by layer dimensions and hardware)."""
    hwk = hw_key(hw)
    if layer.is_mac:
        d = _mac_dims(layer)
        if layer.macs == 0:
            return Mapping(layer=layer.name, op=layer.op, kind="mac", N_t=1, K_t=1, C_t=1, P_t=1, Q_t=1,
                           pes_k=1, pes_p=hwk[0], order=ORDERS[0])
        m = _map_mac(d, hwk, "", layer.op, _energy_weights(hw))
    else:
        m = _map_ppu(layer.op, int(layer.elements), int(layer.in_elements), hwk, "", ppu_passes(layer))
    return _renamed(m, layer.name)


def evaluate(layer: Layer, m: Mapping, hw) -> Mapping:
    """Recompute the analytic costs (tiles, DRAM bytes, cycles) of any tiling/order/residency
    of a MAC layer, e.g. one edited with ``dataclasses.replace`` (buffers are not checked)."""
    from dataclasses import replace
    if not layer.is_mac or layer.macs == 0:
        return m
    d = _mac_dims(layer)
    tiles, rd, wr, cyc = (int(x) for x in _mac_costs(d, hw_key(hw), m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k,
                                                       m.pes_p, m.order, m.inputs_resident))
    return replace(m, tiles=tiles, dram_read_bytes=rd, dram_write_bytes=wr, compute_cycles=cyc)


def _energy_weights(hw) -> tuple:
    """pJ per byte of DRAM access, PE weight/input-buffer write, NoC, GLB read/write."""
    try:
        return _energy_weights_cached(hw)
    except TypeError:  # not hashable: compute directly
        return _energy_weights_cached.__wrapped__(hw)


@lru_cache(maxsize=64)
def _energy_weights_cached(hw) -> tuple:
    from .energy import EnergyModel
    from .params import HardwareParams
    if not isinstance(hw, HardwareParams):
        return _DEFAULT_EW
    pj = EnergyModel(hw).pj
    db = hw.data_bytes
    e_mac = pj["mac"] + db * (pj["weight_buffer.read"] + pj["input_buffer.read"] / hw.lanes)
    return (0.5 * (pj["dram.read"] + pj["dram.write"]), pj["weight_buffer.write"], pj["input_buffer.write"],
            pj["noc.transfer"], pj["global_buffer.read"], pj["global_buffer.write"], e_mac,
            float(hw.clock_hz), float(hw.dram_bandwidth_bytes_per_s))


def _renamed(m: Mapping, name: str) -> Mapping:
    from dataclasses import replace
    return replace(m, layer=name)


def map_layers(layers: Sequence[Layer], hw) -> list[Mapping]:
    return [map_layer(l, hw) for l in layers]


# -- dynamic configurations: the full model's mapping with shorter trip counts -------------

@lru_cache(maxsize=8192)
def _clip_mac(d: _MacDims, hwk: tuple, op: str, ref: tuple) -> Mapping:
    nt, kt, ct, pt, qt, pk, pp, order, res = ref
    lanes, vs = hwk[1], hwk[2]
    # channel tiles are clipped to the lane/vector-rounded dimension (whole lanes and vectors;
    # the C++ walker clips to the layer), spatial and batch tiles to the dimension
    return _mac_mapping(d, hwk, "", op, min(nt, d.N), min(kt, _cdiv(d.K, lanes) * lanes),
                        min(ct, _cdiv(d.C, vs) * vs), min(pt, d.P), min(qt, d.Q), pk, pp, order, res)


def _kg(d: _MacDims) -> int:
    return max(1, d.K // d.groups)


def map_like(layer: Layer, ref_layer: Layer, ref_mapping: Mapping, hw) -> Mapping | None:
    """The mapping ``ref_mapping`` of ``ref_layer`` applied to ``layer``, a reduced version of it.

    Same tile-loop order, PE partition and residency; tile sizes clipped to ``layer``'s
    dimensions, so the loops only run fewer (or shorter) trips. Costs are recomputed for
    ``layer``. None when ``layer`` is not a reduction of ``ref_layer``: another op or
    structure (kernel, stride, padding, channels per group) or larger along a dimension.
    """
    if layer.op != ref_layer.op or layer.is_mac != ref_layer.is_mac:
        return None
    hwk = hw_key(hw)
    if not layer.is_mac:
        E, IN = int(layer.elements), int(layer.in_elements)
        if ref_mapping.kind != "ppu" or E > ref_layer.elements or IN > ref_layer.in_elements:
            return None
        if E <= 0:
            return _renamed(_map_ppu(layer.op, E, IN, hwk, "", ppu_passes(layer)), layer.name)
        et = min(max(1, int(ref_mapping.E_t)), E)
        if 2 * hwk[8] * (et + _cdiv(et * IN, E)) > hwk[7]:  # more input per output than the reference
            return None
        return _renamed(_ppu_mapping(layer.op, E, IN, hwk, "", ppu_passes(layer), et), layer.name)
    if layer.macs == 0:
        return map_layer(layer, hw)
    if ref_mapping.kind != "mac" or not ref_mapping.order or ref_layer.macs == 0:
        return None
    d, r = _mac_dims(layer), _mac_dims(ref_layer)
    if (d.R, d.S, d.stride, d.padding, d.wact) != (r.R, r.S, r.stride, r.padding, r.wact):
        return None
    if r.groups > 1:  # grouped: same output channels per group, or a single group of the reference
        if (_kg(d) != _kg(r)) if d.groups > 1 else (d.K > _kg(r)):
            return None
    elif d.groups > 1:
        return None
    if any(getattr(d, f) > getattr(r, f) for f in ("N", "C", "K", "H", "W", "P", "Q")):
        return None
    m = ref_mapping
    ref = (m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p, tuple(m.order), bool(m.inputs_resident))
    return _renamed(_clip_mac(d, hwk, layer.op, ref), layer.name)


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
