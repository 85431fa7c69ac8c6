"""The C++ mirrors generated from Python declarations (accelerator/codegen.py): every declared
name appears, in order; a changed declaration changes the headers and the build key; the
loaded model takes the generated struct, enums and range checks."""

import re

import pytest

from accelerator import codegen, hw_config, loader
from accelerator.counters import COUNTER_NAMES, COUNTERS, NUM_COUNTERS
from accelerator.hw_config import HW_CONFIG_FIELDS, CxxField, fill_hw_config
from accelerator.program import DIMS, KINDS, PROGRAM_FIELD_DECLS, PROGRAM_FIELDS
from accelerator.params import HardwareParams
from accelerator.presets import load_preset


def _enumerators(text: str, enum: str) -> list[str]:
    body = re.search(r"enum %s : int \{(.*?)\};" % enum, text, re.S).group(1)
    return [e.split("=")[0].strip() for e in body.split(",") if e.strip()]


def _names(text: str, fn: str) -> list[str]:
    body = re.search(r"%s\(int i\) \{.*?\{(.*?)\};" % fn, text, re.S).group(1)
    return re.findall(r'"([^"]*)"', body)


def test_every_counter_appears_in_order():
    text = codegen.headers()["counters.gen.h"]
    assert _enumerators(text, "Counter") == [codegen.counter_enumerator(n) for n, _, _ in COUNTERS] + ["NUM_COUNTERS"]
    assert _names(text, "counter_name") == [n for n, _, _ in COUNTERS]
    assert codegen.counter_enumerator("dram_read_bytes") == "CTR_DRAM_READ"
    assert codegen.counter_enumerator("stall_dram_ps") == "CTR_STALL_DRAM_PS"


def test_every_program_field_kind_and_dim_appears_in_order():
    text = codegen.headers()["program_fields.gen.h"]
    assert _enumerators(text, "Field") == [c for _, c in PROGRAM_FIELD_DECLS] + ["NUM_FIELDS"]
    assert _names(text, "field_name") == list(PROGRAM_FIELDS)
    assert _enumerators(text, "Kind") == [f"KIND_{k.upper()}" for k in KINDS]
    assert _enumerators(text, "Dim") == [f"DIM_{d.upper()}" for d in DIMS] + ["NUM_DIMS"]


def test_every_hw_config_field_appears_in_order_with_its_default_and_check():
    text = codegen.headers()["hw_config.gen.h"]
    struct = re.search(r"struct HwConfig \{(.*?)\};", text, re.S).group(1)
    fields = re.findall(r"^\s+(int64_t|double) (\w+) = ([^;]+);", struct, re.M)
    default = HardwareParams()
    assert [(t, n) for t, n, _ in fields] == [(f.ctype, f.name) for f in HW_CONFIG_FIELDS]
    for (_, _, value), f in zip(fields, HW_CONFIG_FIELDS):
        assert hw_config.CXX_TYPES[f.ctype](float(value)) == f.value(default), f.name
    check = text[text.index("inline void check_hw"):]
    for f in HW_CONFIG_FIELDS:
        assert f"HwConfig.{f.name} must be" in check, f.name


def test_struct_runtime_is_generated_from_runtime_resources():
    """The C++ Runtime holds RuntimeResources' fields, in order, with their defaults (no hand copy)."""
    from accelerator.params import RuntimeResources

    text = codegen.headers()["runtime.gen.h"]
    struct = re.search(r"struct Runtime \{(.*?)\};", text, re.S).group(1)
    fields = re.findall(r"^\s+(int64_t|double) (\w+) = ([^;]+);", struct, re.M)
    assert [n for _, n, _ in fields] == list(RuntimeResources.param_names())
    default = RuntimeResources()
    for t, n, v in fields:
        assert (float if t == "double" else int)(v) == getattr(default, n), n
        assert t == ("double" if isinstance(getattr(default, n), float) else "int64_t"), n
    assert "struct Runtime" not in (loader.SRC_DIR / "config.h").read_text()  # the hand copy is gone


@pytest.mark.parametrize("what", ["counters", "fields", "hw_config"])
def test_a_changed_declaration_changes_the_headers_and_the_build_key(monkeypatch, what):
    install = loader.find_systemc()
    before_texts = codegen.headers()
    before_key = loader.model_build_key(install, "g++", before_texts)
    if what == "counters":
        monkeypatch.setattr(codegen, "COUNTERS", COUNTERS + (("extra_bytes", "B", "a new counter"),))
    elif what == "fields":
        monkeypatch.setattr(codegen, "PROGRAM_FIELD_DECLS", PROGRAM_FIELD_DECLS[::-1])
    else:
        f = HW_CONFIG_FIELDS[0]
        monkeypatch.setattr(codegen, "HW_CONFIG_FIELDS",
                            (CxxField(f.name, f.ctype, f.unit, f.doc, f.derive, min=2),) + HW_CONFIG_FIELDS[1:])
    after_texts = codegen.headers()
    assert after_texts != before_texts
    assert codegen.digest(after_texts) != codegen.digest(before_texts)
    assert loader.model_build_key(install, "g++", after_texts) != before_key


def test_headers_are_written_once_per_content_and_repaired(tmp_path):
    d1 = codegen.write_headers(tmp_path)
    assert d1.name == f"gen-{codegen.digest()[:16]}"
    assert {p.name: p.read_text() for p in d1.iterdir()} == codegen.headers()
    mtimes = {p.name: p.stat().st_mtime_ns for p in d1.iterdir()}
    assert codegen.write_headers(tmp_path) == d1
    assert {p.name: p.stat().st_mtime_ns for p in d1.iterdir()} == mtimes  # not rewritten
    (d1 / "counters.gen.h").write_text("damaged")
    assert codegen.write_headers(tmp_path) == d1
    assert (d1 / "counters.gen.h").read_text() == codegen.headers()["counters.gen.h"]
    assert [p.name for p in tmp_path.iterdir()] == [d1.name]  # no temporary folder left


def test_the_loaded_model_uses_the_generated_headers():
    ns = loader.load()
    assert int(ns.NUM_COUNTERS) == NUM_COUNTERS
    assert tuple(str(ns.counter_name(i)) for i in range(NUM_COUNTERS)) == COUNTER_NAMES
    assert int(ns.NUM_FIELDS) == len(PROGRAM_FIELDS)
    assert tuple(str(ns.field_name(i)) for i in range(len(PROGRAM_FIELDS))) == PROGRAM_FIELDS
    hw = load_preset("vs16")
    cfg = fill_hw_config(ns.HwConfig(), hw)
    for f in HW_CONFIG_FIELDS:
        assert getattr(cfg, f.name) == f.value(hw), f.name
    assert cfg.dram_latency_ps == round(hw.dram_latency_s * 1e12)
    rt = ns.Runtime()  # the generated struct, with RuntimeResources' defaults
    assert (rt.clock_hz, rt.active_pes, rt.dram_share) == (1e9, 16, 1.0)


@pytest.mark.parametrize("field, value", [("dram_latency_ps", -1), ("accum_drain_cycles", 2),
                                          ("clock_hz", float("nan")), ("num_pes", 0)])
def test_the_generated_range_check_refuses_out_of_range_fields(field, value):
    from accelerator.model import Accelerator, _hw_config

    acc = Accelerator.for_process(load_preset("simba-like"))
    cfg = _hw_config(acc._ns, acc.hw)
    setattr(cfg, field, value)
    with pytest.raises(Exception, match=f"HwConfig.{field} must be"):
        acc._core.reconfigure(cfg)
    acc._core.reconfigure(_hw_config(acc._ns, acc.hw))  # still usable
