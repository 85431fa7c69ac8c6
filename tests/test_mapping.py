"""Mapping: tilings fit the buffers, are cached and printable, errors name the parameter,
and the search is invariant to removing fewer channels than one vector."""

import pytest

from accelerator.mapping import (ORDERS, Mapping, MappingError, _map_mac, encode_program, map_layer,
                                 map_layers)
from accelerator.params import HardwareParams
from accelerator.presets import load_preset
from workloads.ir import Layer

HW = load_preset("simba-like")

LAYERS = [
    Layer("patch", "conv", C=3, K=64, H=512, W=512, P=128, Q=128, R=7, S=7, stride=4, padding=3),
    Layer("q", "linear", C=64, K=64, H=16384, W=1, P=16384, Q=1),
    Layer("sr", "conv", C=64, K=64, H=128, W=128, P=16, Q=16, R=8, S=8, stride=8),
    Layer("qk", "matmul", N=2, C=64, K=256, H=4096, W=1, P=4096, Q=1, weights_are_activations=True),
    Layer("av", "matmul", N=5, C=256, K=64, H=1024, W=1, P=1024, Q=1, weights_are_activations=True),
    Layer("dw", "conv", C=1, K=256, H=128, W=128, P=128, Q=128, R=3, S=3, padding=1, groups=256),
    Layer("grp", "conv", C=16, K=64, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1, groups=4),
    Layer("fuse", "conv", C=3072, K=768, H=128, W=128, P=128, Q=128),
    Layer("fc2", "linear", C=2048, K=512, H=256, W=1, P=256, Q=1),
    Layer("sm", "softmax", elements=2 * 4096 * 256, in_elements=2 * 4096 * 256),
    Layer("add", "add", elements=4096 * 128, in_elements=2 * 4096 * 128),
    Layer("up", "resize", elements=768 * 128 * 128, in_elements=768 * 32 * 32),
]


@pytest.mark.parametrize("layer", LAYERS, ids=[l.name for l in LAYERS])
def test_mapping_fits_the_buffers(layer):
    m = map_layer(layer, HW)
    assert m.glb_bytes <= HW.global_buffer_bytes
    if m.kind == "mac":
        assert m.wbuf_bytes_per_pe <= HW.weight_buffer_bytes
        assert m.ibuf_bytes_per_pe <= HW.input_buffer_bytes
        assert m.accum_entries_per_lane <= HW.accum_entries_per_lane
        assert m.pes_k * m.pes_p == HW.num_pes
        assert m.K_t % HW.lanes == 0 or m.K_t >= layer.K
        assert m.C_t % HW.vector_size == 0 or m.C_t >= layer.C
        assert m.order in ORDERS and m.order[-1] == "c"
        # DRAM traffic is at least compulsory (every operand once, outputs once)
        assert m.dram_write_bytes == layer.output_elements * HW.data_bytes
        assert m.dram_read_bytes >= layer.weight_elements * HW.data_bytes
        # cycles at least the vector/lane-rounded work on all PEs
        assert m.compute_cycles * HW.peak_macs_per_cycle >= layer.macs
    else:
        assert m.dram_read_bytes == layer.in_elements * HW.data_bytes
        assert m.dram_write_bytes == layer.elements * HW.data_bytes
    assert m.tiles >= 1


def test_mapping_is_printable_and_cached():
    m = map_layer(LAYERS[1], HW)
    s = str(m)
    assert "q [linear]" in s and "DRAM" in s and "tiles" in s
    d = m.to_dict()
    assert d["layer"] == "q" and d["dram_bytes"] == m.dram_bytes and isinstance(d["order"], str)
    before = _map_mac.cache_info().hits
    m2 = map_layer(Layer("q2", "linear", C=64, K=64, H=16384, W=1, P=16384, Q=1), HW)
    assert _map_mac.cache_info().hits == before + 1  # same dims + hardware: cached
    assert m2.layer == "q2" and m2.K_t == m.K_t and m2.P_t == m.P_t


def test_removing_less_than_a_vector_keeps_the_tiling():
    vs, lanes = HW.vector_size, HW.lanes
    a = map_layer(Layer("a", "linear", C=64, K=64, H=4096, W=1, P=4096, Q=1), HW)
    for c, k in [(64 - vs + 1, 64), (64, 64 - lanes + 1), (61, 62)]:
        b = map_layer(Layer("b", "linear", C=c, K=k, H=4096, W=1, P=4096, Q=1), HW)
        assert (b.N_t, b.K_t, b.C_t, b.P_t, b.Q_t, b.pes_k, b.pes_p, b.order) == \
               (a.N_t, a.K_t, a.C_t, a.P_t, a.Q_t, a.pes_k, a.pes_p, a.order)
        assert b.compute_cycles == a.compute_cycles
        assert b.dram_bytes <= a.dram_bytes


def test_too_small_buffer_names_the_parameter():
    conv7 = Layer("big", "conv", C=64, K=64, H=64, W=64, P=64, Q=64, R=7, S=7, padding=3)
    hw = HW.replace(weight_buffer_bytes=1024)
    with pytest.raises(MappingError, match="weight_buffer_bytes"):
        map_layer(conv7, hw)
    hw = HW.replace(input_buffer_bytes=128)
    with pytest.raises(MappingError, match="input_buffer_bytes"):
        map_layer(conv7, hw)
    hw = HW.replace(global_buffer_bytes=256)
    with pytest.raises(MappingError, match="global_buffer_bytes"):
        map_layer(conv7, hw)


def test_encode_program_shape():
    ms = map_layers(LAYERS, HW)
    prog = encode_program(LAYERS, ms, HW)
    assert prog.shape == (len(LAYERS), len(__import__("accelerator.mapping", fromlist=["x"]).PROGRAM_FIELDS))
    assert prog.dtype.name == "int64"
