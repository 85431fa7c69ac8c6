"""The input half of the command line's file guard: every file a command reads is checked
here before it is parsed, so a missing file, a folder, an unreadable or a binary file is one
line naming the file and what is wrong (`InputError`), never a traceback from deep inside
a parser. (The output half, with the writer lock, is `traces.output`.)

    text = read_text("preset", path)          # YAML, Python, CSV: text files
    check_file("checkpoint", path)            # a file another library opens itself
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

__all__ = ["InputError", "check_file", "read_text"]


class InputError(UserError, ValueError):
    """An input file that is missing, not a file, unreadable or not what it should be."""


def check_file(what: str, path: str | os.PathLike, expected: str = "") -> Path:
    """``path`` as a Path if it is an existing, readable regular file; InputError otherwise.
    ``what`` names the input ("preset file", "sweep spec"), ``expected`` says what it should be."""
    p = Path(path)
    hint = f"; expected {expected}" if expected else ""
    if not os.fspath(path):
        raise InputError(f"{what}: empty path{hint}")
    if not p.exists():
        raise InputError(f"{what} {p}: no such file{hint}")
    if p.is_dir():
        raise InputError(f"{what} {p} is a folder, not a file{hint}")
    if not p.is_file():
        raise InputError(f"{what} {p} is not a regular file{hint}")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {p}: permission denied (not readable)")
    return p


def read_text(what: str, path: str | os.PathLike, expected: str = "") -> str:
    """The text of an input that must be a UTF-8 text file (YAML, Python, CSV, JSON)."""
    p = check_file(what, path, expected)
    hint = f"; expected {expected}" if expected else ""
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{what} {p}: cannot be read ({e.strerror or e})") from None
    if b"\0" in data:
        raise InputError(f"{what} {p} is a binary file, not text{hint}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{what} {p} is not UTF-8 text (byte {e.start}){hint}") from None
