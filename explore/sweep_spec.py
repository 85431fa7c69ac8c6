"""A sweep spec: its format, its checks, and the stable ids of its points.

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
``scenario`` (name or path), ``seed``, ``duration_s``, ``governor`` (every stream's), and the
scheduler's ``policy``, ``preemption``, ``mechanism``, ``spatial`` and ``partition_bandwidth``
(tenants, issue 22; a combination the scheduler refuses, such as spatial sharing with preemption,
is that point's one-line error).

Every point has a stable id: a hash of its mode, its coordinates and the sources of the model
(`cosim.profiles.model_version`; for ``run`` points also the host, the co-simulation, this
package and the scenario's text), so that a re-run skips finished points (explore/sweep_results.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from vocab.errors import UserError

from .sweep_checks import MAX_POINTS, number_error, range_count, size_error

MODES = ("simulate", "run")
SPEC_KEYS = ("name", "mode", "seed", "sample", "fixed", "axes", "description", "max_points")
SIM_COORDS = ("model", "resolution", "config")
#: the coordinates of run points that set the host's `Scheduler` (their points measure tenancy)
SCHEDULER_COORDS = ("policy", "preemption", "mechanism", "spatial", "partition_bandwidth")
RUN_COORDS = ("scenario", "seed", "duration_s", "governor", *SCHEDULER_COORDS)


class SpecError(UserError, ValueError):
    """A sweep spec that is not valid; the message names the field and the allowed values."""


# ---------------------------------------------------------------------------------------------
# spec
# ---------------------------------------------------------------------------------------------
def _allowed_coords(mode: str) -> str:
    from cosim.api import hardware_fields

    extra = SIM_COORDS + ("knob.<name>",) if mode == "simulate" else RUN_COORDS
    return ", ".join(("preset",) + extra + ("tag.<label>",) + hardware_fields())


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
    from vocab.params import ParamError

    from cosim import api

    if not isinstance(key, str):
        raise _fail(where, f"coordinate names must be text, got {key!r}")
    value = _checked_number(where, key, value)
    if key.startswith("tag."):
        if not isinstance(value, (str, int, float, bool)):
            raise _fail(where, f"{key} must be a scalar label, got {value!r}")
        return value
    if key == "preset":
        if not isinstance(value, str):
            raise _fail(where, f"preset must be a preset name or YAML path, got {value!r}")
        try:
            api.check_preset(value)
        except ParamError as e:
            raise _fail(where, str(e)) from None
        return value
    if key in api.hardware_fields():
        try:
            return _checked_number(where, key, api.check_hardware_value(key, value))
        except ParamError as e:
            raise _fail(where, str(e)) from None
    checked = (_check_sim_coord if mode == "simulate" else _check_run_coord)(where, key, value)
    if checked is _UNKNOWN:
        raise _fail(where, f"unknown coordinate {key!r} for mode {mode!r}; allowed: {_allowed_coords(mode)}")
    return checked


_UNKNOWN = object()  # a coordinate name the mode does not know


def _check_sim_coord(where: str, key: str, value: Any) -> Any:
    """A coordinate of a ``simulate`` point (model, resolution, config, knob.*), normalised."""
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
    return _UNKNOWN


def _check_run_coord(where: str, key: str, value: Any) -> Any:
    """A coordinate of a ``run`` point (scenario, seed, duration_s, governor, the scheduler's), normalised."""
    from cosim import api

    if key == "scenario":
        from cosim.scenario import ScenarioError, resolve

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
        governors = api.governor_names()
        if value not in governors:
            raise _fail(where, f"governor = {value!r} is not known; allowed: {', '.join(governors)}")
        return value
    if key == "partition_bandwidth":
        if not isinstance(value, bool):
            raise _fail(where, f"partition_bandwidth = {value!r} must be true or false")
        return value
    if key in SCHEDULER_COORDS:
        allowed = api.scheduler_choices(key)
        if value not in allowed:
            raise _fail(where, f"{key} = {value!r} is not allowed; allowed: {', '.join(allowed)}")
        return value
    return _UNKNOWN


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


def config_of(coords: Mapping[str, Any]):
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
            config_of(c)
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
    from cosim.api import run_sources
    from cosim.profiles import model_version

    if mode == "simulate":
        return model_version()
    key = f"run:{coords.get('scenario', '')}"
    if key not in _VERSIONS:
        from cosim.scenario import resolve

        scen = resolve(coords.get("scenario") or None)
        extra = run_sources() + [Path(__file__).resolve().parent, scen] + sorted(scen.parent.glob("_*.py"))
        _VERSIONS[key] = model_version() + _source_hash(extra)
    return _VERSIONS[key]


def make_point(mode: str, coords: Mapping[str, Any]) -> Point:
    c = tuple(sorted((k, _canon(v)) for k, v in coords.items()))
    blob = json.dumps({"mode": mode, "coords": c, "version": _version(mode, dict(c))}, sort_keys=True, default=str)
    return Point(mode=mode, coords=c, id=hashlib.sha256(blob.encode()).hexdigest()[:16])

