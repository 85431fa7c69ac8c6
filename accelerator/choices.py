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
    ``encode(choice)`` gives its JSON value. A key not found is looked up again in the lines
    other processes appended since (a sweep's workers map the same shapes on the same hardware
    point: what one has mapped the others reuse; the mapper is deterministic, so it is the
    choice they would have made)."""

    def __init__(self, path: Path | None, decode: Callable[[Any], Any], encode: Callable[[Any], Any],
                 check: Callable[[str, Any], bool]) -> None:
        self.path, self.decode, self.encode, self.check, self.entries = path, decode, encode, check, {}
        self.offset = 0  # bytes of the file read so far (whole lines)
        self._read()

    def _read(self) -> None:
        """Take in the whole lines appended to the file since the last read."""
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a last line without its newline may still be being written
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            try:
                k, v = json.loads(line)
                c = self.decode(v)
                if self.check(k, c):
                    self.entries[k] = c
            except (ValueError, TypeError, KeyError, IndexError):
                continue

    def get(self, key: str):
        c = self.entries.get(key)
        if c is None and self.path is not None:
            self._read()
            c = self.entries.get(key)
        return c

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
