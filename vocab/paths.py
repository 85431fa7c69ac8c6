"""Where dynvit-cosim keeps what it can rebuild (one cache folder for the whole tool), and how
it writes a file there that concurrent processes may read or write at the same time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "atomic_write_text"]


def cache_dir(kind: str = "") -> Path:
    """``$DYNVIT_CACHE_DIR``, default ``$XDG_CACHE_HOME/dynvit-cosim`` (``~/.cache/dynvit-cosim``);
    ``kind`` names a subfolder (``"profiles"``, ``"mappings"``, ...). Not created here."""
    if os.environ.get("DYNVIT_CACHE_DIR"):
        base = Path(os.environ["DYNVIT_CACHE_DIR"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")) / "dynvit-cosim"
    return base / kind if kind else base


def atomic_write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` all at once: into a private temporary file beside it, renamed
    over ``path`` (a reader sees the old file or the whole new one; concurrent writers each
    rename a whole file). ``durable``: fsync before the rename. Raises OSError; no temporary
    file is left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
