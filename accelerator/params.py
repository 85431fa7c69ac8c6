"""Hardware parameters of the accelerator (gem5-style typed parameters).

`HardwareParams` are fixed when the SystemC model elaborates; `RuntimeResources`
are the ones the host may change during a run (clock, active PEs, DRAM share).

The defaults of `HardwareParams` are the values of the ``simba-like`` preset
(``accelerator/presets/simba-like.yaml`` holds the source of every number; a test
checks the two agree). Prefer ``accelerator.presets.load_preset(name)``.
"""

from __future__ import annotations

import math

from vocab.params import Component, Param, ParamError

from .hierarchy import level_params
from vocab.units import MAX_TIME_S, PS_PER_S

# One clock cycle must last at least the simulated-time resolution (1 ps): a faster clock
# rounds every tile to no time at all.
MAX_CLOCK_HZ = float(PS_PER_S)


def _check_clock(owner: str, clock_hz: float) -> None:
    if clock_hz > MAX_CLOCK_HZ:
        raise ParamError(f"{owner}.clock_hz [Hz] = {clock_hz:g} is out of range (allowed: (0, {MAX_CLOCK_HZ:g}]: "
                         "one cycle must last at least the 1 ps resolution of simulated time)")

__all__ = ["HardwareParams", "RuntimeResources", "ParamError"]


class HardwareParams(Component):
    """A MAGNet/Simba-like accelerator: PE array of vector MACs, PE buffers, GLB, NoC, DRAM, PPU."""

    name = Param(str, "simba-like", doc="name of this hardware configuration")
    technology_nm = Param(int, 45, unit="nm", min=1, max=1000,
                          doc="process node; energy/area tables are 45 nm and scaled to this node")
    clock_hz = Param(float, 1e9, unit="Hz", min=0, min_exclusive=True, doc="accelerator clock")
    # <= 4096 (64x rt-64pe): mapping time grows with the array; a billion PEs would never finish.
    num_pes = Param(int, 16, min=1, max=4096, doc="processing elements")
    lanes = Param(int, 4, min=1, doc="vector-MAC units per PE, each on a different output channel")
    vector_size = Param(int, 4, min=1, doc="input channels reduced per vector MAC per cycle")
    # the memory levels' capacities (weight_buffer_bytes ... global_buffer_bytes, with the accumulation
    # buffer's accum_bits), declared with their level in accelerator/hierarchy.py
    locals().update(level_params("capacity"))
    noc_bytes_per_cycle = Param(int, 32, unit="B/cycle", min=1, doc="NoC bandwidth GLB <-> PEs")
    dram_bandwidth_bytes_per_s = Param(float, 25.6e9, unit="B/s", min=0, min_exclusive=True,
                                       doc="peak DRAM bandwidth")
    dram_latency_s = Param(float, 43.125e-9, unit="s", min=0, doc="DRAM access latency")
    dram_type = Param(str, "lpddr4", choices=("lpddr4",),
                      doc="DRAM standard: its channel width and rate, PHY, controller and device background "
                          "power come from accelerator/data/dram_interface.yaml (only types with sourced "
                          "figures are offered)")
    memory_interface_cost = Param(bool, True,
                                  doc="count the area and static power of the DRAM interface (PHY, memory "
                                      "controller, one per channel) and the DRAM devices' background power; "
                                      "false leaves the memory interface free (the model before issue 24)")
    ppu_elements_per_cycle = Param(int, 16, unit="element/cycle", min=1,
                                   doc="post-processing-unit throughput")
    data_bytes = Param(int, 1, unit="B", min=1, max=8, doc="bytes per activation/weight element")
    # the memory levels' access widths (weight_buffer_word_bits ... global_buffer_word_bits): accelerator/hierarchy.py
    locals().update(level_params("word_bits"))
    accum_buffer_ports = Param(int, 1, min=1, max=2,
                               doc="ports of an accumulation bank: 1 = draining the partial sums costs one cycle "
                                   "per output after the reduction; 2 = the drain overlaps the next accumulation")
    zero_gating = Param(bool, True, doc="MACs on vector/lane padding are gated (no dynamic MAC energy); the "
                                        "buffers still read whole words")
    mapping_objective = Param(str, "edp", choices=("edp", "energy", "latency"),
                              doc="what the mapper minimises per layer (estimated by accelerator.cost)")

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.num_pes * self.lanes * self.vector_size

    @property
    def peak_macs_per_s(self) -> float:
        return self.peak_macs_per_cycle * self.clock_hz

    @property
    def accum_drain_cycles(self) -> int:
        """Extra cycles per output position to read a lane's partial sums out after the reduction."""
        return 1 if self.accum_buffer_ports == 1 else 0

    @property
    def accum_entries_per_lane(self) -> int:
        """Partial sums one lane's accumulation bank holds."""
        return self.accum_buffer_bytes * 8 // (self.lanes * self.accum_bits)

    def validate(self) -> None:
        n = type(self).__name__
        for name in self.param_names():  # the model accepts no infinite clock, bandwidth or energy
            v = getattr(self, name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ParamError(f"{n}.{name} = {v!r} must be a finite number")
        # what the parameters imply for durations (the workload's bounds: accelerator.invariants)
        _check_clock(n, self.clock_hz)
        if self.dram_latency_s > MAX_TIME_S:
            raise ParamError(f"{n}.dram_latency_s [s] = {self.dram_latency_s:g} is out of range (allowed: "
                             f"[0, {MAX_TIME_S:g}], the simulated-time limit)")
        vec = self.vector_size * self.data_bytes
        need = 2 * self.lanes * vec
        if self.weight_buffer_bytes < need:
            raise ParamError(
                f"{n}.weight_buffer_bytes [B] = {self.weight_buffer_bytes} is too small: double-buffering one "
                f"weight vector per lane needs >= 2*lanes*vector_size*data_bytes = {need} B")
        if self.weight_buffer_bytes % self.lanes:
            raise ParamError(f"{n}.weight_buffer_bytes [B] = {self.weight_buffer_bytes} must split evenly "
                             f"into one bank per lane (lanes = {self.lanes})")
        if self.input_buffer_bytes < 2 * vec:
            raise ParamError(
                f"{n}.input_buffer_bytes [B] = {self.input_buffer_bytes} is too small: double-buffering one "
                f"input vector needs >= 2*vector_size*data_bytes = {2 * vec} B")
        if self.accum_bits < 16 * self.data_bytes:
            raise ParamError(f"{n}.accum_bits [bit] = {self.accum_bits} cannot hold one full-precision "
                             f"product of two {8 * self.data_bytes}-bit values (needs >= {16 * self.data_bytes})")
        acc_need = -(-self.lanes * self.accum_bits // 8)
        if self.accum_buffer_bytes < acc_need:
            raise ParamError(
                f"{n}.accum_buffer_bytes [B] = {self.accum_buffer_bytes} is too small: one partial sum per "
                f"lane needs >= ceil(lanes*accum_bits/8) = {acc_need} B")
        if self.global_buffer_bytes < 2 * vec:
            raise ParamError(f"{n}.global_buffer_bytes [B] = {self.global_buffer_bytes} is too small: needs "
                             f">= 2*vector_size*data_bytes = {2 * vec} B")

    # -- overrides ---------------------------------------------------------------------------
    def replace(self, **changes):
        """A new, fully validated `HardwareParams` with some fields changed: the Python path of
        ``cosim ... --set FIELD=VALUE``. Each value is checked like a preset's (type, unit,
        range, then the cross-field checks of `validate`). The changes are remembered as
        overrides (``.overrides``: field -> {value, kind: "override", was, base}) and travel
        into traces and sweep results; the ``name`` stays the base hardware's unless changed.

            hw = load_preset("vs16").replace(num_pes=32, global_buffer_bytes=131072)
        """
        new = super().replace(**changes)
        ov = {k: dict(v) for k, v in self.overrides.items()}
        for k, v in changes.items():
            if k == "name":
                continue
            was = ov[k]["was"] if k in ov else getattr(self, k)
            ov[k] = {"value": getattr(new, k), "kind": "override", "was": was,
                     "base": ov[k]["base"] if k in ov else self.name}
            if ov[k]["value"] == was:
                del ov[k]
        new.__dict__["_overrides"] = ov
        return new

    @property
    def overrides(self) -> dict:
        """Fields changed by `replace` since the preset was loaded: field -> {value, kind, was, base}."""
        return self.__dict__.get("_overrides", {})

    def record(self) -> dict:
        """Every parameter, plus ``overrides`` (kind "override", the preset value it replaced)
        when some were set: what traces store as their ``hardware`` attribute."""
        d = self.to_dict()
        if self.overrides:
            d["overrides"] = {k: dict(v) for k, v in self.overrides.items()}
        return d

    @classmethod
    def default(cls) -> "HardwareParams":
        """The hardware of ``accelerator.presets.DEFAULT_PRESET``: the parameters' defaults are its
        values (``tests/test_params.py`` checks), so this needs no preset file and ``params`` does
        not import ``presets`` (which imports ``params``)."""
        return cls()


for _name, _p in {**level_params("capacity"), **level_params("word_bits")}.items():
    if HardwareParams.__dict__.get(_name) is not _p:  # declared again below the level's own
        raise RuntimeError(f"accelerator/params.py: HardwareParams.{_name} is a memory level's parameter "
                           "(accelerator/hierarchy.py): declare it there only")


class RuntimeResources(Component):
    """Resources the host may change while a run goes on."""

    clock_hz = Param(float, 1e9, unit="Hz", min=0, min_exclusive=True, doc="accelerator clock now")
    active_pes = Param(int, 16, min=1, doc="PEs the workload may use now (1..num_pes)")
    dram_share = Param(float, 1.0, min=0, max=1, min_exclusive=True,
                       doc="fraction of the DRAM bandwidth this accelerator gets now")

    def validate(self) -> None:
        if not math.isfinite(self.clock_hz):
            raise ParamError(f"RuntimeResources.clock_hz = {self.clock_hz!r} must be a finite number")
        _check_clock("RuntimeResources", self.clock_hz)

    @classmethod
    def full(cls, hw: HardwareParams) -> "RuntimeResources":
        """All of ``hw``: its clock, all PEs, the whole DRAM bandwidth."""
        return cls(clock_hz=hw.clock_hz, active_pes=hw.num_pes, dram_share=1.0)

    def check_against(self, hw: HardwareParams) -> "RuntimeResources":
        """Raise ParamError unless these resources fit ``hw``; return self."""
        if self.active_pes > hw.num_pes:
            raise ParamError(f"RuntimeResources.active_pes = {self.active_pes} is out of range "
                             f"(allowed: [1, {hw.num_pes}], the num_pes of {hw.name!r})")
        return self
