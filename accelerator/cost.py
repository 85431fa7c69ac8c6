"""The cost model of a mapped layer: action counts, time and energy -- one definition.

The C++ tile walker (``accelerator/src/program.h``) generates, tile by tile, the actions
the SystemC model counts (`accelerator.counters`). This module gives the *same counts* in
closed form for any number of candidate tilings at once (numpy arrays), so the mapper
ranks tilings by exactly what the simulator will charge: a test maps and simulates every
layer of several models on every preset and checks the counts are identical. Energy is
`accelerator.energy.EnergyModel.breakdown` of those counts (per-action energy x count +
leakage x time): the one energy definition, used by the simulator's results as well.

How a sum over tiles is taken in closed form. Along each loop dimension of extent ``D``
cut into tiles of ``T`` there are ``trips - 1`` full tiles and one edge tile of
``D - (trips - 1) T``. Per-tile quantities are products of per-dimension factors (or, for
the weight-vector refetches, a function of the ``n, p, q`` sizes together, summed over the
8 full/edge combinations). An operand tile is loaded when its index changes: with ``j*``
the innermost tile loop it depends on that has more than one trip, every iteration of the
loops at or outside ``j*`` loads once and the loops inside ``j*`` are at their first tile,
so a sum over loads is a product over dimensions of either the sum over its tiles (at or
outside ``j*``) or the first tile's factor (inside).

Time has two estimates. `mac_cost` (what a `Mapping` records, and what re-ranks the mapper's
shortlist) takes the tile pipeline in closed form (`accelerator.pipeline`: the recurrence of the
SystemC model's loads, compute and stores over the loop nest, in the max-plus algebra); on the
mapper's finalists it is within about 2 % of the simulated time (``scripts/estimate_error.py``).
`mac_totals` ranks every candidate with a screening estimate, cheaper by far: a layer takes
about the largest of its three resource demands (PE-array or PPU cycles at the clock, DRAM
bytes at the bandwidth, NoC bytes at its width, and -- with two tile slots -- half of each
tile's load, DRAM latency and compute in sequence), plus the pipeline's fill (the first tile's
load) and drain (the last tile's store). It assumes the loads spread evenly over the tiles, so
it is optimistic (by up to about 40 %) where they are uneven: a load much longer than a tile's
compute (a new weight tile when an outer loop's index changes, or a full tile after a tiny edge
tile) overlaps only the compute of the one tile before it. Both assume all PEs, the nominal
clock and the whole DRAM bandwidth. PPU layers keep the screening estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vocab.units import J_PER_PJ

from .counters import COUNTER_INDEX, NUM_COUNTERS

__all__ = ["MacDims", "LayerCost", "mac_cost", "mac_time", "mac_screening", "mac_totals",
           "mac_counts", "ppu_counts", "ppu_cost", "cdiv", "window_sum", "groups_sum", "time_lower_bound"]


def cdiv(a, b):
    return -(-a // b)


@dataclass(frozen=True)
class MacDims:
    """A MAC layer's loop nest (batch/heads N, in/out channels C/K, input H x W, output P x Q,
    kernel R x S)."""

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
    wact: bool  # the second operand is an activation (attention matmuls)

    @property
    def kg(self) -> int:
        """Output channels per group."""
        return max(1, self.K // self.groups)

    @classmethod
    def of(cls, layer) -> "MacDims":
        """The loop nest of a MAC layer (`workloads.ir.Layer`); input extents derived from the
        output's when the IR leaves them out."""
        H = layer.H if layer.H > 0 else (layer.P - 1) * layer.stride + layer.R - 2 * layer.padding
        W = layer.W if layer.W > 0 else (layer.Q - 1) * layer.stride + layer.S - 2 * layer.padding
        return cls(N=max(1, layer.N), C=layer.C, K=layer.K, H=max(1, H), W=max(1, W), P=layer.P, Q=max(1, layer.Q),
                   R=max(1, layer.R), S=max(1, layer.S), stride=max(1, layer.stride), padding=layer.padding,
                   groups=max(1, layer.groups), wact=bool(layer.weights_are_activations))


@dataclass
class LayerCost:
    """Counts (name -> array, the counters of `accelerator.counters`), estimated seconds and
    joules by component of one or many tilings of a layer."""

    counts: dict[str, np.ndarray]
    time_s: np.ndarray
    energy_j: dict[str, np.ndarray]

    @property
    def total_energy_j(self) -> np.ndarray:
        return sum(self.energy_j.values())


def _matrix(counts: dict[str, np.ndarray], shape) -> np.ndarray:
    n = int(np.prod(shape)) if len(shape) else 1
    m = np.zeros((n, NUM_COUNTERS), dtype=np.int64)
    for k, v in counts.items():
        m[:, COUNTER_INDEX[k]] = np.broadcast_to(np.asarray(v, dtype=np.int64), shape).ravel()
    return m


# -- sums over the tiles of one dimension ---------------------------------------------------

class _Dim:
    """Tile sizes T (array) along a dimension of extent D: trips, full and edge sizes."""

    def __init__(self, D: int, T):
        self.D = int(D)
        self.T = np.clip(np.asarray(T, dtype=np.int64), 1, max(1, self.D))
        self.trips = cdiv(self.D, self.T)
        self.last = self.D - (self.trips - 1) * self.T
        self.first = np.minimum(self.T, self.D)

    def sum(self, f) -> np.ndarray:
        """Sum of f(size) over the tiles."""
        return (self.trips - 1) * f(self.T) + f(self.last)

    def cases(self):
        """(size, how many tiles) for the full and the edge tile."""
        return ((self.T, self.trips - 1), (self.last, np.ones_like(self.T)))


def _per_unique(T, f) -> np.ndarray:
    """f of each element of T (integers), computed once per distinct value."""
    T = np.asarray(T, dtype=np.int64)
    if T.size == 0:
        return np.zeros(T.shape, dtype=np.int64)
    lo, hi = int(T.min()), int(T.max())
    if hi - lo > 4 * T.size + 4096:  # sparse values: sort them
        u, inv = np.unique(T, return_inverse=True)
        return np.array([f(int(t)) for t in u], dtype=np.int64)[inv].reshape(T.shape)
    u = np.flatnonzero(np.bincount((T - lo).ravel())) + lo  # tile sizes are few and small: count them
    table = np.zeros(hi - lo + 1, dtype=np.int64)
    table[u - lo] = [f(int(t)) for t in u]
    return table[T - lo]


def _window(o0, ot, stride: int, R: int, pad: int, size: int):
    lo = np.maximum(o0 * stride - pad, 0)
    hi = np.minimum((o0 + ot - 1) * stride - pad + R, size)
    return np.maximum(hi - lo, 0)


def window_sum(P: int, T, stride: int, R: int, pad: int, H: int) -> np.ndarray:
    """Sum over output tiles (size T along P) of the input rows each reads (clipped)."""
    if stride == 1 and R == 1 and pad == 0 and H >= P:
        return np.full(np.shape(T), P, dtype=np.int64)

    def one(t: int) -> int:
        o0 = np.arange(0, P, t, dtype=np.int64)
        return int(_window(o0, np.minimum(t, P - o0), stride, R, pad, H).sum())
    return _per_unique(T, one)


def groups_sum(K: int, T, Kg: int) -> np.ndarray:
    """Sum over output-channel tiles (size T) of the number of groups each covers."""
    def one(t: int) -> int:
        k0 = np.arange(0, K, t, dtype=np.int64)
        kt = np.minimum(t, K - k0)
        return int(((k0 + kt - 1) // Kg - k0 // Kg + 1).sum())
    return _per_unique(T, one)


def _outer(order: Sequence[str], deps: set[str], trips: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per loop: is it at or outside j*, the innermost loop in ``deps`` with more than one trip?"""
    shape = np.broadcast(*trips.values()).shape
    seen = np.zeros(shape, dtype=bool)
    out = {}
    for d in reversed(order):
        if d in deps:
            seen = seen | (np.broadcast_to(trips[d], shape) > 1)
        out[d] = seen
    return out


# -- MAC layers ------------------------------------------------------------------------------

def _mac_parts(d: MacDims, hw, NT, KT, CT, PT, QT, PK, PP):
    """What does not depend on the loop order: the compute counters, and the per-dimension
    factors whose products give the operand loads."""
    lanes, vs, db = int(hw.lanes), int(hw.vector_size), int(hw.data_bytes)
    accb = cdiv(int(hw.accum_bits), 8)
    aent = int(hw.accum_entries_per_lane)
    drain = int(hw.accum_drain_cycles)
    RS = d.R * d.S
    n, k, c, p, q = _Dim(d.N, NT), _Dim(d.K, KT), _Dim(d.C, CT), _Dim(d.P, PT), _Dim(d.Q, QT)
    PK = np.asarray(PK, dtype=np.int64)
    PP = np.asarray(PP, dtype=np.int64)
    groups = lambda t: cdiv(t, lanes)  # noqa: E731  lane groups of an output-channel tile
    kpe = lambda t: cdiv(groups(t), PK)  # noqa: E731  lane groups per PE
    nk = lambda t: cdiv(groups(t), kpe(t))  # noqa: E731  PEs along K
    ppe = lambda t: cdiv(t, PP)  # noqa: E731  output rows per PE
    npp = lambda t: cdiv(t, ppe(t))  # noqa: E731  PEs along P
    vec = lambda t: cdiv(t, vs)  # noqa: E731  vectors along the reduction
    NPQ = d.N * d.P * d.Q
    out_elems = d.K * NPQ

    s_groups, s_vec = k.sum(groups), c.sum(vec)
    pe_cycles = s_groups * NPQ * s_vec * RS
    # the row split of a full and of the edge row tile: rows per PE, PEs along P (computed once)
    p_full, p_edge = (ppe(p.T), npp(p.T)), (ppe(p.last), npp(p.last))
    chunk = k.sum(kpe) * ((p.trips - 1) * p_full[0] + p_edge[0]) * d.Q * d.N
    # weight-vector refetches: a lane keeps its weight vector for at most aent positions
    refetch = 0
    for (ns, nc) in n.cases():
        for (rows_pe, pes_p), pc in ((p_full, p.trips - 1), (p_edge, 1)):
            for (qs, qc) in q.cases():
                pos = rows_pe * qs * ns
                # ceil(pos / min(pos, aent)), pos >= 1 (a tile has a row, a column and a batch): a
                # scalar divisor divides faster
                refetch = refetch + nc * pc * qc * pes_p * cdiv(pos, aent)
    compute = {
        "tiles": n.trips * k.trips * c.trips * p.trips * q.trips,
        "compute_cycles": chunk * (s_vec * RS + drain),
        "macs_useful": d.N * d.K * d.P * d.Q * d.C * RS + 0 * pe_cycles,
        "macs_issued": pe_cycles * lanes * vs,
        "wbuf_read_bytes": s_groups * s_vec * RS * refetch * lanes * vs * db,
        "ibuf_read_bytes": pe_cycles * vs * db,
        "accbuf_write_bytes": pe_cycles * lanes * accb,
        "accbuf_read_bytes": pe_cycles * lanes * accb + out_elems * accb,
    }
    # per dimension: (sum over its tiles, first tile) of each factor of a load
    grouped = d.groups > 1
    kg = d.kg
    rows = lambda t: _window(0, t, d.stride, d.R, d.padding, d.H)  # noqa: E731 (first tile)
    cols = lambda t: _window(0, t, d.stride, d.S, d.padding, d.W)  # noqa: E731
    spanned = lambda t: (t - 1) // kg + 1  # noqa: E731  groups a first output-channel tile covers
    dims = {"n": n, "k": k, "c": c, "p": p, "q": q}
    ones = np.ones_like(n.T)
    both = lambda dim, f: (dim.sum(f), f(dim.first))  # noqa: E731
    fac = {
        "one": {x: (dims[x].trips, ones) for x in dims},  # (a load per tile, one load)
        "size": {x: (np.full_like(dims[x].T, dims[x].D), dims[x].first) for x in dims},
        "np": {"p": ((p.trips - 1) * p_full[1] + p_edge[1], p_full[1])},  # the first tile is a full one
        "nk": {"k": both(k, nk)},
        "rows": {"p": (window_sum(d.P, p.T, d.stride, d.R, d.padding, d.H), rows(p.first))},
        "cols": {"q": (window_sum(d.Q, q.T, d.stride, d.S, d.padding, d.W), cols(q.first))},
        "span": {"k": (groups_sum(d.K, k.T, kg), spanned(k.first))} if grouped else {},
    }
    fac["dep"] = _dep_products(d, fac)
    first_load = (k.first * c.first * (n.first if d.wact else RS)
                  + n.first * (spanned(k.first) if grouped else 1) * c.first * rows(p.first) * cols(q.first)) * db
    last_store = n.last * k.last * p.last * q.last * db
    return compute, fac, {x: v.trips for x, v in dims.items()}, first_load, last_store


_W_KINDS = {"n": "one", "k": "size", "c": "size", "p": "one", "q": "one"}  # weights (n: "size" for a matmul)
_I_KINDS = {"n": "size", "c": "size", "p": "rows", "q": "cols", "k": "one"}  # inputs (k: "span" if grouped)


def _operand_deps(d: MacDims) -> tuple[tuple[set[str], dict[str, str]], tuple[set[str], dict[str, str]]]:
    """(dimensions it depends on, factor kind per dimension) of the weights and of the inputs."""
    grouped = d.groups > 1
    wdeps = {"k", "c"} | ({"n"} if d.wact else set())
    ideps = {"n", "p", "q", "c"} | ({"k"} if grouped else set())
    return ((wdeps, {**_W_KINDS, **({"n": "size"} if d.wact else {})}),
            (ideps, {**_I_KINDS, **({"k": "span"} if grouped else {})}))


def _dep_products(d: MacDims, fac) -> dict[str, np.ndarray]:
    """Per operand, the product of its factors along the dimensions it depends on. Whatever the
    loop order these are loaded whole: a dimension of several tiles is at or outside the
    innermost such loop (every tile: the sum), one of a single tile contributes that tile (the
    same). A resident input loads every input tile once: its product."""
    out = {}
    for name, (deps, kinds) in zip(("w", "i"), _operand_deps(d)):
        tot = 1
        for x in sorted(deps):
            tot = tot * fac[kinds[x]][x][0]
        out[name] = tot
    return out


def _mac_operands(d: MacDims, hw, fac, trips, order: Sequence[str]) -> dict[str, np.ndarray]:
    """Bytes of each operand's loads in one loop order (see the module docstring): from DRAM,
    into the PE buffers, and (``i_once``) of every input tile once, for an input resident in
    the GLB. Only the dimensions an operand does not depend on depend on the order."""
    db, RS = int(hw.data_bytes), d.R * d.S
    (wdeps, wk), (ideps, ik) = _operand_deps(d)
    dep = fac["dep"]

    def loads(deps, kinds):  # the other dimensions: a load per tile of those outside j*, else one
        outer = _outer(order, deps, trips)
        tot = 1
        for x in sorted(set(kinds) - deps):
            s, f = fac[kinds[x]][x]
            tot = tot * np.where(outer[x], s, f)
        return tot

    w_unit = (1 if d.wact else RS) * db
    w_bytes = dep["w"] * loads(wdeps, wk) * w_unit
    w_pe = dep["w"] * loads(wdeps, {**wk, "p": "np"}) * w_unit  # each row partition holds its channel slice
    i_bytes = dep["i"] * loads(ideps, ik) * db
    grouped = d.groups > 1
    i_pe = i_bytes if grouped else dep["i"] * loads(ideps, {**ik, "k": "nk"}) * db  # broadcast to the PEs along K
    return {"w_bytes": w_bytes, "w_pe": w_pe, "i_bytes": i_bytes, "i_pe": i_pe, "i_once": dep["i"] * db}


def _load_counters(d: MacDims, hw, ops: dict[str, np.ndarray], ires) -> dict[str, np.ndarray]:
    """The load and store counters of `_mac_operands`' bytes, the input resident or not."""
    w_bytes, i_bytes = ops["w_bytes"], ops["i_bytes"]
    i_dram = np.where(np.asarray(ires, dtype=bool), ops["i_once"], i_bytes)
    o_bytes = d.K * d.N * d.P * d.Q * int(hw.data_bytes)
    return {
        "wbuf_write_bytes": ops["w_pe"],
        "ibuf_write_bytes": ops["i_pe"],
        "dram_read_bytes": w_bytes + i_dram,
        "dram_write_bytes": o_bytes + 0 * w_bytes,
        "noc_bytes": w_bytes + i_bytes + o_bytes,
        "glb_write_bytes": i_dram + o_bytes,
        "glb_read_bytes": i_bytes + o_bytes,
    }


def _mac_loads(d: MacDims, hw, fac, trips, order: Sequence[str], ires) -> dict[str, np.ndarray]:
    """The load and store counters of one loop order."""
    return _load_counters(d, hw, _mac_operands(d, hw, fac, trips, order), ires)


def mac_counts(d: MacDims, hw, NT, KT, CT, PT, QT, PK, PP, order: Sequence[str], ires):
    """The counters the C++ walker and PE array produce for these tilings (all PEs active),
    the first tile's load and the last tile's store (bytes). Mirrors ``TileWalker::mac_tile``
    and ``Dma::store`` in ``accelerator/src/``."""
    compute, fac, trips, first_load, last_store = _mac_parts(d, hw, NT, KT, CT, PT, QT, PK, PP)
    return {**compute, **_mac_loads(d, hw, fac, trips, order, ires)}, first_load, last_store


def mac_screening(d: MacDims, hw, NT, KT, CT, PT, QT, PK, PP, order: Sequence[str], ires):
    """The counters of MAC tilings in one loop order and their screening estimate of the time (the
    one `mac_totals` ranks by)."""
    counts, first_load, last_store = mac_counts(d, hw, NT, KT, CT, PT, QT, PK, PP, order, ires)
    return counts, _time(hw, counts["compute_cycles"], counts, first_load, last_store)


def mac_totals(d: MacDims, hw, energy_model, NT, KT, CT, PT, QT, PK, PP, orders: Sequence[Sequence[str]],
               resident=None) -> list[tuple[np.ndarray, ...]]:
    """(total joules, seconds, tiles, seconds at least) of MAC tilings in each loop order, the
    input staged; then, if ``resident`` (a mask of the tilings) selects any, of those tilings in
    each order with the input resident in the GLB. The same counts and energy table as
    `mac_cost`, summed without the per-component breakdown (for ranking), and
    `time_lower_bound` of each. The order-independent parts are computed once for all."""
    compute, fac, trips, first_load, last_store = _mac_parts(d, hw, NT, KT, CT, PT, QT, PK, PP)
    w = energy_model.counter_weights_pj()
    shape = np.broadcast(*(np.asarray(v) for v in compute.values())).shape
    full = lambda v: np.broadcast_to(v, shape)  # noqa: E731
    e_compute = sum(np.asarray(v, dtype=np.float64) * w.get(k, 0.0) for k, v in compute.items())
    cycles, tiles = full(compute["compute_cycles"]), full(compute["tiles"])
    first_load, last_store, e_compute = full(first_load), full(last_store), full(e_compute)
    res = None if resident is None or not np.any(resident) else np.asarray(resident, dtype=bool)

    def totals(sel, loads):
        pick = (lambda v: v) if sel is None else (lambda v: full(v)[sel])  # noqa: E731
        cyc, fl, ls, tl = pick(cycles), pick(first_load), pick(last_store), pick(tiles)
        counts = {"tiles": tl, "compute_cycles": cyc, **loads}
        t = _time(hw, cyc, counts, fl, ls)
        e = pick(e_compute) + sum(np.asarray(v, dtype=np.float64) * w.get(k, 0.0) for k, v in loads.items())
        return e * J_PER_PJ + t * energy_model.leakage_w, t, tl, time_lower_bound(hw, cyc, fl, ls)

    staged, kept = [], []
    for order in orders:
        ops = _mac_operands(d, hw, fac, trips, order)
        staged.append(totals(None, _load_counters(d, hw, ops, False)))
        if res is not None:
            kept.append(totals(res, _load_counters(d, hw, {k: full(v)[res] for k, v in ops.items()}, True)))
    return staged + kept


def mac_cost(d: MacDims, hw, energy_model, NT, KT, CT, PT, QT, PK, PP, order, ires) -> LayerCost:
    """Counts, estimated time (`accelerator.pipeline`, the tile pipeline in closed form) and
    energy of MAC tilings in one loop order (arrays broadcast together)."""
    compute, fac, trips, _, _ = _mac_parts(d, hw, NT, KT, CT, PT, QT, PK, PP)
    ops = _mac_operands(d, hw, fac, trips, order)
    counts = {**compute, **_load_counters(d, hw, ops, ires)}
    from .pipeline import pipeline_time  # (it builds on this module's sums)
    t = pipeline_time(d, hw, NT, KT, CT, PT, QT, PK, PP, order, _input_share(ops, ires))
    return _with_energy(counts, t, energy_model)


def _input_share(ops: dict[str, np.ndarray], ires) -> np.ndarray:
    """The share of the input loads' bytes that comes from DRAM: all when staged; a resident
    input's bytes (every input tile once) spread over its loads."""
    return np.where(np.asarray(ires, dtype=bool), ops["i_once"] / np.maximum(ops["i_bytes"], 1), 1.0)


def mac_time(d: MacDims, hw, NT, KT, CT, PT, QT, PK, PP, order, ires) -> np.ndarray:
    """`mac_cost`'s time alone (`accelerator.pipeline`), for re-ranking candidates; ``order``: one
    loop order, or one per tiling (a list)."""
    arrs = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (NT, KT, CT, PT, QT, PK, PP)),
                               np.asarray(ires, dtype=bool))
    from .pipeline import per_tiling, pipeline_time

    ires = arrs[-1]
    share = np.ones(ires.shape)
    if ires.any():  # a resident input's share, per loop order
        orders = per_tiling(order, ires.size)
        for o in dict.fromkeys(orders):
            sel = ires.ravel() & np.array([x == o for x in orders])
            if sel.any():
                a = [v.ravel()[sel] for v in arrs[:7]]
                _, fac, trips, _, _ = _mac_parts(d, hw, *a)
                share.ravel()[sel] = _input_share(_mac_operands(d, hw, fac, trips, o), True)
    return pipeline_time(d, hw, *arrs[:7], order, share)


# -- PPU layers ------------------------------------------------------------------------------

def ppu_counts(E: int, IN: int, passes: int, hw, ET) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The counters of a PPU layer of E output elements (IN input elements) in slices of ET."""
    db, epc = int(hw.data_bytes), int(hw.ppu_elements_per_cycle)
    e = _Dim(E, ET)
    cycles = e.sum(lambda t: cdiv(t * passes, epc))
    counts = {
        "tiles": e.trips, "ppu_ops": E * passes + 0 * e.T, "compute_cycles": cycles,
        "dram_read_bytes": IN * db + 0 * e.T, "dram_write_bytes": E * db + 0 * e.T,
        "glb_write_bytes": (IN + E) * db + 0 * e.T, "glb_read_bytes": (IN + E) * db + 0 * e.T,
    }
    first_load = (IN * e.first // max(E, 1)) * db
    return counts, first_load, e.last * db


def ppu_cost(E: int, IN: int, passes: int, hw, energy_model, ET) -> LayerCost:
    counts, first_load, last_store = ppu_counts(E, IN, passes, hw, ET)
    t = _time(hw, counts["compute_cycles"], counts, first_load, last_store)
    return _with_energy(counts, t, energy_model)


# -- time and energy -------------------------------------------------------------------------

def _time(hw, cycles, counts, first_load, last_store) -> np.ndarray:
    clock, bw, lat = float(hw.clock_hz), float(hw.dram_bandwidth_bytes_per_s), float(hw.dram_latency_s)
    t_comp = cycles / clock
    t_dram = (counts["dram_read_bytes"] + counts["dram_write_bytes"]) / bw
    t_noc = cdiv(counts.get("noc_bytes", 0), int(hw.noc_bytes_per_cycle)) / clock
    fill = first_load / bw + lat
    drain = last_store / bw + lat
    # double buffering hides a tile's load (with the DRAM latency) only behind one other tile
    t_pipe = (t_dram + counts["tiles"] * lat + t_comp) / 2
    return fill + np.maximum(np.maximum(np.maximum(t_comp, t_dram), t_noc), t_pipe) + drain


def time_lower_bound(hw, cycles, first_load, last_store) -> np.ndarray:
    """Seconds the simulator cannot beat: the first tile's operands must arrive from DRAM (one
    latency, the bytes at the whole bandwidth) before the PE array starts; the array computes
    the tiles one after another; the last tile's outputs are written (one latency, the bytes)
    after it finishes. Unlike `_time` this is a bound, not an estimate: the mapper prunes
    candidates with it without changing its choice (a test checks it against every simulated
    candidate)."""
    clock, bw, lat = float(hw.clock_hz), float(hw.dram_bandwidth_bytes_per_s), float(hw.dram_latency_s)
    return (first_load / bw + lat) + cycles / clock + (last_store / bw + lat)


def _with_energy(counts, t, energy_model) -> LayerCost:
    t = np.asarray(t, dtype=np.float64)
    shape = t.shape
    e = energy_model.breakdown(_matrix(counts, shape), t.ravel())
    return LayerCost(counts=counts, time_s=t, energy_j={k: v.reshape(shape) for k, v in e.items()})
