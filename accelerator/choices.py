"""The mapper's choices on disk, kept across processes (one JSON line per layer shape).

``<cache dir>/mappings/<key>.jsonl`` per hardware point, appended (concurrent processes only
add lines; one short line per write does not interleave). What invalidates it, in one line:
`KEY_INPUTS` -- the hardware parameters and every source that decides a choice. An entry
that does not parse or that the mapper's check rejects is ignored (and mapped again).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from vocab.paths import cache_dir

__all__ = ["ChoiceStore", "KEY_INPUTS", "store_path"]

_ROOT = Path(__file__).parent
# what a choice depends on besides the hardware: the search and cost model, the energy tables,
# and the simulator that ranks the finalists
KEY_INPUTS: tuple[str, ...] = ("*.py", "data/*.yaml", "src/*")


@lru_cache(maxsize=1)
def _sources_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(p for pattern in KEY_INPUTS for p in _ROOT.glob(pattern)):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def store_path(hw) -> Path | None:
    """The file of ``hw``'s choices (None: ``DYNVIT_MAPPING_CACHE=0`` keeps them in memory)."""
    if os.environ.get("DYNVIT_MAPPING_CACHE", "1") == "0":
        return None
    key = hashlib.sha256((_sources_hash() + json.dumps(hw.to_dict(), sort_keys=True)).encode()).hexdigest()[:24]
    return cache_dir("mappings") / f"{key}.jsonl"


class ChoiceStore:
    """Choices by key: ``decode(json value)`` gives a choice (raising ValueError/TypeError/
    KeyError/IndexError on garbage), ``check(key, choice)`` says whether it is still valid,
    ``encode(choice)`` gives its JSON value."""

    def __init__(self, path: Path | None, decode: Callable[[Any], Any], encode: Callable[[Any], Any],
                 check: Callable[[str, Any], bool]) -> None:
        self.path, self.encode, self.entries = path, encode, {}
        try:
            lines = path.read_text().splitlines() if path is not None else []
        except OSError:
            lines = []
        for line in lines:
            try:
                k, v = json.loads(line)
                c = decode(v)
                if check(k, c):
                    self.entries[k] = c
            except (ValueError, TypeError, KeyError, IndexError):
                continue

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, choice) -> None:
        self.entries[key] = choice
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps([key, self.encode(choice)]) + "\n")
        except OSError:
            self.path = None  # a read-only cache folder: keep the choices in memory only
