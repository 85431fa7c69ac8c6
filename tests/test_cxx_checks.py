"""The C++ API checks sizes and ranges and throws: a bad program, a hardware field of 0, a
resource out of range or a too-small buffer is a Python exception, never a native crash."""

import numpy as np
import pytest

from accelerator.mapping import map_layers
from accelerator.program import FIELD, NUM_FIELDS, encode_program
from accelerator.model import Accelerator, _hw_config
from accelerator.presets import load_preset
from workloads.ir import Layer

HW = load_preset("simba-like")
LAYERS = [Layer("fc", "linear", C=64, K=64, H=32, W=1, P=32, Q=1), Layer("g", "gelu", elements=2048, in_elements=2048)]


@pytest.fixture(scope="module")
def acc():
    a = Accelerator.for_process(HW)
    a.set_resources(clock_hz=HW.clock_hz, active_pes=HW.num_pes, dram_share=1.0)
    return a


def _prog():
    return np.ascontiguousarray(encode_program(LAYERS, map_layers(LAYERS, HW), HW)).ravel()


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.__setitem__(FIELD["kind"], 7), "kind must be 0"),
    (lambda p: p.__setitem__(FIELD["order0"], 4), "permutation"),
    (lambda p: p.__setitem__(FIELD["order4"], 9), "permutation"),
    (lambda p: p.__setitem__(FIELD["K_t"], 0), "K_t must be >= 1"),
    (lambda p: p.__setitem__(FIELD["pes_k"], 0), "pes_k must be >= 1"),
    (lambda p: p.__setitem__(NUM_FIELDS + FIELD["E_t"], 0), "layer 1: E_t must be >= 1"),
    (lambda p: p.__setitem__(FIELD["data_bytes"], 0), "data_bytes"),
])
def test_bad_programs_are_refused(acc, edit, message):
    p = _prog().copy()
    edit(p)
    with pytest.raises(Exception, match=message):
        acc._core.load_program(999, len(LAYERS), p, p.size)
    assert not acc._core.has_program(999)


def test_sizes_are_checked(acc):
    p = _prog()
    with pytest.raises(Exception, match="values for 3 layers"):
        acc._core.load_program(998, 3, p, p.size)
    r = acc.run(LAYERS)  # the model still works after refused calls
    assert r.latency_s > 0
    h = acc.load(LAYERS)
    jid = acc._core.submit(h.id)
    acc._core.advance(10**12)
    small = np.zeros(3, dtype=np.int64)
    with pytest.raises(Exception, match="copy_counters: dst must hold"):
        acc._core.copy_counters(jid, small, small.size)
    with pytest.raises(Exception, match="copy_activations"):
        acc._core.copy_activations(jid, small, small.size)
    acc._core.clear_completions()
    acc._core.release(jid)


def test_resources_and_time_are_checked(acc):
    core = acc._core
    for call, message in ((lambda: core.set_clock_hz(0.0), "clock"), (lambda: core.set_clock_hz(float("inf")), "clock"),
                          (lambda: core.set_active_pes(0), "at least one PE"),
                          (lambda: core.set_dram_share(1.5), "share"), (lambda: core.set_dram_share(0.0), "share"),
                          (lambda: core.advance(-5), "advance")):
        with pytest.raises(Exception, match=message):
            call()
    assert core.clock_hz() == HW.clock_hz and core.active_pes() == HW.num_pes


@pytest.mark.parametrize("field, value, message", [
    ("lanes", 0, "lanes must be >= 1"), ("vector_size", 0, "vector_size"), ("num_pes", 0, "num_pes"),
    ("noc_bytes_per_cycle", 0, "noc_bytes_per_cycle"), ("ppu_elements_per_cycle", 0, "ppu_elements"),
    ("clock_hz", float("inf"), "clock_hz"), ("dram_bandwidth_bytes_per_s", 0.0, "dram_bandwidth"),
])
def test_hardware_fields_that_would_divide_by_zero_are_refused(acc, field, value, message):
    cfg = _hw_config(acc._ns, HW)
    setattr(cfg, field, value)
    with pytest.raises(Exception, match=message):
        acc._core.reconfigure(cfg)
    acc._core.reconfigure(_hw_config(acc._ns, HW))  # still usable
    acc.hw = HW


def test_a_tile_beyond_the_picosecond_range_is_an_error_not_a_wrap():
    # in a process of its own: the inference it breaks stays in that process's model
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        from accelerator.model import Accelerator
        from accelerator.presets import load_preset
        from workloads.ir import Layer
        acc = Accelerator.for_process(load_preset("simba-like"))
        h = acc.load([Layer("huge", "linear", C=4096, K=4096, H=2**20, W=1, P=2**20, Q=1)])
        acc.set_resources(clock_hz=1e-3)  # a millihertz clock: one tile outlasts the int64 ps range
        try:  # the Python side refuses first (derived-range check at submit) ...
            acc.submit(h, tag="huge")
        except Exception as e:
            print("python refused:", e)
        Accelerator._check_time = lambda *a, **k: None  # ... and the C++ check is the last defence
        acc.submit(h, tag="huge")
        try:
            acc.run_until(10**15)
        except Exception as e:
            print("refused:", e)
    """)
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=root,
                       env={**os.environ, "PYTHONPATH": root})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "python refused:" in r.stdout and "simulated-time limit" in r.stdout
    assert "\nrefused:" in r.stdout and "int64 picosecond" in r.stdout
