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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from vocab.errors import UserError

from .sweep_checks import MAX_POINTS, number_error, range_count, size_error

__all__ = ["SpecError", "Spec", "Point", "load_spec", "run_point", "sweep", "load_results", "SweepReport"]

MODES = ("simulate", "run")
SPEC_KEYS = ("name", "mode", "seed", "sample", "fixed", "axes", "description", "max_points")
SIM_COORDS = ("model", "resolution", "config")
RUN_COORDS = ("scenario", "seed", "duration_s", "governor", "policy", "preemption", "mechanism")
#: metric columns of every row (energy components follow as energy_<component>_j)
SIM_METRICS = ("latency_s", "energy_j", "area_mm2", "dram_bytes", "macs", "macs_issued", "utilization",
               "roofline_ratio", "peak_macs_per_cycle", "accuracy")
RUN_METRICS = ("frames", "run", "dropped", "missed", "miss_rate", "accuracy_mean", "energy_per_frame_j",
               "energy_total_j", "latency_p50_s", "latency_p99_s", "area_mm2")
#: metric columns of run points that set the scheduler (tenants): `_tenancy_row`
TENANCY_METRICS = ("antt", "stp", "preemptions", "preempt_s", "preempt_bytes", "preempt_energy_j", "accuracy_coverage")
TEXT_RESULTS = ("hardware", "config", "accuracy_label", "accuracy_metric")
#: The resolved hardware of every point: the preset it started from, the overrides (JSON field ->
#: value) and every field with its value (JSON); ``hardware`` is the preset's name followed by the
#: overrides (``vs16+num_pes=64``), so that a label never names hardware a point did not run.
HARDWARE_COLUMNS = ("hardware", "hardware_preset", "hardware_overrides", "hardware_params")
#: Units of the result columns (the Parquet schema metadata carries them with those of the
#: hardware coordinates); "1" is dimensionless.
UNITS = {"latency_s": "s", "energy_j": "J", "area_mm2": "mm^2", "dram_bytes": "B", "macs": "MAC",
         "macs_issued": "MAC", "utilization": "1", "roofline_ratio": "1", "peak_macs_per_cycle": "MAC/cycle",
         "accuracy": "accuracy_metric", "frames": "frame", "run": "frame", "dropped": "frame", "missed": "frame",
         "miss_rate": "1", "accuracy_mean": "accuracy_metric", "energy_per_frame_j": "J", "energy_total_j": "J",
         "latency_p50_s": "s", "latency_p99_s": "s", "wall_s": "s", "duration_s": "s",
         "antt": "1", "stp": "1", "preemptions": "preemption", "preempt_s": "s", "preempt_bytes": "B",
         "preempt_energy_j": "J", "accuracy_coverage": "1"}


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

    def coordinates(self) -> Iterable[dict[str, Any]]:
        """The coordinates of every point (the grid, or its seeded random sample), in a stable
        order, made one at a time: a sample of a huge grid never expands the grid."""
        sizes = [len(v) for _, v in self.axes]
        total = math.prod(sizes)
        if self.sample is not None and self.sample < total:
            idx: Iterable[int] = sorted(random.Random(self.seed).sample(range(total), self.sample))
        else:
            idx = range(total)
        for i in idx:
            digits = []
            for n in reversed(sizes):  # the last axis varies fastest (itertools.product's order)
                i, j = divmod(i, n)
                digits.append(j)
            c = dict(self.fixed)
            for (_, values), j in zip(self.axes, reversed(digits)):
                c.update(values[j])
            yield c

    def points(self) -> list[Point]:
        """Every point (the grid, or its seeded random sample), in a stable order."""
        out, seen = [], set()
        for c in self.coordinates():
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
    value = _checked_number(where, key, value)
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
            return _checked_number(where, key, HardwareParams._params[key].check(_convert(key, value)))
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


def _checked_number(where: str, key: str, value: Any) -> Any:
    err = number_error(key, value)
    if err:
        raise _fail(where, err)
    return value


def _num(x: Any) -> Any:
    """YAML reads 5e8 (no dot) as text: numbers written that way count as numbers."""
    if isinstance(x, str):
        try:
            f = float(x)
        except ValueError:
            return x
        return int(f) if f.is_integer() and "." not in x and "e" not in x.lower() else f
    return x


def _axis_values(where: str, mode: str, name: str, spec: Any, rng: random.Random,
                 limit: int = MAX_POINTS) -> list[dict[str, Any]]:
    """An axis spec -> list of coordinate dicts (its size checked against ``limit`` first)."""
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
        if kind != "range" and size_error(n, limit, f"n = {n}"):
            raise _fail(f"{where}.n", size_error(n, limit, f"n = {n}"))
        if isinstance(arg, list):
            for x in arg:
                if isinstance(x, (int, float)) and number_error(kind, x):
                    raise _fail(f"{where}.{kind}", number_error(kind, x))
        if kind == "range":
            if not (isinstance(arg, list) and len(arg) in (2, 3) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in arg)):
                raise _fail(f"{where}.range", f"must be [lo, hi] or [lo, hi, step] numbers, got {arg!r}")
            lo, hi = arg[0], arg[1]
            step = arg[2] if len(arg) == 3 else 1
            if not step > 0 or hi < lo:
                raise _fail(f"{where}.range", f"needs lo <= hi and step > 0, got {arg!r}")
            count = range_count(lo, hi, step)
            if size_error(count, limit, f"range {arg!r}"):
                raise _fail(f"{where}.range", size_error(count, limit, f"range {arg!r}"))
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
        if p.is_dir():
            raise SpecError(f"sweep spec {str(p)!r} is a folder; give a YAML file (e.g. studies/vector_size.yaml)")
        if not p.is_file():
            raise SpecError(f"sweep spec {str(p)!r} does not exist" if not p.exists() else
                            f"sweep spec {str(p)!r} is not a regular file")
        try:
            source = p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError(f"{where}: not a text (UTF-8) file: byte {e.start} cannot be decoded; a sweep spec "
                            "is YAML text") from None
        except OSError as e:
            raise SpecError(f"{where}: cannot be read ({e.strerror or e})") from None
        if "\x00" in source:
            raise SpecError(f"{where}: not a text file (it holds NUL bytes); a sweep spec is YAML text")
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
    limit = doc.get("max_points", MAX_POINTS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise SpecError(f"{where}: max_points = {limit!r} must be an integer >= 1 (default {MAX_POINTS})")
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
    axes = [(str(k), _axis_values(f"{where}: axes.{k}", mode, str(k), v, rng, limit)) for k, v in axes_doc.items()]
    s = Spec(name=name, mode=mode, seed=seed, sample=sample, fixed=fixed, axes=axes, source=source,
             description=str(doc.get("description", "")))
    grid = s.grid_size()
    what = (f"sample = {sample}" if sample is not None and sample < grid else
            "the grid (" + " x ".join(f"{len(v)} {k}" for k, v in axes) + ")")
    err = size_error(min(grid, sample) if sample is not None else grid, limit, what)
    if err:
        raise SpecError(f"{where}: {err}")
    cols = s.columns
    if mode == "simulate":
        if "config" in cols and ("model" in cols or any(c.startswith("knob.") for c in cols)):
            raise SpecError(f"{where}: give either config (configuration ids) or model/knob.* coordinates, not both")
        if "config" not in cols and "model" not in cols:
            raise SpecError(f"{where}: simulate points need a model (fixed.model or axes.model) or a config")
        _check_configs(where, s)
    return s


def _config_of(coords: Mapping[str, Any]):
    """The configuration a simulate point runs (validated by the model's family)."""
    import workloads

    if "config" in coords:
        cfg = workloads.parse_config(coords["config"])
        if "resolution" in coords:
            cfg = workloads.make_config(cfg.name, resolution=coords["resolution"], **{k: v for k, v in cfg.knobs})
        return cfg
    knobs = {k[5:]: (v if isinstance(v, str) else str(v)) for k, v in coords.items() if k.startswith("knob.")}
    return workloads.make_config(coords["model"], resolution=coords.get("resolution"), **knobs)


def _check_configs(where: str, s: Spec) -> None:
    """Every configuration the points run (model, resolution, knobs) is valid for its model family,
    checked before any worker starts (a 100000x100000 resolution is refused here, not per point)."""
    keys = [k for k in s.columns if k in ("model", "config", "resolution") or k.startswith("knob.")]
    seen: set[tuple] = set()
    for c in s.coordinates():
        key = tuple((k, c.get(k)) for k in keys)
        if key in seen:
            continue
        seen.add(key)
        try:
            _config_of(c)
        except UserError as e:
            point = ", ".join(f"{k}={v}" for k, v in key if v is not None)
            raise SpecError(f"{where}: the point with {point}: {' '.join(str(e).split())}") from None


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


def hardware_columns(hw) -> dict[str, str]:
    """The resolved hardware of a point as its text columns (see HARDWARE_COLUMNS)."""
    ov = {k: v["value"] for k, v in sorted(hw.overrides.items())}
    label = hw.name + "".join(f"+{k}={v:g}" if isinstance(v, float) else f"+{k}={v}" for k, v in ov.items())
    return {"hardware": label, "hardware_preset": hw.name,
            "hardware_overrides": json.dumps(ov, sort_keys=True, default=str),
            "hardware_params": json.dumps(hw.to_dict(), sort_keys=True, default=str)}


def _simulate_point(coords: Mapping[str, Any]) -> dict[str, Any]:
    import workloads
    from accelerator.area import area_mm2
    from accelerator.model import Accelerator
    from workloads.accuracy import accuracy_of

    from .programs import load_program

    cfg = _config_of(coords)
    hw = _hardware_of(coords)
    acc = Accelerator.for_process(hw)
    r = acc.run(load_program(acc, cfg))
    a = accuracy_of(cfg)
    row = {**hardware_columns(hw), "config": cfg.id, "latency_s": r.latency_s, "energy_j": r.energy_j,
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
    row = {**hardware_columns(hw), "area_mm2": area_mm2(hw)["total"], **tenants}
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

    from .sweep_checks import row_violations

    t0 = time.perf_counter()
    try:
        row = _simulate_point(coords) if mode == "simulate" else _run_point(coords)
        bad = row_violations(row)
        # a result that breaks an invariant is a failed point with its reason, never a row of numbers
        row = {k: v for k, v in row.items() if k in HARDWARE_COLUMNS} | {"error": bad} if bad else row | {"error": ""}
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

    Accelerator.for_process()
    workloads.lower(workloads.make_config("segformer-b0", resolution="64x64"))  # the IR cache (torch if cold)
    return f"{os.getpid()}"


# The results and the driver live in their own modules (cosim.sweep_results, cosim.sweep_driver);
# their public names are reachable from here as before (resolved on first use: they import this one).
_RESULTS = ('_metric_columns', '_coord_type', '_schema', '_schema_metadata', '_cell', '_write_row', 'finished_ids',
            'load_results')
_DRIVER = ('SweepReport', 'check_workers', '_client', '_results_folder', '_write_error', 'sweep', '_sweep_locked',
           '_write_text_atomic')


def __getattr__(name: str) -> Any:
    if name in _RESULTS:
        from . import sweep_results

        return getattr(sweep_results, name)
    if name in _DRIVER:
        from . import sweep_driver

        return getattr(sweep_driver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
