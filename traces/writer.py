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

The file is created complete (root attributes, every table, empty; :mod:`traces.h5file`) under a
hidden temporary name beside it and renamed into place, so a run killed at any
instant leaves either no new file (any old one untouched) or a readable trace.
A frame's layer rows are appended before its frame row (as the recorder does); a
flush holds back the layer rows of the frame in flight (whose frame row has not
been appended yet), so no layer row reaches the file before its frame row and a
killed run leaves no orphan layer rows (an incomplete close drops them).

A file whose writer was killed (or is still running) carries HDF5's
"open for writing" superblock flag: :func:`traces.open` reads it anyway (it
falls back to a SWMR read), plain h5py needs ``h5py.File(path, "r", swmr=True)``,
and :func:`traces.superblock.clear_write_flags` (like HDF5's ``h5clear -s``) clears the flag so
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
import time
import warnings
import zlib
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from . import schema
from .chunks import ChunkCompressor
from .h5file import GZIP_LEVEL, chunk_rows, create_file, error_reason, root_attrs, to_json
from .output import OutputClaim, same_file
from .rows import RowBuffer, rows_to_array
from .schema import Column
from .vocabulary import TraceVocabulary

#: Free space a flush leaves on the file system at least (HDF5 metadata, the final close).
SPACE_MARGIN_BYTES = 2 * 2**20
#: Bytes of each table's buffered rows compressed to estimate a flush's size on disk.
SPACE_SAMPLE_BYTES = 64 * 1024


def utc_now_iso() -> str:
    """Current UTC time, ISO 8601 with a 'Z' (second resolution)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# the writer
# ---------------------------------------------------------------------------


class TraceWriteError(OSError):
    """Writing the trace failed (e.g. the disk is full); the file keeps the rows of the
    last completed flush and nothing else."""

    in_hdf5 = True  # the failure happened inside HDF5 (False: refused before writing)


def _checked_arguments(seed, scenario, hardware, tool_version, created, flush_every_s,
                       flush_every_rows) -> tuple[str, str]:
    """TraceWriter's scalar arguments checked (ValueError naming the one that is wrong); returns
    the hardware as JSON and the ``created`` time (now when None)."""
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
    return hardware_json, created


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
        hardware_json, created = _checked_arguments(seed, scenario, hardware, tool_version, created,
                                                    flush_every_s, flush_every_rows)
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
        attrs = root_attrs(seed=seed, scenario=scenario, hardware_json=hardware_json, tool_version=tool_version,
                           created=created, vocabulary=vocabulary, layer_extras=extras["layers"])

        if claim is None:
            if os.path.exists(self.path) and not overwrite:
                raise FileExistsError(f"trace file {self.path} exists (overwrite=False)")
            claim = OutputClaim(self.path, overwrite=True, what="trace file")
        elif not claim.held or not same_file(claim.path, self.path):
            raise ValueError(f"TraceWriter for {self.path}: the claim given is for {claim.path} or was released")
        self._claim = claim  # held (another writer of this file is refused) until close
        self._ds: dict[str, h5py.Dataset]
        self._f, self._ds = create_file(self.path, claim, attrs, self.columns, self._dtypes, extras)
        self._failed: TraceWriteError | None = None
        self._buf = {t: RowBuffer(dt, chunk_rows(dt.itemsize)) for t, dt in self._dtypes.items()}
        # whole chunks filtered in Python (ISA-L's deflate) and written directly (traces/chunks.py)
        self._chunks = {t: ChunkCompressor(self._ds[t], self._dtypes[t], GZIP_LEVEL) for t in schema.TABLES}
        self._nbuf = 0
        self._written = {t: 0 for t in schema.TABLES}
        self._configs: dict[str, tuple] = {}
        self._flushed_frames: set[tuple[bytes, int]] = set()  # (stream, frame) keys of the last flush
        self._last_flush = time.monotonic()

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
        self._nbuf += len(arr)
        if self.flush_every_rows is not None and self._nbuf >= self.flush_every_rows:
            self.flush()
        elif self.flush_every_s is not None and time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def _rows_to_array(self, table: str, rows: Any) -> np.ndarray:
        return rows_to_array(table, self.columns[table], self._names[table], self._dtypes[table], rows)

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
        n, w = len(rows), 512  # look back from the end, in growing windows: a frame's rows are a few hundred
        while True:
            tail = rows[max(0, n - w):]
            other = np.flatnonzero((tail["frame"] != frame) | (tail["stream"] != stream))
            if len(other):
                return len(tail) - (int(other[-1]) + 1)
            if w >= n:
                return n
            w *= 8

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
            f"cannot write trace {self.path}: {error_reason(e)}; the trace keeps the {self._written['frames']} frames "
            "of its last completed flush")
        self._failed.in_hdf5 = not (isinstance(e, OSError) and e.errno == errno.ENOSPC and "needed" in str(e))
        for buf in self._buf.values():
            buf.clear()
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


__all__ = ["TraceWriter", "TraceWriteError", "chunk_rows", "utc_now_iso"]

