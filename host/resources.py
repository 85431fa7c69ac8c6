"""Resource-availability models: how much of the accelerator the host may use, over time.

Each model produces the full timeline of one resource for a run up front
(deterministic from the seed), so a process can replay it as SimPy events and
the `oracle` governor can look into the future. Resources (one definition here):
"""

from __future__ import annotations

import bisect
import csv
import math
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import simpy

from vocab.params import Component, Param, ParamError
from vocab.units import MAX_CHANGES, MAX_TIME_S, MIN_STEP_S, PS_PER_S, check_time, to_ps



@dataclass(frozen=True)
class ResourceSpec:
    name: str
    unit: str
    lo: float
    hi: float
    lo_open: bool
    nominal: float
    doc: str

    def check(self, value: float, where: str) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where}: {self.name} = {value!r} is not a number") from None
        if isinstance(value, bool):
            raise ParamError(f"{where}: {self.name} = {value!r} is not a number")
        bad = math.isnan(v) or v > self.hi or (v <= self.lo if self.lo_open else v < self.lo)
        if bad:
            lo = "(" if self.lo_open else "["
            raise ParamError(f"{where}: {self.name} = {value!r} is out of range (allowed: {lo}{self.lo:g}, {self.hi:g}] {self.unit})")
        return v


RESOURCES: dict[str, ResourceSpec] = {
    r.name: r
    for r in (
        ResourceSpec("pe_share", "fraction", 0.0, 1.0, True, 1.0,
                     "share of the PE array left to this host (another tenant takes the rest); active PEs = max(1, floor(share * num_pes))"),
        ResourceSpec("clock_scale", "fraction", 0.0, 1.0, True, 1.0,
                     "clock frequency as a fraction of the nominal clock (DVFS, thermal throttling)"),
        ResourceSpec("dram_share", "fraction", 0.0, 1.0, True, 1.0,
                     "share of the DRAM bandwidth left to this host"),
        ResourceSpec("energy_budget_j", "J", 0.0, math.inf, False, math.inf,
                     "energy the host may spend per budget window (battery); inf = unlimited"),
    )
}


def _spec(name: str, where: str) -> ResourceSpec:
    if name not in RESOURCES:
        raise ParamError(f"{where}.resource = {name!r} is not a resource; allowed: {', '.join(RESOURCES)}")
    return RESOURCES[name]


class ResourceModel(Component):
    """Base: a model of one resource over time."""

    resource = Param(str, "pe_share", doc="which resource", choices=tuple(RESOURCES))

    def timeline(self, end_ps: int, rng: np.random.Generator) -> list[tuple[int, float]]:
        """(time_ps, value) change points in [0, end_ps), strictly increasing times."""
        raise NotImplementedError  # pragma: no cover - abstract

    def spec(self) -> ResourceSpec:
        return _spec(self.resource, type(self).__name__)

    @staticmethod
    def run(env: simpy.Environment, resource: str, timeline: list[tuple[int, float]],
            apply: Callable[[str, float], None]):
        """The SimPy process: apply each change at its time."""
        for t, v in timeline:
            if t > env.now:
                yield env.timeout(t - env.now)
            apply(resource, v)


def _dedupe(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep the last value per time and drop repeats of the current value."""
    out: list[tuple[int, float]] = []
    for t, v in points:
        if out and out[-1][0] == t:
            out[-1] = (t, v)
        elif not out or out[-1][1] != v:
            out.append((t, v))
    return out


class Piecewise(ResourceModel):
    """Piecewise-constant schedule: ``points=[(t_s, value), ...]``."""

    points = Param(list, [], doc="[(time_s, value), ...], the value holds until the next point")

    def validate(self) -> None:
        spec = self.spec()
        last = -1.0
        for i, p in enumerate(self.points):
            if not (isinstance(p, (tuple, list)) and len(p) == 2):
                raise ParamError(f"Piecewise.points[{i}] = {p!r} must be (time_s, value)")
            t, v = p
            t = check_time(t, f"Piecewise.points[{i}] time")
            if t < last:
                raise ParamError(f"Piecewise.points[{i}]: time {p[0]!r} s must not decrease")
            last = t
            spec.check(v, f"Piecewise.points[{i}]")

    def timeline(self, end_ps, rng):
        return _dedupe([(to_ps(t), float(v)) for t, v in self.points if to_ps(t) < end_ps])


class Periodic(ResourceModel):
    """A repeating pattern: ``pattern=[(duration_s, value), ...]`` cycled from ``start_s``."""

    pattern = Param(list, [], doc="[(duration_s, value), ...] repeated")
    start_s = Param(float, 0.0, unit="s", doc="when the pattern starts", min=0.0, max=MAX_TIME_S)

    def validate(self) -> None:
        spec = self.spec()
        if not self.pattern:
            raise ParamError("Periodic.pattern must hold at least one (duration_s, value)")
        for i, p in enumerate(self.pattern):
            if not (isinstance(p, (tuple, list)) and len(p) == 2):
                raise ParamError(f"Periodic.pattern[{i}] = {p!r} must be (duration_s > 0, value)")
            check_time(p[0], f"Periodic.pattern[{i}] duration", min_s=MIN_STEP_S)
            spec.check(p[1], f"Periodic.pattern[{i}]")

    def timeline(self, end_ps, rng):
        pts, t = [], to_ps(self.start_s)
        durs = [to_ps(d) for d, _ in self.pattern]
        n = len(durs) * max(0, end_ps - t) / sum(durs)
        if n > MAX_CHANGES:
            raise ParamError(f"Periodic.pattern: {n:.3g} changes over the run (allowed: at most {MAX_CHANGES:,}); "
                             "use longer durations")
        while t < end_ps:
            for d, (_, v) in zip(durs, self.pattern):
                if t >= end_ps:
                    break
                pts.append((t, float(v)))
                t += d
        return _dedupe(pts)


class Markov(ResourceModel):
    """A seeded Markov-modulated process: exponential dwell in each state, then a jump.

    ``states`` are the resource values, ``mean_dwell_s`` the mean time spent in each,
    ``transitions`` the jump probabilities (rows sum to 1; default: uniform over the others).
    """

    states = Param(list, [1.0, 0.5], doc="values of the states")
    mean_dwell_s = Param(list, [1.0, 0.5], doc="mean dwell time per state [s]")
    transitions = Param(list, [], doc="row-stochastic matrix; [] = jump uniformly to another state")
    initial = Param(int, 0, doc="index of the initial state", min=0)

    def validate(self) -> None:
        spec = self.spec()
        n = len(self.states)
        if n < 1:
            raise ParamError("Markov.states must hold at least one value")
        for i, v in enumerate(self.states):
            spec.check(v, f"Markov.states[{i}]")
        if len(self.mean_dwell_s) != n:
            raise ParamError(f"Markov.mean_dwell_s must hold {n} positive durations (one per state), got {self.mean_dwell_s!r}")
        for i, d in enumerate(self.mean_dwell_s):
            check_time(d, f"Markov.mean_dwell_s[{i}]", min_s=MIN_STEP_S)
        if self.initial >= n:
            raise ParamError(f"Markov.initial = {self.initial} must be < {n} (number of states)")
        if self.transitions:
            m = np.asarray(self.transitions, dtype=float)
            if m.shape != (n, n) or (m < 0).any() or not np.allclose(m.sum(axis=1), 1.0):
                raise ParamError(f"Markov.transitions must be a {n}x{n} matrix of probabilities whose rows sum to 1")

    def _matrix(self) -> np.ndarray:
        n = len(self.states)
        if self.transitions:
            return np.asarray(self.transitions, dtype=float)
        if n == 1:
            return np.ones((1, 1))
        m = np.full((n, n), 1.0 / (n - 1))
        np.fill_diagonal(m, 0.0)
        return m

    def expected_changes(self, end_ps: int) -> float:
        """Expected number of jumps in [0, end_ps): run time / the mean dwell of the jump chain's
        long-run state mix."""
        m = self._matrix()
        pi = np.full(len(self.states), 1.0 / len(self.states))
        for _ in range(200):
            pi = 0.5 * pi + 0.5 * pi @ m  # lazy power iteration: converges for periodic chains too
        mean = float(pi @ np.asarray(self.mean_dwell_s, dtype=float))
        return end_ps / PS_PER_S / mean if mean > 0 else math.inf

    def timeline(self, end_ps, rng):
        too_many = ParamError(f"Markov.mean_dwell_s = {self.mean_dwell_s!r}: more than {MAX_CHANGES:,} changes over "
                              "the run; use longer dwell times")
        if self.expected_changes(end_ps) > MAX_CHANGES:  # found out before generating them
            raise too_many
        m = self._matrix()
        # Generator.choice(n, p=row) draws one uniform u and takes cdf.searchsorted(u, 'right') with
        # cdf = row.cumsum() / row.cumsum()[-1]; the same with bisect is ~40x faster, same stream.
        cdfs = [(np.cumsum(r) / np.cumsum(r)[-1]).tolist() for r in m]
        dwell = [float(d) for d in self.mean_dwell_s]
        values = [float(v) for v in self.states]
        s, t, pts = self.initial, 0, []
        while t < end_ps:
            if len(pts) >= MAX_CHANGES:
                raise too_many
            pts.append((t, values[s]))
            t += max(1, to_ps(rng.exponential(dwell[s])))
            s = bisect.bisect_right(cdfs[s], rng.random())
        return _dedupe(pts)


class CsvReplay(ResourceModel):
    """Replay a CSV trace with columns ``time_s`` and ``value`` (names configurable)."""

    path = Param(str, "", doc="CSV file")
    time_column = Param(str, "time_s", doc="column holding the time in seconds")
    value_column = Param(str, "value", doc="column holding the resource value")

    def validate(self) -> None:
        self.spec()
        if not self.path or not os.path.isfile(self.path):
            raise ParamError(f"CsvReplay.path = {self.path!r}: no such file")

    def setup(self) -> None:
        self._points = self._read()  # once, when built (validate only checks)

    def _read(self) -> list[tuple[float, float]]:
        spec = self.spec()
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            for c in (self.time_column, self.value_column):
                if c not in cols:
                    raise ParamError(f"CsvReplay: {self.path} has no column {c!r}; columns: {', '.join(cols)}")
            pts, last = [], -1.0
            for n, row in enumerate(reader, start=2):
                try:
                    t, v = float(row[self.time_column]), float(row[self.value_column])
                except (TypeError, ValueError):
                    raise ParamError(f"CsvReplay: {self.path} line {n}: not a number") from None
                check_time(t, f"CsvReplay {self.path} line {n}: {self.time_column}")
                if t < last or t < 0:
                    raise ParamError(f"CsvReplay: {self.path} line {n}: time {t} s must be >= 0 and not decrease")
                last = t
                spec.check(v, f"CsvReplay {self.path} line {n}")
                pts.append((t, v))
        if not pts:
            raise ParamError(f"CsvReplay: {self.path} holds no rows")
        return pts

    def timeline(self, end_ps, rng):
        return _dedupe([(to_ps(t), v) for t, v in self._points if to_ps(t) < end_ps])


def merged_levels(timelines: dict[str, list[tuple[int, float]]]) -> list[tuple[int, dict[str, float]]]:
    """All resources' timelines merged: [(t_ps, {resource: value, ...}), ...] from t=0 on."""
    state = {n: s.nominal for n, s in RESOURCES.items()}
    times = sorted({t for tl in timelines.values() for t, _ in tl} | {0})
    out = []
    idx = {n: 0 for n in timelines}
    for t in times:
        for n, tl in timelines.items():
            while idx[n] < len(tl) and tl[idx[n]][0] <= t:
                state[n] = tl[idx[n]][1]
                idx[n] += 1
        out.append((t, dict(state)))
    return out
