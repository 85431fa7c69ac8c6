"""Append-as-you-go HDF5 trace writer.

Crash safety
------------
Rows are validated and buffered in memory by the ``append_*`` calls and
written to the file by :meth:`TraceWriter.flush`, which runs automatically
every ``flush_every_s`` seconds (wall clock, checked on each append) or once
``flush_every_rows`` rows are buffered, and on close. Between flushes the file
is not touched at all. The file is written in HDF5 SWMR mode (single writer /
multiple readers, file format of HDF5 1.10), whose ordered metadata writes
keep the file consistent even when the process is killed in the middle of a
flush: a process killed with SIGKILL leaves a file that holds every row of
every completed flush. (Flushes hand the data to the operating system; they do
not fsync, so a power loss is not covered.) Within one flush the tables are
written configs, resources, layers, then frames, so a frame row on disk implies
its layers are on disk too if they were appended before it.

The file is created complete (root attributes, every table, empty) under a
hidden temporary name beside it and renamed into place, so a run killed at any
instant leaves either no new file (any old one untouched) or a readable trace.
A frame's layer rows are appended before its frame row (as the recorder does); a
flush holds back the layer rows of the frame in flight (whose frame row has not
been appended yet), so no layer row reaches the file before its frame row and a
killed run leaves no orphan layer rows (an incomplete close drops them).

A file whose writer was killed (or is still running) carries HDF5's
"open for writing" superblock flag: :func:`traces.open` reads it anyway (it
falls back to a SWMR read), plain h5py needs ``h5py.File(path, "r", swmr=True)``,
and :func:`clear_write_flags` (like HDF5's ``h5clear -s``) clears the flag so
that any HDF5 tool opens it. Such a file has the root attribute
``complete == False``.

Determinism
-----------
Dataset contents depend only on the rows appended (never on flush timing).
With ``created`` given by the caller and the same flush pattern (e.g.
``flush_every_s=None``), the whole file is byte-identical from run to run
(h5py does not record object times).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import math
import numbers
import os
import re
import time
import warnings
import zlib
from typing import Any, Iterable, Mapping, Sequence

import h5py
import numpy as np

from . import schema
from .chunks import ChunkCompressor
from .output import OutputClaim, OutputError, same_file
from .schema import Column
from .vocabulary import TraceVocabulary

#: Target uncompressed bytes per chunk; chunk rows are a power of two near it.
CHUNK_TARGET_BYTES = 512 * 1024
#: gzip level (gzip rather than lzf: every HDF5 installation reads gzip). Level 1:
#: ~15% less CPU than level 4 on trace data for the same size within 1%.
GZIP_LEVEL = 1
#: Free space a flush leaves on the file system at least (HDF5 metadata, the final close).
SPACE_MARGIN_BYTES = 2 * 2**20
#: Bytes of each table's buffered rows compressed to estimate a flush's size on disk.
SPACE_SAMPLE_BYTES = 64 * 1024
#: Raw-data chunk cache per dataset, large enough to keep partial chunks hot.
CHUNK_CACHE_BYTES = 8 * 1024 * 1024
#: HDF5 file-format bounds: SWMR needs the 1.10 format; capping it there keeps
#: files readable by any HDF5 >= 1.10.
LIBVER = ("v110", "v110")


def _creating_name(path: str) -> str:
    """A hidden temporary name beside ``path`` for the file while it is being created."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.creating-{os.getpid()}-{os.urandom(4).hex()}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def chunk_rows(itemsize: int) -> int:
    """Rows per chunk for a row size: a power of two in [16, 16384] near the target."""
    rows = max(1, CHUNK_TARGET_BYTES // max(1, itemsize))
    p = 1 << int(round(math.log2(rows)))
    return int(min(16384, max(16, p)))


def utc_now_iso() -> str:
    """Current UTC time, ISO 8601 with a 'Z' (second resolution)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    raise TypeError(f"{type(o).__name__} {o!r} is not JSON-serialisable")


def to_json(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, default=_json_default)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} must be JSON-serialisable: {e}") from None


# ---------------------------------------------------------------------------
# column coercion
# ---------------------------------------------------------------------------


def _is_scalar(v: Any) -> bool:
    if isinstance(v, (str, bytes)):
        return True
    if isinstance(v, np.ndarray):
        return v.ndim == 0
    if isinstance(v, (list, tuple)) or hasattr(v, "__len__"):
        return False
    return True


def _where(table: str, col: Column) -> str:
    return f"column {col.name!r} of /{table}"


def _coerce(table: str, col: Column, values: Any, n: int) -> np.ndarray:
    """Values of one column (a scalar, broadcast, or a sequence of n) -> array of col.dtype."""
    if _is_scalar(values):
        if isinstance(values, np.ndarray):
            values = values.item()
        one = _coerce(table, col, [values], 1)
        return np.broadcast_to(one, (n,)) if n != 1 else one
    if col.kind == "str":
        return _coerce_str(table, col, values)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{_where(table, col)} must be 1-D, got shape {arr.shape}")
    k = arr.dtype.kind
    if col.kind == "float":
        if k == "f" or k in "iu":
            return arr.astype("<f8", copy=False)
        if k == "O":
            out = np.empty(len(arr), "<f8")
            for i, v in enumerate(arr):
                if v is None:
                    out[i] = np.nan
                elif isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
                    out[i] = float(v)
                else:
                    raise ValueError(f"{_where(table, col)} expects numbers (None for NaN), got {v!r} in row {i}")
            return out
        raise ValueError(f"{_where(table, col)} expects floats, got dtype {arr.dtype}")
    if col.kind == "int":
        if k == "i":
            return arr.astype("<i8", copy=False)
        if k == "u":
            if len(arr) and arr.max() > np.iinfo(np.int64).max:
                raise ValueError(f"{_where(table, col)}: value {arr.max()} does not fit int64")
            return arr.astype("<i8")
        if k == "O":
            bad = [v for v in arr if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_))]
            if bad:
                raise ValueError(f"{_where(table, col)} expects integers, got {bad[0]!r}")
            try:
                return arr.astype("<i8")
            except OverflowError:
                raise ValueError(f"{_where(table, col)}: a value does not fit int64") from None
        raise ValueError(f"{_where(table, col)} expects integers, got dtype {arr.dtype}")
    # bool
    if k == "b":
        return arr.astype("?", copy=False)
    if k == "O" and all(isinstance(v, (bool, np.bool_)) for v in arr):
        return arr.astype("?")
    raise ValueError(f"{_where(table, col)} expects booleans, got dtype {arr.dtype}")


def _coerce_str(table: str, col: Column, values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{_where(table, col)} must be 1-D, got shape {values.shape}")
        if values.dtype.kind not in "UO":
            raise ValueError(f"{_where(table, col)} expects str, got dtype {values.dtype}")
    if not (isinstance(values, np.ndarray) and values.dtype.kind == "U"):
        values = list(values)
        types = set(map(type, values))
        if not types <= {str, np.str_}:
            bad = next(v for v in values if not isinstance(v, str))
            raise ValueError(f"{_where(table, col)} expects str, got {type(bad).__name__} {bad!r}")
        values = np.array(values, dtype=str)
    try:
        enc = values.astype("S")  # C-speed path for ASCII text
    except UnicodeEncodeError:
        enc = np.array([v.encode("utf-8") for v in values.tolist()], dtype="S")
    if enc.dtype.itemsize > col.width:
        longest = max(enc.tolist(), key=len)
        raise ValueError(
            f"{_where(table, col)}: value {longest.decode()!r} is {len(longest)} bytes in UTF-8; "
            f"the limit is {col.width}"
        )
    return enc.astype(f"S{col.width}")


# ---------------------------------------------------------------------------
# the writer
# ---------------------------------------------------------------------------


def row_bytes(rows: np.ndarray) -> np.ndarray:
    """Contiguous structured rows as their bytes (1-D uint8): copying those is one memory copy
    (numpy copies a structured array whose fields carry h5py's string metadata field by field,
    and opaque records record by record: 10-50x slower)."""
    return np.ascontiguousarray(rows).reshape(-1).view(np.uint8)


class _RowBuffer:
    """One table's rows between flushes, in one growing byte array: an append is one copy into
    place (no list of small arrays for the flush to concatenate); the capacity is kept across
    flushes, so a steady run allocates nothing after its first flushes."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._raw = np.empty(chunk_rows(dtype.itemsize) * dtype.itemsize, dtype=np.uint8)
        self.n = 0

    def push(self, arr: np.ndarray) -> None:
        size = self.dtype.itemsize
        start, end = self.n * size, (self.n + len(arr)) * size
        if end > len(self._raw):
            grown = np.empty(max(end, 2 * len(self._raw)), dtype=np.uint8)
            grown[:start] = self._raw[:start]
            self._raw = grown
        self._raw[start:end] = row_bytes(arr)
        self.n += len(arr)

    def rows(self) -> np.ndarray:
        """The buffered rows (a view: valid until the next push or clear)."""
        return self._raw[: self.n * self.dtype.itemsize].view(self.dtype)

    def clear(self) -> None:
        self.n = 0

    def keep_last(self, k: int) -> None:
        """Keep only the last ``k`` rows (moved to the front)."""
        if k <= 0:
            self.n = 0
            return
        size = self.dtype.itemsize
        start = (self.n - k) * size
        self._raw[: k * size] = self._raw[start : self.n * size].copy()
        self.n = k


class TraceWriteError(OSError):
    """Writing the trace failed (e.g. the disk is full); the file keeps the rows of the
    last completed flush and nothing else."""

    in_hdf5 = True  # the failure happened inside HDF5 (False: refused before writing)


def _reason(e: BaseException) -> str:
    """A short reason from an h5py/OS error (HDF5's messages carry the OS error inside)."""
    text = str(e)
    m = re.search(r"error message = '([^']+)'", text)
    if m:
        return m.group(1)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return text.splitlines()[0] if text else type(e).__name__


class TraceWriter:
    """Writes one run's trace (see :mod:`traces.schema` for the layout).

    Use as a context manager. Append rows with :meth:`append_frames`,
    :meth:`append_layers`, :meth:`append_resources` and :meth:`add_config`;
    each takes rows as a mapping column -> values (a sequence per column, or a
    scalar that is repeated), a list of row mappings, or a pandas DataFrame.
    Every column of the table (extras included) must be given; an unknown or
    missing column, a value of the wrong type or a string over its width raises
    ValueError naming the column, and nothing of that call is kept. The fast
    path for a hot loop: a 1-D structured array of the table's :meth:`dtype`
    (e.g. rows made once by :meth:`as_rows`, their numbers filled in per call),
    copied as they are.

    Parameters
    ----------
    path: the file to create (parent folders are made; an existing file is
        replaced unless ``overwrite=False``). While the writer is open it holds
        an exclusive claim on the file (:class:`traces.output.OutputClaim`): a
        second writer of the same file is refused with OutputError.
    claim: an :class:`~traces.output.OutputClaim` the caller took earlier
        (e.g. before a long set-up); the writer takes it over and releases it
        on close. ``overwrite`` is then the claim's business.
    seed, scenario, hardware, tool_version: root attributes (``hardware`` is
        stored as JSON; ``seed`` None stores no seed attribute).
    created: ISO 8601 UTC time for the ``created`` attribute; None means now.
        Pass a fixed value for byte-reproducible files.
    layer_extra_columns, frame_extra_columns: extra float64 columns, as names
        or a mapping name -> unit (e.g. ``energy_mac_j``, ``energy_dram_j``,
        raw counters).
    vocabulary: a :class:`~traces.vocabulary.TraceVocabulary` naming the energy
        components and counters (each must have its column among
        ``layer_extra_columns``), the op classes and their grouping into levels;
        stored in root attributes so that readers need no names of their own.
        None: no vocabulary attributes (readers then use that of schema 1.0 files).
    flush_every_s: write buffered rows when this many wall-clock seconds have
        passed since the last flush (checked on append); None: no time trigger.
    flush_every_rows: write buffered rows when this many are buffered (all
        tables together); None: no row trigger.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        seed: int | None,
        scenario: str,
        hardware: Mapping[str, Any],
        tool_version: str,
        created: str | None = None,
        layer_extra_columns: Iterable[str] | Mapping[str, str] = (),
        frame_extra_columns: Iterable[str] | Mapping[str, str] = (),
        vocabulary: TraceVocabulary | None = None,
        flush_every_s: float | None = 1.0,
        flush_every_rows: int | None = 50_000,
        overwrite: bool = True,
        claim: OutputClaim | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self._f: h5py.File | None = None
        self._claim: OutputClaim | None = None
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        if not isinstance(scenario, str):
            raise ValueError(f"scenario must be the script's source text (str), got {type(scenario).__name__}")
        if not isinstance(tool_version, str):
            raise ValueError(f"tool_version must be a str, got {tool_version!r}")
        if not isinstance(hardware, Mapping):
            raise ValueError(f"hardware must be a mapping of parameters, got {type(hardware).__name__}")
        hardware_json = to_json(dict(hardware), "hardware")
        if created is None:
            created = utc_now_iso()
        elif not isinstance(created, str):
            raise ValueError(f"created must be an ISO 8601 string, got {created!r}")
        if flush_every_s is not None and not flush_every_s >= 0:
            raise ValueError(f"flush_every_s must be >= 0 or None, got {flush_every_s!r}")
        if flush_every_rows is not None and (not isinstance(flush_every_rows, numbers.Integral) or flush_every_rows < 1):
            raise ValueError(f"flush_every_rows must be a positive integer or None, got {flush_every_rows!r}")
        self.flush_every_s = flush_every_s
        self.flush_every_rows = flush_every_rows

        extras = {
            "frames": schema.extra_columns(frame_extra_columns, "frames"),
            "layers": schema.extra_columns(layer_extra_columns, "layers"),
        }
        self.columns: dict[str, tuple[Column, ...]] = {
            t: schema.table_columns(t, extras.get(t, ())) for t in schema.TABLES
        }
        self._dtypes = {t: schema.table_dtype(cols) for t, cols in self.columns.items()}
        self._names = {t: frozenset(c.name for c in cols) for t, cols in self.columns.items()}
        vocabulary_attrs = self._vocabulary_attrs(vocabulary, extras["layers"])

        if claim is None:
            if os.path.exists(self.path) and not overwrite:
                raise FileExistsError(f"trace file {self.path} exists (overwrite=False)")
            claim = OutputClaim(self.path, overwrite=True, what="trace file")
        elif not claim.held or not same_file(claim.path, self.path):
            raise ValueError(f"TraceWriter for {self.path}: the claim given is for {claim.path} or was released")
        self._claim = claim  # held (another writer of this file is refused) until close
        # Created complete (attributes, every table, empty) under a temporary name and renamed
        # into place: a run killed at any instant leaves either no new file or a readable trace.
        # HDF5 stores no file name, so the bytes are those of a file created in place.
        tmp = _creating_name(self.path)
        try:
            f = h5py.File(tmp, "w", libver=LIBVER, rdcc_nbytes=CHUNK_CACHE_BYTES)
        except OSError as e:
            _unlink_quietly(tmp)  # a file HDF5 could not even start: leave nothing behind
            claim.release()
            raise OutputError(f"cannot create trace file {self.path}: {_reason(e)}") from None
        try:
            a = f.attrs
            a["schema_version"] = np.int64(schema.SCHEMA_VERSION)
            a["schema_minor_version"] = np.int64(schema.SCHEMA_MINOR_VERSION)
            a["created"] = created
            a["tool_version"] = tool_version
            if seed is not None:
                a["seed"] = np.int64(seed)
            a["scenario"] = scenario
            a["hardware"] = hardware_json
            for k, v in vocabulary_attrs.items():
                a[k] = v
            a["complete"] = np.bool_(False)
            for t in schema.TABLES:
                a[f"committed_{t}"] = np.int64(0)
            self._ds: dict[str, h5py.Dataset] = {}
            for t, cols in self.columns.items():
                dt = self._dtypes[t]
                ds = f.create_dataset(
                    t,
                    shape=(0,),
                    maxshape=(None,),
                    dtype=dt,
                    chunks=(chunk_rows(dt.itemsize),),
                    compression="gzip",
                    compression_opts=GZIP_LEVEL,
                    shuffle=True,
                )
                ds.attrs["columns"] = to_json([c.describe() for c in cols], "columns")
                ds.attrs["extra_columns"] = to_json([c.name for c in extras.get(t, ())], "extra columns")
                self._ds[t] = ds
            f.swmr_mode = True  # from here on: no new objects or attributes
            f.flush()
            os.replace(tmp, self.path)  # the open file keeps working under its new name
        except BaseException as e:
            f.close()
            _unlink_quietly(tmp)
            claim.release()
            if isinstance(e, OSError) and not isinstance(e, OutputError):
                raise OutputError(f"cannot create trace file {self.path}: {_reason(e)}") from None
            raise
        self._f = f
        self._failed: TraceWriteError | None = None
        self._buf = {t: _RowBuffer(self._dtypes[t]) for t in schema.TABLES}
        # whole chunks compressed ahead in a worker thread (traces/chunks.py)
        self._chunks = {t: ChunkCompressor(self._ds[t], self._dtypes[t], GZIP_LEVEL) for t in schema.TABLES}
        self._nbuf = 0
        self._written = {t: 0 for t in schema.TABLES}
        self._configs: dict[str, tuple] = {}
        self._flushed_frames: set[tuple[bytes, int]] = set()  # (stream, frame) keys of the last flush
        self._last_flush = time.monotonic()

    @staticmethod
    def _vocabulary_attrs(vocabulary: TraceVocabulary | None, layer_extras: tuple[Column, ...]) -> dict[str, str]:
        """The vocabulary's root attributes, after checking that its columns are declared."""
        if vocabulary is None:
            return {}
        if not isinstance(vocabulary, TraceVocabulary):
            raise ValueError(f"vocabulary must be a traces.vocabulary.TraceVocabulary, got {type(vocabulary).__name__}")
        vocabulary.check()
        declared = {c.name for c in layer_extras}
        for kind, terms in (("energy component", vocabulary.energy_components), ("counter", vocabulary.counters)):
            for t in terms:
                if t.column not in declared:
                    raise ValueError(f"vocabulary: {kind} {t.name!r} has its column {t.column!r}, which is not among "
                                     f"the extra columns of /layers ({', '.join(sorted(declared)) or 'none'})")
        return vocabulary.to_attrs()

    # ---- context manager -------------------------------------------------
    def __enter__(self) -> "TraceWriter":
        self._check_open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A run that raised keeps its rows but stays marked incomplete.
        self.close(complete=exc_type is None)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"open, rows={self.rows}"
        return f"TraceWriter({self.path!r}, {state})"

    @property
    def closed(self) -> bool:
        return self._f is None

    @property
    def rows(self) -> dict[str, int]:
        """Rows appended so far per table (flushed or still buffered)."""
        return {t: self._written[t] + self._buf[t].n for t in schema.TABLES}

    @property
    def flushed_rows(self) -> dict[str, int]:
        """Rows already written to the file per table."""
        return dict(self._written)

    def _check_open(self) -> None:
        if self._f is None:
            raise ValueError(f"TraceWriter for {self.path} is closed")

    # ---- appends -----------------------------------------------------------
    def dtype(self, table: str) -> np.dtype:
        """The numpy structured dtype of a table's rows (extras included), as stored."""
        return self._dtypes[table]

    def as_rows(self, table: str, rows: Any) -> np.ndarray:
        """Validate rows (any form the ``append_*`` calls take) into a structured array of
        :meth:`dtype`, without appending them: e.g. rows whose strings are validated and encoded
        once, whose number columns a caller fills per call before appending them as an array
        (the fast path; the append copies them, so the array can be reused)."""
        if table not in self._dtypes:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(self._dtypes)}")
        return self._rows_to_array(table, rows)

    def append_frames(self, rows: Any) -> int:
        """Append frame rows; returns the number of rows appended."""
        return self._append("frames", rows)

    def append_layers(self, columns: Any) -> int:
        """Append layer rows (typically all layers of one frame, as column arrays)."""
        return self._append("layers", columns)

    def append_resources(self, rows: Any) -> int:
        """Append resource-change rows (time_s, resource, value, unit)."""
        return self._append("resources", rows)

    def add_config(
        self,
        config: str,
        *,
        model: str,
        knobs: Mapping[str, Any] | str,
        macs: int,
        params: int,
        accuracy: float | None = math.nan,
        accuracy_metric: str = "",
        accuracy_source: str = "",
        accuracy_label: str = "",
        objective: str = "accuracy",
        accuracy_profile: str = "",
    ) -> bool:
        """Record a configuration once. Returns True if added, False if the id was
        already recorded (the first record is kept; a differing one warns)."""
        self._check_open()
        if isinstance(knobs, str):
            try:
                json.loads(knobs)
            except ValueError as e:
                raise ValueError(f"column 'knobs' of /configs: not valid JSON ({e})") from None
            knobs_json = knobs
        elif isinstance(knobs, Mapping):
            knobs_json = to_json(dict(knobs), "column 'knobs' of /configs")
        else:
            raise ValueError(f"column 'knobs' of /configs expects a mapping or JSON text, got {knobs!r}")
        if objective not in schema.OBJECTIVES:
            raise ValueError(
                f"column 'objective' of /configs: {objective!r} is not one of {', '.join(map(repr, schema.OBJECTIVES))}"
            )
        row = {
            "config": config,
            "model": model,
            "knobs": knobs_json,
            "macs": macs,
            "params": params,
            "accuracy": math.nan if accuracy is None else accuracy,
            "accuracy_metric": accuracy_metric,
            "accuracy_source": accuracy_source,
            "accuracy_label": accuracy_label,
            "objective": objective,
            "accuracy_profile": accuracy_profile,
        }
        arr = self._rows_to_array("configs", row)  # validates every field
        key = arr[0].tobytes()
        if config in self._configs:
            if self._configs[config] != key:
                warnings.warn(
                    f"trace {self.path}: configuration {config!r} added again with different fields; "
                    "the first record is kept",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return False
        self._configs[config] = key
        self._push("configs", arr)
        return True

    def _append(self, table: str, rows: Any) -> int:
        self._check_open()
        arr = self._rows_to_array(table, rows)
        if len(arr):
            self._push(table, arr)
        return len(arr)

    def _push(self, table: str, arr: np.ndarray) -> None:
        buf = self._buf[table]
        buf.push(arr)
        self._chunks[table].feed(buf.rows(), self._written[table])
        self._nbuf += len(arr)
        if self.flush_every_rows is not None and self._nbuf >= self.flush_every_rows:
            self.flush()
        elif self.flush_every_s is not None and time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def _rows_to_array(self, table: str, rows: Any) -> np.ndarray:
        cols = self.columns[table]
        names = self._names[table]
        if isinstance(rows, np.ndarray):
            # the fast path: rows already of the stored type (types and string widths hold by
            # construction); copied into the buffer by the append
            if rows.dtype != self._dtypes[table] or rows.ndim != 1:
                raise ValueError(f"rows of /{table} as an array must be 1-D of the table's dtype "
                                 f"(TraceWriter.dtype({table!r})), got {rows.dtype} with shape {rows.shape}")
            return rows
        if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # pandas DataFrame
            rows = {c: rows[c].to_numpy() for c in rows.columns}
        if isinstance(rows, Mapping):
            data = rows
            self._check_keys(table, data.keys(), names, None)
            lengths = {k: len(v) for k, v in data.items() if not _is_scalar(v)}
            if lengths:
                ns = set(lengths.values())
                if len(ns) > 1:
                    detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
                    raise ValueError(f"columns of /{table} have different lengths: {detail}")
                n = ns.pop()
            else:
                n = 1
        elif isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
            n = len(rows)
            for i, r in enumerate(rows):
                if not isinstance(r, Mapping):
                    raise ValueError(f"row {i} of /{table} must be a mapping column -> value, got {type(r).__name__}")
                self._check_keys(table, r.keys(), names, i)
            data = {c.name: [r[c.name] for r in rows] for c in cols}
        else:
            raise ValueError(
                f"rows of /{table} must be a mapping of columns, a list of row mappings or a DataFrame, "
                f"got {type(rows).__name__}"
            )
        out = np.empty(n, dtype=self._dtypes[table])
        if n == 0:
            return out
        for c in cols:
            out[c.name] = _coerce(table, c, data[c.name], n)
        return out

    @staticmethod
    def _check_keys(table: str, keys: Iterable[str], names: frozenset, row: int | None) -> None:
        keys = set(keys)
        where = f"/{table}" if row is None else f"row {row} of /{table}"
        unknown = sorted(str(k) for k in keys - names)
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))} for {where}; columns: {', '.join(sorted(names))}")
        missing = sorted(names - keys)
        if missing:
            raise ValueError(f"missing column(s) {', '.join(map(repr, missing))} for {where}")

    # ---- flush / close -----------------------------------------------------
    def flush(self) -> None:
        """Write all buffered rows and flush the file (safe against SIGKILL afterwards).

        A write error (e.g. a full disk) raises :class:`TraceWriteError`: the rows of this
        flush are dropped (the tables are cut back to the last completed flush, and the
        ``committed_<table>`` attributes, which readers obey, still names those counts), and
        the writer refuses further writes."""
        self._flush(hold_in_flight=True)

    def _flush(self, hold_in_flight: bool) -> None:
        self._check_open()
        if self._failed is not None:
            raise self._failed
        new = dict(self._written)
        self._check_space()
        held = self._in_flight_layers() if hold_in_flight else 0
        try:
            for t in ("configs", "resources", "layers", "frames"):
                arr = self._buf[t].rows()
                if t == "layers" and held:
                    arr = arr[: len(arr) - held]
                if not len(arr):
                    continue
                ds = self._ds[t]
                n0 = self._written[t]
                ds.resize((n0 + len(arr),))
                new[t] = n0 + len(arr)
                self._chunks[t].write(ds, n0, arr)
            self._f.flush()  # data and extents first ...
            for t in schema.TABLES:
                self._f.attrs[f"committed_{t}"] = np.int64(new[t])
            self._f.flush()  # ... then the counts readers trust (in-place rewrite, allowed under SWMR)
        except Exception as e:
            self._fail(e)
            raise self._failed from None
        self._written = new
        frames = self._buf["frames"].rows()
        if len(frames):
            self._flushed_frames = set(zip(frames["stream"].tolist(), frames["frame"].tolist()))
        for t in schema.TABLES:
            if t == "layers":
                self._buf[t].keep_last(held)  # the frame in flight's rows stay buffered
            else:
                self._buf[t].clear()
        self._nbuf = held
        self._last_flush = time.monotonic()

    def _in_flight_layers(self) -> int:
        """Buffered layer rows of the frame in flight, held back by a flush so that no layer row
        reaches the file before its frame row (a killed run would leave them as orphans): the
        trailing rows of the last layer row's (stream, frame), when no frame row of that key was
        appended yet (layers are appended before their frame row, as `cosim.recorder` does)."""
        buf = self._buf["layers"]
        if not buf.n:
            return 0
        rows = buf.rows()
        stream, frame = rows["stream"][-1], rows["frame"][-1]
        fr = self._buf["frames"].rows()
        if len(fr) and bool(np.any((fr["frame"] == frame) & (fr["stream"] == stream))):
            return 0
        if (stream, int(frame)) in self._flushed_frames:
            return 0
        other = np.flatnonzero((rows["frame"] != frame) | (rows["stream"] != stream))
        return len(rows) - (int(other[-1]) + 1 if len(other) else 0)

    def _check_space(self) -> None:
        """Refuse a flush the file system has no room for, before HDF5 is asked to write it:
        HDF5 copes badly with a write that fails half-way (its later clean-up can crash the
        process). Room = the buffered rows uncompressed, plus one rewritten chunk per table,
        plus a margin for metadata."""
        need = SPACE_MARGIN_BYTES
        for t, buf in self._buf.items():
            if buf.n:
                rows = buf.rows()
                item = self._dtypes[t].itemsize
                raw = len(rows) * item
                # the rows compress: twice the compressed size of a sample (without HDF5's shuffle,
                # which only compresses better), never more than the raw size
                sample = rows[: max(1, SPACE_SAMPLE_BYTES // item)].tobytes()
                ratio = len(zlib.compress(sample, GZIP_LEVEL)) / max(1, len(sample))
                need += int(raw * min(1.0, 2 * ratio)) + chunk_rows(item) * item
        try:
            st = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        if free < need:
            self._fail(OSError(errno.ENOSPC, f"no space left on device ({free / 2**20:.1f} MiB free, "
                                             f"{need / 2**20:.1f} MiB needed)"))
            raise self._failed

    def _fail(self, e: BaseException) -> None:
        """After a write error: drop the buffered rows, cut the tables back to the last completed
        flush (best effort: the committed_<table> attributes already bound what readers read)."""
        self._failed = TraceWriteError(
            f"cannot write trace {self.path}: {_reason(e)}; the trace keeps the {self._written['frames']} frames "
            "of its last completed flush")
        self._failed.in_hdf5 = not (isinstance(e, OSError) and e.errno == errno.ENOSPC and "needed" in str(e))
        for buf in self._buf.values():
            buf.clear()
        for ch in self._chunks.values():
            ch.reset()
        self._nbuf = 0
        if self._failed.in_hdf5:
            for t, ds in self._ds.items():
                try:
                    if ds.shape[0] != self._written[t]:
                        ds.resize((self._written[t],))
                except Exception:  # pragma: no cover - the disk may refuse even this
                    pass

    def close(self, complete: bool = True) -> None:
        """Flush, mark the file complete (unless ``complete=False``) and close it. Idempotent.
        After a write error it only closes the file (marked incomplete) and raises no more."""
        if self._f is None:
            return
        try:
            if self._failed is None:
                # a complete run writes every row; an incomplete one leaves out the layers of
                # its frame in flight (whose frame row never came)
                self._flush(hold_in_flight=not complete)
                if complete:
                    self._f.attrs["complete"] = np.bool_(True)  # in-place rewrite, allowed under SWMR
        finally:
            f, self._f = self._f, None
            ds, self._ds = self._ds, {}
            try:
                if self._failed is not None and self._failed.in_hdf5:
                    _UNCLOSABLE.append((f, list(ds.values())))  # see _UNCLOSABLE
                    for obj in (f, *ds.values()):
                        try:  # one more reference, so that h5py never asks HDF5 to close them
                            h5py.h5i.inc_ref(obj.id)
                        except Exception:  # pragma: no cover
                            pass
                else:
                    f.close()
            except Exception:
                if self._failed is None:
                    raise
            finally:
                if self._claim is not None:
                    self._claim.release()


#: Files (and their datasets) whose write failed inside HDF5. HDF5 cannot close them
#: cleanly (closing a dataset after a failed chunk write crashes inside HDF5 2.0), so they
#: stay open until the process ends; the rows of their last completed flush are on disk
#: and their ``committed_<table>`` attributes tell readers where those end.
_UNCLOSABLE: list = []


# ---------------------------------------------------------------------------
# clearing the "open for writing" flag of a killed writer's file
# ---------------------------------------------------------------------------


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` as HDF5 uses it for metadata checksums."""
    M = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & M
    k = 0
    while length > 12:
        a = (a + int.from_bytes(data[k : k + 4], "little")) & M
        b = (b + int.from_bytes(data[k + 4 : k + 8], "little")) & M
        c = (c + int.from_bytes(data[k + 8 : k + 12], "little")) & M
        a = (a - c) & M; a ^= _rot(c, 4); c = (c + b) & M  # noqa: E702
        b = (b - a) & M; b ^= _rot(a, 6); a = (a + c) & M  # noqa: E702
        c = (c - b) & M; c ^= _rot(b, 8); b = (b + a) & M  # noqa: E702
        a = (a - c) & M; a ^= _rot(c, 16); c = (c + b) & M  # noqa: E702
        b = (b - a) & M; b ^= _rot(a, 19); a = (a + c) & M  # noqa: E702
        c = (c - b) & M; c ^= _rot(b, 4); b = (b + a) & M  # noqa: E702
        length -= 12
        k += 12
    if length == 0:
        return c
    tail = data[k:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b = (b + int.from_bytes(tail[4:8], "little")) & M
    c = (c + int.from_bytes(tail[8:12], "little")) & M
    c ^= b; c = (c - _rot(b, 14)) & M  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & M  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & M  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & M  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & M  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & M  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & M  # noqa: E702
    return c


_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def clear_write_flags(path: str | os.PathLike) -> bool:
    """Clear the superblock's "open for (SWMR) writing" flags that a killed writer
    leaves, as ``h5clear -s`` does, so that any HDF5 tool opens the file.

    Returns True if flags were cleared, False if none were set. Only for a file
    whose writer is no longer running. Raises ValueError if the file is not an
    HDF5 file with a version 2 or 3 superblock at offset 0 (the traces' format).
    """
    path = os.fspath(path)
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:8] != _SIGNATURE:
            raise ValueError(f"{path} is not an HDF5 file with its superblock at offset 0")
        version, size_offsets = head[8], head[9]
        if version not in (2, 3):
            raise ValueError(f"{path}: superblock version {version} has no write flags to clear")
        n = 12 + 4 * size_offsets
        fh.seek(0)
        sb = bytearray(fh.read(n + 4))
        if len(sb) != n + 4 or lookup3(bytes(sb[:n])) != int.from_bytes(sb[n:], "little"):
            raise ValueError(f"{path}: superblock checksum mismatch; not touching the file")
        if sb[11] == 0:
            return False
        sb[11] = 0
        sb[n:] = lookup3(bytes(sb[:n])).to_bytes(4, "little")
        fh.seek(0)
        fh.write(sb)
    return True


__all__ = ["TraceWriter", "TraceWriteError", "clear_write_flags", "repair", "lookup3", "chunk_rows", "utc_now_iso"]


def repair(path: str | os.PathLike, *, backup: bool = True) -> dict[str, Any]:
    """:func:`traces.repair.repair` as a dict (kept for callers of this older entry point)."""
    from .repair import repair as _repair

    return _repair(path, backup=backup).as_dict()
