"""The vocabulary a trace carries: what its energy-component and counter columns of
``/layers`` are, which op classes its layers have, and how components and counters group
into the levels of the memory hierarchy that plots show.

The writer stores it in root attributes (JSON, see :data:`traces.schema.VOCABULARY_ATTRS`); readers take every such
name from the file (:attr:`traces.Trace.vocabulary`), so a trace of an accelerator with
other components is read, plotted and reported with its own names. Files written before
these attributes existed (schema 1.0) are read with :data:`LEGACY`.

This module imports nothing of the project but the trace schema: ``cosim`` builds the
vocabulary from the accelerator's declarations and hands it to the writer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from . import schema


@dataclass(frozen=True)
class Term:
    """One named quantity of a trace: its name, the /layers column holding it ('' if it is
    a value rather than a column, as op classes are), its unit and its meaning."""

    name: str
    column: str = ""
    unit: str = ""
    doc: str = ""

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "column": self.column, "unit": self.unit, "doc": self.doc}


def _levels(levels: Mapping[str, Iterable[str]], what: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(levels, Mapping):
        raise ValueError(f"{what} must be a mapping level -> names, got {type(levels).__name__}")
    out = []
    for level, names in levels.items():
        if not isinstance(level, str) or isinstance(names, str):
            raise ValueError(f"{what}: level {level!r} must be a name mapped to a sequence of names, got {names!r}")
        out.append((level, tuple(names)))
    return tuple(out)


def _level_columns(terms: Sequence[Term], levels) -> dict[str, tuple[str, ...]]:
    col = {t.name: t.column for t in terms}
    return {level: tuple(col[n] for n in names) for level, names in levels}


@dataclass(frozen=True)
class TraceVocabulary:
    """Names a trace's readers need (see the module doc). Levels are ordered pairs
    ``(level, names)``; build one with :meth:`of`."""

    energy_components: tuple[Term, ...]
    counters: tuple[Term, ...]
    op_classes: tuple[str, ...]
    energy_levels: tuple[tuple[str, tuple[str, ...]], ...]
    traffic_levels: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, *, energy_components: Sequence[tuple[str, str]], counters: Sequence[tuple[str, str, str]],
           op_classes: Sequence[str], energy_levels: Mapping[str, Iterable[str]],
           traffic_levels: Mapping[str, Iterable[str]]) -> "TraceVocabulary":
        """From plain declarations: energy components as (name, meaning) (joules, column
        ``energy_<name>_j``), counters as (name, unit, meaning) (column ``c_<name>``), op class
        names, and levels as mappings level -> component / counter names. Raises ValueError
        naming what is wrong (a level naming an unknown component or counter, a duplicate)."""
        v = cls(
            energy_components=tuple(Term(n, schema.energy_column(n), "J", d) for n, d in energy_components),
            counters=tuple(Term(n, schema.counter_column(n), u, d) for n, u, d in counters),
            op_classes=tuple(op_classes),
            energy_levels=_levels(energy_levels, "energy levels"),
            traffic_levels=_levels(traffic_levels, "traffic levels"),
        )
        v.check()
        return v

    def check(self) -> None:
        """Raise ValueError if a name is declared twice or a level names something unknown."""
        for what, names in (("energy component", [t.name for t in self.energy_components]),
                            ("counter", [t.name for t in self.counters]), ("op class", list(self.op_classes)),
                            ("energy level", [lv for lv, _ in self.energy_levels]),
                            ("traffic level", [lv for lv, _ in self.traffic_levels])):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"trace vocabulary: {what}(s) declared twice: {', '.join(dup)}")
            bad = [n for n in names if not isinstance(n, str) or not n]
            if bad:
                raise ValueError(f"trace vocabulary: {what} names must be non-empty strings, got {bad[0]!r}")
        for what, levels, known in (("energy level", self.energy_levels, self.component_names),
                                    ("traffic level", self.traffic_levels, self.counter_names)):
            for level, names in levels:
                unknown = [n for n in names if n not in known]
                if unknown:
                    raise ValueError(f"trace vocabulary: {what} {level!r} names {', '.join(map(repr, unknown))}, "
                                     f"not among {', '.join(known) or '(none)'}")

    # ---- lookups ---------------------------------------------------------------
    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.energy_components)

    @property
    def counter_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.counters)

    @property
    def energy_columns(self) -> tuple[str, ...]:
        """The /layers columns of the energy components, in order."""
        return tuple(t.column for t in self.energy_components)

    @property
    def counter_columns(self) -> tuple[str, ...]:
        """The /layers columns of the counters, in order."""
        return tuple(t.column for t in self.counters)

    def energy_level_columns(self) -> dict[str, tuple[str, ...]]:
        """Energy level -> the /layers columns of its components."""
        return _level_columns(self.energy_components, self.energy_levels)

    def traffic_level_columns(self) -> dict[str, tuple[str, ...]]:
        """Traffic level -> the /layers columns of its counters."""
        return _level_columns(self.counters, self.traffic_levels)

    def terms(self) -> list[dict[str, str]]:
        """Every energy component and counter as a row (kind, name, column, unit, doc)."""
        return ([{"kind": "energy component", **t.describe()} for t in self.energy_components]
                + [{"kind": "counter", **t.describe()} for t in self.counters])

    # ---- in the file -------------------------------------------------------------
    def to_attrs(self) -> dict[str, str]:
        """The root attributes (JSON text) that store this vocabulary."""
        out = {
            "energy_components": json.dumps([t.describe() for t in self.energy_components]),
            "counters": json.dumps([t.describe() for t in self.counters]),
            "op_classes": json.dumps(list(self.op_classes)),
            "energy_levels": json.dumps([[lv, list(ns)] for lv, ns in self.energy_levels]),
            "traffic_levels": json.dumps([[lv, list(ns)] for lv, ns in self.traffic_levels]),
        }
        assert tuple(out) == tuple(schema.VOCABULARY_ATTRS)
        return out

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> "TraceVocabulary":
        """From the root attributes of :meth:`to_attrs` (str or bytes values). Raises
        ValueError naming the attribute that is missing or malformed."""
        def load(name: str) -> Any:
            if name not in attrs:
                raise ValueError(f"root attribute {name!r} is missing (the file has only part of the vocabulary)")
            raw = attrs[name]
            try:
                return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
            except (TypeError, ValueError, UnicodeDecodeError) as e:
                raise ValueError(f"root attribute {name!r} is not JSON ({e})") from None

        def terms(name: str) -> tuple[Term, ...]:
            rows = load(name)
            try:
                return tuple(Term(str(r["name"]), str(r.get("column", "")), str(r.get("unit", "")),
                                  str(r.get("doc", ""))) for r in rows)
            except (TypeError, KeyError, AttributeError):
                raise ValueError(f"root attribute {name!r} must be a JSON list of {{name, column, unit, doc}}") from None

        def levels(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
            rows = load(name)
            try:
                return tuple((str(lv), tuple(str(n) for n in ns)) for lv, ns in rows)
            except (TypeError, ValueError):
                raise ValueError(f"root attribute {name!r} must be a JSON list of [level, [names]]") from None

        ops = load("op_classes")
        if not isinstance(ops, list):
            raise ValueError("root attribute 'op_classes' must be a JSON list of names")
        v = cls(energy_components=terms("energy_components"), counters=terms("counters"),
                op_classes=tuple(str(o) for o in ops), energy_levels=levels("energy_levels"),
                traffic_levels=levels("traffic_levels"))
        v.check()
        return v

    def present(self, columns: Iterable[str]) -> "TraceVocabulary":
        """This vocabulary without the components and counters whose column is not among
        ``columns`` (levels keep only what remains; a level left empty goes)."""
        have = set(columns)
        comps = tuple(t for t in self.energy_components if t.column in have)
        ctrs = tuple(t for t in self.counters if t.column in have)
        keep_c, keep_n = {t.name for t in comps}, {t.name for t in ctrs}

        def cut(levels, keep):
            out = ((lv, tuple(n for n in ns if n in keep)) for lv, ns in levels)
            return tuple((lv, ns) for lv, ns in out if ns)

        return TraceVocabulary(comps, ctrs, self.op_classes, cut(self.energy_levels, keep_c),
                               cut(self.traffic_levels, keep_n))


# The vocabulary of schema <= 1.0 files: a frozen copy of the names the tool wrote (and the plots
# grouped by) before traces stored their vocabulary. Never edit it to follow the accelerator: it
# describes old files, whatever the accelerator becomes. (One change from the old plots: mac_padded
# is in the compute level; the old plots left it out of every level.)
LEGACY = TraceVocabulary.of(
    energy_components=(
        ("mac", "multiply-accumulates of the workload (useful MACs)"),
        ("mac_padded", "MACs issued on vector/lane padding (zero with zero gating)"),
        ("weight_buffer", "PE weight-buffer reads and writes"),
        ("input_buffer", "PE input-buffer reads and writes"),
        ("accum_buffer", "PE accumulation-buffer reads and writes"),
        ("global_buffer", "global-buffer reads and writes"),
        ("noc", "NoC transfers between global buffer and PEs"),
        ("dram", "DRAM reads and writes"),
        ("ppu", "post-processing-unit element operations"),
        ("leakage", "static power x time"),
    ),
    counters=(
        ("cycles", "cycle", "accelerator clock cycles spent in the layer (at the clock of each tile)"),
        ("compute_cycles", "cycle", "cycles the PE array (or PPU) was busy computing"),
        ("tiles", "1", "tiles executed"),
        ("macs_useful", "MAC", "multiply-accumulates of the workload"),
        ("macs_issued", "MAC", "multiply-accumulates issued, rounded up to whole vectors and lanes"),
        ("wbuf_read_bytes", "B", "PE weight-buffer reads"),
        ("wbuf_write_bytes", "B", "PE weight-buffer writes"),
        ("ibuf_read_bytes", "B", "PE input-buffer reads"),
        ("ibuf_write_bytes", "B", "PE input-buffer writes"),
        ("accbuf_read_bytes", "B", "PE accumulation-buffer reads"),
        ("accbuf_write_bytes", "B", "PE accumulation-buffer writes"),
        ("glb_read_bytes", "B", "global-buffer reads"),
        ("glb_write_bytes", "B", "global-buffer writes"),
        ("noc_bytes", "B", "bytes carried by the NoC between global buffer and PEs"),
        ("dram_read_bytes", "B", "DRAM reads"),
        ("dram_write_bytes", "B", "DRAM writes"),
        ("ppu_ops", "op", "post-processing-unit element operations"),
        ("stall_dram_ps", "ps", "time compute waited for DRAM/DMA"),
    ),
    op_classes=("dense_conv", "pointwise", "depthwise", "attention", "non_mac"),
    energy_levels={
        "DRAM": ("dram",),
        "global buffer + NoC": ("global_buffer", "noc"),
        "PE buffers": ("weight_buffer", "input_buffer", "accum_buffer"),
        "compute (MAC, PPU)": ("mac", "mac_padded", "ppu"),
        "leakage": ("leakage",),
    },
    traffic_levels={
        "DRAM": ("dram_read_bytes", "dram_write_bytes"),
        "global buffer": ("glb_read_bytes", "glb_write_bytes"),
        "NoC": ("noc_bytes",),
        "PE buffers": ("wbuf_read_bytes", "wbuf_write_bytes", "ibuf_read_bytes", "ibuf_write_bytes",
                       "accbuf_read_bytes", "accbuf_write_bytes"),
    },
)


def legacy_vocabulary(columns: Iterable[str]) -> TraceVocabulary:
    """The vocabulary of a schema <= 1.0 file with these /layers columns: :data:`LEGACY` cut to
    the columns present, plus any other ``energy_<c>_j`` / ``c_<n>`` column the file has (those
    files were read by these prefixes), in no level."""
    columns = list(columns)
    v = LEGACY.present(columns)
    known = set(v.energy_columns) | set(v.counter_columns)
    fixed = {c.name for c in schema.LAYERS}
    more_e = tuple(Term(c[len("energy_"):-len("_j")], c, "J") for c in columns
                   if c.startswith("energy_") and c.endswith("_j") and c not in fixed and c not in known)
    more_c = tuple(Term(c[len("c_"):], c) for c in columns if c.startswith("c_") and c not in known)
    return TraceVocabulary(v.energy_components + more_e, v.counters + more_c, v.op_classes, v.energy_levels,
                           v.traffic_levels)


__all__ = ["Term", "TraceVocabulary", "LEGACY", "legacy_vocabulary"]
