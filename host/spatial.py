"""Spatial sharing of the accelerator between streams (issue 22).

Each stream runs in its own partition of the accelerator -- a disjoint group of PEs (and, with
``Scheduler.partition_bandwidth``, its own share of the DRAM bandwidth) -- so frames of different
streams run at the same time; a stream's own frames run one at a time, in the policy's order.
What the partitions do not partition (the NoC always; the DRAM unless partitioned) they share
in the SystemC model's bandwidth servers, in request order: that interference is simulated,
not assumed (Planaria, Ghodrati et al., MICRO 2020, for the PE split; MoCA, Kim et al., HPCA
2023, for partitioning memory bandwidth).

Rules (the shares are of the PEs the exogenous resource timelines leave, ``pe_share``):

* ``static``: stream ``i`` always holds ``Stream.share`` of the PEs (declared; they sum to at
  most 1), whether it has work or not.
* ``dynamic`` (Planaria-like: re-decided when a frame arrives and when one completes): the
  streams with work (a frame running or waiting) split the PEs in proportion to their weights,
  ``Stream.share`` or 1 where it is 0 (equal split by default); a stream without work holds
  nothing. A running frame's PE group grows or shrinks at its next tile boundary (the model's
  runtime resources act there); a growing group starts on the freed PEs at once (the at most one
  tile for which a shrinking tenant still holds them is not modelled as a wait).

A partition holds ``floor(share x pe_share x num_pes)`` PEs (at least one), its PE group is the
next range of PEs in stream order, and its DRAM share is ``share x dram_share`` when the
bandwidth is partitioned, else the whole (shared) ``dram_share``. The governor of a frame sees
exactly that level (`tenant_level`), so its prediction is for the share its frame gets; the
interference of shared bandwidth is not in it (the ``feedback`` governor learns it).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Iterable

import simpy

from vocab.params import ParamError

from .frames import Frame
from .profile import ResourceLevel

SPATIAL_POLICIES = ("none", "static", "dynamic")
#: partitions of the accelerator (accelerator/src/partition.h's MAX_PARTITIONS; the bridge checks)
MAX_PARTITIONS = 4


def tenant_level(exo: ResourceLevel, share: float, partition_bandwidth: bool) -> ResourceLevel:
    """The resource level a tenant holding ``share`` of the accelerator sees."""
    dram = exo.dram_share * share if partition_bandwidth else exo.dram_share
    return ResourceLevel(exo.pe_share * share, exo.clock_scale, dram)


def weight(stream) -> float:
    return stream.share if stream.share > 0 else 1.0


def shares(scheduler, streams: list, active: Iterable[str]) -> dict[str, float]:
    """Each stream's share of the accelerator now (``active``: streams with a frame running or waiting)."""
    if scheduler.spatial == "static":
        return {s.name: s.share for s in streams}
    act = set(active)
    w = {s.name: weight(s) for s in streams if s.name in act}
    tot = sum(w.values())
    return {n: v / tot for n, v in w.items()}


def check(scheduler, streams: list, partitions: int) -> None:
    """One clear line for a spatial configuration that cannot run."""
    mode = scheduler.spatial
    if mode == "none":
        return
    if len(streams) > partitions:
        raise ParamError(f"Scheduler.spatial = {mode!r} runs each stream in its own partition: at most "
                         f"{partitions} streams, got {len(streams)}")
    if mode == "static":
        unset = [s.name for s in streams if not s.share > 0]
        if unset:
            raise ParamError(f"Stream.share of {', '.join(unset)} must be in (0, 1] under Scheduler.spatial = 'static' "
                             "(each stream declares its share of the PEs)")
        tot = sum(s.share for s in streams)
        if tot > 1.0 + 1e-9:
            parts = " + ".join(f"{s.name} {s.share:g}" for s in streams)
            raise ParamError(f"Stream.share: the shares sum to {tot:g} ({parts}); under Scheduler.spatial = 'static' "
                             "they must sum to at most 1")


def levels(scheduler, streams: list, exo_levels: Iterable[ResourceLevel]) -> set[ResourceLevel]:
    """Every level a spatial tenant's governor can see (the profile is measured at each)."""
    exo = list(exo_levels)
    if scheduler.spatial == "static":
        fracs = {s.share for s in streams}
    else:
        fracs = set()
        names = [s.name for s in streams]
        for k in range(1, len(names) + 1):
            for act in combinations(names, k):
                fracs |= set(shares(scheduler, streams, act).values())
    return {tenant_level(lv, f, scheduler.partition_bandwidth) for lv in exo for f in fracs}


class SpatialHost:
    """The dispatch of a spatial run: one SimPy process per stream, each serving its stream's
    frames one at a time in its own partition (`Host` keeps the queue, governors and accounting)."""

    def __init__(self, host: Any) -> None:
        self.h = host
        check(host.sched, host.streams, int(host.port.partitions))
        self.index = {s.name: i for i, s in enumerate(host.streams)}
        self.running: dict[str, Frame] = {}
        self.wakes: dict[str, simpy.Event] = {}
        self.settled: dict[str, simpy.Event] = {}
        self.level_now: dict[str, ResourceLevel | None] = {}
        self.group: dict[str, tuple[int, int]] = {}  # PE group: (first PE, PEs)
        self.applied: dict[int, tuple[float, float]] = {}  # partition -> (pe_share, dram_share) set
        self.pes: dict[int, int] = {}  # partition -> its PEs as set
        self.acc: dict[str, list[float]] = {}  # running frame: [since, pe_share x time, dram_share x time]
        self.repartition()
        for s in host.streams:
            host.env.process(self.dispatch(s))

    # ---- the partitions ----------------------------------------------------------
    def active(self) -> set[str]:
        return set(self.running) | {f.stream for f in self.h.queue}

    def repartition(self) -> None:
        """Give each partition its share now (a running frame's group changes at its next tile)."""
        h = self.h
        pb = h.sched.partition_bandwidth
        exo = h.level()
        sh = shares(h.sched, h.streams, self.active())
        first = 0
        for s in h.streams:
            i, name = self.index[s.name], s.name
            self._accumulate(name)
            f = sh.get(name, 0.0)
            lv = tenant_level(exo, f, pb) if f > 0 else None
            self.level_now[name] = lv
            last = self.applied.get(i)
            if lv is not None:
                want = (lv.pe_share, lv.dram_share)
            else:  # no work: its PEs are the others' (partition 0 still sets the shared DRAM channel's share)
                pe = last[0] if last else exo.pe_share
                dram = (last[1] if last else 1.0) if pb else exo.dram_share
                want = (pe, dram)
            if want != last:
                self.applied[i] = want
                self.pes[i] = h.port.partition(i, *want)
            n = self.pes[i] if lv is not None else 0
            self.group[name] = (first, n)
            first += n

    def _accumulate(self, name: str) -> None:
        a = self.acc.get(name)
        if a is not None:
            now = self.h.env.now
            lv = self.level_now[name]
            a[1] += lv.pe_share * (now - a[0])
            a[2] += lv.dram_share * (now - a[0])
            a[0] = now

    def arrived(self, frame: Frame) -> None:
        if self.h.sched.spatial == "dynamic":
            self.repartition()
        w = self.wakes.get(frame.stream)
        if w is not None and not w.triggered:
            w.succeed()

    def _set_inflight(self) -> None:
        run = [self.settled[s.name] for s in self.h.streams if s.name in self.running]
        self.h.inflight = run[0] if run else None

    # ---- one stream's process ----------------------------------------------------------
    def dispatch(self, stream: Any):
        h, env, name = self.h, self.h.env, stream.name
        while True:
            mine = [f for f in h.queue if f.stream == name]
            if not mine:
                self.wakes[name] = env.event()
                yield self.wakes[name]
                continue
            frame = min(mine, key=h._rank_key())
            h.queue.remove(frame)
            started = self._start(frame)
            if started is None:
                self.repartition()
                continue
            done, settled = started
            outcome = yield done
            self._accumulate(name)
            a = self.acc.pop(name)
            del self.running[name]
            dt = outcome.end_ps - frame.start_ps
            frame.pe_share = a[1] / dt if dt > 0 else self.level_now[name].pe_share
            frame.dram_share = a[2] / dt if dt > 0 else self.level_now[name].dram_share
            h._finish(frame, outcome)
            self.repartition()
            settled.succeed()
            self._set_inflight()

    def _start(self, frame: Frame):
        """Choose the frame's configuration for the share it gets and submit it to its partition."""
        h, env, name = self.h, self.h.env, frame.stream
        if h.sched.late == "drop" and env.now >= frame.deadline_ps:
            h._finish_dropped(frame)
            return None
        self.running[name] = frame  # active while it is decided: its share is in the level
        if self.level_now.get(name) is None:
            self.repartition()
        lv = self.level_now[name]
        gov = h.governors[name]
        view = h.view(frame, gov, lv)
        config = gov.choose(frame, view)
        if config is None:
            del self.running[name]
            h._finish_dropped(frame)
            return None
        if config not in h.candidates:
            raise ParamError(f"governor {gov.name!r} chose {config!r}, which is not a candidate of stream {name!r}")
        config = h.candidates[config].config
        h._tag += 1
        frame.tag, frame.config, frame.start_ps = h._tag, config, env.now
        frame.isolated_ps = -1
        frame.isolated_ps = h._isolated_ps(frame)
        frame.partition = self.index[name]
        frame.pe_first, frame.pe_count = self.group[name]
        h._ctx[frame.tag] = (gov, gov.predicted_latency_s(config, view))
        self.acc[name] = [env.now, 0.0, 0.0]
        done = h.port.submit_to(config, frame.tag, self.index[name])
        settled = self.settled[name] = env.event()
        self._set_inflight()
        if h.sched.late == "abort":
            env.process(h._abort_at_deadline(frame, done))
        return done, settled


__all__ = ["MAX_PARTITIONS", "SPATIAL_POLICIES", "SpatialHost", "check", "levels", "shares", "tenant_level"]
