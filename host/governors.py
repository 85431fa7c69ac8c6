"""Governors: choose each frame's configuration.

A governor sees a `GovernorView` (the frame's slack, the current resource level,
the energy left in the budget window, the stream's candidates and the profile
table) and returns a configuration id, or ``None`` to drop the frame.

Writing your own (the plug-in interface)::

    from host import Governor, register_governor
    from vocab.params import Param

    @register_governor("cautious")
    class Cautious(Governor):
        margin = Param(float, 0.8, doc="use this fraction of the slack", min=0, max=1)

        def choose(self, frame, view):
            ok = [c for c in view.candidates if view.latency_s(c) <= self.margin * view.slack_s]
            return max(ok, key=view.objective_value).config if ok else None

then name it in a scenario (``governor="cautious"``) or pass an instance.
When some candidate's accuracy is unknown (NaN) the stream's objective is the
declared proxy "useful_macs proxy" (rank by useful MACs); the trace records which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from vocab.params import Component, Param, ParamError
from vocab.units import PS_PER_S

from .frames import Frame
from .profile import Candidate, ProfileTable, ResourceLevel

OBJECTIVES = ("accuracy", "useful_macs proxy")  # the trace schema holds the same pair (a test checks)


@dataclass
class GovernorView:
    """What a governor may look at when choosing a frame's configuration."""

    now_ps: int
    frame: Frame
    candidates: list[Candidate]
    objective: str
    level: ResourceLevel
    energy_left_j: float
    profile: ProfileTable
    window_left_s: float = math.inf  # time left in the energy-budget window
    future: Callable[[int], list[tuple[int, ResourceLevel]]] | None = None  # oracle only

    @property
    def slack_s(self) -> float:
        return (self.frame.deadline_ps - self.now_ps) / PS_PER_S

    def latency_s(self, c: Candidate, scale: float = 1.0) -> float:
        return self.profile.predict(c.config, self.level)[0] * scale

    def energy_j(self, c: Candidate) -> float:
        return self.profile.predict(c.config, self.level)[1]

    @property
    def energy_share_j(self) -> float:
        """The budget left, paced over the frames still expected in this window (one per frame
        period, the frame's relative deadline): spending it all on the first frames of a window
        would leave the rest with nothing."""
        period_s = (self.frame.deadline_ps - self.frame.arrival_ps) / PS_PER_S
        if not math.isfinite(self.energy_left_j) or not math.isfinite(self.window_left_s) or period_s <= 0:
            return self.energy_left_j
        return self.energy_left_j / max(1.0, self.window_left_s / period_s)

    def objective_value(self, c: Candidate) -> float:
        return c.accuracy if self.objective == "accuracy" else float(c.useful_macs)


class Governor(Component):
    """Base class; subclasses implement `choose` and may implement `observe`."""

    name = "base"

    def choose(self, frame: Frame, view: GovernorView) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def observe(self, frame: Frame, predicted_latency_s: float, observed_latency_s: float) -> None:
        """Called when a frame this governor chose has finished."""

    def predicted_latency_s(self, config: str, view: GovernorView) -> float:
        return view.profile.predict(config, view.level)[0]


GOVERNORS: dict[str, type[Governor]] = {}


def register_governor(name: str):
    """Register a Governor subclass under ``name`` (a name already taken by another class is refused)."""

    def deco(cls: type[Governor]) -> type[Governor]:
        if not (isinstance(cls, type) and issubclass(cls, Governor)):
            raise TypeError(f"@register_governor({name!r}) must decorate a Governor subclass")
        if name in GOVERNORS and GOVERNORS[name] is not cls:
            have = GOVERNORS[name]
            raise ParamError(f"governor name {name!r} is already registered (to {have.__module__}.{have.__qualname__}); "
                             f"choose another name for {cls.__module__}.{cls.__qualname__}")
        cls.name = name
        GOVERNORS[name] = cls
        return cls

    return deco


def make_governor(spec: str | Governor, **params) -> Governor:
    if isinstance(spec, Governor):
        return spec
    if spec not in GOVERNORS:
        raise ParamError(f"governor = {spec!r} is not known; allowed: {', '.join(GOVERNORS)}")
    return GOVERNORS[spec](**params)


def _best(cands: list[Candidate], view: GovernorView) -> Candidate:
    """Highest objective; ties broken by lower predicted latency, then by id (deterministic)."""
    return max(cands, key=lambda c: (view.objective_value(c), -view.latency_s(c), c.config))


@register_governor("static")
class StaticGovernor(Governor):
    """Always the same configuration (default: the stream's best-objective candidate)."""

    config = Param(str, "", doc="configuration id; '' = the candidate with the highest objective")

    def choose(self, frame, view):
        if self.config:
            return self.config
        return _best(view.candidates, view).config


@register_governor("greedy")
class GreedyGovernor(Governor):
    """Highest objective whose predicted latency fits the slack and energy fits the budget."""

    margin = Param(float, 1.0, doc="use this fraction of the slack", min=0.0, max=1.0, min_exclusive=True)
    pace_energy = Param(bool, True, doc="spread the energy budget over the frames expected in the window "
                        "(False: spend it first come, first served)")
    on_infeasible = Param(str, "cheapest", doc="when nothing fits: run the fastest candidate, or drop",
                          choices=("cheapest", "drop"))

    def scale(self) -> float:
        return 1.0

    def choose(self, frame, view):
        k = self.scale()
        share = view.energy_share_j if self.pace_energy else view.energy_left_j
        fits = [c for c in view.candidates
                if view.latency_s(c, k) <= self.margin * view.slack_s and view.energy_j(c) <= share]
        if fits:
            return _best(fits, view).config
        if self.on_infeasible == "drop":
            return None
        affordable = [c for c in view.candidates if view.energy_j(c) <= view.energy_left_j]
        if not affordable:
            return None
        return min(affordable, key=lambda c: (view.latency_s(c), c.config)).config


@register_governor("feedback")
class FeedbackGovernor(GreedyGovernor):
    """Greedy, with predictions corrected by the observed/predicted latency ratio (EWMA)."""

    alpha = Param(float, 0.3, doc="EWMA weight of the newest observation", min=0.0, max=1.0, min_exclusive=True)

    def setup(self) -> None:
        self._k = 1.0  # the learned correction (each run gets a fresh governor: host.scheduler)

    def scale(self) -> float:
        return self._k

    def observe(self, frame, predicted_latency_s, observed_latency_s):
        if predicted_latency_s > 0 and math.isfinite(observed_latency_s):
            ratio = observed_latency_s / predicted_latency_s
            self._k = (1 - self.alpha) * self._k + self.alpha * ratio


@register_governor("oracle")
class OracleGovernor(Governor):
    """Knows the resource future: predicts each candidate's finish time by integrating its
    progress rate (1 / latency at each level) over the coming resource changes.
    An upper bound for evaluation, not a realisable policy."""

    wants_future = True

    def finish_ps(self, c: Candidate, view: GovernorView) -> float:
        assert view.future is not None
        segs = view.future(view.now_ps)
        done, t = 0.0, float(view.now_ps)
        for i, (t0, level) in enumerate(segs):
            t_start = max(t, float(t0))
            t_end = float(segs[i + 1][0]) if i + 1 < len(segs) else math.inf
            lat_ps = view.profile.predict(c.config, level)[0] * PS_PER_S
            need = (1.0 - done) * lat_ps
            if t_start + need <= t_end:
                return t_start + need
            done += (t_end - t_start) / lat_ps
            t = t_end
        return math.inf  # pragma: no cover - last segment is open-ended

    def choose(self, frame, view):
        fits = [c for c in view.candidates
                if self.finish_ps(c, view) <= frame.deadline_ps and view.energy_j(c) <= view.energy_left_j]
        if fits:
            return _best(fits, view).config
        affordable = [c for c in view.candidates if view.energy_j(c) <= view.energy_left_j]
        if not affordable:
            return None
        return min(affordable, key=lambda c: (self.finish_ps(c, view), c.config)).config
