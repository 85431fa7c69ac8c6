"""Area and static power of every timed component (issue 24): sources, scaling with the
parameters, the memory-interface switch, and where they are reported (hw show, traces)."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

import accelerator.area as area_mod
from accelerator.area import (AREA_COMPONENTS, MEMORY_INTERFACE_COMPONENTS, area_mm2, cost_breakdown, cost_record,
                              dram_channels, load_data, totals)
from accelerator.counters import COUNTER_INDEX, NUM_COUNTERS
from accelerator.hierarchy import LEVELS
from accelerator.energy import STATIC_COMPONENTS, EnergyModel
from accelerator.presets import list_presets, load_preset, preset_info

SIMBA = load_preset("simba-like")


def test_every_component_has_a_figure_or_a_sourced_unknown():
    for name in list_presets():
        b = cost_breakdown(load_preset(name))
        assert tuple(b) == AREA_COMPONENTS
        for c, v in b.items():
            assert len(v.source) > 40, c
            if math.isnan(v.area_mm2) or math.isnan(v.static_w):
                assert v.kind == "unknown" and "unknown" in v.source, c   # said so, never a silent gap
            else:
                assert v.kind in ("published", "derived") and v.area_mm2 >= 0 and v.static_w > 0, c
        assert {c for c, v in b.items() if v.memory_interface} == set(MEMORY_INTERFACE_COMPONENTS)


def test_memory_interface_figures_trace_to_their_sources():
    """Each number of dram_interface.yaml appears in the text of the source it cites, and each
    cited key is defined; the preset fields carry a kind and a source."""
    doc = load_data("dram_interface.yaml")
    sources = {k: " ".join(v.split()) for k, v in doc["sources"].items()}
    t = doc["types"]["lpddr4"]
    cited = {
        "mcpat-memoryctrl": ["1.3mm (WITH IOs) at 40nm", "non_IO_percentage = 0.2", "0.15 mm^2 x dataBusWidth/72"],
        "cacti-io": ["phase rotator 5 mW, receiver 3 mW, PLL 2 mW", "vdd_io 1.2 V, i_bias 5 mA, i_leak 1000 nA",
                     "v_sw_clk 1 V, r_diff_term 480 ohm"],
        "drampower-lpddr4": ["idd5ab 2.5 mA, idd5ab2 30.0 mA, idd5abq 0.75 mA", "vdd 1.8 V, vdd2 1.1 V, vddq 1.1 V",
                             "width 16, clkMhz 1600"],
        "jedec-lpddr4-pinout": ["= 32 signal pins"],
    }
    for key, phrases in cited.items():
        for ph in phrases:
            assert ph in sources[key], (key, ph)
    assert (t["phy_area"]["mm2_per_channel"], t["phy_area"]["node_nm"], t["phy_area"]["logic_fraction"]) == (1.3, 40, 0.2)
    assert (t["controller_area"]["mm2_per_72bit"], t["controller_area"]["node_nm"]) == (0.15, 65)
    ps = t["phy_static"]
    assert (ps["phy_mw"], ps["vdd_io_v"], ps["i_bias_ma"], ps["i_leak_na_per_pin"], ps["v_sw_clk_v"],
            ps["r_diff_term_ohm"]) == (5 + 3 + 2, 1.2, 5.0, 1000.0, 1.0, 480.0)
    assert t["device_background"] == {**t["device_background"], "vdd_v": [1.8, 1.1, 1.1],
                                      "idd5ab_ma": [2.5, 30.0, 0.75]}
    assert t["pins_per_channel"] == 16 + 2 + 4 + 6 + 1 + 1 + 2
    for part in ("phy_area", "controller_area", "controller_static", "phy_static", "device_background"):
        key = t[part]["source"].split(":")[0].strip()                 # each figure opens with its citation key
        assert key in doc["sources"], (part, key)
    info = preset_info("simba-like")["params"]
    for f in ("dram_type", "memory_interface_cost"):
        assert info[f]["kind"] in ("published", "choice") and len(info[f]["source"]) > 20


def test_hand_computed_memory_interface_simba_like():
    b = cost_breakdown(SIMBA)
    assert dram_channels(SIMBA) == 4                                  # 25.6 GB/s / (2 B x 3200 MT/s)
    f40 = 1 / (0.46 + (40 - 32) / (45 - 32) * (1 - 0.46))             # Stillmaker area factor 40 -> 45 nm
    assert b["dram_phy"].area_mm2 == pytest.approx(4 * 1.3 * (0.8 + 0.2 * f40), rel=1e-12)
    assert b["dram_controller"].area_mm2 == pytest.approx(4 * 0.15 * 16 / 72 / 1.5, rel=1e-12)
    assert b["dram_devices"].area_mm2 == 0.0                          # off-chip
    assert b["dram_phy"].static_w == pytest.approx(4 * (10 + 6 + 0.0384 + 2.5) * 1e-3, rel=1e-12)
    assert b["dram_devices"].static_w == pytest.approx(4 * 38.325e-3, rel=1e-12)
    # the same W land in the energy breakdown's static terms
    em = EnergyModel(SIMBA)
    assert em.static_w["dram_interface"] == pytest.approx(b["dram_phy"].static_w + b["dram_controller"].static_w)
    assert em.static_w["dram_background"] == pytest.approx(b["dram_devices"].static_w)
    assert em.leakage_w == pytest.approx(sum(em.static_w.values()))


def test_area_grows_with_pes_bandwidth_and_channels():
    a = area_mm2(SIMBA)
    more_pes = area_mm2(SIMBA.replace(num_pes=64))
    assert more_pes["mac"] == pytest.approx(4 * a["mac"]) and more_pes["total"] > a["total"]
    bw = [25.6e9, 30e9, 51.2e9, 102.4e9]
    ch = [dram_channels(SIMBA.replace(dram_bandwidth_bytes_per_s=x)) for x in bw]
    assert ch == [4, 5, 8, 16]                                        # whole channels
    phys = [cost_breakdown(SIMBA.replace(dram_bandwidth_bytes_per_s=x))["dram_phy"] for x in bw]
    for (p0, c0), (p1, c1) in zip(zip(phys, ch), zip(phys[1:], ch[1:])):
        assert p1.area_mm2 == pytest.approx(p0.area_mm2 * c1 / c0) and p1.static_w > p0.static_w
    # and the core-only total does not move with bandwidth: the interface is what grows
    assert totals(SIMBA.replace(dram_bandwidth_bytes_per_s=51.2e9), memory_interface=False) == \
        totals(SIMBA, memory_interface=False)


def test_noc_area_scales_with_routers_and_link_width_once_a_figure_exists(monkeypatch):
    """The NoC's figure is unknown (NaN); its structure is num_pes routers x link bits, so a
    figure, once sourced, grows with both. Checked with a stand-in figure injected here."""
    assert math.isnan(area_mm2(SIMBA)["noc"])
    real = load_data
    patched = copy.deepcopy(real("area_45nm.yaml"))
    patched["noc"]["um2_per_router_per_link_bit"] = 10.0
    monkeypatch.setattr(area_mod, "load_data", lambda n: patched if n == "area_45nm.yaml" else real(n))
    n0 = area_mm2(SIMBA)["noc"]
    assert n0 == pytest.approx(16 * 10.0 * 256 * 1e-6)
    assert area_mm2(SIMBA.replace(num_pes=32))["noc"] == pytest.approx(2 * n0)
    assert area_mm2(SIMBA.replace(noc_bytes_per_cycle=64))["noc"] == pytest.approx(2 * n0)


def test_switched_off_the_old_figures_are_unchanged_bit_for_bit():
    for name in ("simba-like", "vs16", "rt-64pe"):
        hw = load_preset(name).replace(memory_interface_cost=False)
        d = load_data("area_45nm.yaml")
        k = 1e-6 * area_mod.area_scale_factor(45, hw.technology_nm)
        sram = d["sram"]["um2"] / d["sram"]["bytes"]
        acc = d["accum_buffer"]["um2"] / d["accum_buffer"]["bytes"]
        density = {"sram": sram, "accum": acc}  # the area model before issue 24: MACs + each level's bytes x density
        old_total = sum([hw.peak_macs_per_cycle * d["mac"]["um2_per_mac"] * k,
                         *(lv.instances(hw) * lv.bytes(hw) * density[lv.area_model] * k for lv in LEVELS
                           if lv.area_model in density)])
        assert area_mm2(hw)["total"] == old_total
        on, off = EnergyModel(load_preset(name)), EnergyModel(hw)
        assert off.static_w["dram_interface"] == off.static_w["dram_background"] == 0.0
        assert off.leakage_w == off.static_w["leakage"] == on.static_w["leakage"]
        assert off.pj == on.pj                                           # dynamic energies untouched
        rng = np.random.default_rng(2)
        counts = rng.integers(0, 10**9, size=(9, NUM_COUNTERS)).astype(float)
        counts[:, COUNTER_INDEX["macs_issued"]] = counts[:, COUNTER_INDEX["macs_useful"]]
        dur = rng.random(9) * 1e-3
        b_on, b_off = on.breakdown(counts, dur), off.breakdown(counts, dur)
        for c in b_on:
            if c in ("dram_interface", "dram_background"):
                assert not b_off[c].any() and (b_on[c] > 0).all()
            else:
                assert b_on[c].tobytes() == b_off[c].tobytes(), c
        assert set(STATIC_COMPONENTS) <= set(b_on)


def test_cost_record_and_hw_show_report_area_and_static_power():
    from typer.testing import CliRunner

    from cosim.cli import app

    rec = cost_record(SIMBA)
    json.dumps(rec, allow_nan=False)                                  # unknown is null, not NaN
    assert rec["area_mm2"]["noc"] is None and rec["dram_channels"] == 4
    assert rec["area_total_mm2"] > rec["area_total_without_memory_interface_mm2"] > 0
    out = CliRunner().invoke(app, ["hw", "show", "simba-like", "--json"]).output
    d = json.loads(out)
    assert d["silicon"]["static_w"]["dram_devices"] == pytest.approx(4 * 38.325e-3)
    assert "drampower-lpddr4" in d["silicon_sources"]["dram_devices"]
    text = CliRunner().invoke(app, ["hw", "show", "simba-like"], env={"COLUMNS": "250"}).output
    assert "area and static power" in text and "dram_phy" in text and "total without memory interface" in text


def test_trace_records_area_and_static_power(tmp_path):
    import traces
    from cosim import System, simulate
    from host import FrameSource, Stream

    system = System(name="t", hardware="vs16", duration_s=0.1, seed=1,
                    streams=[Stream(name="s", candidates=["segformer-b0@64x64"], source=FrameSource(fps=20.0),
                                    governor="static")])
    res = simulate(system, tmp_path / "o.h5", created="2026-01-01T00:00:00Z")
    with traces.open(res.trace_path) as tr:
        hw = tr.meta["hardware"]
        layers = tr.table("layers")
    assert hw["silicon"] == json.loads(json.dumps(cost_record(load_preset("vs16"))))
    for c in ("dram_interface", "dram_background"):
        col = layers[f"energy_{c}_j"]
        assert (col > 0).all()
        per_s = col / (layers["end_s"] - layers["start_s"])
        assert np.allclose(per_s[layers["end_s"] > layers["start_s"]], EnergyModel(load_preset("vs16")).static_w[c],
                           rtol=1e-6)
