"""The memory hierarchy is data (accelerator/hierarchy.py): counters, energy components and uses,
plot groups, area terms and export levels derive from its records."""

from dataclasses import replace

import pytest

from accelerator import hierarchy
from accelerator.area import AREA_COMPONENTS, area_mm2
from accelerator.counters import COUNTER_NAMES, TRAFFIC_LEVELS
from accelerator.energy import COMPONENTS, ENERGY_LEVELS, EnergyModel, _USES
from accelerator.export.levels import LEVELS as EXPORT_LEVELS, levels
from accelerator.hierarchy import LEVEL, LEVELS, Access
from accelerator.params import HardwareParams
from accelerator.presets import load_preset
from vocab.params import Param


def test_every_level_is_a_component_with_its_counters_area_and_plot_groups():
    em = EnergyModel(load_preset("simba-like"))
    for lv in LEVELS:
        assert lv.name in COMPONENTS and (lv.name in AREA_COMPONENTS) == (lv.area_model is not None)
        assert _USES[lv.name] == tuple((a.counter, f"{lv.name}.{a.action}") for a in lv.accesses)
        assert all(a.counter in COUNTER_NAMES for a in (*lv.accesses, *lv.preempt_accesses))
        assert all(u in em.pj for _, u in _USES[lv.name])  # each action is priced
        assert lv.name in ENERGY_LEVELS[lv.energy_level]
        assert {a.counter for a in lv.accesses} <= set(TRAFFIC_LEVELS[lv.traffic_level])
    assert EXPORT_LEVELS == tuple(lv.name for lv in LEVELS if lv.storage)
    assert [x.name for x in levels(load_preset("vs16"))] == list(EXPORT_LEVELS)


def test_plot_groups_are_ordered_by_depth_outermost_first():
    def known(groups, names):  # a level added since keeps these in their order
        return [g for g in groups if g in names]
    traffic, energy = ["DRAM", "global buffer", "NoC", "PE buffers"], ["DRAM", "global buffer + NoC", "PE buffers"]
    assert known(hierarchy.traffic_levels(), traffic) == traffic
    assert known(hierarchy.energy_levels(), energy) == energy == known(ENERGY_LEVELS, energy)
    assert list(hierarchy.traffic_levels())[0] == list(ENERGY_LEVELS)[0] == "DRAM"


def test_a_new_level_derives_its_counters_uses_and_groups(monkeypatch):
    """A last-level cache between DRAM and the level under it, declared as a record: its
    parameters, counters, energy uses, plot group (by depth) and export level follow with no
    other declaration."""
    under = next(lv for lv in LEVELS if lv.parent == "dram")
    llc = replace(LEVEL["global_buffer"], name="llc", doc="LLC", parent="dram", operands=("W", "I", "O"),
                  capacity=hierarchy._param("llc_bytes", int, 1 << 20, unit="B", min=1, doc="LLC"),
                  word_bits=hierarchy._param("llc_word_bits", int, 512, unit="bit", min=8, doc="access width"),
                  accesses=(Access("llc_read_bytes", "read", "LLC reads"),
                            Access("llc_write_bytes", "write", "LLC writes")),
                  preempt_accesses=(), energy_level="LLC", traffic_level="LLC")
    new = tuple(replace(lv, parent="llc") if lv is under else lv for lv in LEVELS[:-1]) + (llc, LEVELS[-1])
    monkeypatch.setattr(hierarchy, "LEVELS", new)
    monkeypatch.setattr(hierarchy, "LEVEL", {lv.name: lv for lv in new})
    hierarchy._check()
    names = [c for c, _, _ in hierarchy.level_counters()]
    assert names.index("llc_read_bytes") == names.index("dram_read_bytes") - 2
    assert hierarchy.energy_uses()["llc"] == (("llc_read_bytes", "llc.read"), ("llc_write_bytes", "llc.write"))
    assert list(hierarchy.traffic_levels())[:3] == ["DRAM", "LLC", under.traffic_level]
    assert hierarchy.energy_levels()["LLC"] == ("llc",)
    assert [lv.name for lv in hierarchy.storage_levels()][-2:] == ["llc", "dram"]
    assert list(hierarchy.level_params("capacity"))[-1] == "llc_bytes"
    assert list(hierarchy.level_params("word_bits"))[-1] == "llc_word_bits"
    assert hierarchy.preemption_counters() == tuple((a.counter, "B", a.doc) for n in hierarchy.PREEMPT_PATH
                                                    for a in LEVEL[n].preempt_accesses)

@pytest.mark.parametrize("change, message", [
    (dict(capacity=LEVEL["input_buffer"].capacity),
     "parameter 'input_buffer_bytes' is declared by level 'input_buffer' too"),
    (dict(word_bits=Param(int, 64, unit="bit")), "a parameter without a name"),
    (dict(parent="sram"), "parent 'sram' is not a level"),
    (dict(energy_model="optical"), "energy_model 'optical' is not one of"),
])
def test_a_bad_record_is_refused_naming_the_level_and_field(monkeypatch, change, message):
    bad = replace(LEVEL["global_buffer"], **change)
    new = tuple(bad if lv.name == "global_buffer" else lv for lv in LEVELS)
    monkeypatch.setattr(hierarchy, "LEVELS", new)
    monkeypatch.setattr(hierarchy, "LEVEL", {lv.name: lv for lv in new})
    with pytest.raises(RuntimeError, match=f"level 'global_buffer': {message}"):
        hierarchy._check()


def test_levels_size_from_their_parameters():
    hw = load_preset("vs16")
    wb = LEVEL["weight_buffer"]
    assert wb.instances(hw) == hw.num_pes and wb.bytes(hw) == hw.weight_buffer_bytes
    assert wb.bank_bytes(hw) == hw.weight_buffer_bytes // hw.lanes and wb.bits(hw) == hw.weight_buffer_word_bits
    assert LEVEL["global_buffer"].instances(hw) == 1
    a = area_mm2(hw)
    assert a["weight_buffer"] / a["global_buffer"] == pytest.approx(hw.num_pes * hw.weight_buffer_bytes
                                                                     / hw.global_buffer_bytes)


def test_hardware_params_take_the_levels_parameters():
    """Each level declares its capacity and access width; `HardwareParams` holds those very
    `Param`s (units, ranges, docs and `--set` checks come from the record), capacities after
    ``vector_size`` and widths after ``data_bytes``, levels innermost first."""
    names = HardwareParams.param_names()
    for group, after in (("capacity", "vector_size"), ("word_bits", "data_bytes")):
        declared = hierarchy.level_params(group)
        assert all(HardwareParams.__dict__[n] is p for n, p in declared.items())
        i = names.index(after) + 1
        assert names[i:i + len(declared)] == tuple(declared)
    assert {n: (LEVEL[n].capacity.name, LEVEL[n].word_bits and LEVEL[n].word_bits.name)
            for n in ("weight_buffer", "accum_buffer", "global_buffer")} == {
        "weight_buffer": ("weight_buffer_bytes", "weight_buffer_word_bits"),
        "accum_buffer": ("accum_buffer_bytes", None), "global_buffer": ("global_buffer_bytes", "global_buffer_word_bits")}
