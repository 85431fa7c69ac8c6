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
    assert list(hierarchy.traffic_levels()) == ["DRAM", "global buffer", "NoC", "PE buffers"]
    assert list(hierarchy.energy_levels()) == ["DRAM", "global buffer + NoC", "PE buffers"]
    assert list(ENERGY_LEVELS)[:3] == ["DRAM", "global buffer + NoC", "PE buffers"]


def test_a_new_level_derives_its_counters_uses_and_groups(monkeypatch):
    """An L2 between the global buffer and DRAM, declared as a record: its counters, energy uses,
    plot group (by depth) and export level follow with no other declaration."""
    l2 = replace(LEVEL["global_buffer"], name="l2", doc="L2", parent="dram", operands=("W", "I", "O"),
                 capacity=hierarchy._param("l2_bytes", int, 1 << 20, unit="B", min=1, doc="L2"),
                 word_bits=hierarchy._param("l2_word_bits", int, 512, unit="bit", min=8, doc="access width of the L2"),
                 accesses=(Access("l2_read_bytes", "read", "L2 reads"), Access("l2_write_bytes", "write", "L2 writes")),
                 preempt_accesses=(), energy_level="L2", traffic_level="L2")
    glb = replace(LEVEL["global_buffer"], parent="l2")
    new = tuple(glb if lv.name == "global_buffer" else lv for lv in LEVELS[:-1]) + (l2, LEVELS[-1])
    monkeypatch.setattr(hierarchy, "LEVELS", new)
    monkeypatch.setattr(hierarchy, "LEVEL", {lv.name: lv for lv in new})
    hierarchy._check()
    names = [c for c, _, _ in hierarchy.level_counters()]
    assert names.index("l2_read_bytes") == names.index("noc_bytes") + 1 < names.index("dram_read_bytes")
    assert hierarchy.energy_uses()["l2"] == (("l2_read_bytes", "l2.read"), ("l2_write_bytes", "l2.write"))
    assert list(hierarchy.traffic_levels()) == ["DRAM", "L2", "global buffer", "NoC", "PE buffers"]
    assert hierarchy.energy_levels()["L2"] == ("l2",)
    assert [lv.name for lv in hierarchy.storage_levels()][-2:] == ["l2", "dram"]
    assert list(hierarchy.level_params("capacity"))[-2:] == ["global_buffer_bytes", "l2_bytes"]
    assert list(hierarchy.level_params("word_bits"))[-1] == "l2_word_bits"
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
    assert [lv.capacity.name for lv in LEVELS if lv.capacity] == [
        "weight_buffer_bytes", "input_buffer_bytes", "accum_buffer_bytes", "global_buffer_bytes"]
