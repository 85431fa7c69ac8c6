"""Hardware overrides (`--set FIELD=VALUE`, `HardwareParams.replace`): validated like preset
fields, recorded with kind "override" in traces and results."""

import json
import os
import pickle
import subprocess
import sys

import pytest

import traces
from accelerator.presets import apply_overrides, load_preset, parse_overrides
from cosim import System, simulate
from host import FrameSource, Stream
from vocab.params import ParamError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_replace_records_overrides_and_validates():
    base = load_preset("vs16")
    hw = base.replace(num_pes=32, global_buffer_bytes=131072)
    assert (hw.num_pes, hw.global_buffer_bytes, hw.name) == (32, 131072, "vs16")
    assert hw.overrides == {
        "num_pes": {"value": 32, "kind": "override", "was": 16, "base": "vs16"},
        "global_buffer_bytes": {"value": 131072, "kind": "override", "was": 65536, "base": "vs16"}}
    again = hw.replace(num_pes=64)               # chained: keeps the preset's value as "was"
    assert again.overrides["num_pes"] == {"value": 64, "kind": "override", "was": 16, "base": "vs16"}
    assert "num_pes" not in hw.replace(num_pes=16).overrides  # back to the preset value: no override
    assert base.overrides == {} and "overrides" not in base.record()
    assert hw.record()["overrides"]["num_pes"]["kind"] == "override"
    assert pickle.loads(pickle.dumps(hw)).overrides == hw.overrides   # travels to sweep workers
    with pytest.raises(ParamError, match=r"HardwareParams\.num_pes = 0 is out of range \(allowed: \[1, 4096\]\)"):
        base.replace(num_pes=0)
    with pytest.raises(ParamError, match=r"weight_buffer_bytes \[B\] = 16 is too small"):
        base.replace(weight_buffer_bytes=16)


@pytest.mark.parametrize("items, pattern", [
    (["num_pe=3"], r"--set num_pe: unknown hardware parameter; valid names: name, technology_nm"),
    (["num_pes"], r"--set 'num_pes' must be FIELD=VALUE"),
    (["num_pes=3.5"], r"HardwareParams\.num_pes = '3\.5' is not an integer \(allowed: \[1, 4096\]\)"),
    (["clock_hz=fast"], r"HardwareParams\.clock_hz \[Hz\] = 'fast' is not a number \(allowed: \(0, inf\) Hz\)"),
    (["zero_gating=maybe"], r"HardwareParams\.zero_gating = 'maybe' is not a boolean \(allowed: true, false\)"),
    (["mapping_objective=fast"], r"mapping_objective = 'fast' is not allowed \(allowed: one of 'edp', 'energy', 'latency'\)"),
    (["dram_bandwidth_bytes_per_s=-1"], r"dram_bandwidth_bytes_per_s \[B/s\] = -1\.0 is out of range"),
])
def test_set_errors_name_field_and_allowed_values(items, pattern):
    with pytest.raises(ParamError, match=pattern):
        apply_overrides(load_preset("vs16"), items)


def test_set_parses_text_to_the_field_type():
    assert parse_overrides(["num_pes=1e2", "clock_hz=5e8", "zero_gating=off", "mapping_objective=energy"]) == {
        "num_pes": 100, "clock_hz": 5e8, "zero_gating": False, "mapping_objective": "energy"}
    assert apply_overrides(load_preset("vs16"), []) == load_preset("vs16")


def test_override_is_recorded_in_the_trace(tmp_path):
    hw = load_preset("rt-64pe").replace(num_pes=32)
    system = System(name="t", hardware=hw, duration_s=0.2, seed=1,
                    streams=[Stream(name="s", candidates=["segformer-b0@64x64"], source=FrameSource(fps=20.0),
                                    governor="static")])
    res = simulate(system, tmp_path / "o.h5", created="2026-01-01T00:00:00Z")
    with traces.open(res.trace_path) as tr:
        meta = tr.meta["hardware"]
    assert meta["num_pes"] == 32
    assert meta["overrides"] == {"num_pes": {"value": 32, "kind": "override", "was": 64, "base": "rt-64pe"}}


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "cosim.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_cli_set_on_hw_show_and_simulate():
    p = _cli("hw", "show", "vs16", "--set", "num_pes=32", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["params"]["num_pes"] == 32 and d["overrides"]["num_pes"]["was"] == 16
    assert d["provenance"]["num_pes"].startswith("override: --set num_pes=32")
    p = _cli("simulate", "segformer-b0", "-r", "64x64", "--hw", "vs16", "--set", "num_pes=32", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["hardware_overrides"]["num_pes"]["kind"] == "override"
    p = _cli("simulate", "segformer-b0", "-r", "64x64", "--set", "num_pes=0")
    assert p.returncode == 2 and "HardwareParams.num_pes = 0 is out of range" in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_run_set_is_validated_before_simulating(tmp_path):
    p = _cli("run", "default", "--set", "lanes=0", "-o", str(tmp_path / "x.h5"), "--quiet")
    assert p.returncode == 2 and "HardwareParams.lanes = 0 is out of range (allowed: [1, inf))" in p.stderr
    assert not (tmp_path / "x.h5").exists()
