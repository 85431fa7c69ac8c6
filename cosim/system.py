"""gem5-style system assembly: a scenario builds a `System` and calls `simulate()`.

    from cosim import System, simulate
    from host import FrameSource, Stream, Markov

    system = System(
        hardware="simba-like",
        streams=[Stream(name="cam0", candidates=["segformer-b0", "segformer-b1"], source=FrameSource(fps=30))],
        resources=[Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[2.0, 1.0])],
        duration_s=10.0, seed=1,
    )
    if __name__ == "__main__":
        simulate(system)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vocab.params import Component, Param, ParamError, REQUIRED

from host.profile import Candidate, ResourceLevel
from host.resources import ResourceModel, merged_levels
from host.scheduler import Host, Scheduler, Stream, objective_of, resource_timelines
from host import spatial as host_spatial
from vocab.names import TENANCY_COMPONENTS
from vocab.units import MAX_TIME_S, PS_PER_S, to_ps

from .programs import load_program
from .version import __version__


def check_stream_name(name: str) -> None:
    """A stream name the trace can hold and the summaries can tell apart (ParamError if not)."""
    from traces.schema import STREAM_WIDTH
    from traces.summary import ALL

    if name == ALL:
        raise ParamError(f"Stream.name = {name!r} is reserved (the label of the all-streams row of summaries); "
                         "choose another name")
    n = len(name.encode("utf-8", "surrogatepass"))
    if n > STREAM_WIDTH:
        raise ParamError(f"Stream.name = {name[:20]!r}... is {n} bytes in UTF-8 (allowed: at most {STREAM_WIDTH})")
    if not name.isprintable():
        raise ParamError(f"Stream.name = {name!r} must hold printable characters only")


class System(Component):
    """Everything one co-simulation run needs."""

    name = Param(str, "scenario", doc="name of the scenario (used for the default trace file name)")
    hardware = Param(object, "", doc="accelerator: preset name, YAML path, or HardwareParams ('' = the default preset)")
    streams = Param(list, REQUIRED, doc="list of Stream")
    resources = Param(list, [], doc="list of resource models (Piecewise, Periodic, Markov, CsvReplay)")
    scheduler = Param(Scheduler, Scheduler(), doc="queue policy, late-work policy, energy-budget window")
    duration_s = Param(float, 30.0, unit="s", doc="simulated time frames arrive in", min=0.0, min_exclusive=True,
                       max=MAX_TIME_S)
    seed = Param(int, 0, doc="seed of every random process", min=0, max=2**63 - 1)
    accuracy = Param(list, [], doc="measured accuracy profiles (YAML paths from `cosim accuracy`, or shipped names "
                     "such as 'segformer-demo'); searched in order before the built-in published tables")

    def validate(self) -> None:
        if not self.streams or not all(isinstance(s, Stream) for s in self.streams):
            raise ParamError("System.streams must be a non-empty list of Stream(...)")
        names = [s.name for s in self.streams]
        if len(set(names)) != len(names):
            raise ParamError(f"System.streams: stream names must be unique, got {names}")
        for n in names:
            check_stream_name(n)
        for r in self.resources:
            if not isinstance(r, ResourceModel):
                raise ParamError(f"System.resources: {r!r} is not a resource model (Piecewise, Periodic, Markov, CsvReplay)")
        for p in self.accuracy:
            if not isinstance(p, (str, Path)):
                raise ParamError(f"System.accuracy: {p!r} must be a profile path or a shipped profile name")
        self.accuracy_profiles()  # a missing or malformed profile fails here, naming the file
        host_spatial.check(self.scheduler, self.streams, host_spatial.MAX_PARTITIONS)  # spatial sharing (issue 22)

    def accuracy_profiles(self) -> list:
        """The measured profiles (`workloads.accuracy.Profile`), in search order."""
        from workloads.accuracy import load_profile

        return [load_profile(p) for p in self.accuracy]

    # ---- resolved parts (each validated with a clear error) -------------------
    def hardware_params(self):
        from accelerator.params import HardwareParams
        from accelerator.presets import DEFAULT_PRESET, load_preset

        hw = self.hardware
        if isinstance(hw, HardwareParams):
            return hw
        if isinstance(hw, str):
            return load_preset(hw or DEFAULT_PRESET)
        raise ParamError(f"System.hardware = {hw!r} must be a preset name, a YAML path or HardwareParams")

    def configs(self) -> dict[str, Any]:
        """Every candidate configuration id, as written and canonical -> parsed Config (errors name the id)."""
        import workloads
        from traces.schema import CONFIG_WIDTH

        out: dict[str, Any] = {}
        for s in self.streams:
            for cid in s.all_candidates():
                if cid in out:
                    continue
                try:
                    out[cid] = workloads.parse_config(cid)
                except workloads.ConfigError as e:
                    raise workloads.ConfigError(f"stream {s.name!r}: candidate {cid!r}: {e}") from None
                out[out[cid].id] = out[cid]
                if len(out[cid].id.encode("utf-8")) > CONFIG_WIDTH:
                    raise workloads.ConfigError(f"stream {s.name!r}: candidate {cid!r}: its configuration id is "
                                                f"longer than {CONFIG_WIDTH} bytes, the limit of the trace")
        return out


#: Most frames one run may emit unless the user raises it (DYNVIT_MAX_FRAMES): a duration x
#: rate typo (1e6 s at 1e4 fps) would otherwise run for days and fill the disk.
MAX_FRAMES = 10_000_000


def check_size(system: System, limit: int | None = None) -> int:
    """The most frames ``system`` can emit (each stream's highest rate over its time); ParamError
    naming the streams and the limit (``limit``, else $DYNVIT_MAX_FRAMES, else MAX_FRAMES) if above."""
    import math
    import os

    if limit is None:
        env = os.environ.get("DYNVIT_MAX_FRAMES", "")
        try:
            limit = int(float(env)) if env else MAX_FRAMES
        except ValueError:
            raise ParamError(f"DYNVIT_MAX_FRAMES = {env!r} is not a number of frames") from None
    per: dict[str, int] = {}
    for st in system.streams:
        src = st.source
        fps = max([src.fps] + [c.fps for c in src.changes if c.fps is not None])
        per[st.name] = math.ceil(fps * max(0.0, system.duration_s - src.start_s)) + 1
    n = sum(per.values())
    if n > limit:
        worst = max(per, key=per.get)
        raise ParamError(f"System: duration_s = {system.duration_s:g} s x the streams' frame rates gives up to {n:,} "
                         f"frames (stream {worst!r}: {per[worst]:,}), above the limit of {limit:,}; shorten the "
                         "duration, lower the rates, or set DYNVIT_MAX_FRAMES to raise the limit")
    return n


@dataclass
class SimulationResult:
    trace_path: Path
    frames: int
    wall_s: float
    sim_s: float
    summary: Any  # pandas DataFrame from traces.summary
    reused: int = 0  # inferences whose result was reused instead of simulated (cosim/reuse.py)

    def __str__(self) -> str:
        return f"{self.frames} frames in {self.wall_s:.2f} s wall ({self.sim_s:g} s simulated) -> {self.trace_path}"


def candidate_of(cfg: Any, canonical_id: str, profiles: Any = ()) -> Candidate:
    """What the host knows of a configuration; its accuracy from the first of ``profiles``
    (measured) that holds it, else the built-in tables, else NaN."""
    import workloads
    from workloads.accuracy import accuracy_of

    wl = workloads.lower(cfg)
    acc = accuracy_of(cfg, profiles=profiles)
    return Candidate(config=canonical_id, model=cfg.name, useful_macs=wl.total_macs, accuracy=acc.value,
                     accuracy_metric=acc.metric, accuracy_source=acc.source, accuracy_label=acc.label,
                     params=wl.params, knobs=json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.knobs}),
                     accuracy_profile=acc.profile)


def simulate(
    system: System,
    out: str | Path | None = None,
    *,
    seed: int | None = None,
    duration_s: float | None = None,
    scenario_source: str = "",
    progress: Callable[[float, float], None] | None = None,
    created: str | None = None,
    use_profile_cache: bool = True,
    overwrite: bool = True,
    inputs: tuple[str | Path, ...] = (),
    sync: str = "decoupled",
    reuse: bool = True,
) -> SimulationResult:
    """Run a system: profile the candidates, co-simulate, write the HDF5 trace.

    The output is checked and claimed before any work (`traces.OutputClaim`): an
    existing file is replaced only with ``overwrite``, a second run writing the same
    file is refused, and the trace never replaces one of the run's inputs (``inputs``,
    e.g. the scenario script, plus the system's CsvReplay files and hardware YAML).
    ``sync``: "decoupled" (default; the accelerator runs ahead in local time up to the next
    host event) or "tile" (one kernel activation per tile, the reference mode); the trace is
    the same byte for byte.
    ``reuse``: reuse the result of an inference nothing can disturb from an earlier identical
    one (`cosim.reuse`); False simulates every inference (the reference). Same trace either way.
    """
    import traces

    wall0 = time.perf_counter()
    if seed is not None or duration_s is not None:
        system = system.replace(**{k: v for k, v in (("seed", seed), ("duration_s", duration_s)) if v is not None})
    check_size(system)  # before any work
    path = trace_path(system, out)
    claim = traces.OutputClaim(path, overwrite=overwrite, inputs=(*inputs, *_input_files(system)), what="trace file")
    try:
        return _simulate(system, path, claim, scenario_source, progress, created, use_profile_cache, wall0, sync, reuse)
    finally:
        claim.release()  # the writer released it already unless set-up failed


def trace_path(system: System, out: str | os.PathLike | None = None) -> Path:
    """Where a run of ``system`` writes its trace: ``out``, or runs/<name>-seed<N>.h5."""
    return Path(out) if out else Path("runs") / f"{system.name}-seed{system.seed}.h5"


def _input_files(system: System) -> list[str]:
    """Files a system reads (the trace must never replace one of them)."""
    files = [str(r.path) for r in system.resources if getattr(r, "path", "")]
    if isinstance(system.hardware, str) and system.hardware.endswith((".yaml", ".yml")):
        files.append(system.hardware)
    return files


def _simulate(system, path, claim, scenario_source, progress, created, use_profile_cache, wall0,
              sync="decoupled", reuse=True) -> SimulationResult:
    import traces
    import workloads
    from accelerator.model import Accelerator

    from .recorder import Recorder

    hw = system.hardware_params()
    configs = system.configs()
    end_ps = to_ps(system.duration_s)

    # Candidates by the id the scenario used (canonical ids in the trace).
    profiles = system.accuracy_profiles()
    by_id = {cfg.id: candidate_of(cfg, cfg.id, profiles) for cfg in configs.values()}  # once per configuration
    cands: dict[str, Candidate] = {cid: by_id[cfg.id] for cid, cfg in configs.items()}
    acc = Accelerator.for_process(hw)
    acc.sync = sync
    programs: dict[str, Any] = {}

    def program_of(cid: str):
        p = programs.get(cid)
        if p is None:
            p = programs[cid] = load_program(acc, configs[cid])
        return p

    spatial = system.scheduler.spatial != "none"
    profile = _profile(system, acc, hw, configs, end_ps, spatial, program_of, use_profile_cache)
    # the energy columns the results will carry (preemption's only where the run can preempt)
    components = tuple(c for c in acc.energy_model.components
                       if system.scheduler.tenants or c not in TENANCY_COMPONENTS)
    writer = _trace_writer(system, path, claim, scenario_source, created, hw, components, spatial)
    bridge = _bridge(system, acc, hw, program_of, spatial, reuse)
    rec = Recorder(writer, components, bridge.offset_ps)
    try:
        for s in system.streams:
            objective = objective_of([cands[c] for c in s.all_candidates()])
            for c in s.all_candidates():
                rec.config(cands[c], objective)  # the first stream to name a config sets its objective
        host = Host(bridge.env, bridge, system.streams, system.resources, system.scheduler, cands, profile,
                    end_ps, system.seed, on_frame=lambda f: rec.frame(f, lambda cid: workloads.lower(configs[cid])),
                    on_resource=rec.resource)
        _run_host(host, bridge.env, end_ps, system.duration_s, progress)
        writer.close()
    except BaseException:
        writer.close(complete=False)  # keep every row written so far, readable
        raise
    with traces.open(path) as tr:
        summ = traces.summary(tr)
    return SimulationResult(trace_path=path, frames=rec.frames, wall_s=time.perf_counter() - wall0,
                            sim_s=system.duration_s, summary=summ,
                            reused=bridge.reuse.hits if bridge.reuse is not None else 0)


def _profile(system, acc, hw, configs, end_ps, spatial, program_of, use_profile_cache):
    """The latency and energy profile of the system's configurations at every resource level the
    host will see: every combination in the resource timelines and, spatially shared, the
    shares the tenants' governors see."""
    from .profiles import measure

    timelines = resource_timelines(system.resources, end_ps, system.seed)
    levels = {ResourceLevel()} | {ResourceLevel.of(lv) for _, lv in merged_levels(timelines)}
    if spatial:  # the shares the tenants' governors see
        levels |= host_spatial.levels(system.scheduler, system.streams, levels)
    return measure(acc, hw, sorted({c.id for c in configs.values()}), levels, program_of, use_cache=use_profile_cache)


def _trace_writer(system, path, claim, scenario_source, created, hw, components, spatial):
    """The run's trace writer (it takes over the output's claim), with the columns of ``components``."""
    import traces
    from accelerator.area import cost_record

    from .recorder import Recorder

    return traces.TraceWriter(
        path, seed=system.seed, scenario=scenario_source, hardware={**hw.record(), "silicon": cost_record(hw)}, tool_version=__version__,
        created=created, layer_extra_columns=Recorder.layer_extra_columns(components), claim=claim,
        frame_extra_columns=Recorder.frame_extra_columns(components, spatial),
        vocabulary=Recorder.trace_vocabulary(components),
    )


def _bridge(system, acc, hw, program_of, spatial, reuse):
    """The host's way to the SystemC model: one partition per tenant when it is spatially shared,
    else the one accelerator (reusing undisturbed inferences' results where allowed)."""
    if spatial:
        from .spatial_bridge import SpatialBridge

        return SpatialBridge(acc, hw, program_of, system.scheduler.partition_bandwidth)
    from . import reuse as reuse_mod
    from .bridge import Bridge

    return Bridge(acc, hw, program_of, reuse_mod.Reuse(acc) if reuse and reuse_mod.allowed(system) else None)


def _run_host(host, env, end_ps, duration_s, progress) -> None:
    """Run the co-simulation to ``end_ps`` in 100 steps (``progress`` told after each), then finish:
    frames still queued are not run, the running one (and a preempted one it resumes) finishes."""
    step = max(1, end_ps // 100)
    t = 0
    while t < end_ps:
        t = min(end_ps, t + step)
        env.run(until=t)
        if progress:
            progress(t / PS_PER_S, duration_s)
    host.drain()
    while host.inflight is not None:  # (a preempted frame resumes: it finishes too)
        env.run(until=host.inflight)
        host.drain()
