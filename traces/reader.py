"""Reading traces into pandas.

``traces.open(path)`` returns a :class:`Trace` whose tables are pandas
DataFrames, loaded on first access (``/layers`` can be large), with strings
decoded to ``str``. It reads finished traces, traces of killed runs (every row
of every completed flush) and traces still being written (a snapshot).
"""

from __future__ import annotations

import builtins
import functools
import json
import os
from functools import cached_property
from typing import Any, Iterator

import h5py
import numpy as np
import pandas as pd

from vocab.errors import UserError

from . import schema
from .vocabulary import TraceVocabulary, legacy_vocabulary


#: numpy dtype kinds each schema column kind may be stored as (h5py reads HDF5 enum bools as '?').
_KINDS = {"str": "S", "int": "i", "float": "f", "bool": "b"}


class TraceFormatError(UserError, ValueError):
    """The file exists but is not a (readable) dynvit-cosim trace."""


#: Rows per slice of :meth:`Trace.iter_table` (about 64 MiB of /layers at a time).
ITER_CHUNK_ROWS = 1 << 17

#: Metadata read attempts of a SWMR read. HDF5's default (100) backs off exponentially
#: between attempts, so a damaged file (e.g. truncated) would keep a reader busy for
#: ever; 24 attempts give up after a few milliseconds on a file that cannot be read.
SWMR_READ_ATTEMPTS = 24

#: Errors h5py raises on a damaged file (bad checksums, failed filters, truncation).
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, UnicodeDecodeError)


def _write_flag(path: str) -> int | None:
    """The superblock's "open for writing" flags (v2/v3 superblock at offset 0), None if unknown."""
    try:
        with builtins.open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return None
    if len(head) == 12 and head[:8] == b"\x89HDF\r\n\x1a\n" and head[8] in (2, 3):
        return head[11]
    return None


@functools.lru_cache(maxsize=1)
def _hdf5_lib() -> Any:
    """The HDF5 C library h5py uses (for the one property h5py does not expose), or None."""
    import ctypes

    try:
        with builtins.open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "libhdf5" in line and "hdf5_hl" not in line}
    except OSError:
        paths = set()
    for p in sorted(paths):
        try:
            lib = ctypes.CDLL(p)
            lib.H5Pset_metadata_read_attempts.argtypes = [ctypes.c_int64, ctypes.c_uint]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def _open_swmr(path: str) -> h5py.File:
    """A SWMR read with a bounded number of metadata read attempts."""
    lib = _hdf5_lib()
    if lib is None:
        raise TraceFormatError(f"{path} is flagged as still open for writing (a killed run?); "
                               f"clear the flag with `cosim trace repair {path}` and try again")
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    if lib.H5Pset_metadata_read_attempts(fapl.id, SWMR_READ_ATTEMPTS) < 0:  # pragma: no cover
        raise TraceFormatError(f"{path}: cannot bound the SWMR read attempts")
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


def _open_h5(path: str) -> tuple[h5py.File, bool]:
    """Open read-only; fall back to a (bounded) SWMR read for a file whose writer was
    killed or is still running. Returns (file, opened_with_swmr)."""
    try:
        return h5py.File(path, "r"), False
    except H5_ERRORS as first:
        if not _write_flag(path):  # not a writer's file: SWMR would not help (and could spin)
            raise TraceFormatError(f"{path} is not a readable HDF5 trace (damaged or truncated?): {first}") from None
        try:
            return _open_swmr(path), True
        except TraceFormatError:
            raise
        except H5_ERRORS as e:
            raise TraceFormatError(f"{path} is not a readable HDF5 trace (damaged or truncated?): {e}") from None


def _decode_str(arr: np.ndarray) -> pd.Series:
    """Fixed-width UTF-8 bytes -> pandas str Series (decoding each distinct value once)."""
    if len(arr) == 0:
        return pd.Series([], dtype=str)
    codes, uniques = pd.factorize(arr)
    cats = [b.decode("utf-8") for b in uniques]
    return pd.Series(pd.Categorical.from_codes(codes, pd.Index(cats, dtype=object))).astype(str)


def _whole_table(name: str) -> cached_property[pd.DataFrame]:
    """A property of :class:`Trace`: its table ``name`` as a DataFrame, read once and then kept."""
    def read(self: Trace) -> pd.DataFrame:
        return self.table(name)
    read.__doc__ = f"The whole /{name} table (read on first use, then kept)."
    return cached_property(read)


class Trace:
    """An open trace file. Tables: :attr:`frames`, :attr:`layers`,
    :attr:`resources`, :attr:`configs`; root attributes: :attr:`meta`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"trace file not found: {self.path}")
        if os.path.isdir(self.path):
            raise TraceFormatError(f"{self.path} is a directory, not a trace file")
        if not h5py.is_hdf5(self.path):
            raise TraceFormatError(f"{self.path} is not an HDF5 file, so not a dynvit-cosim trace")
        f, self.swmr = _open_h5(self.path)
        try:
            self._check(f)
        except TraceFormatError:
            f.close()
            raise
        except H5_ERRORS as e:
            f.close()
            raise TraceFormatError(f"{self.path} is not a readable dynvit-cosim trace (damaged?): "
                                   f"{type(e).__name__}: {e}") from None
        except BaseException:
            f.close()
            raise
        self._f: h5py.File | None = f

    def _check(self, f: h5py.File) -> None:
        if "schema_version" not in f.attrs:
            raise TraceFormatError(f"{self.path} is not a dynvit-cosim trace (no 'schema_version' root attribute)")
        raw = f.attrs["schema_version"]
        if not (isinstance(raw, (int, np.integer)) and not isinstance(raw, (bool, np.bool_))):
            raise TraceFormatError(f"{self.path}: root attribute 'schema_version' = {raw!r} is not an integer")
        v = int(raw)
        if v > schema.SCHEMA_VERSION:
            raise TraceFormatError(
                f"{self.path} has trace schema version {v}; this reader knows up to {schema.SCHEMA_VERSION}"
            )
        missing = [t for t in schema.TABLES if t not in f or not isinstance(f[t], h5py.Dataset)]
        if missing:
            raise TraceFormatError(f"{self.path} is not a dynvit-cosim trace (missing table(s) {', '.join(missing)})")
        for t, cols in schema.TABLES.items():
            dt = f[t].dtype
            have = dt.names or ()
            lack = [c.name for c in cols if c.name not in have and c.name not in schema.LATER_COLUMNS.get(t, ())]
            if lack:
                raise TraceFormatError(f"{self.path}: table /{t} lacks column(s) {', '.join(lack)}")
            for c in cols:  # a damaged column is one line here, not a pandas traceback later
                if c.name in have and dt[c.name].kind not in _KINDS[c.kind]:
                    raise TraceFormatError(f"{self.path}: column {c.name!r} of /{t} is stored as {dt[c.name]}, "
                                           f"not {c.kind} as the trace schema declares (damaged or foreign file)")
            for name in have:
                if name not in {c.name for c in cols} and dt[name].kind not in _KINDS["float"]:
                    raise TraceFormatError(f"{self.path}: extra column {name!r} of /{t} is stored as {dt[name]}, "
                                           "not float as extra columns are")
        self._check_vocabulary_columns(f)

    def _check_vocabulary_columns(self, f: h5py.File) -> None:
        """Every /layers column the file's own vocabulary declares is there."""
        if not any(k in f.attrs for k in schema.VOCABULARY_ATTRS):
            return
        try:
            voc = TraceVocabulary.from_attrs({k: f.attrs[k] for k in schema.VOCABULARY_ATTRS if k in f.attrs})
        except (ValueError, *H5_ERRORS):
            return  # damaged attributes: `Trace.vocabulary` says so, when a reader needs them
        have = set(f["layers"].dtype.names or ())
        for kind, terms in (("energy component", voc.energy_components), ("counter", voc.counters)):
            for term in terms:
                if term.column and term.column not in have:
                    raise TraceFormatError(f"{self.path}: column {term.column!r} of /layers is missing, though the "
                                           f"file's vocabulary declares it ({kind} {term.name!r}); damaged file?")

    # ---- lifecycle -------------------------------------------------------
    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    @property
    def closed(self) -> bool:
        return self._f is None

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"Trace({self.path!r}, closed)"
        return f"Trace({self.path!r}, " + ", ".join(f"{t}={self.rows(t)}" for t in schema.TABLES) + ")"

    @property
    def _file(self) -> h5py.File:
        if self._f is None:
            raise ValueError(f"trace {self.path} is closed")
        return self._f

    # ---- metadata ----------------------------------------------------------
    @cached_property
    def meta(self) -> dict[str, Any]:
        """Root attributes as plain Python values; ``hardware`` parsed from JSON,
        ``seed`` None if the run had none, ``complete`` False for a killed run."""
        out: dict[str, Any] = {}
        try:
            for k, v in self._file.attrs.items():
                if isinstance(v, bytes):
                    v = v.decode("utf-8")
                elif isinstance(v, np.generic):
                    v = v.item()
                out[k] = v
        except H5_ERRORS as e:
            raise TraceFormatError(f"{self.path}: root attributes cannot be read (damaged?): {type(e).__name__}: {e}") from None
        if isinstance(out.get("hardware"), str):
            try:
                out["hardware"] = json.loads(out["hardware"])
            except ValueError as e:
                raise TraceFormatError(f"{self.path}: root attribute 'hardware' is not JSON ({e})") from None
        out.setdefault("seed", None)
        out["complete"] = bool(out.get("complete", False))
        return out

    @cached_property
    def vocabulary(self) -> TraceVocabulary:
        """The names this trace's /layers columns and op classes carry and their grouping into
        levels (:mod:`traces.vocabulary`): from the file's root attributes, or, for a file
        without them (schema 1.0), the frozen vocabulary of such files cut to its columns."""
        attrs = self._file.attrs
        try:
            if not any(k in attrs for k in schema.VOCABULARY_ATTRS):
                return legacy_vocabulary(self._file["layers"].dtype.names or ())
            return TraceVocabulary.from_attrs({k: attrs[k] for k in schema.VOCABULARY_ATTRS if k in attrs})
        except ValueError as e:
            raise TraceFormatError(f"{self.path}: {e}") from None
        except H5_ERRORS as e:
            raise TraceFormatError(f"{self.path}: the vocabulary attributes cannot be read (damaged?): "
                                   f"{type(e).__name__}: {e}") from None

    def columns(self, table: str) -> list[dict]:
        """Column descriptions of a table (name, kind, unit, doc[, width]), extras included."""
        self._table_ok(table)
        return self._attr_json(table, "columns")

    def units(self, table: str) -> dict[str, str]:
        """Column name -> unit ('' if none) of a table."""
        return {c["name"]: c["unit"] for c in self.columns(table)}

    def extra_columns(self, table: str = "layers") -> list[str]:
        """Names of the extra columns the writer declared for a table."""
        self._table_ok(table)
        return self._attr_json(table, "extra_columns")

    def _attr_json(self, table: str, name: str) -> Any:
        try:
            return json.loads(self._file[table].attrs[name])
        except H5_ERRORS as e:
            raise TraceFormatError(f"{self.path}: attribute {name!r} of /{table} cannot be read: "
                                   f"{type(e).__name__}: {e}") from None

    def __len__(self) -> int:
        return self.rows("frames")

    # ---- tables ---------------------------------------------------------------
    def _table_ok(self, table: str) -> None:
        if table not in schema.TABLES:
            raise ValueError(f"unknown trace table {table!r}; tables: {', '.join(schema.TABLES)}")

    def table(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a table (optionally only some columns) as a DataFrame. A damaged table
        (bad checksum, a chunk that does not decompress, bad UTF-8) raises TraceFormatError."""
        self._table_ok(table)
        if columns is not None:
            names = list(self._file[table].dtype.names)
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))} of /{table}; columns: {', '.join(names)}")
        try:
            return self._read_table(table, columns)
        except H5_ERRORS as e:
            raise TraceFormatError(f"{self.path}: table /{table} cannot be read (damaged?): "
                                   f"{type(e).__name__}: {e}") from None

    def rows(self, table: str) -> int:
        """Rows of a table that the reader trusts: those of the writer's last completed flush
        (the ``committed_<table>`` root attribute; a failed flush may leave more, unwritten, rows)."""
        self._table_ok(table)
        ds = self._file[table]
        if self.swmr:
            ds.refresh()
        return self._rows(ds, table)

    def _rows(self, ds: h5py.Dataset, table: str) -> int:
        n = ds.shape[0]
        committed = self._file.attrs.get(f"committed_{table}")
        if committed is not None:
            if not isinstance(committed, (int, np.integer)) or isinstance(committed, (bool, np.bool_)):
                raise TraceFormatError(f"{self.path}: root attribute 'committed_{table}' = {committed!r} is not "
                                       "a row count")
            n = min(n, int(committed))
        return max(0, n)

    def _read_table(self, table: str, columns: list[str] | None) -> pd.DataFrame:
        ds = self._file[table]
        if self.swmr:  # refresh the very handle that reads (a refresh through another leaves it stale)
            ds.refresh()
        n = self._rows(ds, table)
        names = list(ds.dtype.names) if columns is None else list(columns)
        return self._frame_of(ds, names, 0, n, columns is not None)

    @staticmethod
    def _frame_of(ds: h5py.Dataset, names: list[str], i0: int, i1: int, some: bool) -> pd.DataFrame:
        arr = ds.fields(names)[i0:i1] if some else ds[i0:i1]
        data = {}
        for n in names:
            col = arr[n]
            data[n] = _decode_str(col) if col.dtype.kind == "S" else pd.Series(np.ascontiguousarray(col))
        return pd.DataFrame(data, columns=names)

    def iter_table(self, table: str, columns: list[str] | None = None,
                   chunk_rows: int = ITER_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The table in consecutive slices of at most ``chunk_rows`` rows (DataFrames indexed
        from 0 each), so that any length of trace is read in bounded memory."""
        self._table_ok(table)
        ds = self._file[table]
        if self.swmr:
            ds.refresh()
        names = list(ds.dtype.names)
        if columns is not None:
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))} of /{table}; columns: {', '.join(names)}")
            names = list(columns)
        n = self._rows(ds, table)
        for i0 in range(0, n, max(1, int(chunk_rows))):
            try:
                part = self._frame_of(ds, names, i0, min(n, i0 + chunk_rows), columns is not None)
            except H5_ERRORS as e:
                raise TraceFormatError(f"{self.path}: table /{table} cannot be read (damaged?): "
                                       f"{type(e).__name__}: {e}") from None
            yield part

    # the whole tables, each read on first use and then kept
    frames = _whole_table("frames")
    layers = _whole_table("layers")
    resources = _whole_table("resources")
    configs = _whole_table("configs")


def open(path: str | os.PathLike) -> Trace:  # noqa: A001 - traces.open is the intended name
    """Open a trace file. Raises FileNotFoundError (missing file) or
    TraceFormatError, a ValueError (not a trace), naming the path."""
    return Trace(path)


__all__ = ["Trace", "TraceFormatError", "open"]
