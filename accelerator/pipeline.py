"""The time of a mapped MAC layer's tile pipeline, in closed form over its loop nest.

The SystemC model runs a layer as a pipeline (``accelerator/src/dma.h``,
``compute_unit.h``): two input slots, so the DMA issues tile ``j``'s load when tile
``j - 2`` finishes computing; a tile computes when its operands are in and the previous tile
is done; a tile that completes outputs hands them to the store channel as it finishes; DRAM and
NoC are two bandwidth servers that serve requests in issue order (DRAM adds its latency, which
does not occupy it). With ``e`` the compute ends and ``Fd``, ``Fn`` the times the DRAM and the
NoC are free, tile ``j`` is one step of a recurrence:

    Fd = max(e[j-2], Fd) + store_d[j-2] + load_d[j]        (the store issued first, then the load)
    Fn = max(e[j-2], Fn) + store_n[j-2] + load_n[j]
    e[j] = max(e[j-1], Fd + latency, Fn) + compute[j]

and the layer ends when the last store is in DRAM. The recurrence is linear in the max-plus
algebra (max for addition, + for multiplication): each tile is a 4 x 4 matrix acting on
(e[j], e[j-1], Fd, Fn), and the layer is the product of its tiles' matrices. A tile's matrix
depends only on its class: which loop carried into it (which operand tiles are loaded) and
which loops are at their edge tile (the sizes); the store it sees is that of the tile two
before it. So the product over a loop's trips is a first tile, a power of the repeated middle
tiles (by squaring) and an edge tile, nested loop by loop from the innermost: a few dozen
matrix products per tiling, for any number of tiles, computed for many tilings at once.

What it leaves out (so it is an estimate, not the simulation): the input window of a row
tile is the mean over the full tiles (clipped at the borders), likewise a grouped
convolution's channel span; a resident input's DRAM share is spread evenly over its loads;
output slots never stall; and durations are not rounded to picoseconds. All PEs, the nominal
clock and the whole DRAM bandwidth. ``scripts/estimate_error.py`` measures it against the
simulation on the mapper's finalists.
"""

from __future__ import annotations

import numpy as np

from .cost import _window, cdiv as _cdiv, groups_sum, window_sum

__all__ = ["pipeline_time", "per_tiling"]

_DIMS = ("n", "k", "p", "q", "c")
_NEG = -np.inf


def _mp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Max-plus product a (x) b of stacks of 4 x 4 matrices (b acts first); unrolled over the
    inner index (a reduction over a short middle axis is several times slower)."""
    out = a[..., :, 0, None] + b[..., None, 0, :]
    for j in (1, 2, 3):
        np.maximum(out, a[..., :, j, None] + b[..., None, j, :], out=out)
    return out


def _power(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """m ** e (max-plus) for a stack of matrices m (..., n, 4, 4) and exponents e (n,) >= 0."""
    eye = np.full(m.shape, _NEG)
    idx = np.arange(4)
    eye[..., idx, idx] = 0.0
    out, base = eye, m
    e = np.asarray(e, dtype=np.int64)
    bits = int(e.max()).bit_length() if e.size else 0
    for b in range(bits):
        on = ((e >> b) & 1).astype(bool)[:, None, None]
        if on.any():
            out = np.where(on, _mp(base, out), out)
        if b + 1 < bits:
            base = _mp(base, base)
    return out


def _matrix(C, Ad, An, lat_d) -> np.ndarray:
    """The step matrix of one tile: compute C, DRAM time Ad (the store before it and its load),
    NoC time An, and the DRAM latency that its load waits for (-inf: it loads nothing from
    DRAM). State (e[j], e[j-1], Fd, Fn)."""
    shape = np.broadcast(C, Ad, An, lat_d).shape
    m = np.full(shape + (4, 4), _NEG)
    ready_d = Ad + lat_d
    m[..., 0, 0] = C
    m[..., 0, 1] = np.maximum(ready_d, An) + C
    m[..., 0, 2] = ready_d + C
    m[..., 0, 3] = An + C
    m[..., 1, 0] = 0.0
    m[..., 2, 1] = Ad
    m[..., 2, 2] = Ad
    m[..., 3, 1] = An
    m[..., 3, 3] = An
    return m


def pipeline_time(d, hw, NT, KT, CT, PT, QT, PK, PP, order, i_dram_share) -> np.ndarray:
    """Estimated seconds of MAC tilings (arrays broadcast together) in loop ``order`` (outermost
    first; or one order per tiling: a list of them); ``i_dram_share``: the share of the input
    tiles' bytes that come from DRAM (1 when staged; for an input resident in the GLB, its bytes
    over all input loads)."""
    arrs = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (NT, KT, CT, PT, QT, PK, PP)),
                               np.asarray(i_dram_share, dtype=np.float64))
    shape = arrs[0].shape
    NT, KT, CT, PT, QT, PK, PP, share = (a.ravel() for a in arrs)
    out = np.zeros(NT.size)
    if NT.size == 0:
        return out.reshape(shape)
    orders = per_tiling(order, NT.size)
    # The loops of more than one trip, in order (the others never move: at their edge, wherever
    # they are in the order): tilings with the same ones have the same nest, worked out together.
    ext = {"n": d.N, "k": d.K, "p": d.P, "q": d.Q, "c": d.C}
    tiles = dict(zip(_DIMS, (NT, KT, PT, QT, CT)))
    loops = {x: _cdiv(int(ext[x]), np.clip(tiles[x], 1, max(1, int(ext[x])))) > 1 for x in _DIMS}
    nests: dict[tuple, list[int]] = {}
    for i, o in enumerate(orders):
        nests.setdefault(tuple(x for x in o if loops[x][i]), []).append(i)
    for nest, idx in nests.items():
        sel = np.asarray(idx) if len(nests) > 1 else slice(None)
        terms = _Terms(d, hw, NT[sel], KT[sel], CT[sel], PT[sel], QT[sel], PK[sel], PP[sel], share[sel])
        levels = list(nest) + [x for x in _DIMS if x not in nest]
        out[sel] = _nest_time(len(nest), levels, terms)
    return out.reshape(shape)


def per_tiling(order, n: int) -> list[tuple[str, ...]]:
    """One loop order per tiling, from one order (a sequence of names) or a list of them."""
    return [tuple(order)] * n if isinstance(order[0], str) else [tuple(o) for o in order]


class _Terms:
    """Per-tile durations of tilings (arrays of their candidates) by tile class."""

    def __init__(self, d, hw, NT, KT, CT, PT, QT, PK, PP, share):
        self.d, self.PK, self.PP, self.share = d, PK, PP, share
        self.lanes, self.vs, self.db = int(hw.lanes), int(hw.vector_size), int(hw.data_bytes)
        self.drain = int(hw.accum_drain_cycles)
        self.clock, self.bw = float(hw.clock_hz), float(hw.dram_bandwidth_bytes_per_s)
        self.lat = float(hw.dram_latency_s)
        self.npc = int(hw.noc_bytes_per_cycle)
        ext = {"n": d.N, "k": d.K, "p": d.P, "q": d.Q, "c": d.C}
        self.T, self.L, self.trips = {}, {}, {}
        for x, t in zip(_DIMS, (NT, KT, PT, QT, CT)):
            D = int(ext[x])
            self.T[x] = np.clip(t, 1, max(1, D))
            self.trips[x] = _cdiv(D, self.T[x])
            self.L[x] = D - (self.trips[x] - 1) * self.T[x]
        T, L, trips = self.T, self.L, self.trips

        def mean_full(total, edge, x):
            """The mean over the full tiles along x of a per-tile quantity (its total and edge value)."""
            full = trips[x] - 1
            return np.where(full > 0, (total - edge) / np.maximum(full, 1), edge)

        # input rows / columns of a full tile (the mean) and of the edge tile along p / q
        rows_e = _window((trips["p"] - 1) * T["p"], L["p"], d.stride, d.R, d.padding, d.H).astype(np.float64)
        cols_e = _window((trips["q"] - 1) * T["q"], L["q"], d.stride, d.S, d.padding, d.W).astype(np.float64)
        self.rows = (mean_full(window_sum(d.P, T["p"], d.stride, d.R, d.padding, d.H), rows_e, "p"), rows_e)
        self.cols = (mean_full(window_sum(d.Q, T["q"], d.stride, d.S, d.padding, d.W), cols_e, "q"), cols_e)
        self.grouped = d.groups > 1
        if self.grouped:
            kg = d.kg
            k0 = (trips["k"] - 1) * T["k"]
            span_e = ((k0 + L["k"] - 1) // kg - k0 // kg + 1).astype(np.float64)
            self.span = (mean_full(groups_sum(d.K, T["k"], kg), span_e, "k"), span_e)
        self.wdeps = {"k", "c"} | ({"n"} if d.wact else set())
        self.ideps = {"n", "p", "q", "c"} | ({"k"} if self.grouped else set())

    def size(self, x, edge):
        return np.where(edge, self.L[x], self.T[x])

    def tile(self, edge: dict, changed: dict, first: bool = False):
        """(compute s, DRAM load s, NoC load s, DRAM latency or -inf) of tiles with these edge
        flags and changed dimensions (boolean arrays broadcast with the candidates)."""
        d, db = self.d, self.db
        nt, kt, pt, qt, ct = (self.size(x, edge[x]) for x in _DIMS)
        per = _cdiv(_cdiv(kt, self.lanes), self.PK) * _cdiv(pt, self.PP) * qt * nt
        cycles = per * _cdiv(ct, self.vs) * (d.R * d.S) + np.where(edge["c"], per * self.drain, 0)
        w_on = np.any([changed[x] for x in self.wdeps], axis=0)
        i_on = np.any([changed[x] for x in self.ideps], axis=0)
        w = np.where(w_on, (nt * kt * ct) if d.wact else (kt * ct * (d.R * d.S)), 0) * db
        rows = np.where(edge["p"], self.rows[1], self.rows[0])
        cols = np.where(edge["q"], self.cols[1], self.cols[0])
        cin = ct * np.where(edge["k"], self.span[1], self.span[0]) if self.grouped else ct
        i = np.where(i_on, nt * cin * rows * cols * db, 0.0)
        dram = w + (i if first else i * self.share)
        return (cycles / self.clock, dram / self.bw, np.ceil((w + i) / self.npc) / self.clock,
                np.where(dram > 0, self.lat, _NEG))

    def store(self, edge: dict):
        """(DRAM s, NoC s) of storing the outputs of tiles with these edge flags."""
        o = self.size("n", edge["n"]) * self.size("k", edge["k"]) * self.size("p", edge["p"]) \
            * self.size("q", edge["q"]) * self.db
        return o / self.bw, np.ceil(o / self.npc) / self.clock


def _nest_time(loops: int, levels: list[str], tm: _Terms) -> np.ndarray:
    """Seconds of the tilings of ``tm``, whose loops of more than one trip are the first
    ``loops`` of ``levels`` (outermost first; none: one tile; the others never move, at their
    edge). The edge flags of the loops outside the innermost one, m, are batched as patterns
    along a leading axis (the outermost loop the most significant bit)."""
    k = tm.share.shape[0]
    on, off = np.ones(k, dtype=bool), np.zeros(k, dtype=bool)
    zero = (np.zeros(k), np.zeros(k))

    def edges(bits: dict) -> dict:
        """Edge flags per dimension from flags per level."""
        return {levels[l]: bits.get(l, on) for l in range(5)}

    def changed(kappa) -> dict:
        """Dimensions whose tile changed when the loop at level kappa carried (None: the first tile)."""
        if kappa is None:
            return {x: on for x in levels}
        return {levels[l]: on if kappa <= l < loops else off for l in range(5)}

    def matrix(terms, st):
        C, Od, On, latd = terms
        return _matrix(C, st[0] + Od, st[1] + On, latd)

    if not loops:  # one tile
        x = matrix(tm.tile(edges({}), changed(None), first=True), zero).max(axis=-1)
        return _finish(x, zero, tm.store(edges({})), tm.lat)

    m, outer = loops - 1, list(range(loops - 1))
    caseA = levels[m] == "c"  # the reduction loop (always innermost) has several trips: only its last tile stores
    idx = np.arange(1 << len(outer))[:, None]
    o = {l: ((idx >> (len(outer) - 1 - i)) & 1).astype(bool) & on for i, l in enumerate(outer)}  # (patterns, k)

    def prev_store(kappa: int, m_edge) -> tuple:
        """The store of a tile in the previous position of the loop at level kappa: outer levels
        as now, kappa one tile back (a full one), the levels inside it at their edge."""
        bits = {l: o[l] for l in outer if l < kappa}
        bits.update({kappa: off, **{l: on for l in outer if l > kappa}, m: m_edge})
        return tm.store(edges(bits))

    tmm = tm.trips[levels[m]]
    own = zero if caseA else tm.store(edges({**o, m: off}))  # the tile two back, in this sweep
    mid = matrix(tm.tile(edges({**o, m: off}), changed(m)), own)
    last = matrix(tm.tile(edges({**o, m: on}), changed(m)), own)
    tail = _mp(last, _power(mid, np.maximum(tmm - 3, 0)))  # the tiles 2 .. t-1 (when t >= 3)
    second = tm.tile(edges({**o, m: tmm == 2}), changed(m))
    long = (tmm >= 3)[:, None, None]

    def sweep(kappa, s0, s1, pat=slice(None)):
        """The innermost loop's sweep whose first tile follows a carry at level kappa."""
        sub = {l: v[pat] for l, v in o.items()}
        first = tm.tile(edges({**sub, m: off}), changed(kappa), first=kappa is None)
        two = _mp(matrix(tuple(v[pat] if np.ndim(v) == 2 else v for v in second), s1), matrix(first, s0))
        return np.where(long, _mp(tail[pat], two), two)

    G = {None: sweep(None, zero, zero, slice(0, 1))}  # the first tile: every loop at its first tile
    for kappa in outer:
        G[kappa] = sweep(kappa, zero, prev_store(kappa, off)) if caseA else \
            sweep(kappa, prev_store(kappa, off), prev_store(kappa, on))
    # the outer loops, innermost first: G[kappa] is indexed by the pattern of the levels outside
    for i in range(len(outer) - 1, -1, -1):
        lvl = outer[i]
        rest = _mp(G[lvl][1::2], _power(G[lvl][0::2], tm.trips[levels[lvl]] - 2))
        G = {kappa: _mp(rest[:1] if kappa is None else rest, G[kappa][0::2] if kappa is not None else G[kappa])
             for kappa in [None] + outer[:i]}
    x = G[None][0].max(axis=-1)  # from the zero state
    last2 = zero if caseA else tm.store(edges({m: off}))  # the tile before the last stores unless c loops
    return _finish(x, last2, tm.store(edges({})), tm.lat)


def _finish(x, s2, s1, lat) -> np.ndarray:
    """The layer's end: the stores of its last two tiles after the state x (e[N-1], e[N-2], Fd, Fn)."""
    e1, e2, fd, fn = (x[..., i] for i in range(4))
    fd = np.maximum(e2, fd) + s2[0]
    fn = np.maximum(e2, fn) + s2[1]
    fd = np.maximum(e1, fd) + s1[0]
    fn = np.maximum(e1, fn) + s1[1]
    return np.maximum(fd + lat, fn)
