"""Profile tables measured on the SystemC model, cached on disk.

For each candidate configuration and each resource level the host will see,
one standalone inference runs on the same SystemC accelerator; its latency and
energy become the governor's prediction. Results are cached in
``$DYNVIT_CACHE_DIR`` (default ``~/.cache/dynvit-cosim``) under a key that hashes
the hardware parameters, the configuration, the level and the source of the
model (C++ and Python of `accelerator/` and `workloads/`), so any change to the
model invalidates them.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from host.profile import ProfileTable, ResourceLevel
from vocab.paths import atomic_write_text, cache_dir as shared_cache_dir
from vocab.progress import first_use

from .bridge import resource_settings


def cache_dir() -> Path:
    return shared_cache_dir("profiles")


@lru_cache(maxsize=1)
def model_version() -> str:
    """Hash of every source file that determines a measured latency or energy."""
    import accelerator
    import vocab
    import workloads

    h = hashlib.sha256()
    for pkg in (vocab, accelerator, workloads):  # vocab: the counters, components and units they share
        root = Path(pkg.__file__).parent
        for p in sorted(root.rglob("*")):
            if p.suffix in (".py", ".h", ".cpp", ".yaml") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _key(hw_dict: dict, config: str) -> str:
    blob = json.dumps({"hw": hw_dict, "config": config, "model": model_version()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


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
        path = d / f"{_key(hw_dict, config)}.json"
        cached: dict[str, list[float]] = {}
        dirty = False
        if use_cache and path.is_file():
            cached, dirty = _load_entries(path)
        todo = [lv for lv in levels if json.dumps(list(lv)) not in cached]
        if todo:
            first_use(f"profiling {config} at {len(todo)} resource level(s) (first use; cached afterwards)")
        for lv in levels:
            k = json.dumps(list(lv))
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
    settings: dict = {}
    for name, value in zip(ResourceLevel._fields, lv):
        settings.update(resource_settings(hw, name, value))
    acc.set_resources(**settings)


def _run_at(acc: Any, hw: Any, program: Any, lv: ResourceLevel) -> tuple[float, float]:
    _set_level(acc, hw, lv)
    res = acc.run(program)
    return float(res.latency_s), float(res.energy_j)
