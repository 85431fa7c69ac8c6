"""The accelerator's memory hierarchy as data: one record per level, the one declaration of it.

Like Timeloop/Accelergy's architecture tree or ZigZag's memory instances, each level says what
it is once: the `HardwareParams` fields that size it (declared here as typed `Param`s with unit,
range and doc; `HardwareParams` takes them from ``LEVELS``, `level_params`; their values and
sources live in the presets), the operands it holds, where it sits (``parent``), the counters that
count its accesses and the energy actions that price them, how its per-byte energy, its area
and its leakage derive, and the plot groups it belongs to. Everything per level derives from
``LEVELS``:

* its parameters (`accelerator.params.HardwareParams`: capacities after ``vector_size``, access
  widths after ``data_bytes``, levels innermost first);
* counters (`accelerator.counters.COUNTERS`, hence the C++ ``enum Counter`` that
  `accelerator.codegen` generates, and the trace's counter columns ``c_<name>``);
* energy components and their (counter, action) uses (`accelerator.energy`), hence the trace's
  ``energy_<name>_j`` columns;
* area terms and leakage (`accelerator.area`);
* the levels plots group energy and traffic by (`energy_levels`, `traffic_levels`; traces store
  them, so `traces.plots` draws a new level with no change);
* the storage levels of the Timeloop and ZigZag exports (`accelerator.export.levels`).

What a level's traffic *is* (how many bytes a tile moves through it) is the timing model's
business: the C++ model counts it (``src/dma.h``, ``src/pe_array.h``) into the counters named
here, and `accelerator.cost` counts the same in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from vocab.params import Param

if TYPE_CHECKING:  # params imports this module (HardwareParams takes the levels' parameters from it)
    from .params import HardwareParams

__all__ = ["Access", "MemoryLevel", "LEVELS", "LEVEL", "PREEMPT_PATH", "ENERGY_MODELS", "level_params",
           "level_counters", "preemption_counters", "energy_uses", "preemption_uses", "energy_levels", "traffic_levels",
           "storage_levels"]


@dataclass(frozen=True)
class Access:
    """One kind of access to a level: the counter of its bytes and the energy action that prices
    them (energy key ``<level>.<action>``, an action of `ENERGY_MODELS`)."""

    counter: str
    action: str  # "read", "write" or "transfer"
    doc: str     # the counter's meaning


#: How a level's per-byte energy derives (`accelerator.energy`), each from its data in
#: ``accelerator/data/energy_45nm.yaml``: "sram" (the CACTI fit over capacity and word width),
#: "accum" (the register-file figure scaled by depth), "wire" (the NoC's energy per bit and mm),
#: "dram" (energy per access). Energy table rows follow this order.
ENERGY_MODELS = ("sram", "accum", "wire", "dram")


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the hierarchy (innermost first in `LEVELS`)."""

    name: str             # its energy component, area term and export level
    doc: str              # meaning of its energy component
    parent: str | None    # the level it sits under (fills come from there, or from above for a bypassing operand)
    operands: tuple[str, ...]  # "W", "I", "O" (what it stores; an interconnect carries them)
    storage: bool         # False for an interconnect (the NoC): no capacity, not an export level
    capacity: Param | None  # its HardwareParams field: bytes of one instance (None: unbounded, as DRAM)
    word_bits: Param | None  # its HardwareParams field: access width (the SRAM energy depends on it)
    per_pe: bool          # one instance per PE (else one shared)
    banked_per_lane: bool  # its instance is split into one bank per lane (energy is one bank's)
    vector_reads: bool    # a read delivers one vector (vector_size x data_bytes), not a whole word
    accesses: tuple[Access, ...]          # the counters of an uninterrupted run, in order
    preempt_accesses: tuple[Access, ...]  # its share of preempted inferences' overhead (see PREEMPT_PATH)
    energy_model: str     # one of ENERGY_MODELS
    area_model: str | None  # "sram" / "accum" (bytes x the density in area_45nm.yaml), "noc" (routers), None
    leakage: str | None   # the on-chip leakage row it adds its bytes to ("sram", "accum_buffer"), None
    energy_level: str     # the plot group of its energy component
    traffic_level: str    # the plot group of its byte counters
    delivers_bits: Callable[[HardwareParams], int]  # bits one access delivers below (the exports' width)
    note: str | Callable[[HardwareParams], str]  # how the exports describe it
    more_params: tuple[Param, ...] = ()  # its other HardwareParams fields (placed right after `capacity`)

    def describe(self, hw: HardwareParams) -> str:
        return self.note(hw) if callable(self.note) else self.note

    def instances(self, hw: HardwareParams) -> int:
        return hw.num_pes if self.per_pe else 1

    def bytes(self, hw: HardwareParams) -> int:
        """Capacity of one instance in bytes (`capacity`); 2**40 for an unbounded level."""
        return getattr(hw, self.capacity.name) if self.capacity else 1 << 40

    def bank_bytes(self, hw: HardwareParams) -> int:
        """Capacity of the array one access reads (one lane's bank when banked per lane)."""
        return self.bytes(hw) // hw.lanes if self.banked_per_lane else self.bytes(hw)

    def bits(self, hw: HardwareParams) -> int:
        """Access width in bits (`word_bits`)."""
        return getattr(hw, self.word_bits.name)


def _param(name: str, type_: type, default, **kw) -> Param:
    """A `HardwareParams` field declared with its level: a typed `Param` (unit, range, doc) named
    ``name`` (the class attribute `HardwareParams` gives it; `level_params`)."""
    p = Param(type_, default, **kw)
    p.name = name
    return p


def _vec_bits(hw: HardwareParams) -> int:
    return hw.vector_size * hw.data_bytes * 8


def _dram_bits(hw: HardwareParams) -> int:
    """DRAM bandwidth as bits per accelerator cycle (at least a byte)."""
    return max(8, int(round(hw.dram_bandwidth_bytes_per_s / hw.clock_hz * 8)))


PE_BUFFERS = "PE buffers"

#: The hierarchy, innermost first: the order of counters, energy components, area terms and
#: export levels. Plot groups are shown outermost first (by depth below the root).
LEVELS: tuple[MemoryLevel, ...] = (
    MemoryLevel(
        "weight_buffer", "PE weight-buffer reads and writes", "noc", ("W",), True,
        capacity=_param("weight_buffer_bytes", int, 131072, unit="B", min=1,
                        doc="weight buffer per PE (all lanes together; banked per lane)"),
        word_bits=_param("weight_buffer_word_bits", int, 64, unit="bit", min=8, max=4096,
                         doc="access width of one lane's weight-buffer bank (SRAM energy per access depends on it)"),
        per_pe=True, banked_per_lane=True, vector_reads=True,
        accesses=(Access("wbuf_read_bytes", "read", "PE weight-buffer reads"),
                  Access("wbuf_write_bytes", "write", "PE weight-buffer writes")),
        preempt_accesses=(Access("preempt_wbuf_write_bytes", "write", "PE weight-buffer writes of restores"),),
        energy_model="sram", area_model="sram", leakage="sram", energy_level=PE_BUFFERS, traffic_level=PE_BUFFERS,
        delivers_bits=lambda hw: hw.lanes * _vec_bits(hw),
        note="per PE, banked per lane; each lane reads one weight vector per cycle"),
    MemoryLevel(
        "input_buffer", "PE input-buffer reads and writes", "noc", ("I",), True,
        capacity=_param("input_buffer_bytes", int, 65536, unit="B", min=1,
                        doc="input buffer per PE (shared by its lanes)"),
        word_bits=_param("input_buffer_word_bits", int, 64, unit="bit", min=8, max=4096,
                         doc="access width of a PE's input buffer"),
        per_pe=True, banked_per_lane=False, vector_reads=True,
        accesses=(Access("ibuf_read_bytes", "read", "PE input-buffer reads"),
                  Access("ibuf_write_bytes", "write", "PE input-buffer writes")),
        preempt_accesses=(Access("preempt_ibuf_write_bytes", "write", "PE input-buffer writes of restores"),),
        energy_model="sram", area_model="sram", leakage="sram", energy_level=PE_BUFFERS, traffic_level=PE_BUFFERS,
        delivers_bits=_vec_bits, note="per PE, one input vector per cycle broadcast to the PE's lanes"),
    MemoryLevel(
        "accum_buffer", "PE accumulation-buffer reads and writes", "noc", ("O",), True,
        capacity=_param("accum_buffer_bytes", int, 1536, unit="B", min=1,
                        doc="accumulation buffer per PE (all lanes together; banked per lane)"),
        more_params=(_param("accum_bits", int, 24, unit="bit", min=1, max=64, doc="width of one partial sum"),),
        word_bits=None, per_pe=True, banked_per_lane=True, vector_reads=False,
        accesses=(Access("accbuf_read_bytes", "read", "PE accumulation-buffer reads"),
                  Access("accbuf_write_bytes", "write", "PE accumulation-buffer writes")),
        preempt_accesses=(Access("preempt_accbuf_read_bytes", "read", "accumulation-buffer reads of checkpoint spills"),
                          Access("preempt_accbuf_write_bytes", "write", "accumulation-buffer writes of restores")),
        energy_model="accum", area_model="accum", leakage="accum_buffer", energy_level=PE_BUFFERS,
        traffic_level=PE_BUFFERS, delivers_bits=lambda hw: hw.lanes * hw.accum_bits,
        note="per PE, banked per lane; partial sums of accum_bits"),
    MemoryLevel(
        "global_buffer", "global-buffer reads and writes", "dram", ("I", "O"), True,
        capacity=_param("global_buffer_bytes", int, 65536, unit="B", min=1, doc="global buffer shared by the PEs"),
        word_bits=_param("global_buffer_word_bits", int, 256, unit="bit", min=8, max=8192,
                         doc="access width of the global buffer"),
        per_pe=False, banked_per_lane=False, vector_reads=False,
        accesses=(Access("glb_read_bytes", "read", "global-buffer reads"),
                  Access("glb_write_bytes", "write", "global-buffer writes")),
        preempt_accesses=(Access("preempt_glb_read_bytes", "read",
                                 "global-buffer reads of checkpoint spills and restores"),
                          Access("preempt_glb_write_bytes", "write",
                                 "global-buffer writes of checkpoint spills and restores")),
        energy_model="sram", area_model="sram", leakage="sram", energy_level="global buffer + NoC",
        traffic_level="global buffer", delivers_bits=lambda hw: hw.global_buffer_word_bits,
        note="shared by the PEs; weights bypass it (Simba)"),
    MemoryLevel(
        "noc", "NoC transfers between global buffer and PEs", "global_buffer", ("W", "I", "O"), False,
        capacity=None, word_bits=None, per_pe=False, banked_per_lane=False, vector_reads=False,
        accesses=(Access("noc_bytes", "transfer", "bytes carried by the NoC between global buffer and PEs"),),
        preempt_accesses=(Access("preempt_noc_bytes", "transfer", "NoC bytes of checkpoint spills and restores"),),
        energy_model="wire", area_model="noc", leakage=None, energy_level="global buffer + NoC",
        traffic_level="NoC", delivers_bits=lambda hw: hw.noc_bytes_per_cycle * 8,
        note="GLB <-> PEs (and DRAM -> PEs for weights)"),
    MemoryLevel(
        "dram", "DRAM reads and writes", None, ("W", "I", "O"), True, capacity=None, word_bits=None,
        per_pe=False, banked_per_lane=False, vector_reads=False,
        accesses=(Access("dram_read_bytes", "read", "DRAM reads"), Access("dram_write_bytes", "write", "DRAM writes")),
        preempt_accesses=(Access("preempt_spill_bytes", "write", "DRAM writes of checkpoints (partial sums spilled)"),
                          Access("preempt_restore_bytes", "read", "DRAM reads of restores (partial sums, operand "
                                 "tiles, resident operands, re-fetched tiles)")),
        energy_model="dram", area_model=None, leakage=None, energy_level="DRAM", traffic_level="DRAM",
        delivers_bits=_dram_bits, note=lambda hw: f"bandwidth {hw.dram_bandwidth_bytes_per_s:g} B/s = "
                                                  f"{_dram_bits(hw)} bit/cycle at {hw.clock_hz:g} Hz"),
)
LEVEL: dict[str, MemoryLevel] = {lv.name: lv for lv in LEVELS}

#: The order of the preemption counters (and of the uses the preemption energy sums): the
#: levels a checkpoint spill and its restore cross, DRAM first. A level off this path has no
#: preemption counters.
PREEMPT_PATH: tuple[str, ...] = ("dram", "noc", "global_buffer", "accum_buffer", "weight_buffer", "input_buffer")


def _depth(lv: MemoryLevel) -> int:
    return 0 if lv.parent is None else 1 + _depth(LEVEL[lv.parent])


def level_params(group: str) -> dict[str, Param]:
    """The levels' `HardwareParams` fields by name, levels innermost first: for ``"capacity"``
    each level's `capacity` and `more_params`, for ``"word_bits"`` its `word_bits`.
    `HardwareParams` places the first group after ``vector_size``, the second after ``data_bytes``."""
    groups = {"capacity": lambda lv: (lv.capacity, *lv.more_params), "word_bits": lambda lv: (lv.word_bits,)}
    return {p.name: p for lv in LEVELS for p in groups[group](lv) if p is not None}


def _check() -> None:
    declared: dict[str, str] = {}
    for lv in LEVELS:
        where = f"accelerator/hierarchy.py level {lv.name!r}"
        for p in (q for q in (lv.capacity, *lv.more_params, lv.word_bits) if q is not None):
            if p.name == "?":
                raise RuntimeError(f"{where}: a parameter without a name (declare it with _param(name, ...))")
            if p.name in declared:
                raise RuntimeError(f"{where}: parameter {p.name!r} is declared by level {declared[p.name]!r} too")
            declared[p.name] = lv.name
        if lv.parent is not None and lv.parent not in LEVEL:
            raise RuntimeError(f"{where}: parent {lv.parent!r} is not a level ({', '.join(LEVEL)})")
        if lv.energy_model not in ENERGY_MODELS:
            raise RuntimeError(f"{where}: energy_model {lv.energy_model!r} is not one of {ENERGY_MODELS}")
        if lv.preempt_accesses and lv.name not in PREEMPT_PATH:
            raise RuntimeError(f"{where}: has preemption counters but is not in PREEMPT_PATH")
    if len(LEVEL) != len(LEVELS) or [lv for lv in LEVELS if lv.parent is None] != [LEVELS[-1]]:
        raise RuntimeError("accelerator/hierarchy.py: level names must be unique and the outermost level the one root")
    for lv in LEVELS:
        _depth(lv)  # a parent cycle raises RecursionError here, at import


_check()


def level_counters() -> tuple[tuple[str, str, str], ...]:
    """(name, unit, meaning) of every level's byte counters, levels innermost first."""
    return tuple((a.counter, "B", a.doc) for lv in LEVELS for a in lv.accesses)


def preemption_counters() -> tuple[tuple[str, str, str], ...]:
    """(name, unit, meaning) of the levels' preemption byte counters, in `PREEMPT_PATH` order."""
    return tuple((a.counter, "B", a.doc) for n in PREEMPT_PATH for a in LEVEL[n].preempt_accesses)


def energy_uses() -> dict[str, tuple[tuple[str, str], ...]]:
    """Level -> ((counter, energy action key), ...): its energy component's uses."""
    return {lv.name: tuple((a.counter, f"{lv.name}.{a.action}") for a in lv.accesses) for lv in LEVELS}


def preemption_uses() -> tuple[tuple[str, str], ...]:
    """(counter, energy action key) of the preemption overhead, at the levels' own energies."""
    return tuple((a.counter, f"{n}.{a.action}") for n in PREEMPT_PATH for a in LEVEL[n].preempt_accesses)


def _groups(key: Callable[[MemoryLevel], str], members: Callable[[MemoryLevel], tuple[str, ...]]
            ) -> dict[str, tuple[str, ...]]:
    """Plot group -> member names: groups outermost first (by their outermost level's depth), the
    members of a group in `LEVELS` order."""
    order = sorted(LEVELS, key=_depth)  # stable: equal depths keep LEVELS order
    groups: dict[str, tuple[str, ...]] = {key(lv): () for lv in order}
    for lv in LEVELS:
        groups[key(lv)] += members(lv)
    return groups


def energy_levels() -> dict[str, tuple[str, ...]]:
    """Plot group -> the levels' energy components in it, outermost group first."""
    return _groups(lambda lv: lv.energy_level, lambda lv: (lv.name,))


def traffic_levels() -> dict[str, tuple[str, ...]]:
    """Plot group -> the byte counters of its levels, outermost group first."""
    return _groups(lambda lv: lv.traffic_level, lambda lv: tuple(a.counter for a in lv.accesses))


def storage_levels() -> tuple[MemoryLevel, ...]:
    """The levels that store data (the export levels), innermost first."""
    return tuple(lv for lv in LEVELS if lv.storage)
