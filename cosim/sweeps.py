"""Design-space sweeps on Dask distributed: specs, points, workers, Parquet results.

A sweep spec (YAML, or the same as a dict) names *axes*; their product (or a random sample
of it) is the set of *points*; each point runs one inference (``mode: simulate``) or one
scenario (``mode: run``) and becomes one row of a Parquet dataset::

    name: vector-size                  # used in messages and Dask task names
    mode: simulate                     # simulate (one inference) | run (a scenario)
    seed: 0                            # seed of random axes and of `sample`
    sample: 20                         # optional: a random subset of this many grid points
    fixed:                             # coordinates every point shares
      model: segformer-b0
      resolution: 64x64
    axes:                              # the grid: the product of every axis, in order
      preset: [vs8, vs16, vs32]        # a list of values
      num_pes: {range: [16, 64, 16]}   # lo..hi inclusive in steps (ints or floats)
      clock_hz: {uniform: [5e8, 1e9], n: 3}          # random draws (seeded; also loguniform)
      knob.dec: {choice: [64, 128, 192, 256], n: 2}  # random picks without replacement
      org:                             # a list of mappings: coupled coordinates
        - {preset: vs8, tag.family: equal MACs per PE}
        - {preset: sq16, tag.family: lanes = VS}

Coordinates: ``preset`` (hardware preset name or YAML path), any `HardwareParams` field (an
override of the preset, validated like a preset field), ``tag.<label>`` (free labels that only
travel into the results). ``simulate`` points: ``model``, ``resolution``, ``config`` (a config
id instead of model/knobs), ``knob.<name>`` (a knob of the model's family). ``run`` points:
``scenario`` (name or path), ``seed``, ``duration_s``, ``governor`` (every stream's), ``policy``,
``preemption``, ``mechanism`` (the scheduler's; tenants, issue 22).

Every point has a stable id: a hash of its mode, its coordinates and the sources of the model
(`cosim.profiles.model_version`; for ``run`` points also the host and the scenario's text). The
results directory holds one Parquet file per finished point (``part-<id>.parquet``, written
atomically as the point finishes), so a re-run skips finished points and a killed sweep loses
only the points in flight; ``pandas.read_parquet(DIR)`` reads them all (`load_results` too).

Points run on Dask distributed: a `LocalCluster` of worker processes with one thread each
(the SystemC kernel is per process and single-threaded), or an existing cluster by address.
Each worker keeps its one SystemC model (`accelerator.model.Accelerator`) and re-targets it to
each point's hardware, so imports and JIT are paid once per worker. A point that fails (an
invalid combination, no tiling fits the buffers) records its one-line error; the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from vocab.errors import UserError

__all__ = ["SpecError", "Spec", "Point", "load_spec", "run_point", "sweep", "load_results", "SweepReport"]

MODES = ("simulate", "run")
SPEC_KEYS = ("name", "mode", "seed", "sample", "fixed", "axes", "description")
SIM_COORDS = ("model", "resolution", "config")
RUN_COORDS = ("scenario", "seed", "duration_s", "governor", "policy", "preemption", "mechanism")
#: metric columns of every row (energy components follow as energy_<component>_j)
SIM_METRICS = ("latency_s", "energy_j", "area_mm2", "dram_bytes", "macs", "macs_issued", "utilization",
               "roofline_ratio", "peak_macs_per_cycle", "accuracy")
RUN_METRICS = ("frames", "run", "dropped", "missed", "miss_rate", "accuracy_mean", "energy_per_frame_j",
               "energy_total_j", "latency_p50_s", "latency_p99_s", "area_mm2")
TEXT_RESULTS = ("hardware", "config", "accuracy_label", "accuracy_metric")


class SpecError(UserError, ValueError):
    """A sweep spec that is not valid; the message names the field and the allowed values."""


# ---------------------------------------------------------------------------------------------
# spec
# ---------------------------------------------------------------------------------------------
def _hw_fields() -> tuple[str, ...]:
    from accelerator.params import HardwareParams

    return tuple(f for f in HardwareParams.param_names() if f != "name")


def _allowed_coords(mode: str) -> str:
    extra = SIM_COORDS + ("knob.<name>",) if mode == "simulate" else RUN_COORDS
    return ", ".join(("preset",) + extra + ("tag.<label>",) + _hw_fields())


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its coordinates (name -> value) and its stable id."""

    mode: str
    coords: tuple[tuple[str, Any], ...]
    id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.coords)


@dataclass
class Spec:
    name: str
    mode: str
    seed: int
    sample: int | None
    fixed: dict[str, Any]
    axes: list[tuple[str, list[dict[str, Any]]]]  # axis name -> list of coordinate dicts
    source: str = ""
    description: str = ""

    @property
    def columns(self) -> list[str]:
        """Coordinate columns, in spec order."""
        cols: list[str] = list(self.fixed)
        for _, values in self.axes:
            for d in values:
                for k in d:
                    if k not in cols:
                        cols.append(k)
        return cols

    def grid_size(self) -> int:
        return math.prod(len(v) for _, v in self.axes)

    def points(self) -> list[Point]:
        """Every point (the grid, or its seeded random sample), in a stable order."""
        import itertools

        combos = itertools.product(*[v for _, v in self.axes]) if self.axes else [()]
        pts = []
        for combo in combos:
            c = dict(self.fixed)
            for d in combo:
                c.update(d)
            pts.append(c)
        if self.sample is not None and self.sample < len(pts):
            idx = sorted(random.Random(self.seed).sample(range(len(pts)), self.sample))
            pts = [pts[i] for i in idx]
        out, seen = [], set()
        for c in pts:
            p = make_point(self.mode, c)
            if p.id not in seen:
                seen.add(p.id)
                out.append(p)
        return out


def _fail(where: str, msg: str) -> SpecError:
    return SpecError(f"{where}: {msg}")


def _check_coord(where: str, mode: str, key: str, value: Any) -> Any:
    """Validate one coordinate value on its own (names, types, ranges); return it normalised."""
    from accelerator.presets import _convert
    from vocab.params import ParamError

    if not isinstance(key, str):
        raise _fail(where, f"coordinate names must be text, got {key!r}")
    if key.startswith("tag."):
        if not isinstance(value, (str, int, float, bool)):
            raise _fail(where, f"{key} must be a scalar label, got {value!r}")
        return value
    if key == "preset":
        from accelerator.presets import _path_of

        if not isinstance(value, str):
            raise _fail(where, f"preset must be a preset name or YAML path, got {value!r}")
        try:
            _path_of(value)
        except ParamError as e:
            raise _fail(where, str(e)) from None
        return value
    if key in _hw_fields():
        from accelerator.params import HardwareParams

        try:
            return HardwareParams._params[key].check(_convert(key, value))
        except ParamError as e:
            raise _fail(where, str(e)) from None
    if mode == "simulate":
        if key == "model":
            import workloads

            if not isinstance(value, str) or value.lower() not in workloads.model_names():
                raise _fail(where, f"model {value!r} is not known; models: {', '.join(workloads.model_names())}")
            return value.lower()
        if key == "resolution":
            from workloads.knobs import ConfigError, parse_resolution

            try:
                h, w = parse_resolution(value)
            except ConfigError as e:
                raise _fail(where, str(e)) from None
            return f"{h}x{w}"
        if key == "config":
            if not isinstance(value, str):
                raise _fail(where, f"config must be a configuration id, got {value!r}")
            return value
        if key.startswith("knob.") and len(key) > 5:
            if isinstance(value, (list, tuple)):
                value = ".".join(str(v) for v in value)
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise _fail(where, f"{key} must be a knob value (text or number), got {value!r}")
            return value
    else:
        if key == "scenario":
            from .scenario import ScenarioError, resolve

            try:
                resolve(value)
            except ScenarioError as e:
                raise _fail(where, str(e)) from None
            return str(value)
        if key == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _fail(where, f"seed = {value!r} must be an integer >= 0")
            return value
        if key == "duration_s":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise _fail(where, f"duration_s = {value!r} must be a number of seconds > 0")
            return float(value)
        if key == "governor":
            from host.governors import GOVERNORS

            if value not in GOVERNORS:
                raise _fail(where, f"governor = {value!r} is not known; allowed: {', '.join(GOVERNORS)}")
            return value
        if key in ("policy", "preemption", "mechanism"):
            from host.scheduler import Scheduler

            allowed = Scheduler._params[key].choices
            if value not in allowed:
                raise _fail(where, f"{key} = {value!r} is not allowed; allowed: {', '.join(allowed)}")
            return value
    raise _fail(where, f"unknown coordinate {key!r} for mode {mode!r}; allowed: {_allowed_coords(mode)}")


def _num(x: Any) -> Any:
    """YAML reads 5e8 (no dot) as text: numbers written that way count as numbers."""
    if isinstance(x, str):
        try:
            f = float(x)
        except ValueError:
            return x
        return int(f) if f.is_integer() and "." not in x and "e" not in x.lower() else f
    return x


def _axis_values(where: str, mode: str, name: str, spec: Any, rng: random.Random) -> list[dict[str, Any]]:
    """An axis spec -> list of coordinate dicts."""
    if isinstance(spec, Mapping) and not any(k in spec for k in ("range", "uniform", "loguniform", "choice")):
        raise _fail(where, f"an axis is a list of values, or a mapping with one of range, uniform, loguniform, "
                           f"choice; got keys {', '.join(map(str, spec))}")
    if isinstance(spec, Mapping):
        kinds = [k for k in ("range", "uniform", "loguniform", "choice") if k in spec]
        extra = set(spec) - {"range", "uniform", "loguniform", "choice", "n"}
        if len(kinds) != 1 or extra:
            raise _fail(where, "give exactly one of range, uniform, loguniform, choice (and n for random draws)"
                        + (f"; unknown keys: {', '.join(sorted(map(str, extra)))}" if extra else ""))
        kind, arg = kinds[0], spec[kinds[0]]
        if kind != "choice" and isinstance(arg, list):
            arg = [_num(x) for x in arg]
        n = spec.get("n")
        if kind != "range" and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise _fail(f"{where}.n", f"{kind} needs n = the number of draws (an integer >= 1), got {n!r}")
        if kind == "range":
            if not (isinstance(arg, list) and len(arg) in (2, 3) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in arg)):
                raise _fail(f"{where}.range", f"must be [lo, hi] or [lo, hi, step] numbers, got {arg!r}")
            lo, hi = arg[0], arg[1]
            step = arg[2] if len(arg) == 3 else 1
            if not step > 0 or hi < lo:
                raise _fail(f"{where}.range", f"needs lo <= hi and step > 0, got {arg!r}")
            vals, i = [], 0
            while lo + i * step <= hi + 1e-9 * abs(step):
                v = lo + i * step
                vals.append(int(v) if all(isinstance(x, int) for x in arg) else float(v))
                i += 1
        elif kind in ("uniform", "loguniform"):
            if not (isinstance(arg, list) and len(arg) == 2 and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in arg) and arg[0] <= arg[1]):
                raise _fail(f"{where}.{kind}", f"must be [lo, hi] numbers with lo <= hi, got {arg!r}")
            if kind == "loguniform" and not arg[0] > 0:
                raise _fail(f"{where}.{kind}", f"needs lo > 0, got {arg!r}")
            lo, hi = float(arg[0]), float(arg[1])
            draw = (lambda: rng.uniform(lo, hi)) if kind == "uniform" else (
                lambda: math.exp(rng.uniform(math.log(lo), math.log(hi))))
            vals = [draw() for _ in range(n)]
            if all(isinstance(x, int) for x in arg):
                vals = [int(round(v)) for v in vals]
        else:
            if not isinstance(arg, list) or not arg:
                raise _fail(f"{where}.choice", f"must be a non-empty list, got {arg!r}")
            if n > len(arg):
                raise _fail(f"{where}.n", f"n = {n} is more than the {len(arg)} choices")
            vals = rng.sample(list(arg), n)
        return [{name: _check_coord(f"{where}[{i}]", mode, name, v)} for i, v in enumerate(vals)]
    if not isinstance(spec, list):
        spec = [spec]
    if not spec:
        raise _fail(where, "an axis needs at least one value")
    out = []
    for i, v in enumerate(spec):
        if isinstance(v, Mapping):
            if not v:
                raise _fail(f"{where}[{i}]", "an empty mapping sets no coordinate")
            out.append({k: _check_coord(f"{where}[{i}].{k}", mode, k, x) for k, x in v.items()})
        else:
            out.append({name: _check_coord(f"{where}[{i}]", mode, name, v)})
    return out


def load_spec(spec: str | os.PathLike | Mapping[str, Any]) -> Spec:
    """Read and validate a sweep spec (a YAML path or a mapping); errors name the field."""
    import yaml

    where = "sweep spec"
    source = ""
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        where = str(p)
        if not p.is_file():
            raise SpecError(f"sweep spec {str(p)!r} does not exist")
        source = p.read_text()
        try:
            doc = yaml.safe_load(source)
        except yaml.YAMLError as e:
            raise SpecError(f"{where}: not valid YAML ({' '.join(str(e).split())})") from None
    else:
        doc = dict(spec)
        source = json.dumps(doc, sort_keys=True, default=str)
    if not isinstance(doc, Mapping):
        raise SpecError(f"{where}: a sweep spec is a mapping with keys {', '.join(SPEC_KEYS)}")
    unknown = [k for k in doc if k not in SPEC_KEYS]
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(SPEC_KEYS)}")
    name = doc.get("name", Path(where).stem if where != "sweep spec" else "sweep")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{where}: name must be non-empty text, got {name!r}")
    mode = doc.get("mode", "simulate")
    if mode not in MODES:
        raise SpecError(f"{where}: mode = {mode!r} is not allowed (allowed: {', '.join(MODES)})")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{where}: seed = {seed!r} must be an integer >= 0")
    sample = doc.get("sample")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or sample < 1):
        raise SpecError(f"{where}: sample = {sample!r} must be an integer >= 1 (points drawn from the grid)")
    fixed_doc = doc.get("fixed") or {}
    if not isinstance(fixed_doc, Mapping):
        raise SpecError(f"{where}: fixed must be a mapping of coordinate -> value")
    fixed = {k: _check_coord(f"{where}: fixed.{k}", mode, k, v) for k, v in fixed_doc.items()}
    axes_doc = doc.get("axes") or {}
    if not isinstance(axes_doc, Mapping):
        raise SpecError(f"{where}: axes must be a mapping of axis name -> values")
    if not axes_doc and not fixed:
        raise SpecError(f"{where}: axes: give at least one axis (or fixed coordinates)")
    rng = random.Random(seed)
    axes = [(str(k), _axis_values(f"{where}: axes.{k}", mode, str(k), v, rng)) for k, v in axes_doc.items()]
    s = Spec(name=name, mode=mode, seed=seed, sample=sample, fixed=fixed, axes=axes, source=source,
             description=str(doc.get("description", "")))
    cols = s.columns
    if mode == "simulate":
        if "config" in cols and ("model" in cols or any(c.startswith("knob.") for c in cols)):
            raise SpecError(f"{where}: give either config (configuration ids) or model/knob.* coordinates, not both")
        if "config" not in cols and "model" not in cols:
            raise SpecError(f"{where}: simulate points need a model (fixed.model or axes.model) or a config")
    return s


# ---------------------------------------------------------------------------------------------
# point ids
# ---------------------------------------------------------------------------------------------
def _canon(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)  # 1e9 and 1000000000 are the same coordinate
    return v


def _source_hash(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for root in paths:
        for p in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            if "__pycache__" in p.parts:
                continue
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


_VERSIONS: dict[str, str] = {}


def _version(mode: str, coords: Mapping[str, Any]) -> str:
    """Hash of the sources that determine a point's result."""
    from .profiles import model_version

    if mode == "simulate":
        return model_version()
    here = Path(__file__).resolve().parent
    key = f"run:{coords.get('scenario', '')}"
    if key not in _VERSIONS:
        import host
        from .scenario import resolve

        scen = resolve(coords.get("scenario") or None)
        extra = [Path(host.__file__).parent, here, scen] + sorted(scen.parent.glob("_*.py"))
        _VERSIONS[key] = model_version() + _source_hash(extra)
    return _VERSIONS[key]


def make_point(mode: str, coords: Mapping[str, Any]) -> Point:
    c = tuple(sorted((k, _canon(v)) for k, v in coords.items()))
    blob = json.dumps({"mode": mode, "coords": c, "version": _version(mode, dict(c))}, sort_keys=True, default=str)
    return Point(mode=mode, coords=c, id=hashlib.sha256(blob.encode()).hexdigest()[:16])


# ---------------------------------------------------------------------------------------------
# one point (runs on a worker)
# ---------------------------------------------------------------------------------------------
def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, UserError):
        return text[:500]
    return f"{type(e).__name__}: {text}"[:500]


def _hardware_of(coords: Mapping[str, Any], default: Any = None):
    from accelerator.presets import DEFAULT_PRESET, apply_overrides, load_preset

    hw = load_preset(coords["preset"]) if "preset" in coords else (default or load_preset(DEFAULT_PRESET))
    return apply_overrides(hw, {k: v for k, v in coords.items() if k in _hw_fields()})


def _simulate_point(coords: Mapping[str, Any]) -> dict[str, Any]:
    import workloads
    from accelerator.area import area_mm2
    from accelerator.model import Accelerator
    from workloads.accuracy import accuracy_of

    from .programs import load_program

    if "config" in coords:
        cfg = workloads.parse_config(coords["config"])
        if "resolution" in coords:
            cfg = workloads.make_config(cfg.name, resolution=coords["resolution"], **{k: v for k, v in cfg.knobs})
    else:
        knobs = {k[5:]: (v if isinstance(v, str) else str(v)) for k, v in coords.items() if k.startswith("knob.")}
        cfg = workloads.make_config(coords["model"], resolution=coords.get("resolution"), **knobs)
    hw = _hardware_of(coords)
    acc = Accelerator(hw)
    r = acc.run(load_program(acc, cfg))
    a = accuracy_of(cfg)
    row = {"hardware": hw.name, "config": cfg.id, "latency_s": r.latency_s, "energy_j": r.energy_j,
           "area_mm2": area_mm2(hw)["total"], "dram_bytes": r.dram_bytes, "macs": r.macs,
           "macs_issued": r.macs_issued, "utilization": r.utilization, "roofline_ratio": r.roofline_ratio,
           "peak_macs_per_cycle": hw.peak_macs_per_cycle, "accuracy": a.value, "accuracy_label": a.label,
           "accuracy_metric": a.metric}
    row.update({f"energy_{k}_j": v for k, v in r.energy_by_component.items()})
    return row


def _run_point(coords: Mapping[str, Any]) -> dict[str, Any]:
    import tempfile

    from accelerator.area import area_mm2

    from . import scenario as scen
    from .system import simulate

    system, source = scen.load(coords.get("scenario") or None)
    hw = _hardware_of(coords, system.hardware_params())
    changes: dict[str, Any] = {"hardware": hw}
    if "governor" in coords:
        changes["streams"] = [s.replace(governor=coords["governor"]) for s in system.streams]
    sched = {k: coords[k] for k in ("policy", "preemption", "mechanism") if k in coords}
    if sched:
        if sched.get("policy") == "fifo" and "preemption" not in sched:
            sched["preemption"] = "none"  # fifo ranks no waiting frame first: it cannot preempt
        changes["scheduler"] = system.scheduler.replace(**sched)
    system = system.replace(**changes)
    with tempfile.TemporaryDirectory(prefix="dynvit-sweep-") as d:
        res = simulate(system, Path(d) / "trace.h5", seed=coords.get("seed"), duration_s=coords.get("duration_s"),
                       scenario_source=source, created="1970-01-01T00:00:00Z")
        summ = res.summary
        row_all = summ[summ["stream"] == "all"].iloc[0]
        tenants = _tenancy_row(res.trace_path) if system.scheduler.tenants else {}
    row = {"hardware": hw.name, "area_mm2": area_mm2(hw)["total"], **tenants}
    for k in RUN_METRICS:
        if k in row_all.index:
            v = row_all[k]
            row[k] = int(v) if k in ("frames", "run", "dropped", "missed") else float(v)
    return row


def _tenancy_row(trace_path: Path) -> dict[str, Any]:
    """A multi-tenant run's metrics over all streams (`traces.tenancy`), and the coverage of its mean
    accuracy (run frames whose accuracy is known / run frames)."""
    import traces
    from traces import tenancy

    with traces.open(trace_path) as tr:
        m = tenancy.metrics(tr)
        f = tr.frames
    a = m[m["stream"] == "all"].iloc[0]
    row: dict[str, Any] = {k: float(a[k]) for k in ("antt", "stp", "preempt_s", "preempt_bytes", "preempt_energy_j")}
    row["preemptions"] = int(a["preemptions"])
    ran = f[f.end_s.notna() & ~f.dropped.astype(bool)]
    row["accuracy_coverage"] = float(ran.accuracy.notna().mean()) if len(ran) else float("nan")
    return row


def run_point(mode: str, coords: Mapping[str, Any]) -> dict[str, Any]:
    """Run one point in this process; never raises for a bad point (the error is in the row)."""
    import socket

    t0 = time.perf_counter()
    try:
        row = _simulate_point(coords) if mode == "simulate" else _run_point(coords)
        row["error"] = ""
    except Exception as e:  # one bad point must not stop the sweep
        row = {"error": _one_line(e)}
    row["wall_s"] = time.perf_counter() - t0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def run_point_after(_previous: Any, mode: str, coords: Mapping[str, Any]) -> dict[str, Any]:
    """`run_point`, as the next link of a chain: Dask runs it on the worker that ran the previous
    point (the worker holding a task's inputs runs it), whose mapping cache has this hardware."""
    return run_point(mode, coords)


def affinity_key(p: Point) -> str:
    """Points with equal keys share the mapper's work on a worker: the same hardware and the same
    model (a dynamic configuration runs the mapping of its full model) or scenario."""
    c = p.as_dict()
    hw = [(k, v) for k, v in p.coords if k == "preset" or k in _hw_fields()]
    if "config" in c:
        what = str(c["config"]).split("/", 1)[0] + "|" + str(c.get("resolution", ""))
    else:
        what = f"{c.get('model', '')}|{c.get('resolution', '')}|{c.get('scenario', '')}"
    return json.dumps([hw, what], default=str)


def chains(points: list[Point], workers: int) -> list[list[Point]]:
    """Points in chains that Dask runs one after another on one worker (through task dependencies,
    with its locality-aware scheduler): one chain per affinity group, or several when there are
    fewer groups than workers, so every worker has work. Chains of one group map its hardware
    once per worker instead of once per point's worker."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(affinity_key(p), []).append(p)
    per = max(1, -(-max(1, workers) // max(1, len(groups))))
    out = []
    for g in groups.values():
        n = min(per, len(g))
        out += [g[i::n] for i in range(n)]
    return sorted(out, key=len, reverse=True)  # longest first: better balance at the end


def warm_up() -> str:
    """Import the model and elaborate this process's SystemC model (run once per worker)."""
    import workloads
    from accelerator.model import Accelerator

    Accelerator()
    workloads.lower(workloads.make_config("segformer-b0", resolution="64x64"))  # the IR cache (torch if cold)
    return f"{os.getpid()}"


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
#: metric columns of run points that set the scheduler (tenants, issue 22): `_tenancy_row`
TENANCY_METRICS = ("antt", "stp", "preemptions", "preempt_s", "preempt_bytes", "preempt_energy_j", "accuracy_coverage")


def _metric_columns(mode: str, tenants: bool = False) -> list[str]:
    from accelerator.energy import COMPONENTS
    from vocab.names import TENANCY_COMPONENTS

    if mode == "simulate":  # one inference is never preempted
        return list(SIM_METRICS) + [f"energy_{c}_j" for c in COMPONENTS if c not in TENANCY_COMPONENTS]
    return list(RUN_METRICS) + (list(TENANCY_METRICS) if tenants else [])


def _coord_type(values: list[Any]):
    import pyarrow as pa

    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return pa.bool_()
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return pa.int64()
    if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return pa.float64()
    return pa.string()


def _schema(spec: Spec, points: list[Point]):
    import pyarrow as pa

    fields = [pa.field("point_id", pa.string()), pa.field("sweep", pa.string()), pa.field("mode", pa.string())]
    for c in spec.columns:
        fields.append(pa.field(c, _coord_type([p.as_dict().get(c) for p in points])))
    text = ["hardware"] + (["config", "accuracy_label", "accuracy_metric"] if spec.mode == "simulate" else [])
    # a `config` coordinate becomes the canonical id the point ran (the same configuration)
    fields = [pa.field(f.name, pa.string()) if f.name in text else f for f in fields]
    fields += [pa.field(c, pa.string()) for c in text if c not in spec.columns]
    ints = ("dram_bytes", "macs", "macs_issued", "peak_macs_per_cycle", "frames", "run", "dropped", "missed",
            "preemptions")
    tenants = any(k in ("policy", "preemption", "mechanism") for p in points for k in p.as_dict())
    fields += [pa.field(c, pa.int64() if c in ints else pa.float64()) for c in _metric_columns(spec.mode, tenants)]
    fields += [pa.field("error", pa.string()), pa.field("wall_s", pa.float64()), pa.field("worker", pa.string())]
    return pa.schema(fields)


def _cell(v: Any, typ) -> Any:
    import pyarrow as pa

    if v is None:
        return None
    if pa.types.is_string(typ):
        return v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)
    if pa.types.is_floating(typ):
        return float(v)
    if pa.types.is_integer(typ):
        return int(v)
    return v


def _write_row(out: Path, schema, point: Point, spec: Spec, row: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    full = {"point_id": point.id, "sweep": spec.name, "mode": spec.mode, **point.as_dict(), **row}
    table = pa.Table.from_pylist([{f.name: _cell(full.get(f.name), f.type) for f in schema}], schema=schema)
    tmp = out / f".tmp-{point.id}-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(table, tmp)
    os.replace(tmp, out / f"part-{point.id}.parquet")


def finished_ids(out: str | os.PathLike, include_failed: bool = True) -> set[str]:
    """Ids of the points whose results are in ``out``."""
    d = Path(out)
    if not d.is_dir():
        return set()
    ids = {p.stem[5:] for p in d.glob("part-*.parquet")}
    if include_failed or not ids:
        return ids
    df = load_results(d)
    return set(df.loc[df["error"].fillna("") == "", "point_id"])


def load_results(out: str | os.PathLike):
    """Every row of a results directory as one pandas DataFrame (files of edited specs too)."""
    import pandas as pd
    import pyarrow.parquet as pq

    d = Path(out)
    files = sorted(d.glob("part-*.parquet")) if d.is_dir() else [d]
    if not files or not files[0].exists():
        raise SpecError(f"{out}: no sweep results here (expected part-*.parquet files written by `cosim sweep`)")
    frames = [pq.read_table(f).to_pandas() for f in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# ---------------------------------------------------------------------------------------------
# the sweep (driver)
# ---------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    wall_s: float = 0.0       # the whole sweep, cluster start-up included
    startup_s: float = 0.0    # cluster start and worker warm-up (imports, SystemC JIT)
    workers: int = 0
    out: Path | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def points_per_min(self) -> float:
        """Points per minute after start-up (warm workers)."""
        t = self.wall_s - self.startup_s
        return 60.0 * self.done / t if self.done and t > 0 else float("nan")

    def __str__(self) -> str:
        s = f"{self.total} points: {self.done} run ({self.failed} failed), {self.skipped} already done"
        if self.done:
            s += (f"; {self.wall_s:.1f} s wall on {self.workers} worker(s) ({self.startup_s:.1f} s start-up), "
                  f"{self.points_per_min:.1f} points/min")
        return s + f" -> {self.out}"


def _client(workers: int | None, scheduler: str | None):
    """A Dask client: on an existing scheduler, or on a new LocalCluster (returned to close)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    n = workers or max(1, os.cpu_count() or 1)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR, host="127.0.0.1")
    return Client(cluster), cluster


def sweep(spec: str | os.PathLike | Mapping[str, Any] | Spec, out: str | os.PathLike, *, workers: int | None = None,
          scheduler: str | None = None, client: Any = None, retry_failed: bool = False,
          progress: Callable[[SweepReport], None] | None = None, report: SweepReport | None = None):
    """Run every point of ``spec`` not yet in ``out`` on Dask; return all results (pandas).

    ``workers``: local worker processes (default: one per core); ``scheduler``: the address of
    an existing Dask scheduler (``tcp://HOST:PORT``) instead; ``client``: a `distributed.Client`
    to use (several sweeps on one cluster; left open). ``retry_failed`` runs points
    again whose earlier attempt failed. ``progress(report)`` is called after every point.
    """
    from distributed import as_completed

    s = spec if isinstance(spec, Spec) else load_spec(spec)
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise SpecError(f"-o {str(d)!r} exists and is not a directory (sweep results are a Parquet directory)")
    d.mkdir(parents=True, exist_ok=True)
    points = s.points()
    schema = _schema(s, points)
    done = finished_ids(d, include_failed=not retry_failed)
    todo = [p for p in points if p.id not in done]
    rep = report if report is not None else SweepReport()
    rep.total, rep.skipped, rep.out = len(points), len(points) - len(todo), d
    (d / "_sweep.json").write_text(json.dumps({"name": s.name, "mode": s.mode, "spec": s.source,
                                               "points": len(points)}, indent=1))
    t0 = time.perf_counter()
    if todo:
        own = client is None
        client, cluster = _client(workers, scheduler) if own else (client, None)
        try:
            rep.workers = len(client.scheduler_info()["workers"])
            try:
                client.run(warm_up)  # JIT and imports once per worker, in parallel
            except Exception as e:
                raise SpecError(f"the Dask workers cannot run dynvit-cosim ({_one_line(e)}); start each `dask "
                                f"worker` from this project's environment (.venv/bin/dask worker ...)") from None
            rep.startup_s = time.perf_counter() - t0
            futs = {}
            for chain in chains(todo, rep.workers):
                prev = None
                for p in chain:
                    key = f"{s.name}-{p.id}-{uuid.uuid4().hex[:6]}"
                    fut = (client.submit(run_point, p.mode, p.as_dict(), key=key, pure=False) if prev is None else
                           client.submit(run_point_after, prev, p.mode, p.as_dict(), key=key, pure=False))
                    futs[fut] = p
                    prev = fut
            for fut in as_completed(futs):
                p = futs[fut]
                try:
                    row = fut.result()
                except Exception as e:  # a worker died under the point (KilledWorker), or transport
                    row = {"error": _one_line(e), "wall_s": float("nan"), "worker": ""}
                _write_row(d, schema, p, s, row)
                rep.done += 1
                if row.get("error"):
                    rep.failed += 1
                    rep.errors[p.id] = row["error"]
                rep.wall_s = time.perf_counter() - t0
                if progress:
                    progress(rep)
        finally:
            if own:
                client.close()
            if cluster is not None:
                cluster.close()
    rep.wall_s = time.perf_counter() - t0
    df = load_results(d) if any(d.glob("part-*.parquet")) else None
    if df is not None:
        ids = {p.id for p in points}
        df = df[df["point_id"].isin(ids)].reset_index(drop=True)
    return df
