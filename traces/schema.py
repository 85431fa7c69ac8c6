"""The HDF5 trace schema: the one definition of what a dynvit-cosim trace holds.

This module imports no other part of dynvit-cosim (it *is* the schema): the
writer, the reader, the summaries and every other part of the project take the
table and column definitions from here.

File layout (one file per run)
------------------------------
Root attributes (see :data:`ROOT_ATTRS`): ``schema_version``,
``schema_minor_version``, ``created``, ``tool_version``, ``seed``, ``scenario``,
``hardware`` (JSON text) and ``complete`` (False while the run is being written;
True once the writer was closed cleanly, so a killed or crashed run reads
``complete=False``).

The file describes itself (schema 1.1 on): the root attributes
``energy_components`` and ``counters`` (JSON lists of ``{"name", "column",
"unit", "doc"}``: the ``energy_<c>_j`` and ``c_<counter>`` columns of
``/layers``), ``op_classes`` (JSON list of the values of ``op_class``) and
``energy_levels`` / ``traffic_levels`` (JSON lists of ``[level, [names]]``: the
grouping into levels of the memory hierarchy that plots use) hold every name a
reader needs (:mod:`traces.vocabulary`). A file without them (schema 1.0, or a
writer given no vocabulary) is read with the frozen vocabulary of schema 1.0
files, :data:`traces.vocabulary.LEGACY`.

Four tables, each a 1-D, chunked, gzip-compressed (with shuffle), resizable
HDF5 dataset of a *compound* type, one field per column:

* ``/frames``    one row per frame (:data:`FRAMES`)
* ``/layers``    one row per executed layer (:data:`LAYERS` plus the *extra*
  float columns the writer declared, e.g. energy by component and raw counters)
* ``/resources`` the resource time series the host applied (:data:`RESOURCES`)
* ``/configs``   one row per configuration used (:data:`CONFIGS`)

Every table dataset carries the attributes ``columns`` (JSON list of
``{"name", "kind", "unit", "doc"}`` for every column, extras included) and
``extra_columns`` (JSON list of the names of the extra columns, possibly empty).

Strings
-------
Strings are stored as **fixed-width, null-padded UTF-8** (HDF5 ``H5T_STRING``
with ``H5T_CSET_UTF8``, ``H5T_STR_NULLPAD``); the width of each string column is
its byte limit (:attr:`Column.width`). Fixed width rather than variable length
because variable-length strings live in the HDF5 global heap, which is neither
compressed nor safe under SWMR (the crash-consistency mode the writer uses);
fixed-width padding costs next to nothing after compression. A value longer
than the width (in UTF-8 bytes) is refused with an error naming the column.
Trailing NUL characters of a value are not preserved (null padding).

Numbers
-------
``float`` columns are float64 (NaN = unknown / did not happen), ``int`` columns
int64, ``bool`` columns HDF5 enum bool (numpy ``bool``). Times are seconds of
simulated time (``*_s``), energies joules (``*_j``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import h5py
import numpy as np

#: Version of this schema, an integer bumped on every incompatible change.
#: Readers refuse files whose version is newer than the one they know.
SCHEMA_VERSION: int = 1
#: Minor version, bumped on every compatible addition (older readers ignore what they do not
#: know; newer readers accept files without it). 0 (no attribute): the first files; 1: the
#: vocabulary attributes (energy_components, counters, op_classes, energy_levels, traffic_levels).
SCHEMA_MINOR_VERSION: int = 1

#: Kinds of column and the numpy dtype each is stored as (strings: see Column.dtype).
KINDS = ("str", "int", "float", "bool")


@dataclass(frozen=True)
class Column:
    """One column of a trace table."""

    name: str
    kind: str  # one of KINDS
    unit: str = ""  # "" for dimensionless / not applicable
    doc: str = ""
    width: int = 0  # byte limit of a "str" column (UTF-8)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if (self.kind == "str") != (self.width > 0):
            raise ValueError(f"column {self.name!r}: a width is required for, and only for, str columns")

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype the column is stored as (h5py maps it to the HDF5 type)."""
        if self.kind == "str":
            return h5py.string_dtype("utf-8", self.width)
        return np.dtype({"int": "<i8", "float": "<f8", "bool": "?"}[self.kind])

    def describe(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "unit": self.unit, "doc": self.doc}
        if self.kind == "str":
            d["width"] = self.width
        return d


# String widths (bytes of UTF-8). Generous: padding compresses away.
STREAM_WIDTH = 64
CONFIG_WIDTH = 256
LAYER_NAME_WIDTH = 128
OP_WIDTH = 32
RESOURCE_WIDTH = 64
UNIT_WIDTH = 32
MODEL_WIDTH = 64
KNOBS_WIDTH = 4096
LABEL_WIDTH = 64
SOURCE_WIDTH = 512

FRAMES: tuple[Column, ...] = (
    Column("stream", "str", "", "stream (camera / tenant) the frame belongs to", STREAM_WIDTH),
    Column("frame", "int", "", "frame number within its stream"),
    Column("arrival_s", "float", "s", "simulated time the frame arrived"),
    Column("deadline_s", "float", "s", "absolute deadline of the frame"),
    Column("start_s", "float", "s", "time its inference started (NaN if not run)"),
    Column("end_s", "float", "s", "time its inference ended (NaN if not run)"),
    Column("config", "str", "", "configuration id chosen for the frame ('' if none)", CONFIG_WIDTH),
    Column("accuracy", "float", "", "accuracy of the configuration (NaN if unknown)"),
    Column("latency_s", "float", "s", "end_s - arrival_s (NaN if not run)"),
    Column("energy_j", "float", "J", "accelerator energy spent on the frame"),
    Column("missed", "bool", "", "the frame ran but ended after its deadline"),
    Column("dropped", "bool", "", "the frame was not run to completion (skipped or aborted)"),
)

LAYERS: tuple[Column, ...] = (
    Column("stream", "str", "", "stream of the frame", STREAM_WIDTH),
    Column("frame", "int", "", "frame number within its stream"),
    Column("layer", "int", "", "index of the layer in the configuration's layer list"),
    Column("name", "str", "", "layer name", LAYER_NAME_WIDTH),
    Column("op", "str", "", "IR op (conv, linear, matmul, softmax, ...)", OP_WIDTH),
    Column("op_class", "str", "", "dense_conv, pointwise, depthwise, attention or non_mac", OP_WIDTH),
    Column("start_s", "float", "s", "simulated time the layer started"),
    Column("end_s", "float", "s", "simulated time the layer ended"),
    Column("macs_useful", "int", "MAC", "multiply-accumulates of the workload"),
    Column("macs_issued", "int", "MAC", "multiply-accumulates issued (whole vectors and lanes)"),
    Column("dram_bytes", "int", "B", "DRAM bytes read and written"),
    Column("energy_j", "float", "J", "total energy of the layer"),
)

RESOURCES: tuple[Column, ...] = (
    Column("time_s", "float", "s", "simulated time the value took effect"),
    Column("resource", "str", "", "resource name (e.g. 'clock_hz', 'active_pes', 'cam0.deadline_s')", RESOURCE_WIDTH),
    Column("value", "float", "", "new value (unit in the 'unit' column)"),
    Column("unit", "str", "", "unit of the value", UNIT_WIDTH),
)

CONFIGS: tuple[Column, ...] = (
    Column("config", "str", "", "configuration id", CONFIG_WIDTH),
    Column("model", "str", "", "model name", MODEL_WIDTH),
    Column("knobs", "str", "", "knob values, JSON object", KNOBS_WIDTH),
    Column("macs", "int", "MAC", "useful MACs of one inference"),
    Column("params", "int", "", "parameters of the configured model"),
    Column("accuracy", "float", "", "accuracy (NaN if unknown: never invented)"),
    Column("accuracy_metric", "str", "", "e.g. 'mIoU' or 'top1'", LABEL_WIDTH),
    Column("accuracy_source", "str", "", "provenance of the accuracy (paper table, measurement)", SOURCE_WIDTH),
    Column("accuracy_label", "str", "", "how the accuracy is known: published, measured: ..., approximate: ...", SOURCE_WIDTH),
    Column("accuracy_profile", "str", "", "the accuracy profile the value came from: 'built-in: FILE' or a measured "
           "profile's path and SHA-256 prefix ('' if unknown); each frame's accuracy is its config's (absent in "
           "traces written before this column existed)", SOURCE_WIDTH),
    Column("objective", "str", "", "what the governor ranks by: 'accuracy' or 'useful_macs proxy'", LABEL_WIDTH),
)

#: Columns added to schema version 1 after its first files were written: a file may lack them
#: (its readers then simply do not see them), every newer file has them.
LATER_COLUMNS: dict[str, tuple[str, ...]] = {"configs": ("accuracy_profile",)}

#: Table name -> fixed columns. The dataset of table ``t`` is ``/t``.
TABLES: dict[str, tuple[Column, ...]] = {
    "frames": FRAMES,
    "layers": LAYERS,
    "resources": RESOURCES,
    "configs": CONFIGS,
}

#: Tables that accept extra float columns declared when the file is created.
EXTENSIBLE_TABLES = ("frames", "layers")

#: Values allowed in /configs' objective column.
OBJECTIVES = ("accuracy", "useful_macs proxy")

#: Root attributes: name -> meaning.
ROOT_ATTRS: dict[str, str] = {
    "schema_version": "integer version of this schema",
    "schema_minor_version": "integer minor version (compatible additions; absent in 1.0 files)",
    "created": "ISO 8601 UTC time the file was created (given by the caller for reproducible files)",
    "tool_version": "dynvit-cosim version that wrote the file",
    "seed": "random seed of the run (absent if none)",
    "scenario": "source text of the scenario script",
    "hardware": "JSON object of all hardware parameters",
    "complete": "True once the writer was closed cleanly (False: killed / crashed run)",
    "committed_frames": "rows of /frames as of the writer's last completed flush; readers read no further "
                        "(likewise committed_layers, committed_resources, committed_configs; absent in older "
                        "files: read everything)",
}

#: Root attributes of the vocabulary (schema 1.1 on; :mod:`traces.vocabulary`): name -> meaning.
VOCABULARY_ATTRS: dict[str, str] = {
    "energy_components": "JSON list of {name, column, unit, doc}: the energy components, columns energy_<name>_j "
                         "of /layers (joules per layer)",
    "counters": "JSON list of {name, column, unit, doc}: the raw action counters, columns c_<name> of /layers",
    "op_classes": "JSON list of the op classes (values of /layers' op_class), in display order",
    "energy_levels": "JSON list of [level, [energy component names]]: where energy is spent, in display order",
    "traffic_levels": "JSON list of [level, [counter names]]: bytes moved at each memory level, in display order",
}
ROOT_ATTRS.update(VOCABULARY_ATTRS)


def energy_column(component: str) -> str:
    """The /layers column of an energy component (joules per layer)."""
    return f"energy_{component}_j"


def counter_column(counter: str) -> str:
    """The /layers column of a raw action counter."""
    return f"c_{counter}"


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def extra_columns(names: Iterable[str] | Mapping[str, str], table: str = "layers") -> tuple[Column, ...]:
    """Extra float columns of ``table`` from names, or a mapping name -> unit.

    Names must be identifiers, unique, and must not collide with a fixed column.
    """
    if table not in EXTENSIBLE_TABLES:
        raise ValueError(f"table {table!r} takes no extra columns (only {', '.join(EXTENSIBLE_TABLES)} do)")
    if isinstance(names, str):
        raise ValueError(f"extra columns of /{table} must be a sequence of names, not the string {names!r}")
    units = dict(names) if isinstance(names, Mapping) else {n: "" for n in names}
    if isinstance(names, Mapping):
        seq = list(names)
    else:
        seq = list(names)
        dup = sorted({n for n in seq if seq.count(n) > 1})
        if dup:
            raise ValueError(f"extra column(s) of /{table} declared twice: {', '.join(dup)}")
    fixed = {c.name for c in TABLES[table]}
    out = []
    for n in seq:
        if not isinstance(n, str) or not _NAME_RE.match(n):
            raise ValueError(f"extra column name {n!r} of /{table} is not an identifier")
        if n in fixed:
            raise ValueError(f"extra column {n!r} of /{table} collides with a fixed column")
        unit = units[n]
        if not isinstance(unit, str):
            raise ValueError(f"unit of extra column {n!r} of /{table} must be a string, got {unit!r}")
        out.append(Column(n, "float", unit, "extra column declared by the writer"))
    return tuple(out)


def table_columns(table: str, extras: Iterable[Column] = ()) -> tuple[Column, ...]:
    """All columns of a table: the fixed ones, then the extras."""
    if table not in TABLES:
        raise ValueError(f"unknown trace table {table!r}; tables: {', '.join(TABLES)}")
    return TABLES[table] + tuple(extras)


def table_dtype(columns: Iterable[Column]) -> np.dtype:
    """The compound (structured) dtype of a table's rows."""
    return np.dtype([(c.name, c.dtype) for c in columns])


__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_MINOR_VERSION",
    "VOCABULARY_ATTRS",
    "energy_column",
    "counter_column",
    "KINDS",
    "Column",
    "FRAMES",
    "LAYERS",
    "RESOURCES",
    "CONFIGS",
    "TABLES",
    "EXTENSIBLE_TABLES",
    "OBJECTIVES",
    "LATER_COLUMNS",
    "ROOT_ATTRS",
    "extra_columns",
    "table_columns",
    "table_dtype",
]
