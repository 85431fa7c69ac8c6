"""The HDF5 file of a trace: its layout (chunk size, compression, file-format bounds, root
attributes, one dataset per table) and its creation, complete and empty, under a temporary name
that is renamed into place (:func:`create_file`), so that a run killed at any instant leaves
either no new file or a readable trace. :mod:`traces.writer` fills it."""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import h5py
import numpy as np

from . import schema
from .output import OutputClaim, OutputError
from .schema import Column
from .vocabulary import TraceVocabulary

#: Target uncompressed bytes per chunk; chunk rows are a power of two near it.
CHUNK_TARGET_BYTES = 512 * 1024
#: gzip level (gzip rather than lzf: every HDF5 installation reads gzip). Level 1:
#: ~15% less CPU than level 4 on trace data for the same size within 1%.
GZIP_LEVEL = 1
#: Raw-data chunk cache per dataset, large enough to keep partial chunks hot.
CHUNK_CACHE_BYTES = 8 * 1024 * 1024
#: HDF5 file-format bounds: SWMR needs the 1.10 format; capping it there keeps
#: files readable by any HDF5 >= 1.10.
LIBVER = ("v110", "v110")


def chunk_rows(itemsize: int) -> int:
    """Rows per chunk for a row size: a power of two in [16, 16384] near the target."""
    rows = max(1, CHUNK_TARGET_BYTES // max(1, itemsize))
    p = 1 << int(round(math.log2(rows)))
    return int(min(16384, max(16, p)))


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


def error_reason(e: BaseException) -> str:
    """A short reason from an h5py/OS error (HDF5's messages carry the OS error inside)."""
    text = str(e)
    m = re.search(r"error message = '([^']+)'", text)
    if m:
        return m.group(1)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return text.splitlines()[0] if text else type(e).__name__


def root_attrs(*, seed: int | None, scenario: str, hardware_json: str, tool_version: str, created: str,
               vocabulary: TraceVocabulary | None, layer_extras: tuple[Column, ...]) -> dict[str, Any]:
    """The root attributes of a new trace, in the order they are written (the file's bytes depend
    on it): an incomplete run with nothing committed yet."""
    attrs: dict[str, Any] = {"schema_version": np.int64(schema.SCHEMA_VERSION),
                             "schema_minor_version": np.int64(schema.SCHEMA_MINOR_VERSION),
                             "created": created, "tool_version": tool_version}
    if seed is not None:
        attrs["seed"] = np.int64(seed)
    attrs.update(scenario=scenario, hardware=hardware_json)
    attrs.update(_vocabulary_attrs(vocabulary, layer_extras))
    attrs["complete"] = np.bool_(False)
    attrs.update({f"committed_{t}": np.int64(0) for t in schema.TABLES})
    return attrs


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


def _creating_name(path: str) -> str:
    """A hidden temporary name beside ``path`` for the file while it is being created."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.creating-{os.getpid()}-{os.urandom(4).hex()}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def create_file(path: str, claim: OutputClaim, attrs: dict[str, Any], columns: dict[str, tuple[Column, ...]],
                dtypes: dict[str, np.dtype], extras: dict[str, tuple[Column, ...]],
                ) -> tuple[h5py.File, dict[str, h5py.Dataset]]:
    """The file and its datasets (one per table, empty), created complete (attributes, every
    table) under a temporary name and renamed into place: a run killed at any instant leaves
    either no new file or a readable trace. HDF5 stores no file name, so the bytes are those of a
    file created in place. The file is left in SWMR mode. Releases the claim on failure."""
    tmp = _creating_name(path)
    try:
        f = h5py.File(tmp, "w", libver=LIBVER, rdcc_nbytes=CHUNK_CACHE_BYTES)
    except OSError as e:
        _unlink_quietly(tmp)  # a file HDF5 could not even start: leave nothing behind
        claim.release()
        raise OutputError(f"cannot create trace file {path}: {error_reason(e)}") from None
    try:
        for k, v in attrs.items():
            f.attrs[k] = v
        datasets: dict[str, h5py.Dataset] = {}
        for t, cols in columns.items():
            dt = dtypes[t]
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
            datasets[t] = ds
        f.swmr_mode = True  # from here on: no new objects or attributes
        f.flush()
        os.replace(tmp, path)  # the open file keeps working under its new name
    except BaseException as e:
        f.close()
        _unlink_quietly(tmp)
        claim.release()
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            raise OutputError(f"cannot create trace file {path}: {error_reason(e)}") from None
        raise
    return f, datasets


__all__ = ["CHUNK_TARGET_BYTES", "GZIP_LEVEL", "chunk_rows", "create_file", "error_reason", "root_attrs", "to_json"]
