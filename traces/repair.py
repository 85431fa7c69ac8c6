"""Repairing a killed or failed run's trace without ever losing a row a finished run wrote.

`repair` decides what each table keeps from all the evidence the file holds:

* the root attribute ``complete`` (True only when the writer was closed cleanly: every row in the
  file was written by a completed flush);
* the ``committed_<table>`` counters (the rows of the writer's last completed flush);
* the data itself (rows beyond a counter that are HDF5's fill value were never written; rows
  whose frame is referenced by kept layer rows are not removed).

A complete trace keeps every row: a counter that disagrees with it is damaged and is rewritten to
the table's length (never the other way round). An incomplete trace is cut back to its counters,
unless the data contradicts them. The work is done on a copy beside the file, which replaces the
file only when it verifies (plain h5py opens it, every kept row is byte-identical to the
original's, the counters match the tables); the original is kept as a backup (``<trace>.bak``)
unless ``backup=False``. A trace that needs nothing is not touched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from vocab.errors import UserError

from . import schema
from .output import OutputClaim, OutputError
from .superblock import clear_write_flags

__all__ = ["repair", "RepairReport"]

#: Rows read at a time when the data is checked or compared.
SLICE_ROWS = 1 << 16


@dataclass
class RepairReport:
    path: str
    flags_cleared: bool = False
    complete: bool = False
    removed: dict[str, tuple[int, str]] = field(default_factory=dict)  # table -> (rows, why)
    fixed: list[str] = field(default_factory=list)  # attributes rewritten, each with why
    rows: dict[str, int] = field(default_factory=dict)  # rows each table holds afterwards
    backup: str | None = None
    changed: bool = False

    @property
    def cut(self) -> dict[str, int]:
        return {t: n for t, (n, _) in self.removed.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"flags_cleared": self.flags_cleared, "cut": self.cut, "rows": dict(self.rows),
                "removed": dict(self.removed), "fixed": list(self.fixed), "backup": self.backup,
                "changed": self.changed, "complete": self.complete}

    def lines(self) -> list[str]:
        """What was done, one line each (exactly what was removed and why)."""
        out = []
        if self.flags_cleared:
            out.append("cleared the 'open for writing' flag")
        for t, (n, why) in self.removed.items():
            out.append(f"removed {n} rows of /{t}: {why}")
        out += self.fixed
        return out


def _int_attr(attrs: h5py.AttributeManager, name: str) -> int | None:
    v = attrs.get(name)
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    return None


def _shown(v: Any) -> str:
    return repr(v.item() if isinstance(v, np.generic) else v)


def _unwritten(ds: h5py.Dataset, i0: int, i1: int) -> bool:
    """True if rows [i0, i1) are all HDF5's fill value (zero bytes): never written."""
    for a in range(i0, i1, SLICE_ROWS):
        if np.any(ds[a : min(i1, a + SLICE_ROWS)].view(np.uint8)):
            return False
    return True


def _frames_referenced(f: h5py.File, keys: set[tuple[bytes, int]], n_layers: int) -> int:
    """How many of the frame ``keys`` the first ``n_layers`` layer rows refer to."""
    if not keys or not n_layers or "layers" not in f:
        return 0
    ds = f["layers"]
    frames = np.fromiter((k[1] for k in keys), dtype=np.int64, count=len(keys))
    hit: set[tuple[bytes, int]] = set()
    for a in range(0, n_layers, SLICE_ROWS):
        part = ds.fields(["stream", "frame"])[a : min(n_layers, a + SLICE_ROWS)]
        m = np.isin(part["frame"], frames)
        if m.any():
            hit |= {k for k in zip(part["stream"][m].tolist(), part["frame"][m].tolist()) if k in keys}
    return len(hit)


def _plan(f: h5py.File, rep: RepairReport) -> dict[str, int]:
    """Rows each table keeps, with the reasons recorded in ``rep``."""
    complete_raw = f.attrs.get("complete")
    rep.complete = isinstance(complete_raw, (bool, np.bool_)) and bool(complete_raw)
    keep: dict[str, int] = {}
    for t in schema.TABLES:
        if t not in f or not isinstance(f[t], h5py.Dataset):
            continue
        ds = f[t]
        n = ds.shape[0]
        c = _int_attr(f.attrs, f"committed_{t}")
        keep[t] = n
        if rep.complete:
            if c != n:
                rep.fixed.append(f"committed_{t} = {_shown(f.attrs.get(f'committed_{t}'))} disagrees with the {n} rows of "
                                 f"/{t} in a trace marked complete (every row written by a finished run): all "
                                 f"kept, the counter set to {n}")
            continue
        if c is None:
            rep.fixed.append(f"committed_{t} is missing or not a count ({_shown(f.attrs.get(f'committed_{t}'))}): all "
                             f"{n} rows of /{t} kept, the counter set to {n}")
            continue
        if c > n or c < 0:
            rep.fixed.append(f"committed_{t} = {c} is not within the {n} rows /{t} holds: all kept, the counter "
                             f"set to {n}")
            continue
        if c < n:
            keep[t] = c
    # the data can contradict a counter: frame rows that kept layer rows refer to stay
    if not rep.complete and "frames" in keep and keep["frames"] < f["frames"].shape[0]:
        ds = f["frames"]
        tail = ds.fields(["stream", "frame"])[keep["frames"] :]
        keys = set(zip(tail["stream"].tolist(), tail["frame"].tolist()))
        keys.discard((b"", 0))  # unwritten rows
        if _frames_referenced(f, keys, keep.get("layers", 0)):
            n = ds.shape[0]
            rep.fixed.append(f"committed_frames = {keep['frames']} contradicts the data (kept /layers rows belong "
                             f"to frames beyond it): all {n} frame rows kept, the counter set to {n}")
            keep["frames"] = n
    for t, k in keep.items():
        n = f[t].shape[0]
        if k < n:
            why = ("rows past the last completed flush that were never written (HDF5 fill values)"
                   if _unwritten(f[t], k, n) else
                   "rows of a flush that never completed (written, but the run was killed or failed "
                   "before it committed them; readers never showed them)")
            rep.removed[t] = (n - k, f"{why}; committed_{t} = {k}")
    return keep


def _digest(ds: h5py.Dataset, n: int) -> str:
    h = hashlib.sha256()
    for a in range(0, n, SLICE_ROWS):
        h.update(ds[a : min(n, a + SLICE_ROWS)].tobytes())
    return h.hexdigest()


def _verify(tmp: str, keep: dict[str, int], digests: dict[str, str]) -> None:
    from .reader import Trace

    with h5py.File(tmp, "r") as f:  # plain h5py: no SWMR, no flag
        for t, k in keep.items():
            if f[t].shape[0] != k or _int_attr(f.attrs, f"committed_{t}") != k:
                raise ValueError(f"/{t} holds {f[t].shape[0]} rows (committed {f.attrs.get(f'committed_{t}')!r}), "
                                 f"expected {k}")
            if _digest(f[t], k) != digests[t]:
                raise ValueError(f"the kept rows of /{t} differ from the original's")
    with Trace(tmp) as tr:
        for t in keep:
            tr.table(t)


def _backup_name(path: str) -> str:
    bak, i = path + ".bak", 1
    while os.path.lexists(bak):
        bak, i = f"{path}.bak{i}", i + 1
    return bak


def repair(path: str | os.PathLike, *, backup: bool = True) -> RepairReport:
    """Make a killed (or failed) run's trace a plain HDF5 file that any tool opens (see the module
    doc). Refused while a writer holds the file. Raises OutputError (one line) when the file cannot
    be repaired; the file is then unchanged."""
    from .reader import H5_ERRORS, _open_h5

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"trace file not found: {path}")
    rep = RepairReport(path)
    with OutputClaim(path, overwrite=True, what="trace file"):
        try:
            with open(path, "rb") as fh:
                head = fh.read(12)
            if len(head) < 12 or head[:8] != b"\x89HDF\r\n\x1a\n":
                raise ValueError("not an HDF5 file with its superblock at offset 0")
            flagged = head[8] in (2, 3) and head[11] != 0
            f, _ = _open_h5(path)
        except (ValueError, OSError) as e:
            raise OutputError(f"cannot repair {path}: {e}") from None
        try:
            if "schema_version" not in f.attrs:
                raise OutputError(f"cannot repair {path}: not a dynvit-cosim trace (no 'schema_version')")
            keep = _plan(f, rep)
            rep.rows = dict(keep)
            if not (flagged or rep.removed or rep.fixed):
                return rep
            digests = {t: _digest(f[t], k) for t, k in keep.items()}
        except H5_ERRORS as e:
            raise OutputError(f"cannot repair {path}: the file is damaged ({type(e).__name__}: {e})") from None
        finally:
            f.close()
        head, tail = os.path.split(os.path.abspath(path))
        tmp = os.path.join(head, f".{tail}.repair-{os.getpid()}")
        try:
            shutil.copy2(path, tmp)
            rep.flags_cleared = clear_write_flags(tmp)
            with h5py.File(tmp, "r+") as g:
                for t, k in keep.items():
                    if g[t].shape[0] != k:
                        g[t].resize((k,))
                    if _int_attr(g.attrs, f"committed_{t}") != k:
                        g.attrs[f"committed_{t}"] = np.int64(k)
            try:
                _verify(tmp, keep, digests)
            except (*H5_ERRORS, UserError) as e:
                raise OutputError(f"cannot repair {path}: the repaired copy did not verify ({e}); "
                                  "the file is unchanged") from None
            if backup:
                rep.backup = _backup_name(path)
                try:
                    os.link(path, rep.backup)  # the original's inode, untouched by the rename below
                except OSError:
                    shutil.copy2(path, rep.backup)
            os.replace(tmp, path)
        except BaseException as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                raise OutputError(f"cannot repair {path}: no space for the working copy; the file is unchanged") from None
            if isinstance(e, (OSError, *H5_ERRORS)) and not isinstance(e, OutputError):
                raise OutputError(f"cannot repair {path}: {type(e).__name__}: {e}; the file is unchanged") from None
            raise
    rep.changed = True
    return rep
