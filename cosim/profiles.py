"""Profile tables measured on the SystemC model, cached on disk.

For each candidate configuration and each resource level the host will see,
one standalone inference runs on the same SystemC accelerator; its latency and
energy become the governor's prediction. Results are cached in
``$DYNVIT_CACHE_DIR`` (default ``~/.cache/dynvit-cosim``) under a key of the inputs
declared in `INPUTS` (the hardware parameters, the configuration, the sources of the
model and of the resource mapping); within an entry, by the settings of each level.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

from host.profile import ProfileTable, ResourceLevel
from vocab.cache import CacheInputs
from vocab.paths import atomic_write_text
from vocab.progress import first_use

from .bridge import resource_settings


#: Every source that determines a measured latency or energy: the model (C++, Python, data) and
#: the IR it runs, the ground package they share, and how a resource level becomes the
#: accelerator's settings (`resource_settings`, in the bridge) and is measured (this module).
MODEL_SOURCES = ("vocab/**/*.py", "accelerator/**/*.py", "accelerator/**/*.h", "accelerator/**/*.cpp",
                 "accelerator/**/*.yaml", "workloads/**/*.py", "workloads/**/*.yaml")
#: What invalidates a profile, in one line (``vocab.cache``). Within an entry each measurement is
#: keyed by the accelerator settings its level gives (`level_settings`), so a change of
#: `resource_settings` never reuses a measurement made under other settings.
INPUTS = CacheInputs("profiles", files=MODEL_SOURCES + ("cosim/bridge.py", "cosim/profiles.py"), params=("hw", "config"))


def cache_dir() -> Path:
    return INPUTS.dir


def model_version() -> str:
    """Hash of every source file that determines a measured latency or energy (16 hex digits;
    also part of sweep-point and reproduction keys)."""
    return INPUTS.files_digest()[:16]


def level_settings(hw: Any, lv: ResourceLevel) -> dict[str, float | int]:
    """The accelerator's runtime settings at a resource level (`resource_settings` of each resource)."""
    settings: dict = {}
    for name, value in zip(ResourceLevel._fields, lv):
        settings.update(resource_settings(hw, name, value))
    return settings


def _entry(hw: Any, lv: ResourceLevel) -> str:
    return json.dumps(level_settings(hw, lv), sort_keys=True)


def measure(
    acc: Any,
    hw: Any,
    configs: Iterable[str],
    levels: Iterable[ResourceLevel],
    program_of: Callable[[str], Any],
    use_cache: bool = True,
) -> ProfileTable:
    """Latency and energy of each config at each level (standalone inferences, cached)."""
    levels = sorted(set(ResourceLevel(*l) for l in levels))
    table = ProfileTable()
    hw_dict = hw.to_dict()
    d = cache_dir()
    for config in configs:
        path = d / f"{INPUTS.key(hw=hw_dict, config=config)}.json"
        cached: dict[str, list[float]] = {}
        dirty = False
        if use_cache and path.is_file():
            cached, dirty = _load_entries(path)
        todo = [lv for lv in levels if _entry(hw, lv) not in cached]
        if todo:
            first_use(f"profiling {config} at {len(todo)} resource level(s) (first use; cached afterwards)")
        for lv in levels:
            k = _entry(hw, lv)
            if k not in cached:
                cached[k] = list(_run_at(acc, hw, program_of(config), lv))
                dirty = True
            table.add(config, lv, *cached[k])
        if dirty and use_cache:
            try:
                atomic_write_text(path, json.dumps({"config": config, "hw": hw_dict, "levels": cached}, sort_keys=True))
            except OSError:
                pass  # a read-only cache only costs time
    _set_level(acc, hw, ResourceLevel())
    return table


def _load_entries(path: Path) -> tuple[dict[str, list[float]], bool]:
    """The valid entries of a cache file, and whether some were bad (they are measured again,
    with a warning): each must map a level to [latency_s > 0, energy_j > 0], both finite."""
    try:
        raw = json.loads(path.read_text())
        levels = raw["levels"] if isinstance(raw, dict) else None
    except (OSError, ValueError, KeyError):
        levels = None
    if not isinstance(levels, dict):
        warnings.warn(f"profile cache entry {path} is unreadable; measuring again", RuntimeWarning, stacklevel=3)
        return {}, True
    good: dict[str, list[float]] = {}
    for k, v in levels.items():
        if (isinstance(v, list) and len(v) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
                        for x in v)):
            good[k] = [float(v[0]), float(v[1])]
    if len(good) != len(levels):
        warnings.warn(f"profile cache entry {path}: {len(levels) - len(good)} of {len(levels)} levels are not "
                      "[latency_s > 0, energy_j > 0]; measuring them again", RuntimeWarning, stacklevel=3)
        return good, True
    return good, False


def _set_level(acc: Any, hw: Any, lv: ResourceLevel) -> None:
    acc.set_resources(**level_settings(hw, lv))


def _run_at(acc: Any, hw: Any, program: Any, lv: ResourceLevel) -> tuple[float, float]:
    _set_level(acc, hw, lv)
    res = acc.run(program)
    return float(res.latency_s), float(res.energy_j)
