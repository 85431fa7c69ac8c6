"""A trace's tables as Parquet or CSV files, so that pandas (or any tool) reads a run without
this project: ``export_tables(trace, folder, "parquet")`` writes ``frames``, ``layers``,
``resources`` and ``configs`` as ``<folder>/<table>.parquet`` (or ``.csv``), read in slices so
that memory does not grow with the length of the run.

A Parquet file carries, in its schema metadata, the unit of every column (``dynvit.units``, JSON
column -> unit) and the run's identity (``dynvit.trace``: the source file, seed, tool version,
schema version and whether the run completed). A CSV file is plain: its units are those of the
trace (``traces.open(p).units(table)``; SI: seconds, joules, bytes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .reader import open as _open_trace

TABLES = ("frames", "layers", "resources", "configs")
FORMATS = ("parquet", "csv")


def export_tables(trace: str | os.PathLike, folder: str | os.PathLike, fmt: str = "parquet",
                  overwrite: bool = False) -> list[Path]:
    """Write every table of ``trace`` into ``folder`` (made if missing) as ``fmt``; returns the
    files. An existing file is refused (``FileExistsError``) unless ``overwrite``."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: allowed {', '.join(FORMATS)}")
    out = Path(folder)
    paths = [out / f"{t}.{fmt}" for t in TABLES]
    if not overwrite:
        there = [str(p) for p in paths if p.exists()]
        if there:
            raise FileExistsError(f"{', '.join(there)} exist(s); give --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    with _open_trace(trace) as t:
        meta = t.meta
        ident = {"file": str(trace), "seed": meta.get("seed"), "tool_version": meta.get("tool_version"),
                 "schema_version": meta.get("schema_version"), "complete": meta.get("complete")}
        for table, p in zip(TABLES, paths):
            tmp = p.with_name(f".{p.name}.tmp")
            if fmt == "parquet":
                _parquet(t, table, tmp, {"dynvit.units": json.dumps(t.units(table)),
                                         "dynvit.trace": json.dumps(ident, default=str)})
            else:
                first = True
                with open(tmp, "w", newline="") as fh:
                    for part in t.iter_table(table):
                        part.to_csv(fh, index=False, header=first)
                        first = False
                    if first:  # an empty table: its header only
                        t.table(table).to_csv(fh, index=False)
            os.replace(tmp, p)
    return paths


def _parquet(t, table: str, path: Path, metadata: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for part in t.iter_table(table):
            tab = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                schema = tab.schema.with_metadata({**(tab.schema.metadata or {}), **{k.encode(): v.encode()
                                                                                    for k, v in metadata.items()}})
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(tab.cast(writer.schema))
        if writer is None:  # an empty table: its columns, no rows
            tab = pa.Table.from_pandas(t.table(table), preserve_index=False)
            pq.write_table(tab.replace_schema_metadata({**(tab.schema.metadata or {}), **metadata}), path)
    finally:
        if writer is not None:
            writer.close()
