"""One way to key an on-disk cache: each cache declares, in one line, what invalidates it.

A cache (the mapper's choices, the profile tables, the lowered IR, the compiled model, sweep
points) stores something that is a pure function of some inputs. It declares them once::

    IR = CacheInputs("ir", files=("vocab/*.py", "workloads/*.py"), versions=("torch", "python"),
                     params=("config", "family", "knobs", "resolution"))

and asks for ``IR.key(config=..., family=..., knobs=..., resolution=...)``: a hash of the
declaration's name and format, the bytes of every declared file (found by glob from the folder
that holds the packages, the same in a checkout and in an installed wheel), the installed
version of every declared distribution (``"python"``: the interpreter's major.minor) and the
declared parameters' values. A parameter that is not declared, or a declared one not given, is
refused (a ``TypeError``): what the key covers is exactly the reviewable line.
``tests/test_cache_keys.py`` perturbs every declared input of every cache and checks that its
key changes. Files are read once per process (the sources do not change under a running tool).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .paths import cache_dir

__all__ = ["CacheInputs", "DECLARED", "SOURCE_ROOT", "clear", "version"]

#: The folder that holds the packages (``vocab``, ``workloads``, ``accelerator``, ...): file globs
#: are relative to it.
SOURCE_ROOT = Path(__file__).resolve().parent.parent

#: Every declaration made in this process, by name (the key test walks them all).
DECLARED: dict[str, "CacheInputs"] = {}

_digests: dict[tuple, str] = {}


def _read(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=None)
def version(dist: str) -> str:
    """The installed version of a distribution (from its metadata: imports nothing), or "absent"."""
    if dist == "python":
        return "%d.%d" % sys.version_info[:2]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "absent"


def clear() -> None:
    """Forget the file digests and versions read so far (tests that change a declared input)."""
    _digests.clear()
    version.cache_clear()


@dataclass(frozen=True)
class CacheInputs:
    """What invalidates one cache: ``files`` (globs from `SOURCE_ROOT`; ``**`` descends),
    ``versions`` (distribution names, or ``"python"``), ``params`` (names of the values given to
    `key`), ``format`` (bumped when the entry layout changes)."""

    name: str
    files: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    format: int = 1

    def __post_init__(self) -> None:
        if self.name in DECLARED and DECLARED[self.name] != self:
            raise ValueError(f"cache {self.name!r} is declared twice with different inputs")
        DECLARED[self.name] = self

    @property
    def dir(self) -> Path:
        """The cache's folder (``vocab.paths.cache_dir(name)``; not created here)."""
        return cache_dir(self.name)

    def paths(self) -> list[Path]:
        """The declared files, sorted (``__pycache__`` and folders left out)."""
        found = {p for pattern in self.files for p in SOURCE_ROOT.glob(pattern)
                 if p.is_file() and "__pycache__" not in p.parts}
        return sorted(found)

    def files_digest(self) -> str:
        """Hash of every declared file's path (from `SOURCE_ROOT`) and bytes (once per process)."""
        k = (SOURCE_ROOT, self.files)
        if k not in _digests:
            h = hashlib.sha256()
            for p in self.paths():
                h.update(p.relative_to(SOURCE_ROOT).as_posix().encode() + b"\0" + _read(p) + b"\0")
            _digests[k] = h.hexdigest()
        return _digests[k]

    def key(self, n: int = 24, **params: Any) -> str:
        """The key of an entry: ``n`` hex digits of the hash of every declared input."""
        missing = [p for p in self.params if p not in params]
        extra = [p for p in params if p not in self.params]
        if missing or extra:
            raise TypeError(f"cache {self.name!r} declares params {self.params}; "
                            f"missing {missing}, undeclared {extra}")
        blob = json.dumps({"cache": self.name, "format": self.format, "files": self.files_digest(),
                           "versions": [[d, version(d)] for d in self.versions], "params": params},
                          sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()[:n]
