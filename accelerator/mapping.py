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
  spatial tiles (every size on a dimension of at most 16, balanced ones on longer ones), every
  PE split, the three loop orders, with and without an input resident in the GLB. Each is
  costed by `accelerator.cost` -- exactly the action counts the C++ model will produce, their
  energy by the one `EnergyModel`, and a time estimate -- on the *actual* layer (not the
  vector-rounded one: a one-channel depthwise group moves one channel). The hardware's
  ``mapping_objective`` picks: energy-delay product (default; minimising DRAM traffic alone
  picks tilings with idle PEs, minimising time alone trades a lot of energy for a little
  time), energy, or latency; ties go to the fewer tiles.
  The counts are exact; the time of every candidate is the cost model's screening estimate
  (tens of percent optimistic where loads are uneven), so it only prunes: a pool of its best
  rows (``POOL``) is re-ranked by the pipeline estimate (`accelerator.pipeline`, within a few
  percent of the simulation), whose best few (``SIM_TOP``; more, in the screening order, while
  they are cheap to simulate) run on the SystemC model itself (`accelerator.measure`, two
  batches per `map_layers` call) and the best *simulated* one is chosen; ties go to the fewer
  tiles, then to the estimate's order. Only the first ``SIM_FIRST`` of a shape are sure to run: a
  finalist whose objective, with the time at its lower bound
  (`accelerator.cost.time_lower_bound`), exceeds the best of those cannot be chosen and is not
  simulated. Choices are cached on disk (`accelerator.choices`) and deterministic. A model's
  shapes are shortlisted on `mapper_threads` threads (numpy releases the GIL while it costs
  their candidates), each shape's shortlist its own.
  `mapping_candidates` gives the estimate's ranking (or searches every legal tiling
  exhaustively); `finalists` the simulated candidates with both costs. The tiling space itself
  (the `Tiling` record, legality, the candidates) is `accelerator.tiling`.
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

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, astuple, dataclass, replace
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from workloads.ir import Layer

from .bounds import check_demands
from .choices import ChoiceStore, store_path
from .cost import LayerCost, MacDims, cdiv as _cdiv, mac_cost, mac_screening, mac_time, mac_totals, ppu_cost
from .measure import simulate, start as start_measuring
from .tiling import (ORDERS, MappingError, Tiling, _all_candidates, _explain, _fits, _grid_candidates, _grid_size,
                     _legal, _occupancy, legal)

__all__ = [
    "Mapping", "Tiling", "MappingError", "map_layer", "map_layers", "evaluate", "ORDERS", "PPU_PASSES",
    "OBJECTIVES", "map_like", "map_layers_like", "mapping_candidates", "layer_cost", "energy_model", "legal",
    "finalists", "simulated",
]

PPU_PASSES = {"layernorm": 2, "batchnorm": 1, "softmax": 3, "gelu": 1, "relu": 1, "add": 1, "mul": 1,
              "div": 1, "resize": 4}


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

    @property
    def tiling(self) -> Tiling:
        """The search's choice this MAC mapping records."""
        return Tiling(self.N_t, self.K_t, self.C_t, self.P_t, self.Q_t, self.pes_k, self.pes_p, tuple(self.order),
                      bool(self.inputs_resident))

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


OBJECTIVES = ("edp", "energy", "latency")


def _objective_keys(e, t, objective: str) -> tuple[np.ndarray, ...]:
    """Sort keys (energy in J, time in s), most significant first."""
    if objective == "energy":
        return (e, t)
    if objective == "latency":
        return (t, e)
    return (e * t, t)


def _rank(d: MacDims, hw, cands: tuple[np.ndarray, ...], top: int = 1, distinct: bool = True) -> list[Tiling]:
    """The best ``top`` legal tilings of ``cands`` (arrays NT, KT, CT, PT, QT, PK) under the
    hardware's mapping objective on the cost model's estimate, in every loop order and
    residency; ``distinct``: distinct in tile sizes or PE split (the same tiling in another
    loop order often costs the same)."""
    return [t for _, t, _ in _ranked(d, hw, cands, top, distinct)]


def _scored(d: MacDims, hw, cands: tuple[np.ndarray, ...]) -> list[tuple]:
    """The legal ``cands`` costed in every loop order and residency: per variant (legal
    candidates, order index, resident, sort keys, a lower bound of the simulated objective)."""
    NT, KT, CT, PT, QT, PK = cands
    ok, res_ok = _legal(d, hw, NT, KT, CT, PT, QT, PK)
    if not ok.any():
        raise MappingError(_explain(d, hw))
    em = energy_model(hw)
    c = tuple(a[ok] for a in cands)
    kept = res_ok[ok]
    totals = mac_totals(d, hw, em, *c[:5], c[5], hw.num_pes // c[5], ORDERS, kept)
    variants = [(c, oi, False) for oi in range(len(ORDERS))]
    if len(totals) > len(ORDERS):  # some may hold the input resident
        ck = tuple(a[kept] for a in c)
        variants += [(ck, oi, True) for oi in range(len(ORDERS))]
    out = []
    for (cv, oi, res), (e, t, tiles, t_min) in zip(variants, totals):
        # the counts are exact, so the simulated energy is this one with the leakage over the
        # simulated time: at least the leakage over the time bound
        e_min = e - (t - t_min) * em.leakage_w
        lb = _objective_keys(e_min, t_min, hw.mapping_objective)[0] * (1 - _BOUND_SLACK)
        out.append((cv, oi, res, [np.broadcast_to(k, cv[0].shape)
                                  for k in _objective_keys(e, t, hw.mapping_objective) + (tiles,)],
                    np.broadcast_to(lb, cv[0].shape)))
    return out


# relative slack of the objective's lower bound, against rounding in its arithmetic
_BOUND_SLACK = 1e-9


def _ranked(d: MacDims, hw, cands: tuple[np.ndarray, ...], top: int, distinct: bool,
            scored: list | None = None) -> list[tuple[tuple, Tiling, float]]:
    """`_rank` with each tiling's sort keys (objective, its tie-breaker, tiles) and the lower
    bound of its simulated objective; ``scored``: `_scored` of ``cands`` if already computed."""
    parts = []
    for c, oi, res, keys, lb in (scored if scored is not None else _scored(d, hw, cands)):
        # the best few by the first key (with all its ties), then ordered by every key
        want = min(top * len(ORDERS) * 2, keys[0].size)
        thr = np.partition(keys[0], want - 1)[want - 1]
        pool = np.flatnonzero(keys[0] <= thr)
        idx = pool[np.lexsort([k[pool] for k in keys[::-1]])][:want]
        parts.append((np.stack([k[idx] for k in keys], axis=1),
                      np.stack([a[idx] for a in c] + [np.full(idx.size, oi), np.full(idx.size, int(res))], axis=1),
                      lb[idx]))
    keys = np.concatenate([k for k, _, _ in parts])
    ts = np.concatenate([t for _, t, _ in parts])
    lbs = np.concatenate([b for _, _, b in parts])
    # every variant's rows ordered by every key (a stable sort keeps equal rows in variant
    # order), then the first row of each tiling (``distinct``: of each tile sizes and PE split)
    order = np.lexsort(keys.T[::-1])
    ident = np.ascontiguousarray(ts[order][:, :6] if distinct else ts[order])
    _, first = np.unique(ident.view(np.dtype((np.void, ident.itemsize * ident.shape[1]))).ravel(),
                         return_index=True)
    sel = order[np.sort(first)[:top]]
    return [(tuple(k), Tiling(nt, kt, ct, pt, qt, pk, hw.num_pes // pk, ORDERS[oi], bool(r)), b)
            for (nt, kt, ct, pt, qt, pk, oi, r), k, b in zip(ts[sel].tolist(), keys[sel].tolist(), lbs[sel].tolist())]


# -- the final ranking: the best estimated candidates, measured on the SystemC model ----------

# Candidates simulated per layer shape, in the estimate's order (distinct tile sizes or PE split,
# each in its best loop order and residency): at least SIM_TOP, then more while the candidates
# so far have at most SIM_TILES tiles together, at most SIM_MAX. The estimate is off by up to
# tens of percent on layers of few tiles, where simulating is cheap: there many candidates are
# finalists (most of them then pruned by the bound, `_pruned_finalists`). SIM_MAX was 96 before
# small spatial dimensions offered every tile size: then a 10x10 pointwise layer's best tiling
# (rank 102 by the estimate, 35% pessimistic there) fell out of the shortlist.
SIM_TOP, SIM_MAX, SIM_TILES = 6, 384, 16384


def _tiles(d: MacDims, t: Tiling) -> int:
    return _cdiv(d.N, t.N_t) * _cdiv(d.K, t.K_t) * _cdiv(d.C, t.C_t) * _cdiv(d.P, t.P_t) * _cdiv(d.Q, t.Q_t)


# The pipeline estimate re-ranks a pool of the screening estimate's best rows: POOL x the wanted
# tilings per loop order (rows of any residency), and the wanted ones by each other objective.
POOL = 4


def _rescored(scored: list, objective: str, other: str) -> list:
    """`_scored`'s variants with the sort keys of objective ``other`` (from ``objective``'s)."""
    out = []
    for c, oi, res, keys, lb in scored:
        e, t = _energy_time(keys[0], keys[1], objective)
        out.append((c, oi, res, list(_objective_keys(e, t, other)) + [keys[2]], lb))
    return out


def _energy_time(k0: np.ndarray, k1: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """(joules, seconds) from the first two `_objective_keys`."""
    if objective == "energy":
        return k0, k1
    if objective == "latency":
        return k1, k0
    return np.divide(k0, k1, out=np.zeros_like(k0), where=k1 > 0), k1


def _ident(t: Tiling) -> tuple[int, ...]:
    """Tile sizes and PE split (what `_ranked` calls distinct)."""
    return (t.N_t, t.K_t, t.C_t, t.P_t, t.Q_t, t.pes_k, t.pes_p)


def _pipeline_ranked(d: MacDims, hw, cands: tuple[np.ndarray, ...], top: int,
                     scored: list) -> list[tuple[tuple, Tiling, float]]:
    """The best ``top`` distinct tilings (tile sizes and PE split) by the pipeline estimate
    (`accelerator.pipeline`, within a few percent of the simulation), among a pool of the
    screening estimate's best rows; ties keep the screening order."""
    obj = hw.mapping_objective
    # (joules, seconds, tiles, tiling, bound) of POOL x top rows per loop order by the screening
    # estimate, and of its best under the other objectives: where it is furthest off (many small
    # tiles, uneven loads), its ranking by one objective can miss a tiling that another finds
    pool, have = [], set()
    for objective in [obj] + [o for o in OBJECTIVES if o != obj]:
        own = objective == obj
        for k, til, bound in _ranked(d, hw, cands, (POOL if own else 1) * top * len(ORDERS), False,
                                     scored if own else _rescored(scored, obj, objective)):
            key = (_ident(til), til.order, til.inputs_resident)
            if key not in have:
                have.add(key)
                pool.append((*_energy_time(np.float64(k[0]), np.float64(k[1]), objective), k[-1], til, bound))
    e, t, tiles = (np.array([p[i] for p in pool], dtype=np.float64) for i in range(3))
    ident = np.array([_ident(p[3]) for p in pool], dtype=np.int64)
    t_new = mac_time(d, hw, *ident.T, [p[3].order for p in pool], np.array([p[3].inputs_resident for p in pool]))
    # the energy's leakage follows the time (the dynamic energy is the same in both)
    k0, k1 = _objective_keys(e + (t_new - t) * energy_model(hw).leakage_w, t_new, obj)
    ranked = np.lexsort((np.arange(len(pool)), tiles, k1, k0))
    _, first = np.unique(ident[ranked], axis=0, return_index=True)  # the best row of each tiling
    return [((float(k0[i]), float(k1[i]), float(tiles[i])), pool[i][3], pool[i][4])
            for i in ranked[np.sort(first)][:top]]


def _shortlist(d: MacDims, hw) -> list[tuple[Tiling, float]]:
    """The finalists in the mapper's order (the pipeline estimate's; for cheap layers, the screening
    estimate's), each with the lower bound of its simulated objective."""
    cands = _grid_candidates(d, hw)
    scored = _scored(d, hw, cands)
    rows = _ranked(d, hw, cands, SIM_TOP, True, scored)
    if sum(_tiles(d, t) for _, t, _ in rows) <= SIM_TILES:
        # cheap to simulate: look further, in the screening estimate's order (most of these are
        # simulated or excluded by the bound, whatever their order)
        rows = _ranked(d, hw, cands, SIM_MAX, True, scored)
    else:
        rows = _pipeline_ranked(d, hw, cands, SIM_TOP, scored)
    out, tiles = [], 0
    for _, t, bound in rows:
        tiles += _tiles(d, t)
        if len(out) >= SIM_TOP and tiles > SIM_TILES:
            break
        out.append((t, bound))
    return out


def _probe_layer(d: MacDims, op: str, name: str) -> Layer:
    """A layer of loop nest ``d`` (what the simulator runs for a candidate)."""
    return Layer(name, op, N=d.N, C=d.C, K=d.K, H=d.H, W=d.W, P=d.P, Q=d.Q, R=d.R, S=d.S, stride=d.stride,
                 padding=d.padding, groups=d.groups, weights_are_activations=d.wact)


def simulated(hw, items: Sequence[tuple[MacDims, str, Sequence[Tiling]]]) -> list[list[tuple[float, float]]]:
    """(seconds, joules) of every tiling of every (loop nest, op, tilings) item, simulated (one
    batch: `accelerator.measure`)."""
    layers, maps = [], []
    for i, (d, op, ts) in enumerate(items):
        for j, t in enumerate(ts):
            name = f"c{i}.{j}"
            layers.append(_probe_layer(d, op, name))
            maps.append(Mapping(layer=name, op=op, kind="mac", N_t=t.N_t, K_t=t.K_t, C_t=t.C_t, P_t=t.P_t, Q_t=t.Q_t,
                                pes_k=t.pes_k, pes_p=t.pes_p, order=t.order, inputs_resident=t.inputs_resident))
    # the batch runs as one inference: hardware that cannot time it (the derived-range check on
    # the candidates' costs) is refused here with the parameter to blame, before anything runs
    check_demands(hw, layers, _demands(hw, items), name="the mapper's candidates")
    secs, joules = simulate(hw, layers, maps)
    out, k = [], 0
    for _, _, ts in items:
        out.append([(float(secs[k + j]), float(joules[k + j])) for j in range(len(ts))])
        k += len(ts)
    return out


def _demands(hw, items: Sequence[tuple[MacDims, str, Sequence[Tiling]]]) -> tuple[np.ndarray, ...]:
    """`accelerator.bounds.demands` of every tiling of every item (in order), each item's tilings
    costed together per loop order and residency; the estimate term is the screening estimate
    (cheap; like the pipeline estimate, at least the NoC's time, which is what the bound needs of it)."""
    out = []
    for d, _, ts in items:
        part = np.zeros((4, len(ts)))
        rows = np.array([astuple(t)[:7] for t in ts], dtype=np.int64).reshape(-1, 7)
        variants: dict[tuple, list[int]] = {}
        for i, t in enumerate(ts):
            variants.setdefault((t.order, t.inputs_resident), []).append(i)
        for (order, res), idx in variants.items():
            c, t = mac_screening(d, hw, *rows[idx].T, order, res)
            part[:, idx] = [np.broadcast_to(c["compute_cycles"], len(idx)),
                            np.broadcast_to(c["dram_read_bytes"] + c["dram_write_bytes"], len(idx)),
                            np.broadcast_to(c["tiles"], len(idx)), np.broadcast_to(t, len(idx))]
        out.append(part)
    return tuple(np.concatenate(out, axis=1)) if out else tuple(np.zeros((4, 0)))


def _best_simulated(hw, ts: Sequence[Tiling], costs: Sequence[tuple[float, float]], d: MacDims) -> Tiling:
    """The candidate best on the simulated objective; ties: fewer tiles, then the estimate's order."""
    tiles = [_tiles(d, t) for t in ts]
    keyed = [(tuple(float(k) for k in _objective_keys(e, s, hw.mapping_objective)), tiles[i], i)
             for i, (s, e) in enumerate(costs)]
    return ts[min(keyed)[2]]


# Finalists simulated first per shape (the estimate's best); the others are simulated only if the
# lower bound of their objective does not exceed the best of these (`accelerator.cost.time_lower_bound`).
SIM_FIRST = 2


def _pruned_finalists(hw, todo: list) -> list[list[tuple[Tiling, tuple[float, float]]]]:
    """Per (key, loop nest, op, shortlist) of ``todo``, the finalists worth simulating with their
    simulated (seconds, joules), in the estimate's order. A finalist whose objective cannot
    reach the best simulated one of its shape's first `SIM_FIRST` is not simulated: it could
    not be chosen (the bound is strictly above a simulated candidate's objective), so the
    choice is the one of simulating every finalist. Two batches in all."""
    first = simulated(hw, [(d, op, [t for t, _ in short[:SIM_FIRST]]) for _, d, op, short in todo])
    rest = []
    for (_, d, op, short), costs in zip(todo, first):
        best = min(float(_objective_keys(e, s, hw.mapping_objective)[0]) for s, e in costs)
        rest.append([i for i in range(SIM_FIRST, len(short)) if short[i][1] <= best])
    second = simulated(hw, [(d, op, [short[i][0] for i in idx]) for (_, d, op, short), idx in zip(todo, rest)])
    out = []
    for (_, d, op, short), c1, idx, c2 in zip(todo, first, rest, second):
        out.append([(t, c) for (t, _), c in zip(short, c1)] + [(short[i][0], c) for i, c in zip(idx, c2)])
    return out


# At most this many shapes are costed at once: each holds its candidate grid (up to about 80 MB
# for SegFormer-B2's largest layer shape, measured with tracemalloc).
MAX_MAPPER_THREADS = 8


def mapper_threads() -> int:
    """Threads that shortlist layer shapes at once: the CPUs this process may use, or
    ``OMP_NUM_THREADS`` where it is set (Dask's workers set it to 1, since their processes
    already share the cores); at most `MAX_MAPPER_THREADS`."""
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n, MAX_MAPPER_THREADS))


def _shortlists(hw, dims: Sequence[MacDims]) -> list[list[tuple[Tiling, float]] | None]:
    """`_shortlist` of each loop nest (None where no tiling fits), on `mapper_threads` threads:
    numpy releases the GIL while it costs a shape's candidates, and shapes are independent."""
    def one(d: MacDims):
        try:
            return _shortlist(d, hw)
        except MappingError:
            return None
    n = min(mapper_threads(), len(dims))
    if n <= 1:
        return [one(d) for d in dims]
    # the largest grids first, so that no thread is left with one at the end
    order = sorted(range(len(dims)), key=lambda i: -_grid_size(dims[i], hw))
    pool = ThreadPoolExecutor(n, thread_name_prefix="mapper")
    try:
        done = dict(zip(order, pool.map(one, [dims[i] for i in order])))
    finally:  # an interrupt (Ctrl-C) drops the shapes not yet started
        pool.shutdown(wait=True, cancel_futures=True)
    return [done[i] for i in range(len(dims))]


def _choose(hw, shapes: Sequence[tuple[MacDims, str]]) -> None:
    """Map the MAC layer shapes not yet in the choice cache of ``hw``: shortlist each by the
    estimate, simulate the shortlisted candidates that could still win (`_pruned_finalists`, two
    batches), keep the best simulated. A shape that fits no tiling is left to `map_layer`
    (which names the layer)."""
    store = _disk_cache(hw)
    new, seen = [], set()
    for d, op in shapes:
        key = _shape_key(d, op)
        if key in seen or store.get(key) is not None:
            continue
        seen.add(key)
        new.append((key, d, op))
    if new:
        start_measuring()  # the helper starts while the shapes are shortlisted
    todo = [(key, d, op, short) for (key, d, op), short in zip(new, _shortlists(hw, [d for _, d, _ in new]))
            if short is not None]
    if not todo:
        return
    for (key, d, op, _), sims in zip(todo, _pruned_finalists(hw, todo)):
        store.put(key, _best_simulated(hw, [t for t, _ in sims], [c for _, c in sims], d))


def finalists(layer: Layer, hw, top: int | None = None) -> list[tuple[Mapping, float, float]]:
    """The finalists of MAC ``layer`` (the first ``top`` of them), in the estimate's order, each
    with its simulated (seconds, joules), all simulated here; the mapper picks the best simulated
    under ``hw.mapping_objective``, skipping those its bound shows cannot be chosen
    (`cosim map --compare-estimate`)."""
    d = MacDims.of(layer)
    try:
        ts = [t for t, _ in _shortlist(d, hw)][:top]
    except MappingError as e:
        raise MappingError(f"layer {layer.name!r} {e}") from None
    costs = simulated(hw, [(d, layer.op, ts)])[0]
    return [(_mac_mapping(d, hw, layer.name, layer.op, t), s, e) for t, (s, e) in zip(ts, costs)]


def _shape_key(d: MacDims, op: str) -> str:
    return json.dumps([list(astuple(d)), op])


@lru_cache(maxsize=4096)
def _map_mac(d: MacDims, hw, op: str) -> Mapping:
    store = _disk_cache(hw)
    key = _shape_key(d, op)
    if store.get(key) is None:
        _choose(hw, [(d, op)])
        if store.get(key) is None:  # nothing fits
            raise MappingError(_explain(d, hw))
    return _mac_mapping(d, hw, "", op, store.get(key))


# -- the mapper's choices on disk (accelerator.choices) ----------------------------------------

def _valid_choice(hw, key: str, t: Tiling) -> bool:
    dims, _op = json.loads(key)
    d = MacDims(*dims)
    ok, res_ok = _fits(d, hw, _occupancy(d, hw, *(np.int64(x) for x in astuple(t)[:7])), t.C_t)
    return bool(res_ok if t.inputs_resident else ok) and t.order in ORDERS and t.pes_k * t.pes_p == hw.num_pes


@lru_cache(maxsize=64)
def _disk_cache(hw) -> ChoiceStore:
    return ChoiceStore(store_path(hw), Tiling.from_json, Tiling.to_json, lambda k, t: _valid_choice(hw, k, t))


def _mac_mapping(d: MacDims, hw, name: str, op: str, t: Tiling) -> Mapping:
    """A MAC tiling with its costs (cost model) and buffer occupancy on the actual layer ``d``."""
    cost = mac_cost(d, hw, energy_model(hw), t.N_t, t.K_t, t.C_t, t.P_t, t.Q_t, t.pes_k, t.pes_p, t.order,
                    t.inputs_resident)
    cnt = {k: int(np.asarray(v)) for k, v in cost.counts.items()}
    occ = {k: int(v) for k, v in _occupancy(d, hw, t.N_t, t.K_t, t.C_t, t.P_t, t.Q_t, t.pes_k, t.pes_p).items()}
    return Mapping(
        layer=name, op=op, kind="mac", N_t=t.N_t, K_t=t.K_t, C_t=t.C_t, P_t=t.P_t, Q_t=t.Q_t, pes_k=t.pes_k,
        pes_p=t.pes_p, order=tuple(t.order), weights_resident=False, inputs_resident=bool(t.inputs_resident),
        tiles=cnt["tiles"], dram_read_bytes=cnt["dram_read_bytes"], dram_write_bytes=cnt["dram_write_bytes"],
        compute_cycles=cnt["compute_cycles"], wbuf_bytes_per_pe=occ["wbuf"], ibuf_bytes_per_pe=occ["ibuf"],
        accum_entries_per_lane=occ["accum"] if t.C_t < d.C else min(occ["accum"], hw.accum_entries_per_lane),
        glb_bytes=occ["glb_resident"] if t.inputs_resident else occ["glb_staged"],
        time_s=float(cost.time_s), energy_j=float(cost.total_energy_j),
    )


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
        d = MacDims.of(layer)
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
    d = MacDims.of(layer)
    cands = _all_candidates(d, hw) if exhaustive else _grid_candidates(d, hw)
    try:
        best = _rank(d, hw, cands, top)
    except MappingError as e:
        raise MappingError(f"layer {layer.name!r} {e}") from None
    return [_renamed(_mac_mapping(d, hw, "", layer.op, t), layer.name) for t in best]


def evaluate(layer: Layer, m: Mapping, hw) -> Mapping:
    """Recompute the costs (counts, time, energy) of any tiling/order/residency of a MAC
    layer, e.g. one edited with ``dataclasses.replace`` (buffers are not checked)."""
    if not layer.is_mac or layer.macs == 0:
        return m
    e = _mac_mapping(MacDims.of(layer), hw, m.layer, m.op, m.tiling)
    return replace(m, tiles=e.tiles, dram_read_bytes=e.dram_read_bytes, dram_write_bytes=e.dram_write_bytes,
                   compute_cycles=e.compute_cycles, time_s=e.time_s, energy_j=e.energy_j)


def layer_cost(layer: Layer, m: Mapping, hw) -> LayerCost:
    """The cost model's counts, time and energy by component of ``layer`` run with ``m``."""
    em = energy_model(hw)
    if layer.is_mac:
        if layer.macs == 0:
            return LayerCost(counts={}, time_s=np.zeros(()), energy_j={c: np.zeros(()) for c in em.components})
        return mac_cost(MacDims.of(layer), hw, em, m.N_t, m.K_t, m.C_t, m.P_t, m.Q_t, m.pes_k, m.pes_p,
                        tuple(m.order), m.inputs_resident)
    return ppu_cost(int(layer.elements), int(layer.in_elements), int(m.passes), hw, em, max(1, m.E_t))


@lru_cache(maxsize=64)
def energy_model(hw):
    """The `EnergyModel` of ``hw`` (cached): the mapper and the simulator's results share it."""
    from .energy import EnergyModel
    return EnergyModel(hw)


def _renamed(m: Mapping, name: str) -> Mapping:
    return replace(m, layer=name)


def map_layers(layers: Sequence[Layer], hw) -> list[Mapping]:
    _choose(hw, [(MacDims.of(l), l.op) for l in layers if l.is_mac and l.macs > 0])  # one simulated batch
    return [map_layer(l, hw) for l in layers]


# -- dynamic configurations: the full model's mapping with shorter trip counts -------------

@lru_cache(maxsize=8192)
def _clip_mac(d: MacDims, hw, op: str, ref: Tiling) -> Mapping:
    lanes, vs = hw.lanes, hw.vector_size
    # channel tiles are clipped to the lane/vector-rounded dimension (whole lanes and vectors;
    # the C++ walker clips to the layer), spatial and batch tiles to the dimension
    return _mac_mapping(d, hw, "", op, replace(
        ref, N_t=min(ref.N_t, d.N), K_t=min(ref.K_t, _cdiv(d.K, lanes) * lanes),
        C_t=min(ref.C_t, _cdiv(d.C, vs) * vs), P_t=min(ref.P_t, d.P), Q_t=min(ref.Q_t, d.Q)))


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
    d, r = MacDims.of(layer), MacDims.of(ref_layer)
    if (d.R, d.S, d.stride, d.padding, d.wact) != (r.R, r.S, r.stride, r.padding, r.wact):
        return None
    if r.groups > 1:  # grouped: same output channels per group, or a single group of the reference
        if (d.kg != r.kg) if d.groups > 1 else (d.K > r.kg):
            return None
    elif d.groups > 1:
        return None
    if any(getattr(d, f) > getattr(r, f) for f in ("N", "C", "K", "H", "W", "P", "Q")):
        return None
    return _renamed(_clip_mac(d, hw, layer.op, ref_mapping.tiling), layer.name)


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
