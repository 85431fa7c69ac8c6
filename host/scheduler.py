"""Streams and the scheduler of the shared accelerator.

`Host` wires the SimPy processes: one `FrameSource` process per stream, one
process per resource timeline, and one dispatcher that serves the queue of
frames on the single accelerator (FIFO, EDF or fixed priority), asks the
stream's governor for a configuration and handles late work (drop stale frames,
abort at the deadline, or finish late).
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import numpy as np
import simpy

from vocab.params import Component, Param, ParamError, REQUIRED
from vocab.names import PREEMPT_GRANULARITIES, PREEMPT_MECHANISMS
from vocab.units import MAX_TIME_S, MIN_STEP_S, PS_PER_S, to_ps

from .frames import Frame, FrameSource
from .governors import OBJECTIVES, Governor, GovernorView, make_governor
from .port import AcceleratorPort, Outcome
from .profile import Candidate, ProfileTable, ResourceLevel
from .resources import RESOURCES, ResourceModel, merged_levels
from .spatial import SPATIAL_POLICIES, SpatialHost


class Stream(Component):
    """A stream of frames for one model family, with its own governor and priority."""

    name = Param(str, REQUIRED, doc="stream name (goes into the trace)")
    candidates = Param(list, REQUIRED, doc="configuration ids the governor may choose among")
    source = Param(FrameSource, FrameSource(), doc="frame source (rate, jitter, deadline, changes)")
    governor = Param(object, "greedy", doc="governor name (static, greedy, feedback, oracle, or registered) or instance")
    priority = Param(int, 0, doc="fixed priority (higher runs first under the 'priority' policy)")
    share = Param(float, 0.0, min=0.0, max=1.0, doc="spatial sharing (Scheduler.spatial): 'static': the stream's "
                  "share of the PEs (and of the DRAM bandwidth if partitioned); 'dynamic': its weight (0: 1)")

    def validate(self) -> None:
        if not self.name or "/" in self.name:
            raise ParamError(f"Stream.name = {self.name!r} must be a non-empty name without '/'")
        if not self.candidates or not all(isinstance(c, str) for c in self.candidates):
            raise ParamError(f"Stream {self.name!r}: candidates must be a non-empty list of configuration ids")
        make_governor(self.governor)  # a clear error for an unknown name; the Stream stays as given

    def all_candidates(self) -> list[str]:
        """Every configuration the stream may ask for during the run (incl. later changes)."""
        out = list(self.candidates)
        for ch in self.source.changes:
            for c in ch.candidates or ():
                if c not in out:
                    out.append(c)
        return out


class Scheduler(Component):
    """How the one accelerator is shared between frames and what happens to late work."""

    policy = Param(str, "edf", doc="queue order; 'prema': PREMA's token-based policy (Choi and Rhu, HPCA 2020)",
                   choices=("fifo", "edf", "priority", "prema"))
    late = Param(str, "drop", doc="late work: drop frames already past their deadline when they could start; "
                 "abort a running frame at its deadline; or finish late", choices=("drop", "abort", "finish"))
    skip_superseded = Param(bool, False, doc="drop a queued frame when a newer frame of the same stream arrives")
    budget_window_s = Param(float, 1.0, unit="s", doc="window of the energy budget", min=MIN_STEP_S, max=MAX_TIME_S)
    preemption = Param(str, "none", doc="where a running inference may be preempted for a waiting frame the policy "
                       "ranks first: never, at a layer boundary, at a tile boundary", choices=PREEMPT_GRANULARITIES)
    mechanism = Param(str, "checkpoint", doc="how a preempted inference stops (PREMA): kill (redo it later), "
                      "checkpoint (spill its live state to DRAM, restore it), drain (finish its layer first)",
                      choices=PREEMPT_MECHANISMS)
    spatial = Param(str, "none", doc="spatial sharing: each stream in its own partition of the PEs, run at once "
                    "(host/spatial.py): never; 'static' shares (Stream.share); 'dynamic', re-split at each "
                    "arrival and completion among the streams with work", choices=SPATIAL_POLICIES)
    partition_bandwidth = Param(bool, False, doc="spatial sharing: each partition its own DRAM channel of its share "
                                "of the bandwidth (else the partitions share the channel and interfere)")

    def validate(self) -> None:
        if self.spatial != "none" and self.preemption != "none":
            raise ParamError(f"Scheduler.spatial = {self.spatial!r} runs each stream in its own partition: "
                             f"preemption must be 'none', not {self.preemption!r}")
        if self.partition_bandwidth and self.spatial == "none":
            raise ParamError("Scheduler.partition_bandwidth = True needs Scheduler.spatial = 'static' or 'dynamic'")
        if self.policy == "fifo" and self.preemption != "none":
            raise ParamError(f"Scheduler.preemption = {self.preemption!r} needs a policy that can rank a waiting frame "
                             "above the running one (edf, priority, prema), not 'fifo'")

    @property
    def can_preempt(self) -> bool:
        return self.preemption != "none"

    @property
    def tenants(self) -> bool:
        """A multi-tenant run (preemptive or PREMA): the preemptive dispatcher, and a trace with the
        tenancy columns (preemption counters and energy, isolated latency, preemptions per frame)."""
        return self.can_preempt or self.policy == "prema" or self.spatial != "none"


def fresh_governor(spec: str | Governor) -> Governor:
    """A new governor for one run: by name, or a new instance with the parameters of the one given."""
    if isinstance(spec, Governor):
        try:
            return type(spec)(**spec.to_dict())
        except TypeError:  # a governor with its own constructor: a deep copy of it
            return copy.deepcopy(spec)
    return make_governor(spec)


def resource_timelines(resources: list[ResourceModel], end_ps: int, seed: int) -> dict[str, list[tuple[int, float]]]:
    """Each resource model's full timeline for a run (its own seeded generator per model)."""
    names = [r.resource for r in resources]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ParamError(f"resources: more than one model for {', '.join(sorted(dup))}; give one model per resource")
    seeds = np.random.SeedSequence([seed, 1]).spawn(len(resources))
    return {r.resource: r.timeline(end_ps, np.random.default_rng(sq)) for r, sq in zip(resources, seeds)}


def objective_of(cands: list[Candidate]) -> str:
    """'accuracy' when every candidate's accuracy is known, else the declared proxy 'useful_macs proxy'."""
    return OBJECTIVES[0] if all(not math.isnan(c.accuracy) for c in cands) else OBJECTIVES[1]


class Host:
    """The running host: its processes and state for one simulation."""

    def __init__(
        self,
        env: simpy.Environment,
        port: AcceleratorPort,
        streams: list[Stream],
        resources: list[ResourceModel],
        scheduler: Scheduler,
        candidates: dict[str, Candidate],
        profile: ProfileTable,
        end_ps: int,
        seed: int,
        on_frame: Callable[[Frame], None],
        on_resource: Callable[[int, str, float], None],
    ) -> None:
        self.env, self.port, self.streams, self.sched = env, port, streams, scheduler
        self.candidates, self.profile, self.end_ps = candidates, profile, end_ps
        self.on_frame, self.on_resource = on_frame, on_resource
        self.levels = {n: s.nominal for n, s in RESOURCES.items()}
        self.queue: list[Frame] = []
        self._wake: simpy.Event | None = None
        self._tag = 0
        self._window = -1
        self._spent = 0.0
        self.inflight: simpy.Event | None = None  # completion event of the running frame
        self.by_name = {s.name: s for s in streams}
        # Each run gets fresh governors: learned state never leaks between runs or Systems.
        self.governors = {s.name: fresh_governor(s.governor) for s in streams}
        # Resource futures are fixed up front (deterministic from the seed), then replayed.
        self.timelines = resource_timelines(resources, end_ps, seed)
        self._future = merged_levels(self.timelines)
        for name, tl in self.timelines.items():
            env.process(ResourceModel.run(env, name, tl, self.apply))
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 0]).spawn(len(streams))]
        for i, s in enumerate(streams):
            env.process(s.source.run(env, s.name, s.priority, tuple(s.candidates), self.arrive, rngs[i], end_ps))
        self.running: Frame | None = None
        self._ctx: dict[int, tuple] = {}  # tag -> (governor, predicted latency) of frames started (preemptive)
        if scheduler.spatial != "none":
            self.spatial = SpatialHost(self)
        else:
            self.spatial = None
            env.process(self.preemptive_dispatcher() if scheduler.tenants else self.dispatcher())

    # ---- inputs ---------------------------------------------------------------
    def apply(self, resource: str, value: float) -> None:
        self.levels[resource] = value
        if self.spatial is not None and resource in ("pe_share", "dram_share"):
            self.spatial.repartition()  # the partitions take their shares of what is left
        elif resource != "energy_budget_j":
            self.port.apply(resource, value)
        self.on_resource(self.env.now, resource, value)

    def arrive(self, frame: Frame) -> None:
        if self.sched.skip_superseded:
            for old in [f for f in self.queue if f.stream == frame.stream]:
                self.queue.remove(old)
                self._finish_dropped(old)
        self.queue.append(frame)
        if self.spatial is not None:
            self.spatial.arrived(frame)
        elif self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    # ---- policy -----------------------------------------------------------------
    def _pick(self) -> Frame:
        f = min(self.queue, key=self._rank_key())
        self.queue.remove(f)
        return f

    def _rank_key(self) -> Callable[[Frame], tuple]:
        """The policy's order of frames (the smallest runs first)."""
        p = self.sched.policy
        if p == "fifo":
            return lambda f: (f.arrival_ps, f.stream, f.index)
        if p == "edf":
            return lambda f: (f.deadline_ps, f.arrival_ps, f.stream, f.index)
        if p == "prema":
            return self._prema_key()
        return lambda f: (-f.priority, f.arrival_ps, f.stream, f.index)

    def level(self) -> ResourceLevel:
        return ResourceLevel.of(self.levels)

    def energy_left_j(self) -> float:
        w = int(self.env.now // to_ps(self.sched.budget_window_s))
        if w != self._window:
            self._window, self._spent = w, 0.0
        return self.levels["energy_budget_j"] - self._spent

    def window_left_s(self) -> float:
        w = to_ps(self.sched.budget_window_s)
        return (w - self.env.now % w) / PS_PER_S

    def future(self, now_ps: int) -> list[tuple[int, ResourceLevel]]:
        out = []
        for t, lv in self._future:
            if t <= now_ps:
                out = [(now_ps, ResourceLevel.of(lv))]
            else:
                out.append((t, ResourceLevel.of(lv)))
        return out

    def view(self, frame: Frame, governor: Governor, level: ResourceLevel | None = None) -> GovernorView:
        cands = [self.candidates[c] for c in frame.candidates]
        return GovernorView(
            now_ps=self.env.now, frame=frame, candidates=cands, objective=objective_of(cands),
            level=self.level() if level is None else level, energy_left_j=self.energy_left_j(), profile=self.profile,
            window_left_s=self.window_left_s(),
            future=self.future if getattr(governor, "wants_future", False) else None,
        )

    def _choose(self, frame: Frame) -> tuple[Governor, float] | None:
        """Ask the frame's governor for its configuration and start the frame on it now (its
        tag, canonical configuration id and start time set): the governor and its predicted
        latency (s). None if the governor drops the frame (then finished as dropped)."""
        gov = self.governors[frame.stream]
        view = self.view(frame, gov)
        config = gov.choose(frame, view)
        if config is None:
            self._finish_dropped(frame)
            return None
        if config not in self.candidates:
            raise ParamError(f"governor {gov.name!r} chose {config!r}, which is not a candidate of stream {frame.stream!r}")
        config = self.candidates[config].config  # the canonical id
        predicted = gov.predicted_latency_s(config, view)
        self._tag += 1
        frame.tag, frame.config, frame.start_ps = self._tag, config, self.env.now
        return gov, predicted

    # ---- the dispatcher process ------------------------------------------------
    def dispatcher(self):
        env = self.env
        while True:
            if not self.queue:
                self._wake = env.event()
                yield self._wake
                continue
            frame = self._pick()
            if self.sched.late == "drop" and env.now >= frame.deadline_ps:
                self._finish_dropped(frame)
                continue
            chosen = self._choose(frame)
            if chosen is None:
                continue
            gov, predicted = chosen
            config = frame.config
            done = self.inflight = self.port.submit(config, frame.tag)
            if self.sched.late == "abort":
                env.process(self._abort_at_deadline(frame, done))
            outcome: Outcome = yield done
            self.inflight = None
            frame.end_ps, frame.energy_j, frame.aborted = outcome.end_ps, outcome.energy_j, outcome.aborted
            frame.accuracy = math.nan if outcome.aborted else self.candidates[config].accuracy
            frame.outcome = outcome
            self.energy_left_j()  # roll the window if needed
            self._spent += outcome.energy_j
            gov.observe(frame, predicted, (outcome.end_ps - outcome.start_ps) / PS_PER_S)
            self.on_frame(frame)

    def _abort_at_deadline(self, frame: Frame, done: simpy.Event):
        if frame.deadline_ps > self.env.now:
            yield self.env.timeout(frame.deadline_ps - self.env.now)
        if not done.triggered:
            self.port.abort(frame.tag)

    def _finish_dropped(self, frame: Frame) -> None:
        frame.dropped = True
        self.on_frame(frame)

    def drain(self) -> None:
        """At the end of the run: frames still queued are reported as dropped (not run)."""
        for f in sorted(self.queue, key=lambda f: (f.arrival_ps, f.stream, f.index)):
            if f.suspended:  # preempted part-way: it ends as aborted, with what it did
                f.suspended = False
                self._finish(f, self.port.discard(f.tag))
            else:
                self._finish_dropped(f)
        self.queue.clear()

    # ---- tenants: preemptive scheduling ------------------------------------------------
    # PREMA's token policy (Choi and Rhu, HPCA 2020, arXiv:1909.04548), as this host applies it:
    # a frame's tokens are its priority weight (3**priority: PREMA's 1, 3, 9 for low, medium,
    # high) times its slowdown so far, (time since arrival + isolated latency) / isolated latency;
    # the frames holding at least a third of the most tokens are candidates, and the candidate
    # with the shortest isolated latency runs (shortest job first among them).
    def _isolated_ps(self, f: Frame) -> int:
        """The frame's latency alone on the accelerator at full resources (profile): of its
        configuration once chosen, else of its fastest candidate."""
        if f.isolated_ps < 0 or not f.config:
            full = ResourceLevel()
            cs = [f.config] if f.config else list(f.candidates)
            return max(1, int(min(self.profile.predict(self.candidates[c].config, full)[0] for c in cs) * PS_PER_S))
        return f.isolated_ps

    def _tokens(self, f: Frame) -> float:
        iso = self._isolated_ps(f)
        return 3.0 ** f.priority * (self.env.now - f.arrival_ps + iso) / iso

    def _prema_key(self) -> Callable[[Frame], tuple]:
        pool = self.queue + ([self.running] if self.running is not None else [])
        top = max(self._tokens(f) for f in pool)
        return lambda f: (self._tokens(f) < top / 3.0, self._isolated_ps(f), f.arrival_ps, f.stream, f.index)

    def _beats(self, waiting: Frame, running: Frame) -> bool:
        """Does the policy rank ``waiting`` strictly before the running frame?"""
        key = self._rank_key()
        kw, kr = key(waiting), key(running)
        if self.sched.policy == "prema":
            return kw < kr
        return kw[0] < kr[0]  # strictly earlier deadline / higher priority: equal ranks do not preempt

    def _start(self, frame: Frame):
        """Start (or resume) a frame; None if it was dropped instead."""
        env = self.env
        if self.sched.late == "drop" and env.now >= frame.deadline_ps:
            if frame.suspended:
                self._finish(frame, self.port.discard(frame.tag))
            else:
                self._finish_dropped(frame)
            return None
        if frame.suspended:
            frame.suspended = False
            return self.port.resume(frame.tag), None, None
        chosen = self._choose(frame)
        if chosen is None:
            return None
        gov, predicted = chosen
        frame.isolated_ps = -1
        frame.isolated_ps = self._isolated_ps(frame)
        done = self.port.submit(frame.config, frame.tag)
        if self.sched.late == "abort":
            env.process(self._abort_preemptible(frame))
        return done, gov, predicted

    def preemptive_dispatcher(self):
        """The dispatcher with preemption: a waiting frame the policy ranks strictly before the
        running one preempts it (at the scheduler's granularity, with its mechanism); the
        preempted frame waits in the queue and resumes where it stopped when it ranks first."""
        env = self.env
        while True:
            if self.running is None:
                if not self.queue:
                    self._wake = env.event()
                    yield self._wake
                    continue
                frame = self._pick()
                got = self._start(frame)
                if got is None:
                    continue
                done, gov, predicted = got
                if gov is not None:
                    self._ctx[frame.tag] = (gov, predicted)
                # `inflight` (what the end of a run waits for) succeeds once the outcome is handled
                self.running, self._done, self.inflight = frame, done, env.event()
                asked = False
            frame, done = self.running, self._done
            if (not asked and self.sched.can_preempt and self.queue
                    and self._beats(min(self.queue, key=self._rank_key()), frame)):
                asked = self.port.preempt(frame.tag, self.sched.mechanism, self.sched.preemption)
            self._wake = env.event()
            yield done | self._wake
            if not done.triggered:
                continue  # an arrival: rank again
            outcome: Outcome = done.value
            settled = self.inflight
            self.running = self._done = self.inflight = None
            if outcome.preempted:
                frame.suspended = True
                frame.preemptions += 1
                self.queue.append(frame)
            else:
                self._finish(frame, outcome)
            settled.succeed()

    def _finish(self, frame: Frame, outcome: Outcome, *_) -> None:
        gov, predicted = self._ctx.pop(frame.tag, (None, None))
        frame.end_ps, frame.energy_j, frame.aborted = outcome.end_ps, outcome.energy_j, outcome.aborted
        frame.accuracy = math.nan if outcome.aborted else self.candidates[frame.config].accuracy
        frame.outcome = outcome
        self.energy_left_j()
        self._spent += outcome.energy_j
        if gov is not None:
            gov.observe(frame, predicted, (outcome.end_ps - outcome.start_ps) / PS_PER_S)
        self.on_frame(frame)

    def _abort_preemptible(self, frame: Frame):
        """late='abort' with preemption: at the deadline, abort the frame if it runs, discard it if
        it waits preempted."""
        if frame.deadline_ps > self.env.now:
            yield self.env.timeout(frame.deadline_ps - self.env.now)
        if frame.end_ps >= 0:
            return
        if frame.suspended and frame in self.queue:
            self.queue.remove(frame)
            frame.suspended = False
            self._finish(frame, self.port.discard(frame.tag))
        elif self.running is frame:
            self.port.abort(frame.tag)
