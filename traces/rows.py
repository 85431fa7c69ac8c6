"""Rows given to the trace writer -> the stored structured array (each column's values checked:
type, range, string width; errors name the table and the column), and the buffer that holds them
between flushes."""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .schema import Column

__all__ = ["RowBuffer", "row_bytes", "rows_to_array"]


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


def rows_to_array(table: str, cols: tuple[Column, ...], names: frozenset, dtype: np.dtype, rows: Any) -> np.ndarray:
    """``rows`` of ``/table`` (a mapping of columns, a list of row mappings, a DataFrame or an
    array of the table's dtype) as a structured array; ValueError naming the column otherwise."""
    if isinstance(rows, np.ndarray):
        # the fast path: rows already of the stored type (types and string widths hold by
        # construction); copied into the buffer by the append
        if rows.dtype != dtype or rows.ndim != 1:
            raise ValueError(f"rows of /{table} as an array must be 1-D of the table's dtype "
                             f"(TraceWriter.dtype({table!r})), got {rows.dtype} with shape {rows.shape}")
        return rows
    if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # pandas DataFrame
        rows = {c: rows[c].to_numpy() for c in rows.columns}
    if isinstance(rows, Mapping):
        data = rows
        _check_keys(table, data.keys(), names, None)
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
            _check_keys(table, r.keys(), names, i)
        data = {c.name: [r[c.name] for r in rows] for c in cols}
    else:
        raise ValueError(
            f"rows of /{table} must be a mapping of columns, a list of row mappings or a DataFrame, "
            f"got {type(rows).__name__}"
        )
    out = np.empty(n, dtype=dtype)
    if n == 0:
        return out
    for c in cols:
        out[c.name] = _coerce(table, c, data[c.name], n)
    return out


def _check_keys(table: str, keys: Iterable[str], names: frozenset, row: int | None) -> None:
    keys = set(keys)
    where = f"/{table}" if row is None else f"row {row} of /{table}"
    unknown = sorted(str(k) for k in keys - names)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))} for {where}; columns: {', '.join(sorted(names))}")
    missing = sorted(names - keys)
    if missing:
        raise ValueError(f"missing column(s) {', '.join(map(repr, missing))} for {where}")


def row_bytes(rows: np.ndarray) -> np.ndarray:
    """Contiguous structured rows as their bytes (1-D uint8): copying those is one memory copy
    (numpy copies a structured array whose fields carry h5py's string metadata field by field,
    and opaque records record by record: 10-50x slower)."""
    return np.ascontiguousarray(rows).reshape(-1).view(np.uint8)


class RowBuffer:
    """One table's rows between flushes, in one growing byte array: an append is one copy into
    place (no list of small arrays for the flush to concatenate); the capacity is kept across
    flushes, so a steady run allocates nothing after its first flushes."""

    def __init__(self, dtype: np.dtype, capacity_rows: int) -> None:
        self.dtype = dtype
        self._raw = np.empty(capacity_rows * dtype.itemsize, dtype=np.uint8)
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
