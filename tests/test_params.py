"""Typed parameters, hardware parameters and presets."""

import shutil

import pytest

from accelerator.params import HardwareParams, RuntimeResources
from accelerator.presets import DEFAULT_PRESET, KINDS, PRESET_DIR, list_presets, load_preset, preset_info, provenance
from vocab.params import Component, Param, ParamError, format_table


class Toy(Component):
    size = Param(int, 8, unit="B", doc="capacity", min=1, max=64)
    share = Param(float, 1.0, doc="fraction", min=0, max=1, min_exclusive=True)
    mode = Param(str, "a", doc="mode", choices=("a", "b"))


def test_param_type_range_choices_errors_name_field_unit_and_range():
    with pytest.raises(ParamError, match=r"Toy\.size \[B\] = 65 is out of range \(allowed: \[1, 64\] B\)"):
        Toy(size=65)
    with pytest.raises(ParamError, match=r"Toy\.size \[B\]: expected int, got str"):
        Toy(size="8")
    with pytest.raises(ParamError, match=r"expected int, got bool"):
        Toy(size=True)
    with pytest.raises(ParamError, match=r"Toy\.share = 0\.0 is out of range \(allowed: \(0, 1\]\)"):
        Toy(share=0)
    with pytest.raises(ParamError, match=r"one of 'a', 'b'"):
        Toy(mode="c")
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) 'sise'; valid names: size, share, mode"):
        Toy.from_dict({"sise": 3})
    t = Toy(size=16.0, share=1)            # integral float -> int, int -> float
    assert (t.size, t.share) == (16, 1.0) and isinstance(t.size, int) and isinstance(t.share, float)
    with pytest.raises(ParamError, match="out of range"):
        t.size = 0                          # checked on set too
    assert issubclass(ParamError, ValueError)


def test_component_describe_dict_roundtrip():
    rows = Toy.describe()
    assert [r["name"] for r in rows] == ["size", "share", "mode"]
    assert rows[0] == {"name": "size", "type": "int", "unit": "B", "default": 8, "range": "[1, 64]",
                       "doc": "capacity", "value": 8}
    t = Toy(size=4)
    assert t.describe()[0]["value"] == 4
    assert Toy.from_dict(t.to_dict()) == t and t.replace(mode="b").mode == "b"
    assert "size" in format_table(rows)


def test_hardware_params_fields_and_derived():
    assert HardwareParams.param_names() == (
        "name", "technology_nm", "clock_hz", "num_pes", "lanes", "vector_size", "weight_buffer_bytes",
        "input_buffer_bytes", "accum_buffer_bytes", "accum_bits", "global_buffer_bytes", "noc_bytes_per_cycle",
        "dram_bandwidth_bytes_per_s", "dram_latency_s", "dram_type", "memory_interface_cost", "ppu_elements_per_cycle",
        "data_bytes",
        "weight_buffer_word_bits", "input_buffer_word_bits", "global_buffer_word_bits", "accum_buffer_ports",
        "zero_gating", "mapping_objective")
    hw = HardwareParams()
    assert hw.peak_macs_per_cycle == 16 * 4 * 4
    assert hw.peak_macs_per_s == 256 * 1e9
    assert hw == load_preset("simba-like")          # defaults are the sourced simba-like preset
    assert HardwareParams.default() == hw == load_preset(DEFAULT_PRESET)


@pytest.mark.parametrize("changes, pattern", [
    ({"vector_size": 0}, r"HardwareParams\.vector_size = 0 is out of range \(allowed: \[1, inf\)\)"),
    ({"clock_hz": 0.0}, r"HardwareParams\.clock_hz \[Hz\] = 0\.0 is out of range \(allowed: \(0, inf\) Hz\)"),
    ({"weight_buffer_bytes": 16}, r"weight_buffer_bytes \[B\] = 16 is too small.*>= 2\*lanes\*vector_size\*data_bytes = 32 B"),
    ({"input_buffer_bytes": 4}, r"input_buffer_bytes \[B\] = 4 is too small.*= 8 B"),
    ({"accum_buffer_bytes": 8}, r"accum_buffer_bytes \[B\] = 8 is too small.*= 12 B"),
    ({"accum_bits": 12}, r"accum_bits \[bit\] = 12 cannot hold"),
    ({"weight_buffer_bytes": 131073}, r"split evenly"),
    ({"data_bytes": 9}, r"data_bytes \[B\] = 9 is out of range \(allowed: \[1, 8\] B\)"),
])
def test_hardware_params_validation_messages(changes, pattern):
    with pytest.raises(ParamError, match=pattern):
        HardwareParams().replace(**changes)


def test_runtime_resources():
    hw = load_preset("vs16")
    rr = RuntimeResources.full(hw)
    assert (rr.clock_hz, rr.active_pes, rr.dram_share) == (hw.clock_hz, hw.num_pes, 1.0)
    with pytest.raises(ParamError, match=r"dram_share = 0\.0 is out of range \(allowed: \(0, 1\]\)"):
        rr.replace(dram_share=0.0)
    with pytest.raises(ParamError, match=r"active_pes = 17 is out of range \(allowed: \[1, 16\]"):
        rr.replace(active_pes=17).check_against(hw)


def test_presets_load_and_every_number_has_a_source():
    names = list_presets()
    assert {"simba-like", "vs8", "vs16", "vs32"} <= set(names) and DEFAULT_PRESET in names
    for name in names:
        hw = load_preset(name)
        prov = provenance(name)
        assert set(prov) == set(HardwareParams.param_names())
        for field, text in prov.items():
            kind, _, source = text.partition(": ")
            assert kind in KINDS and len(source) > 10, (name, field, text)
        info = preset_info(name)
        for field, e in info["params"].items():
            assert e["value"] == getattr(hw, field)
            if e["kind"] in ("published", "derived"):   # cites at least one defined source
                assert any(key in e["source"] for key in info["sources"]), (name, field)


def test_vector_size_presets_equal_peak_and_otherwise_equal():
    hws = {n: load_preset(n) for n in ("vs8", "vs16", "vs32")}
    assert {h.peak_macs_per_cycle for h in hws.values()} == {1024}
    assert [h.vector_size for h in hws.values()] == [8, 16, 32]
    # besides lanes x vector size, only the PE buffers' access width (one vector per access)
    differ = ("name", "lanes", "vector_size", "weight_buffer_word_bits", "input_buffer_word_bits")
    strip = lambda h: {k: v for k, v in h.to_dict().items() if k not in differ}
    assert strip(hws["vs8"]) == strip(hws["vs16"]) == strip(hws["vs32"])
    for h in hws.values():
        assert h.weight_buffer_word_bits == h.input_buffer_word_bits == 8 * h.vector_size * h.data_bytes


def test_preset_errors_and_paths(tmp_path):
    with pytest.raises(ParamError, match=r"unknown preset 'nope'; available presets: .*simba-like.*vs8"):
        load_preset("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("params: {lanes: [1, 2\n")
    with pytest.raises(ParamError, match=r"not valid YAML.*available presets"):
        load_preset(bad)
    copy = tmp_path / "mine.yaml"
    shutil.copy(PRESET_DIR / "simba-like.yaml", copy)
    assert load_preset(str(copy)) == load_preset("simba-like")
    derived = tmp_path / "faster.yaml"
    derived.write_text(f"base: {PRESET_DIR / 'simba-like.yaml'}\nparams:\n"
                       "  clock_hz: {value: 2.0e+9, kind: choice, source: 'my sweep point'}\n")
    assert load_preset(derived).clock_hz == 2e9
    nosrc = tmp_path / "nosrc.yaml"
    nosrc.write_text(f"base: simba-like\nparams:\n  clock_hz: {{value: 2.0e+9}}\n")
    with pytest.raises(ParamError, match=r"needs a 'kind'"):
        load_preset(nosrc)
    out_of_range = tmp_path / "oor.yaml"
    out_of_range.write_text("base: simba-like\nparams:\n  num_pes: {value: 0, kind: choice, source: test}\n")
    with pytest.raises(ParamError, match=r"num_pes = 0 is out of range"):
        load_preset(out_of_range)
