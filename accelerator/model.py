"""The accelerator as seen from Python: one SystemC model per process, driven in time.

    acc = Accelerator.for_process(load_preset("simba-like"))
    h = acc.load(workload)                  # map + send the layer program to C++ (cached by content)
    h = acc.load(reduced, reference=full)   # a dynamic configuration: the full model's mapping
    acc.submit(h, tag="frame-0")
    done = acc.run_until(t_ps)              # advance SystemC; returns early at a completion
    r = acc.result("frame-0")               # counters, energy, latency, roofline

    r = acc.run(workload)                   # standalone: submit and run to completion

Time is integer picoseconds (SystemC's resolution). ``run_until(t)`` calls
``sc_start(t - now)``; the model calls ``sc_pause()`` the moment an inference completes,
so the call returns at exactly that time with the completion. Runtime resources
(``set_resources``) and ``abort()`` apply from the current instant; the model picks them
up at the next tile boundary.

A SystemC kernel elaborates once per process, so there is one `Accelerator` per process,
obtained (and re-targeted) explicitly with `Accelerator.for_process(hw)`: with other
`HardwareParams` the idle model takes them (no parameter shapes the module hierarchy), so one
process can run several hardware points one after another. ``Accelerator(hw)`` is refused: a
constructor that returns a shared object and changes it for every other holder is a trap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Hashable, Sequence

import numpy as np

from vocab.units import S_PER_PS
from workloads.ir import Layer, Workload

from .counters import COUNTER_INDEX, NUM_COUNTERS
from .hw_config import fill_hw_config
from .invariants import check_program, check_result
from .mapping import Mapping, energy_model, map_layers, map_layers_like
from .params import HardwareParams, ParamError, RuntimeResources
from .program import encode_program
from .result import InferenceResult

__all__ = ["Accelerator", "InferenceResult", "Completion", "ProgramHandle", "ElaborationError"]

_C = COUNTER_INDEX


class ElaborationError(RuntimeError):
    """A second accelerator with different elaboration parameters in the same process."""


@dataclass(frozen=True)
class ProgramHandle:
    """A layer program loaded into the C++ model (one per configuration)."""

    id: int
    key: tuple
    model: str
    config: str
    layers: tuple[Layer, ...]
    mappings: tuple[Mapping, ...]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    @cached_property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(l.name for l in self.layers)

    @cached_property
    def layer_ops(self) -> tuple[str, ...]:
        return tuple(l.op for l in self.layers)


@dataclass(frozen=True)
class Completion:
    """An inference that ended (all outputs stored, or aborted) at ``end_ps``."""

    tag: Hashable
    end_ps: int
    start_ps: int
    submit_ps: int
    aborted: bool
    preempted: bool = False  # stopped, not ended: `Accelerator.resume` (or `discard`) it later


_INSTANCE: "Accelerator | None" = None


def _hw_config(ns, hw: HardwareParams):
    """The C++ ``HwConfig`` of ``hw``, filled by its declaration (`accelerator.hw_config`)."""
    return fill_hw_config(ns.HwConfig(), hw)


class Accelerator:
    """The SystemC accelerator of this process (see the module docstring)."""

    def __new__(cls, *args, **kw):
        raise TypeError("Accelerator(hw) is not a constructor: a process has one SystemC model; "
                        "use Accelerator.for_process(hw), which re-targets that one model to hw")

    @classmethod
    def for_process(cls, hw: HardwareParams | None = None) -> "Accelerator":
        """The process's one SystemC model, set to ``hw`` (default: `HardwareParams.default()`).

        Elaborated on first use. Later: with other parameters the idle model is re-targeted
        (its programs dropped; refused while inferences are queued, running or preempted);
        with the same parameters an idle model is reset to full resources, whatever an
        earlier user left set. Every holder of the model sees these changes: there is one."""
        global _INSTANCE
        hw = hw if hw is not None else HardwareParams.default()
        if _INSTANCE is not None:
            if _INSTANCE.hw != hw:
                _INSTANCE._retarget(hw)
            elif not (_INSTANCE.busy or _INSTANCE._jobs):
                _INSTANCE.set_resources(RuntimeResources.full(hw))
                _INSTANCE.reset_partitions()
            return _INSTANCE
        self = object.__new__(cls)
        self._init(hw)
        _INSTANCE = self
        return self

    def _retarget(self, hw: HardwareParams) -> None:
        """Point the process's one SystemC model at other hardware parameters (idle only).

        The kernel elaborates once per process, but no hardware parameter shapes the module
        hierarchy, so the elaborated model takes the new values; programs (mapped for the old
        hardware) are dropped.
        """
        if not isinstance(hw, HardwareParams):
            raise ParamError(f"Accelerator needs a HardwareParams, got {type(hw).__name__}")
        hw.validate()
        if self.busy or self._jobs:
            raise ElaborationError(
                f"this process's accelerator ({self.hw.name!r}) still has inferences queued or running; "
                f"it can take other hardware parameters ({hw.name!r}) only when idle")

        self._core.reconfigure(_hw_config(self._ns, hw))
        self.hw = hw
        self.energy_model = energy_model(hw)  # the mapper's, shared
        self._programs.clear()
        self._time_ok.clear()
        self._done.clear()
        self._resources = RuntimeResources.full(hw)

    def _init(self, hw: HardwareParams) -> None:
        from . import loader

        if not isinstance(hw, HardwareParams):
            raise ParamError(f"Accelerator needs a HardwareParams, got {type(hw).__name__}")
        hw.validate()
        self.hw = hw
        self._ns = loader.load()
        if self._ns.NUM_COUNTERS != NUM_COUNTERS:
            raise RuntimeError("the C++ counters (generated from vocab.names.COUNTERS) and accelerator/counters.py "
                               "disagree: a stale build?")
        self._core = self._ns.make_model(_hw_config(self._ns, hw))
        self._core.init()
        self.energy_model = energy_model(hw)  # the mapper's, shared
        self._programs: dict[tuple, ProgramHandle] = {}
        self._pid = itertools.count(1)
        self._auto_tag = itertools.count(1)
        self._jobs: dict[Hashable, dict] = {}  # tag -> submitted, not completed
        self._by_job: dict[int, Hashable] = {}
        self._done: dict[Hashable, dict] = {}  # tag -> completed, raw counters
        self._time_ok: set[tuple] = set()  # (program, resources) within the time range
        self._resources = RuntimeResources.full(hw)

    # -- programs ------------------------------------------------------------------------
    def load(self, workload: Workload | Sequence[Layer], config: str | None = None,
             mappings: Sequence[Mapping] | None = None,
             reference: "Workload | Sequence[Layer] | ProgramHandle | None" = None) -> ProgramHandle:
        """Map a workload and load its layer program into the model (cached by content: the
        names and the layers, and the reference's).

        ``reference``: the FULL configuration of a dynamic model (its Workload, its layers, or
        its loaded ProgramHandle). The model is then mapped once, for the reference, and this
        (reduced) configuration runs the same mapping with shorter loop trip counts: each layer
        whose name matches a reference layer reuses that layer's tiling, loop order and PE
        partition with tile sizes clipped to its dimensions; other layers are mapped on their
        own (`accelerator.mapping.map_layers_like`). Removing work then never increases
        latency or energy. Without a reference every layer is mapped (optimised) on its own.

        ``mappings`` overrides the mapper (one per layer; not cached, not checked against
        the buffers): for experiments with tilings and loop orders.
        """
        if isinstance(workload, Workload):
            layers = tuple(workload.layers)
            model, cfg = workload.model, workload.config
        else:
            layers = tuple(workload)
            model, cfg = "", config or ""
        # by content: the layers themselves (equal name and length is not the same program)
        key = ("program", model, cfg, layers)
        if mappings is not None:
            if len(mappings) != len(layers):
                raise ValueError(f"{len(mappings)} mappings for {len(layers)} layers")
            key = ("explicit", next(self._pid))
            mappings = tuple(mappings)
        else:
            ref_layers, ref_maps, ref_key = self._reference(reference)
            key = key + (ref_key,)
            h = self._programs.get(key)
            if h is not None:
                return h
            if ref_layers is None:
                mappings = tuple(map_layers(layers, self.hw))
            else:
                mappings = tuple(map_layers_like(layers, ref_layers, self.hw, ref_maps))
        check_program(self.hw, layers, mappings, name=cfg or model)  # before any work: fits the time range
        prog = np.ascontiguousarray(encode_program(layers, mappings, self.hw))
        pid = next(self._pid)
        if key[0] == "explicit":
            key = ("explicit", pid)
        flat = prog.ravel()
        self._core.load_program(pid, len(layers), flat, flat.size)
        h = ProgramHandle(id=pid, key=key, model=model, config=cfg, layers=layers, mappings=mappings)
        if key[0] != "explicit":
            self._programs[key] = h
        return h

    def _reference(self, reference) -> tuple:
        """(reference layers, their mappings or None, cache key part) of a ``reference`` argument."""
        if reference is None:
            return None, None, None
        if isinstance(reference, ProgramHandle):
            if reference.key[0] == "explicit":
                return reference.layers, reference.mappings, reference.key
            return reference.layers, reference.mappings, ("ref",) + reference.key
        layers = tuple(reference.layers if isinstance(reference, Workload) else reference)
        return layers, None, ("ref", layers)

    # -- requests --------------------------------------------------------------------------
    def submit(self, handle: ProgramHandle, tag: Hashable = None, partition: int = 0) -> Hashable:
        """Queue one inference of a loaded program; returns its tag. ``partition``: the tenant slot
        it runs in (spatial sharing, `set_partition`; 0 is the whole accelerator's own)."""
        if tag is None:
            tag = f"inf-{next(self._auto_tag)}"
        if tag in self._jobs:
            raise ValueError(f"tag {tag!r} is already queued or running")
        self._done.pop(tag, None)
        r = self._resources if partition == 0 else self._partition_resources(partition)
        self._check_time(handle, r)
        jid = int(self._core.submit(handle.id) if partition == 0 else self._core.submit_to(handle.id, int(partition)))
        self._jobs[tag] = {"job": jid, "handle": handle, "submit_ps": self.now_ps(),
                           "max_res": r}  # the most of each resource granted while it runs
        self._by_job[jid] = tag
        return tag

    def set_resources(self, resources: RuntimeResources | None = None, *, clock_hz: float | None = None,
                      active_pes: int | None = None, dram_share: float | None = None) -> RuntimeResources:
        """Change runtime resources now; they act from the next tile boundary."""
        cur = resources if resources is not None else self._resources
        new = RuntimeResources(
            clock_hz=cur.clock_hz if clock_hz is None else clock_hz,
            active_pes=cur.active_pes if active_pes is None else active_pes,
            dram_share=cur.dram_share if dram_share is None else dram_share,
        ).check_against(self.hw)
        for j in self._jobs.values():  # queued or running: must still fit the time range
            self._check_time(j["handle"], new)
        if new.clock_hz != self._core.clock_hz():
            self._core.set_clock_hz(float(new.clock_hz))
        self._core.set_active_pes(int(new.active_pes))
        self._core.set_dram_share(float(new.dram_share))
        self._resources = new
        for j in self._jobs.values():
            m = j["max_res"]
            j["max_res"] = RuntimeResources(clock_hz=max(m.clock_hz, new.clock_hz),
                                            active_pes=max(m.active_pes, new.active_pes),
                                            dram_share=max(m.dram_share, new.dram_share))
        return new

    # -- spatial sharing (tenants on disjoint PE groups; accelerator/src/partition.h) ------------
    @property
    def partitions(self) -> int:
        """How many inferences can run at once, each in its own partition (PE group)."""
        return int(self._core.partitions())

    def set_partition(self, partition: int, active_pes: int, dram_share: float) -> None:
        """Give ``partition`` its PE group (``active_pes``; acts at its next tile boundary) and DRAM
        share (of its own channel when the bandwidth is partitioned; partition 0's share is the
        shared channel's otherwise). The caller keeps the groups disjoint."""
        if not 1 <= int(active_pes) <= self.hw.num_pes:
            raise ParamError(f"partition {partition}: active_pes = {active_pes} must be in [1, {self.hw.num_pes}]")
        self._core.set_partition_resources(int(partition), int(active_pes), float(dram_share))

    def partition_bandwidth(self, on: bool) -> None:
        """True: each partition its own DRAM channel of bandwidth x its share (MoCA-like); False:
        every partition's DRAM transfers queue at the one shared channel (they interfere)."""
        self._core.set_bandwidth_partitioned(bool(on))

    def reset_partitions(self) -> None:
        """Every partition back to the whole array and the shared DRAM channel (idle only)."""
        self._core.set_bandwidth_partitioned(False)
        for p in range(1, self.partitions):
            self._core.set_partition_resources(p, int(self.hw.num_pes), 1.0)

    def _partition_resources(self, partition: int) -> RuntimeResources:
        return RuntimeResources(clock_hz=self._resources.clock_hz,
                                active_pes=int(self._core.partition_active_pes(int(partition))),
                                dram_share=self._resources.dram_share)

    def _check_time(self, h: ProgramHandle, r: RuntimeResources) -> None:
        """`check_program` of ``h`` at reduced resources ``r`` (cached: once per program and level)."""
        if r.clock_hz >= self.hw.clock_hz and r.active_pes >= self.hw.num_pes and r.dram_share >= 1.0:
            return  # checked when loaded
        key = (h.id, r.clock_hz, r.active_pes, r.dram_share)
        if key not in self._time_ok:
            check_program(self.hw, h.layers, h.mappings, r, h.config or h.model)
            self._time_ok.add(key)

    @property
    def resources(self) -> RuntimeResources:
        return self._resources

    def abort(self, partition: int = 0) -> bool:
        """Stop the running inference (of ``partition``) at its next tile boundary (partial counters
        are kept)."""
        return bool(self._core.request_abort() if partition == 0 else self._core.request_abort_in(int(partition)))

    # -- preemption (tenants) ---------------------------------------------------------------
    def preempt(self, mechanism: str = "checkpoint", granularity: str = "tile") -> bool:
        """Preempt the running inference: it stops at its next tile or layer boundary (``drain``:
        at the end of its layer), saves its state (``checkpoint``: a real spill through the DMA)
        or discards it (``kill``), and leaves; `run_until` then returns a `Completion` with
        ``preempted=True`` at that instant. False if none runs (or one is being preempted)."""
        from vocab.names import PREEMPT_GRANULARITIES, PREEMPT_MECHANISMS

        if mechanism not in PREEMPT_MECHANISMS:
            raise ParamError(f"preemption mechanism = {mechanism!r} is not allowed (allowed: {', '.join(PREEMPT_MECHANISMS)})")
        if granularity not in PREEMPT_GRANULARITIES[1:]:
            raise ParamError(f"preemption granularity = {granularity!r} is not allowed "
                             f"(allowed: {', '.join(PREEMPT_GRANULARITIES[1:])})")
        return bool(self._core.request_preempt(PREEMPT_MECHANISMS.index(mechanism) + 1,
                                               PREEMPT_GRANULARITIES.index(granularity)))

    def resume(self, tag: Hashable) -> None:
        """Queue a preempted inference again; it goes on where it stopped (kill: from the start)."""
        info = self._jobs.get(tag)
        if info is None or not info.get("suspended"):
            raise KeyError(f"inference {tag!r} is not a preempted inference")
        info["suspended"] = False
        self._core.resume(info["job"])

    def discard(self, tag: Hashable) -> Completion:
        """End a preempted inference now as aborted (its result keeps what it did)."""
        info = self._jobs.get(tag)
        if info is None or not info.get("suspended"):
            raise KeyError(f"inference {tag!r} is not a preempted inference")
        jid = info["job"]
        self._core.discard(jid)
        now = self.now_ps()
        c = info["completion"]
        done = Completion(tag=tag, end_ps=now, start_ps=c.start_ps, submit_ps=c.submit_ps, aborted=True)
        self._by_job.pop(jid, None)
        self._jobs.pop(tag)
        self._store(tag, info, jid, done)
        return done

    # -- time ------------------------------------------------------------------------------
    def now_ps(self) -> int:
        return int(self._core.now())

    @property
    def busy(self) -> bool:
        return bool(self._core.busy())

    def run_until(self, t_ps: int) -> list[Completion]:
        """Advance SystemC to ``t_ps``, or less: return at the first instant an inference completes."""
        t_ps = int(t_ps)
        core = self._core
        while True:
            now = int(core.now())
            if now >= t_ps:
                return []
            if core.advance(t_ps - now):
                return self._collect()

    def _collect(self) -> list[Completion]:
        core = self._core
        out = []
        for i in range(int(core.n_completions())):
            jid = int(core.completion_job(i))
            if bool(core.completion_preempted(i)):  # stopped, not ended: it stays the model's
                tag = self._by_job[jid]
                info = self._jobs[tag]
                c = Completion(tag=tag, end_ps=int(core.completion_end_ps(i)), start_ps=int(core.job_start_ps(jid)),
                               submit_ps=info["submit_ps"], aborted=False, preempted=True)
                info.update(suspended=True, completion=c)
                out.append(c)
                continue
            tag = self._by_job.pop(jid)
            info = self._jobs.pop(tag)
            c = Completion(tag=tag, end_ps=int(core.completion_end_ps(i)), start_ps=int(core.job_start_ps(jid)),
                           submit_ps=info["submit_ps"], aborted=bool(core.completion_aborted(i)))
            self._store(tag, info, jid, c)
            out.append(c)
        core.clear_completions()
        return out

    def _store(self, tag: Hashable, info: dict, jid: int, c: Completion) -> None:
        """Copy an ended inference's counters out of the model and release it there."""
        core = self._core
        h: ProgramHandle = info["handle"]
        counts = np.empty((h.n_layers, NUM_COUNTERS), dtype=np.int64)
        core.copy_counters(jid, counts, counts.size)
        acts = np.empty(h.n_layers, dtype=np.int64)
        core.copy_activations(jid, acts, acts.size)
        info.update(counts=counts, completion=c, layers_done=int(core.job_layers_done(jid)), activations=acts)
        core.release(jid)
        self._done[tag] = info

    # -- results ---------------------------------------------------------------------------
    def result(self, tag: Hashable, keep: bool = True) -> InferenceResult:
        """The result of a completed inference (``keep=False`` forgets it afterwards)."""
        if tag not in self._done:
            state = "is still queued or running" if tag in self._jobs else "is unknown (or was forgotten)"
            raise KeyError(f"inference {tag!r} {state}")
        info = self._done[tag] if keep else self._done.pop(tag)
        return self._make_result(tag, info)

    def forget(self, tag: Hashable) -> None:
        self._done.pop(tag, None)

    def _make_result(self, tag, info) -> InferenceResult:
        h: ProgramHandle = info["handle"]
        counts: np.ndarray = info["counts"]
        c: Completion = info["completion"]
        dur = (counts[:, _C["end_ps"]] - counts[:, _C["start_ps"]]) * S_PER_PS
        energy = self.energy_model.breakdown(counts, dur)
        most: RuntimeResources = info["max_res"]
        clock, pes, share = most.clock_hz, most.active_pes, most.dram_share
        hw = self.hw
        peak = float(pes) * hw.lanes * hw.vector_size * clock
        bw = float(hw.dram_bandwidth_bytes_per_s) * share
        ppu_rate = float(hw.ppu_elements_per_cycle) * clock
        dram = counts[:, _C["dram_read_bytes"]] + counts[:, _C["dram_write_bytes"]]
        roof = np.maximum.reduce([counts[:, _C["macs_useful"]] / peak, dram / bw, counts[:, _C["ppu_ops"]] / ppu_rate])
        r = InferenceResult(
            tag=tag, model=h.model, config=h.config, layer_names=h.layer_names,
            layer_ops=h.layer_ops, counters=counts, submit_ps=c.submit_ps, start_ps=c.start_ps,
            end_ps=c.end_ps, aborted=c.aborted, layers_done=info["layers_done"], energy=energy,
            roofline_layer_s=roof, peak_macs_per_s=peak, dram_bytes_per_s=bw,
            peak_macs_per_cycle=int(hw.peak_macs_per_cycle), hw_name=hw.name,
            layer_activations=info["activations"], layer_op_classes=tuple(l.op_class for l in h.layers),
        )
        return check_result(r)  # the one place every result is made: no impossible number leaves it

    # -- convenience -------------------------------------------------------------------------
    def run(self, workload: Workload | Sequence[Layer] | ProgramHandle,
            resources: RuntimeResources | None = None, tag: Hashable = None) -> InferenceResult:
        """Run one inference standalone (the accelerator must be idle) and return its result."""
        if self.busy:
            raise RuntimeError("Accelerator.run needs an idle accelerator (use submit/run_until)")
        h = workload if isinstance(workload, ProgramHandle) else self.load(workload)
        saved = self._resources
        if resources is not None:
            self.set_resources(resources)
        try:
            tag = self.submit(h, tag)
            horizon = 10**15  # 1000 s of simulated time per step
            while tag in self._jobs:
                self.run_until(self.now_ps() + horizon)
        finally:
            if resources is not None:
                self.set_resources(saved)
        return self.result(tag, keep=False)

    @property
    def activations(self) -> int:
        """Process activations of the model's modules so far (method triggers, thread resumes):
        with temporal decoupling at most about one per layer (a hand-over between the PE array
        and the PPU) plus one per host event inside an inference; with ``sync="tile"`` about one
        per tile plus two per layer."""
        return int(self._core.activations())

    SYNC_MODES = ("decoupled", "tile")

    @property
    def sync(self) -> str:
        """"decoupled" (default): the model runs tiles ahead in local time up to the next point
        the host can change it; "tile": one kernel activation per tile, the reference mode.
        Both give identical results."""
        return "tile" if bool(self._core.sync_tile()) else "decoupled"

    @sync.setter
    def sync(self, mode: str) -> None:
        if mode not in self.SYNC_MODES:
            raise ParamError(f"Accelerator.sync = {mode!r} is not allowed (allowed: {', '.join(self.SYNC_MODES)})")
        self._core.set_sync_tile(mode == "tile")

    def kernel_ceiling(self, n: int = 1_000_000) -> float:
        """Timed waits per second of a bare SystemC thread in this process (the accelerator must be idle)."""
        if self.busy:
            raise RuntimeError("kernel_ceiling needs an idle accelerator")
        return n / float(self._core.measure_timed_waits(int(n)))
