"""The mapper's choices on disk, kept across processes (one JSON line per layer shape).

``<cache dir>/mappings/<key>.jsonl`` per hardware point, appended (concurrent processes only
add lines; one short line per write does not interleave). What invalidates it, in one line:
`INPUTS` (``vocab.cache``) -- the hardware parameters and every source that decides a choice. An entry
that does not parse or that the mapper's check rejects is ignored (and mapped again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from vocab.cache import CacheInputs

__all__ = ["ChoiceStore", "INPUTS", "store_path"]

#: What a choice depends on besides the hardware: the search and cost model, the energy tables,
#: the simulator that ranks the finalists, and the ground package they all import.
INPUTS = CacheInputs("mappings", files=("vocab/*.py", "accelerator/*.py", "accelerator/data/*.yaml", "accelerator/src/*"),
                     params=("hw",))


def store_path(hw) -> Path | None:
    """The file of ``hw``'s choices (None: ``DYNVIT_MAPPING_CACHE=0`` keeps them in memory)."""
    if os.environ.get("DYNVIT_MAPPING_CACHE", "1") == "0":
        return None
    return INPUTS.dir / f"{INPUTS.key(hw=hw.to_dict())}.jsonl"


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
