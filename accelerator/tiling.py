"""The tiling space of a MAC layer: the `Tiling` record the mapper chooses, the one statement of
which tilings fit the hardware's buffers (`legal`), and the candidate tilings the search ranks.

What a tiling occupies (whole vectors and lanes) and the buffer it must fit are described in
`accelerator.mapping`'s docstring; `_occupancy` computes it, `_fits` compares it with the
capacities, and everything that needs either (the search, the occupancy a `Mapping` reports,
the error naming the parameter that is too small, the choice cache) calls these two.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

import numpy as np

from vocab.errors import UserError
from workloads.ir import Layer

from .cost import MacDims, cdiv as _cdiv

__all__ = ["Tiling", "MappingError", "ORDERS", "legal"]

# Tile-loop orders considered (outermost first); c is always innermost.
ORDERS: tuple[tuple[str, ...], ...] = (
    ("k", "n", "p", "q", "c"),  # weight tile outermost: weights reused across all spatial tiles
    ("n", "k", "p", "q", "c"),
    ("n", "p", "q", "k", "c"),  # input tile outermost: inputs reused across output-channel tiles
)


class MappingError(UserError, ValueError):
    """No tiling of a layer fits the hardware's buffers; the message names the parameter."""


@dataclass(frozen=True)
class Tiling:
    """What the search chooses for a MAC layer: tile sizes, PE partition (``pes_k`` output-channel
    groups x ``pes_p`` output-row groups), tile-loop order (outermost first, ``c`` innermost) and
    whether the whole input stays resident in the global buffer."""

    N_t: int
    K_t: int
    C_t: int
    P_t: int
    Q_t: int
    pes_k: int
    pes_p: int
    order: tuple[str, ...]
    inputs_resident: bool = False

    def to_json(self) -> list:
        return [self.N_t, self.K_t, self.C_t, self.P_t, self.Q_t, self.pes_k, self.pes_p, ">".join(self.order),
                int(self.inputs_resident)]

    @classmethod
    def from_json(cls, v: list) -> "Tiling":
        """The inverse of `to_json`; raises ValueError/TypeError on anything else."""
        if len(v) != 9 or not isinstance(v[7], str):
            raise ValueError(f"not a tiling: {v!r}")
        return cls(*(int(x) for x in v[:7]), order=tuple(v[7].split(">")), inputs_resident=bool(int(v[8])))


# -- MAC layers: what a tiling occupies, and whether it fits (the one statement of legality) --

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


def _wbuf(d: MacDims, hw, NT, KT, CT, PK):
    """Bytes of a PE's double-buffered weight share (whole lanes, whole vectors)."""
    kpeg = _cdiv(_cdiv(KT, hw.lanes), PK)
    vs = hw.vector_size
    return 2 * (NT if d.wact else 1) * kpeg * hw.lanes * _cdiv(CT, vs) * vs * d.R * d.S * hw.data_bytes


def _occupancy(d: MacDims, hw, NT, KT, CT, PT, QT, PK, PP) -> dict[str, Any]:
    """What the largest tile of a tiling occupies (arrays broadcast together): per PE, the
    double-buffered weights (``wbuf``, bytes) and inputs (``ibuf``) and the partial sums a lane
    keeps across reduction tiles (``accum``, entries); in the GLB, the double-buffered input
    and output tiles (``glb_staged``) or the whole input resident beside the output tiles
    (``glb_resident``). Occupancy counts whole vectors and lanes."""
    lanes, vs, db = hw.lanes, hw.vector_size, hw.data_bytes
    kpeg = _cdiv(_cdiv(KT, lanes), PK)
    ppe = _cdiv(PT, PP)
    cols = np.minimum((QT - 1) * d.stride + d.S, d.W)
    cin_pe = _cdiv(_cin(d, np.minimum(kpeg * lanes, KT), CT), vs) * vs
    cin_t = _cdiv(_cin(d, KT, CT), vs) * vs
    out_t = 2 * NT * KT * PT * QT * db
    in_total = d.N * _cdiv(d.C * d.groups, vs) * vs * d.H * d.W * db
    return {
        "wbuf": _wbuf(d, hw, NT, KT, CT, PK),
        "ibuf": 2 * NT * cin_pe * _rows(ppe, d.stride, d.R, d.H) * cols * db,
        "accum": kpeg * ppe * QT * NT,
        "glb_staged": 2 * NT * cin_t * _rows(PT, d.stride, d.R, d.H) * cols * db + out_t,
        "glb_resident": in_total + out_t,
    }


def _fits(d: MacDims, hw, occ: dict[str, Any], CT) -> tuple[Any, Any]:
    """(fits at all, fits with the input resident in the GLB) of tilings of occupancy ``occ``.
    Partial sums stay in the accumulation banks only when the reduction is split over tiles."""
    ok = (occ["wbuf"] <= hw.weight_buffer_bytes) & (occ["ibuf"] <= hw.input_buffer_bytes) \
        & ((CT >= d.C) | (occ["accum"] <= hw.accum_entries_per_lane)) & (occ["glb_staged"] <= hw.global_buffer_bytes)
    return ok, ok & (occ["glb_resident"] <= hw.global_buffer_bytes)


def _legal(d: MacDims, hw, NT, KT, CT, PT, QT, PK) -> tuple[np.ndarray, np.ndarray]:
    """Which tilings (PE split ``PK x num_pes/PK``) fit the PE buffers, accumulation banks and
    the GLB; and which of them may also hold the whole input resident in the GLB."""
    return _fits(d, hw, _occupancy(d, hw, NT, KT, CT, PT, QT, PK, hw.num_pes // PK), CT)


def legal(layer: Layer, t: Tiling, hw) -> bool:
    """Whether tiling ``t`` of MAC ``layer`` fits ``hw``'s buffers (and its PE split its PEs)."""
    d = MacDims.of(layer)
    ok, res_ok = _fits(d, hw, _occupancy(d, hw, *(np.int64(x) for x in astuple(t)[:7])), t.C_t)
    return bool(res_ok if t.inputs_resident else ok) and t.pes_k * t.pes_p == hw.num_pes and t.order in ORDERS


def _explain(d: MacDims, hw) -> str:
    """Why not even the smallest tiling (one lane group x one vector x one pixel) fits."""
    lanes, vs = hw.lanes, hw.vector_size
    occ = _occupancy(d, hw, 1, lanes, vs, 1, 1, 1, 1)
    what = []
    if occ["wbuf"] > hw.weight_buffer_bytes:
        what.append(f"weight_buffer_bytes [B] = {hw.weight_buffer_bytes} < {occ['wbuf']} (2 x lanes x vector_size x "
                    f"R x S x data_bytes)")
    if occ["ibuf"] > hw.input_buffer_bytes:
        what.append(f"input_buffer_bytes [B] = {hw.input_buffer_bytes} < {occ['ibuf']} (2 x one vector of input "
                    f"channels x R x S)")
    if occ["glb_staged"] > hw.global_buffer_bytes:
        what.append(f"global_buffer_bytes [B] = {hw.global_buffer_bytes} < {occ['glb_staged']} (2 x (smallest input "
                    f"tile + output tile))")
    if not what:
        what.append(f"accum_buffer_bytes [B] = {hw.accum_buffer_bytes} (no tiling fits the per-lane accumulation "
                    f"banks)")
    return (f"no tiling fits the hardware even for the smallest tile "
            f"(1 x {lanes} output channels x {vs} input channels x 1 x 1 pixels): " + "; ".join(what))


# -- the candidate tilings -------------------------------------------------------------------

_GRID = sorted({1, 2, 3, 4, 5, 6, 7, 8, 10, 12} | {m * 2 ** k for m in (4, 5, 6) for k in range(1, 14)})


def _grid(D: int, unit: int) -> list[int]:
    """Tile sizes along a channel-like dimension: unit x a fixed grid, clipped to D.

    The grid does not depend on D (only the clipping does), so every tiling of a layer is
    also a tiling of the same layer with fewer channels."""
    g = _cdiv(D, unit)
    return sorted({min(D, m * unit) for m in _GRID if m < g} | {D}, reverse=True)


# A spatial dimension up to this size offers every tile size, not only balanced ones: on few rows
# an unbalanced split (8 rows as 6 + 2) can simulate best, and the search is cheap there.
SMALL_SPATIAL = 16


def _splits(D: int, limit: int = 20) -> list[int]:
    """Tile sizes along a spatial dimension: every size up to `SMALL_SPATIAL`, otherwise the
    balanced ones, ceil(D/d)."""
    if D <= SMALL_SPATIAL:
        return list(range(D, 0, -1))
    ds = set(range(1, 9)) | {2 ** k for k in range(4, 20)} | {3 * 2 ** k for k in range(2, 19)}
    out = sorted({_cdiv(D, d) for d in ds if d <= D}, reverse=True)
    if len(out) > limit:  # keep the large ones and a geometric sample of the rest
        keep = out[:8] + out[8::max(1, (len(out) - 8) // (limit - 8))]
        out = sorted(set(keep) | {out[-1]}, reverse=True)
    return out


def _divisors(n: int) -> list[int]:
    return [p for p in range(1, n + 1) if n % p == 0]


def _grid_axes(d: MacDims, hw) -> tuple[list[int], ...]:
    """The candidate grid's axes: batch, output- and input-channel tiles (whole lanes and
    vectors), output-channel PE groups, row and column tiles."""
    lanes, vs = hw.lanes, hw.vector_size
    return (_grid(d.N, 1), _grid(_cdiv(d.K, lanes) * lanes, lanes), _grid(_cdiv(d.C, vs) * vs, vs),
            _divisors(hw.num_pes), _splits(d.P, 20), _splits(d.Q, 10))


def _grid_candidates(d: MacDims, hw) -> tuple[np.ndarray, ...]:
    """The mapper's candidate tilings: channel tiles from a fixed grid of whole lanes/vectors,
    spatial tiles (`_splits`), every PE split (output channels x output rows). Combinations whose
    weights cannot fit the PE weight buffers are dropped before the spatial axes are added."""
    nt, kt, ct, pk, pt, qt = (np.array(x, dtype=np.int64) for x in _grid_axes(d, hw))
    NT, KT, CT, PK = (a.ravel() for a in np.meshgrid(nt, kt, ct, pk, indexing="ij"))
    fit = _wbuf(d, hw, NT, KT, CT, PK) <= hw.weight_buffer_bytes
    if fit.any():
        NT, KT, CT, PK = (a[fit] for a in (NT, KT, CT, PK))
    sp = [a.ravel() for a in np.meshgrid(pt, qt, indexing="ij")]
    n, m = NT.size, sp[0].size
    rep = lambda a: np.repeat(a, m)  # noqa: E731
    return rep(NT), rep(KT), rep(CT), np.tile(sp[0], n), np.tile(sp[1], n), rep(PK)


def _grid_size(d: MacDims, hw) -> int:
    """How many candidates `_grid_candidates` starts from (before the weight-buffer filter): what
    costing a shape takes, roughly."""
    return int(np.prod([len(a) for a in _grid_axes(d, hw)]))


def _all_candidates(d: MacDims, hw) -> tuple[np.ndarray, ...]:
    """Every tiling: any batch/row/column tile size, any whole number of lane groups and of
    vectors, every PE split (for exhaustive search on small layers)."""
    lanes, vs = hw.lanes, hw.vector_size
    axes = [range(1, d.N + 1), range(lanes, _cdiv(d.K, lanes) * lanes + 1, lanes),
            range(vs, _cdiv(d.C, vs) * vs + 1, vs), range(1, d.P + 1), range(1, d.Q + 1), _divisors(hw.num_pes)]
    return tuple(a.ravel() for a in np.meshgrid(*[np.array(list(x), dtype=np.int64) for x in axes], indexing="ij"))
