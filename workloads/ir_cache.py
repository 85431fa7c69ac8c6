"""The lowered IR of a configuration, kept on disk across processes.

Lowering traces the knob-applied torch model, which costs seconds and imports torch and
transformers; the IR it gives depends only on the configuration, the sources of this
package and the versions of those two libraries. So `registry.lower` keeps each IR in
``<cache dir>/ir/<key>.json`` (``vocab.paths.cache_dir``), where ``key`` hashes the
configuration and every input declared in `INPUTS` (``vocab.cache``; versions are read
from package metadata, which imports neither library). A process whose IRs are all cached never imports torch.

An entry is written to a private temporary file and renamed into place (atomic, so
concurrent writers of the same entry are safe: the last rename wins and each wrote the
same IR). An entry that does not parse, names another key, or whose layers do not agree
with their own totals is ignored and lowered again (and rewritten). ``DYNVIT_IR_CACHE=0``
turns the disk cache off (every process lowers again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from vocab.cache import CacheInputs, version as cache_version
from vocab.paths import atomic_write_text
from vocab.progress import first_use

from .ir import Workload
from .knobs import Config

ENV = "DYNVIT_IR_CACHE"

#: What invalidates an IR, in one line: every source of this package (a knob's definition, a
#: family's module, the tracer) and of the ground package it imports, the libraries whose versions
#: decide the IR a source lowers to, the interpreter, and the configuration (its id and every knob).
INPUTS = CacheInputs("ir", files=("vocab/*.py", "workloads/*.py"), versions=("torch", "transformers", "python"),
                     params=("config", "family", "knobs", "resolution"))


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def _library_versions() -> dict[str, str]:
    """The installed versions of the libraries the IR depends on (recorded in each entry)."""
    return {d: cache_version(d) for d in INPUTS.versions}


def key(config: Config) -> str:
    """The cache key of a configuration's IR (`INPUTS`)."""
    return INPUTS.key(32, config=config.id, family=config.family, knobs=repr(config.knobs),
                      resolution=list(config.resolution))


def path_of(config: Config) -> Path:
    return INPUTS.dir / f"{key(config)}.json"


def read(config: Config) -> Workload | None:
    """The cached IR of ``config``, or None when there is none or it is not a valid entry."""
    path = path_of(config)
    try:
        raw = json.loads(path.read_bytes())
        if raw["key"] != path.stem or raw["config"] != config.id:
            return None
        wl = Workload.from_dict(raw["workload"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # unreadable, truncated or damaged: lower again and rewrite it
    return wl if wl.config == config.id else None


def write(config: Config, wl: Workload) -> None:
    """Store ``wl`` as the IR of ``config`` (atomically; a read-only cache only costs time)."""
    path = path_of(config)
    data = json.dumps({"key": path.stem, "config": config.id, "libraries": _library_versions(),
                       "workload": wl.to_dict()}, separators=(",", ":"))
    try:
        atomic_write_text(path, data)
    except OSError:
        pass  # a read-only cache only costs time


def cached(config: Config, lower: Callable[[Config], Workload]) -> Workload:
    """``lower(config)``, through the disk cache unless it is turned off."""
    if not enabled():
        return lower(config)
    wl = read(config)
    if wl is None:
        first_use(f"lowering {config.id} to the layer IR (first use; cached afterwards)")
        wl = lower(config)
        write(config, wl)
    return wl
