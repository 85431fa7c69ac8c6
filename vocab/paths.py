"""Where dynvit-cosim keeps what it can rebuild: one cache folder for the whole tool."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(kind: str = "") -> Path:
    """``$DYNVIT_CACHE_DIR``, default ``$XDG_CACHE_HOME/dynvit-cosim`` (``~/.cache/dynvit-cosim``);
    ``kind`` names a subfolder (``"profiles"``, ``"mappings"``, ...). Not created here."""
    if os.environ.get("DYNVIT_CACHE_DIR"):
        base = Path(os.environ["DYNVIT_CACHE_DIR"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")) / "dynvit-cosim"
    return base / kind if kind else base
