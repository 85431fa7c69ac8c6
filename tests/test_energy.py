"""Energy and area models: hand-computed breakdown, provenance, technology scaling."""

import math

import numpy as np
import pytest

from accelerator.area import area_mm2, area_scale_factor, area_table, energy_scale_factor
from accelerator.counters import COUNTER_INDEX, NUM_COUNTERS
from accelerator.energy import COMPONENTS, DERIVED, STATIC_COMPONENTS, EnergyModel, _USES
from accelerator.params import ParamError
from accelerator.presets import list_presets, load_preset
from vocab.units import J_PER_PJ



def _counts(rows):
    c = np.zeros((len(rows), NUM_COUNTERS))
    for i, r in enumerate(rows):
        for k, v in r.items():
            c[i, COUNTER_INDEX[k]] = v
    return c


def test_components_and_counters_are_one_definition():
    assert EnergyModel(load_preset("simba-like")).components == COMPONENTS == (
        "mac", "mac_padded", "weight_buffer", "input_buffer", "accum_buffer", "global_buffer", "noc", "dram", "ppu",
        "preemption", "leakage", "dram_interface", "dram_background")
    used = {c for uses in _USES.values() for c, _ in uses}
    assert used <= set(COUNTER_INDEX) | set(DERIVED) and {"macs_useful", "macs_padded"} <= used
    assert all(a in COUNTER_INDEX and b in COUNTER_INDEX for a, b in DERIVED.values())


# The checkpoint overhead's pricing, written by hand (pinned: a new level on the checkpoint path adds
# its rows here). tests/test_preemption.py prices simulated preemptions with it.
PREEMPTION_PRICES = (
    ("preempt_spill_bytes", "dram.write"), ("preempt_restore_bytes", "dram.read"),
    ("preempt_noc_bytes", "noc.transfer"), ("preempt_glb_read_bytes", "global_buffer.read"),
    ("preempt_glb_write_bytes", "global_buffer.write"), ("preempt_accbuf_read_bytes", "accum_buffer.read"),
    ("preempt_accbuf_write_bytes", "accum_buffer.write"), ("preempt_wbuf_write_bytes", "weight_buffer.write"),
    ("preempt_ibuf_write_bytes", "input_buffer.write"))


def test_preemption_is_priced_as_written_by_hand():
    assert sorted(_USES["preemption"]) == sorted(PREEMPTION_PRICES)


def test_breakdown_matches_hand_computation_simba_like_45nm():
    em = EnergyModel(load_preset("simba-like"))
    counts = _counts([
        {"macs_issued": 1000, "macs_useful": 900, "wbuf_read_bytes": 100, "wbuf_write_bytes": 10,
         "ibuf_read_bytes": 200, "ibuf_write_bytes": 20, "accbuf_read_bytes": 30, "accbuf_write_bytes": 30,
         "glb_read_bytes": 64, "glb_write_bytes": 32, "noc_bytes": 50, "dram_read_bytes": 8,
         "dram_write_bytes": 16, "ppu_ops": 10},
        {"ppu_ops": 4},
    ])
    dur = np.array([1e-6, 2e-6])
    b = em.breakdown(counts, dur)
    assert set(b) == set(COMPONENTS) and all(v.shape == (2,) for v in b.values())
    # hand computation from the 45 nm data (pJ): SRAM per access = a x bytes^alpha x bits^beta (CACTI fit)
    rd = lambda cap, bits: 0.00357 * cap ** 0.570 * bits ** 0.595  # noqa: E731
    wr = lambda cap, bits: 0.00508 * cap ** 0.415 * bits ** 0.879  # noqa: E731
    noc_area_mm2 = (16 * (131072 + 65536) * 199069.98324 / 65536 + 65536 * 199069.98324 / 65536
                    + 16 * 1536 * 25268.00388 / 384 + 256 * 417.0) * 1e-6
    noc_pj_per_b = 40.4e-3 * 8 * math.sqrt(noc_area_mm2) / 2
    hand = {
        "mac": 900 * 0.315,                                    # useful MACs
        "mac_padded": 0.0,                                     # 100 padded MACs, gated
        # 32 KiB bank per lane, 64-bit words; a read delivers one 4-byte vector
        "weight_buffer": 100 * rd(32768, 64) / 4 + 10 * wr(32768, 64) / 8,
        "input_buffer": 200 * rd(65536, 64) / 4 + 20 * wr(65536, 64) / 8,
        "accum_buffer": 30 * 3.073534 / 3 + 30 * 2.857534 / 3,
        "global_buffer": 64 * rd(65536, 256) / 32 + 32 * wr(65536, 256) / 32,
        "noc": 50 * noc_pj_per_b,
        "dram": 24 * 512 / 8,
        "ppu": 10 * 1.5,
    }
    for comp, pj in hand.items():
        assert b[comp][0] == pytest.approx(pj * 1e-12, rel=1e-9), comp
    assert b["ppu"][1] == pytest.approx(4 * 1.5e-12)
    # leakage (Accelergy pJ per 1 ns cycle = mW): MACs + SRAM (PE buffers + GLB) per byte + accum RF per byte
    leak_w = (256 * 0.0036 + (16 * (131072 + 65536) + 65536) * 0.001668 / 65536
              + 16 * 1536 * 0.002415 / 384) * 1e-3
    assert b["leakage"] == pytest.approx(dur * leak_w, rel=1e-9)
    # the memory interface, 25.6 GB/s of LPDDR4-3200 = 4 x16 channels (dram_interface.yaml):
    # PHY (CACTI-IO LPDDR2 idle): 10 mW + 5 mA x 1.2 V + 1000 nA x 32 pins x 1.2 V + 1.2 V x 1 V / 480 ohm
    phy_w = 4 * (10 + 5 * 1.2 + 1000e-6 * 32 * 1.2 + 1.2 * 1.0 / 480 * 1e3) * 1e-3
    # controller (McPAT 0.15 mm^2 per 72 bit at 65 nm, x 16/72, area factor 65->45 nm = 1/1.5) x MAC leakage density
    ctl_w = 4 * 0.15 * 16 / 72 / 1.5 * (0.0036e-3 / 417e-6)
    dev_w = 4 * (1.8 * 2.5 + 1.1 * 30.0 + 1.1 * 0.75) * 1e-3  # DRAMPower LPDDR4 IDD5AB x supplies
    assert b["dram_interface"] == pytest.approx(dur * (phy_w + ctl_w), rel=1e-9)
    assert b["dram_background"] == pytest.approx(dur * dev_w, rel=1e-9)
    total = em.total(counts, dur)
    assert total[0] == pytest.approx(sum(hand.values()) * 1e-12 + 1e-6 * (leak_w + phy_w + ctl_w + dev_w), rel=1e-9)


def test_scaling_reduces_onchip_energy_not_dram():
    hw45 = load_preset("vs16")
    e45, e16 = EnergyModel(hw45), EnergyModel(hw45.replace(technology_nm=16))
    f = energy_scale_factor(45, 16)
    v = 0.8
    assert f == pytest.approx((0.2958 * v * v - 0.1241 * v + 0.03024) / (1.103 * v * v - 0.362 * v + 0.2767))
    assert 0.1 < f < 0.3 and e16.scale == pytest.approx(f)
    for action, pj in e45.pj.items():
        if action.startswith("dram."):
            assert e16.pj[action] == pj == 64.0
        elif action == "noc.transfer":
            assert e16.pj[action] == pytest.approx(pj * f * math.sqrt(area_scale_factor(45, 16)))
        else:
            assert e16.pj[action] == pytest.approx(pj * f)
    assert e16.static_w["leakage"] == pytest.approx(e45.static_w["leakage"] * f)
    for c in ("dram_interface", "dram_background"):  # PHY (I/O) and DRAM devices: not scaled; the controller is
        assert e16.static_w[c] == pytest.approx(e45.static_w[c], rel=1e-2) and e45.static_w[c] > 0
    counts = _counts([{"macs_issued": 1e6, "macs_useful": 1e6, "dram_read_bytes": 1e5, "glb_read_bytes": 1e4}])
    b45, b16 = e45.breakdown(counts, [1e-3]), e16.breakdown(counts, [1e-3])
    assert b16["dram"][0] == b45["dram"][0] > 0
    for comp in ("mac", "global_buffer", "leakage"):
        assert 0 < b16[comp][0] < b45[comp][0]
    assert energy_scale_factor(45, 7) < f < energy_scale_factor(45, 32) < 1.0


def test_unsupported_node_is_refused_not_extrapolated():
    with pytest.raises(ParamError, match=r"technology_nm \[nm\] = 5 is outside.*\[7, 130\]"):
        EnergyModel(load_preset("simba-like").replace(technology_nm=5))
    # between tabulated nodes: linear in nm
    assert energy_scale_factor(45, 28) == pytest.approx(
        energy_scale_factor(45, 20) + (28 - 20) / 12 * (energy_scale_factor(45, 32) - energy_scale_factor(45, 20)))


def test_every_table_row_has_a_source_and_kind():
    for name in list_presets():
        em = EnergyModel(load_preset(name))
        rows = em.table()
        # preemption has no action of its own: its spills and restores use the levels' actions
        assert {r["action"].split(".")[0] for r in rows} == set(COMPONENTS) - {"preemption"}
        for r in rows:
            assert r["kind"] in ("published", "derived", "choice", "assumption", "unknown") and len(r["source"]) > 20, r
            assert r["value"] >= 0
        assert any("unknown" in w for w in em.warnings)       # unknown leakage is flagged, not hidden
        assert "action" in em.format_table()


def test_breakdown_shape_errors():
    em = EnergyModel(load_preset("simba-like"))
    with pytest.raises(ValueError, match="shape"):
        em.breakdown(np.zeros((2, NUM_COUNTERS - 1)), np.zeros(2))


def test_area_model():
    hw = load_preset("simba-like").replace(memory_interface_cost=False)  # the core figures
    a = area_mm2(hw)
    assert math.isnan(a["noc"]) and math.isnan(a["ppu"]) and math.isnan(a["dma"])  # unknown, not invented
    known = [v for k, v in a.items() if k != "total" and not math.isnan(v)]
    assert a["total"] == pytest.approx(sum(known))
    assert a["mac"] == pytest.approx(256 * 417.0e-6)
    assert a["global_buffer"] == pytest.approx(0.19906998324)
    a16 = area_mm2(hw.replace(technology_nm=16))
    assert a16["total"] == pytest.approx(a["total"] * 0.19)
    assert all(len(r["source"]) > 10 for r in area_table())


def test_counter_weights_sum_to_the_breakdown():
    em = EnergyModel(load_preset("vs16").replace(zero_gating=False))
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10**6, size=(3, NUM_COUNTERS)).astype(float)
    counts[:, COUNTER_INDEX["macs_issued"]] = counts[:, COUNTER_INDEX["macs_useful"]] + 1000
    dur = np.array([1e-6, 2e-6, 3e-6])
    w = em.counter_weights_pj()
    by_weights = sum(counts[:, COUNTER_INDEX[k]] * v for k, v in w.items()) * 1e-12 + dur * em.leakage_w
    assert np.allclose(by_weights, em.total(counts, dur), rtol=1e-12)


def _breakdown_by_loop(em: EnergyModel, counts: np.ndarray, duration_s: np.ndarray) -> dict[str, np.ndarray]:
    """The breakdown as a loop per component and action: 0 + count x J (+ count x J), in `_USES` order."""
    c = np.asarray(counts, dtype=np.float64)
    out = {}
    for comp, uses in _USES.items():
        e = np.zeros(c.shape[0])
        for counter, action in uses:
            col = (c[:, COUNTER_INDEX[DERIVED[counter][0]]] - c[:, COUNTER_INDEX[DERIVED[counter][1]]]
                   if counter in DERIVED else c[:, COUNTER_INDEX[counter]])
            e = e + col * (em.pj[action] * J_PER_PJ)
        out[comp] = e
    for c in STATIC_COMPONENTS:
        out[c] = np.asarray(duration_s, dtype=np.float64) * em.static_w[c]
    return out


@pytest.mark.parametrize("preset", ["simba-like", "rt-64pe"])
@pytest.mark.parametrize("zero_gating", [True, False])
def test_vectorised_breakdown_equals_the_loop_bit_for_bit(preset, zero_gating):
    """Traces must not change when the breakdown is computed in array operations: same
    operations in the same order per element, so every joule is the same float."""
    em = EnergyModel(load_preset(preset).replace(zero_gating=zero_gating))
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 10**12, size=(57, NUM_COUNTERS), dtype=np.int64)
    counts[:, COUNTER_INDEX["macs_issued"]] = counts[:, COUNTER_INDEX["macs_useful"]] + rng.integers(0, 10**6, 57)
    dur = rng.random(57) * 1e-3
    got, want = em.breakdown(counts, dur), _breakdown_by_loop(em, counts, dur)
    assert list(got) == list(want) == list(COMPONENTS)
    for k in want:
        assert got[k].dtype == np.float64 and got[k].tobytes() == want[k].tobytes(), k
    one = em.breakdown(counts[0], dur[:1])  # one layer as a 1-D row
    assert all(one[k].tobytes() == want[k][:1].tobytes() for k in want)
