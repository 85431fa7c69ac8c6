"""Hardware presets: YAML files under ``accelerator/presets/`` with the source of every number.

A preset file holds ``preset`` (its name), optional ``base`` (a preset it inherits
from), ``description``, ``sources`` (citation keys) and ``params``: for each
`HardwareParams` field ``{value, kind, source}`` with ``kind`` one of
``published``, ``derived``, ``choice``, ``assumption``.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml

from vocab.params import did_you_mean
from vocab.inputs import check_file, read_text

from .params import HardwareParams, ParamError

__all__ = ["PRESET_DIR", "DEFAULT_PRESET", "KINDS", "list_presets", "load_preset", "provenance",
           "preset_info", "parse_overrides", "apply_overrides"]

PRESET_DIR = Path(__file__).with_name("presets")

# simba-like: every organisational number comes from the public Accelergy/Timeloop example,
# so it is the best-sourced starting point and can be cross-checked against Timeloop/Accelergy.
# vs8/vs16/vs32 are the points of the vector-size study.
DEFAULT_PRESET = "simba-like"

KINDS = ("published", "derived", "choice", "assumption")


def list_presets() -> list[str]:
    """Names of the shipped presets."""
    key = lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]
    return sorted((p.stem for p in PRESET_DIR.glob("*.yaml")), key=key)


def _path_of(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s or "\\" in s:
        p = Path(s)
        if not p.is_absolute() and relative_to is not None and not p.exists():
            p = relative_to / p
        if not p.exists():
            raise ParamError(f"preset file {s!r} does not exist; shipped presets: {', '.join(list_presets())}")
        return check_file("preset file", p, "a preset YAML file (see accelerator/presets/)")
    p = PRESET_DIR / f"{s}.yaml"
    if not p.exists():
        raise ParamError(f"unknown preset {s!r}; available presets: {', '.join(list_presets())} "
                         f"(or give the path of a preset YAML file)")
    return p


def preset_path(name_or_path: str | Path) -> Path:
    """The file of a shipped preset's name or a preset YAML path (`ParamError` naming the shipped
    presets if there is none)."""
    return _path_of(name_or_path)


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    """A preset file's YAML, parsed once per text (a run parses its preset chain: ~30 ms a run)."""
    return yaml.safe_load(text)


def _read(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged preset (base first): {'preset', 'description', 'sources', 'params'}."""
    if path.resolve() in _seen:
        raise ParamError(f"preset {path}: circular 'base' chain")
    text = read_text("preset file", path, "a preset YAML file (see accelerator/presets/)")
    try:
        doc = copy.deepcopy(_parsed(text))  # (a copy: the caller may change what it gets)
    except yaml.YAMLError as e:
        raise ParamError(f"preset {path}: not valid YAML ({' '.join(str(e).split())}); available presets: "
                         f"{', '.join(list_presets())}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("params"), dict):
        raise ParamError(f"preset {path}: expected a mapping with a 'params' mapping; see "
                         f"{PRESET_DIR / (DEFAULT_PRESET + '.yaml')} for the format")
    merged: dict[str, Any] = {"sources": {}, "params": {}}
    if doc.get("base"):
        merged = _read(_path_of(doc["base"], path.parent), _seen + (path.resolve(),))
    merged["preset"] = doc.get("preset", path.stem)
    merged["description"] = doc.get("description", merged.get("description", ""))
    merged["sources"] = {**merged["sources"], **(doc.get("sources") or {})}
    for field, entry in doc["params"].items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise ParamError(f"preset {path}: params.{field} must be a mapping with 'value', 'kind' "
                             f"and 'source'")
        kind, source = entry.get("kind"), entry.get("source")
        if kind not in KINDS or not source:
            raise ParamError(f"preset {path}: params.{field} needs a 'kind' (one of {', '.join(KINDS)}) "
                             f"and a non-empty 'source'")
        merged["params"][field] = {"value": entry["value"], "kind": kind,
                                   "source": " ".join(str(source).split()), "file": path.name}
    return merged


def preset_info(name_or_path: str | Path) -> dict[str, Any]:
    """The merged preset document (params with value, kind, source, file)."""
    return _read(_path_of(name_or_path))


def load_preset(name_or_path: str | Path) -> HardwareParams:
    """The validated `HardwareParams` of a shipped preset name or a preset YAML path."""
    info = preset_info(name_or_path)
    missing = [f for f in HardwareParams.param_names() if f not in info["params"]]
    if missing:
        raise ParamError(f"preset {name_or_path!r} does not set {', '.join(missing)}; every field needs "
                         f"a value with its source")
    return HardwareParams.from_dict({k: v["value"] for k, v in info["params"].items()})


def provenance(name_or_path: str | Path) -> dict[str, str]:
    """Field -> '<kind>: <source> (<file>)' for every parameter of the preset."""
    info = preset_info(name_or_path)
    return {f: f"{e['kind']}: {e['source']} ({e['file']})" for f, e in info["params"].items()}



def _convert(field: str, text: Any) -> Any:
    """A ``--set`` value (text, or a YAML value) converted to the type of ``HardwareParams.<field>``
    (unit literals such as 800MHz, 128KiB: `vocab.params.Param.parse`)."""
    return HardwareParams._params[field].parse(text)


def parse_overrides(items: Any) -> dict[str, Any]:
    """``["num_pes=32", "zero_gating=false"]`` (or a mapping) -> {field: typed value}.

    Unknown fields and values that do not parse raise `ParamError` naming the field and its
    allowed values; ranges and cross-field checks are applied by `apply_overrides`.
    """
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        pairs = []
        for kv in items or []:
            if "=" not in str(kv):
                raise ParamError(f"--set {kv!r} must be FIELD=VALUE (fields: "
                                 f"{', '.join(HardwareParams.param_names())})")
            k, v = str(kv).split("=", 1)
            pairs.append((k.strip(), v))
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k not in HardwareParams._params:
            raise ParamError(f"--set {k}: unknown hardware parameter; valid names: "
                             f"{', '.join(HardwareParams.param_names())}{did_you_mean(k, HardwareParams.param_names())}")
        out[k] = _convert(k, v)
    return out


def apply_overrides(hw: HardwareParams, items: Any) -> HardwareParams:
    """``hw`` with ``--set`` style overrides applied and validated (recorded as kind "override")."""
    changes = parse_overrides(items)
    return hw.replace(**changes) if changes else hw
