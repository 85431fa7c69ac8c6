"""Interoperability: ONNX and layer-list import, Timeloop/Accelergy and ZigZag export, the loop-nest
rendering, and the cross-check against ZigZag (runs when the `crosscheck` extra is installed; CI
installs it through the `dev` extra)."""

from __future__ import annotations

import math
import re
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import workloads
from accelerator.mapping import map_layer
from accelerator.presets import load_preset
from workloads.ir import Layer

onnx = pytest.importorskip("onnx", reason="onnx is a dependency of the project (pyproject.toml)")


def _key(l: Layer) -> dict:
    d = l.to_dict()
    d.pop("name")
    return d


def _export(module, x, path: Path) -> Path:
    import torch

    # the TorchScript exporter works offline; PRESERVE keeps batch norms unfolded (the torch path has them)
    torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, opset_version=17,
                      training=torch.onnx.TrainingMode.PRESERVE)
    return path


def _tiny():
    import torch
    from torch import nn

    class Tiny(nn.Module):
        """Every op class the importer maps: grouped, depthwise, strided and dilated convolutions,
        batch/layer norm, GELU, pooling, an attention block (two activation matmuls, softmax), a
        linear layer, resize and a residual add."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(16)
            self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=4)
            self.dw = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16)
            self.pool = nn.MaxPool2d(2)
            self.norm = nn.LayerNorm(16)
            self.qkv = nn.Linear(16, 48)
            self.proj = nn.Linear(16, 16)
            self.head = nn.Conv2d(16, 8, 1)

        def forward(self, x):
            x = torch.relu(self.bn(self.conv(x)))
            x = self.dw(self.grouped(x))
            x = nn.functional.gelu(x)
            x = self.pool(x)
            b, c, h, w = x.shape
            t = self.norm(x.flatten(2).transpose(1, 2))
            q, k, v = self.qkv(t).chunk(3, dim=-1)
            a = (q @ k.transpose(1, 2) / 4.0).softmax(-1)
            t = t + self.proj(a @ v)
            x = t.transpose(1, 2).reshape(b, c, h, w)
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            return self.head(x)

    return Tiny()


def test_onnx_lowers_like_the_torch_path(tmp_path):
    import torch

    from workloads.extract import extract_layers
    from workloads.onnx_import import lower_onnx

    m = _tiny()
    ref, ref_params = extract_layers(m, torch.zeros(1, 3, 32, 32))
    layers, params = lower_onnx(_export(m, torch.zeros(1, 3, 32, 32), tmp_path / "tiny.onnx"))
    assert [_key(l) for l in layers] == [_key(l) for l in ref]
    assert params == ref_params
    ops = {l.op_class for l in layers}
    assert {"dense_conv", "depthwise", "pointwise", "attention", "non_mac"} <= ops


def _unsupported_model(tmp_path) -> Path:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
    node = helper.make_node("Hardmax", ["x"], ["h"], name="mystery")
    relu = helper.make_node("Relu", ["h"], ["y"], name="after")
    g = helper.make_graph([node, relu], "g", [x], [y])
    p = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    return p


def test_unsupported_onnx_op_is_named(tmp_path):
    from workloads.onnx_import import OnnxImportError, lower_onnx

    with pytest.raises(OnnxImportError, match=r"Hardmax.*'mystery'"):
        lower_onnx(_unsupported_model(tmp_path))
    r = CliRunner().invoke(_app(), ["workload", "--onnx", str(tmp_path / "bad.onnx")])
    assert r.exit_code == 2 and "Hardmax" in r.output and "Traceback" not in r.output


def _app():
    from cosim.cli import app

    return app


def test_onnx_configuration_id(tmp_path, monkeypatch):
    import torch

    monkeypatch.chdir(tmp_path)
    _export(_tiny(), torch.zeros(1, 3, 32, 32), tmp_path / "tiny.onnx")
    cfg = workloads.parse_config("onnx:tiny.onnx")
    assert cfg.id.startswith("onnx:tiny.onnx@32x32#") and len(cfg.id.rsplit("#")[1]) == 12
    assert workloads.parse_config(cfg.id) == cfg
    assert workloads.make_config("onnx:tiny.onnx") == cfg
    assert workloads.full_config(cfg) == cfg
    wl = workloads.lower(cfg)
    assert wl.config == cfg.id and wl.total_macs > 0
    with pytest.raises(workloads.ConfigError, match="16x16 differs"):
        workloads.parse_config("onnx:tiny.onnx@16x16")
    with pytest.raises(workloads.ConfigError, match="not found"):
        workloads.parse_config("onnx:nope.onnx")
    # a changed file: the old id names other content
    (tmp_path / "tiny.onnx").write_bytes((tmp_path / "tiny.onnx").read_bytes() + b"\0")
    with pytest.raises(workloads.ConfigError, match="changed"):
        workloads.parse_config(cfg.id)
    r = CliRunner().invoke(_app(), ["workload", "--onnx", "nope.onnx"])
    assert r.exit_code == 2 and "not found" in r.output


# -- layer lists -----------------------------------------------------------------------------

LIST_YAML = """
- {name: c1, R: 3, S: 3, P: 16, Q: 16, C: 8, M: 16, stride: 2, padding: 1}
- {name: dw, R: 3, S: 3, P: 16, Q: 16, C: 16, M: 16, groups: 16, padding: 1}
- {name: fc, op: linear, N: 1, P: 256, C: 16, M: 32}
- {name: qk, op: matmul, N: 2, P: 64, C: 16, M: 64}
- {name: act, op: gelu, elements: 8192}
"""


def test_layer_list_yaml_and_csv(tmp_path, monkeypatch):
    from workloads.layer_list import LayerListError, read_layer_list

    (tmp_path / "l.yaml").write_text(LIST_YAML)
    ls = read_layer_list(tmp_path / "l.yaml")
    assert [l.op_class for l in ls] == ["dense_conv", "depthwise", "pointwise", "attention", "non_mac"]
    assert ls[0].macs == 16 * 16 * 16 * 8 * 9 and ls[0].H == 31  # the smallest input giving P = 16
    assert ls[1].C == 1 and ls[1].macs == 16 * 16 * 16 * 9
    assert ls[3].macs == 2 * 64 * 16 * 64 and ls[3].weights_are_activations
    rows = yaml.safe_load(LIST_YAML)
    cols = ["name", "op", "N", "C", "M", "P", "Q", "R", "S", "stride", "padding", "groups", "elements"]
    (tmp_path / "l.csv").write_text(",".join(cols) + "\n" + "\n".join(
        ",".join(str(r.get(c, "")) for c in cols) for r in rows))
    assert [_key(l) for l in read_layer_list(tmp_path / "l.csv")] == [_key(l) for l in ls]
    (tmp_path / "bad.yaml").write_text("- {name: x, R: 3, S: 3, C: 8, M: 6, groups: 4}\n")
    with pytest.raises(LayerListError, match="row 1: groups = 4 must divide"):
        read_layer_list(tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("- {name: x, op: conv, C: 8, M: 8, Kernel: 3}\n")
    with pytest.raises(LayerListError, match="unknown field.*Kernel"):
        read_layer_list(tmp_path / "bad2.yaml")
    monkeypatch.chdir(tmp_path)
    cfg = workloads.parse_config("layers:l.yaml")
    assert workloads.lower(cfg).total_macs == sum(l.macs for l in ls)


# -- exports ---------------------------------------------------------------------------------

def _wl():
    return workloads.lower(workloads.make_config("resnet50", resolution="64x64"))


class _TagLoader(yaml.SafeLoader):
    pass


_TagLoader.add_constructor("!Container", lambda l, n: {"!": "Container", **l.construct_mapping(n, deep=True)})
_TagLoader.add_constructor("!Component", lambda l, n: {"!": "Component", **l.construct_mapping(n, deep=True)})


def test_timeloop_export_follows_the_v04_schema(tmp_path):
    """Timeloop is not installable here: the files are checked against the documented v0.4 schema."""
    from accelerator.export import timeloop as tl
    from accelerator.mapping import energy_model

    hw = load_preset("vs8")
    arch_p, ert_p = tl.write_hardware(hw, tmp_path)
    arch = yaml.load(arch_p.read_text(), Loader=_TagLoader)["architecture"]
    assert arch["version"] == 0.4
    comps = [n for n in arch["nodes"] if n["!"] == "Component"]
    spaces = {"Weights", "Inputs", "Outputs"}
    for c in comps:
        assert {"name", "class", "attributes"} <= set(c)
        if c["class"] in ("SRAM", "DRAM"):
            keep, bypass = c["constraints"]["dataspace"]["keep"], c["constraints"]["dataspace"]["bypass"]
            assert set(keep) | set(bypass) == spaces and not set(keep) & set(bypass)
            assert c["attributes"]["width"] > 0 and c["attributes"]["datawidth"] > 0
    fanout = math.prod(n.get("spatial", {}).get("meshX", 1) * n.get("spatial", {}).get("meshY", 1)
                       for n in arch["nodes"])
    assert fanout == hw.peak_macs_per_cycle
    ert = yaml.safe_load(ert_p.read_text())["ERT"]
    names = {c["name"] for c in comps}
    pj = energy_model(hw).pj
    for t in ert["tables"]:
        comp = re.sub(r"\[[^\]]*\]", "", t["name"]).split(".")[-1]
        assert comp in names
        e = {a["name"]: a["energy"] for a in t["actions"]}
        if comp == "GlobalBuffer":
            assert e["read"] == pytest.approx(pj["global_buffer.read"] * hw.global_buffer_word_bits / 8)
        if comp == "MAC":
            assert e["compute"] == pytest.approx(pj["mac"])
    wl = _wl()
    paths = tl.write_workload(wl.layers, tmp_path / "p", wl.config)
    macs = [l for l in wl.layers if l.is_mac]
    assert len(paths) == len(macs)
    from workloads.layer_list import read_layer_list

    for p, l in zip(paths, macs):
        prob = yaml.safe_load(p.read_text())["problem"]
        dims, inst = prob["shape"]["dimensions"], prob["instance"]
        coeffs = {c["name"] for c in prob["shape"]["coefficients"]}
        for ds in prob["shape"]["data_spaces"]:
            for term in (t for axis in ds["projection"] for t in axis):
                assert term[0] in dims and all(c in coeffs for c in term[1:])
        assert math.prod(inst[d] for d in dims) == l.macs
        back = read_layer_list(p)[0]  # round trip through the layer-list reader
        assert (back.macs, back.op_class, back.stride, back.groups) == (l.macs, l.op_class, l.stride, l.groups)


needs_zigzag = pytest.mark.skipif(find_spec("zigzag") is None,
                                  reason="the `crosscheck` extra (zigzag-dse) is not installed; CI installs it")


@needs_zigzag
def test_zigzag_files_load_in_zigzag(tmp_path):
    from zigzag.parser.accelerator_factory import AcceleratorFactory
    from zigzag.parser.accelerator_validator import AcceleratorValidator
    from zigzag.parser.mapping_validator import MappingValidator
    from zigzag.parser.workload_factory import WorkloadFactory
    from zigzag.parser.workload_validator import WorkloadValidator

    from accelerator.export import zigzag as zz

    hw = load_preset("vs8")
    v = AcceleratorValidator(zz.hardware(hw))
    assert v.validate(), "ZigZag rejects the exported hardware"
    acc = AcceleratorFactory(v.normalized_data).create()
    assert acc is not None
    wl = _wl()
    entries = zz.workload(wl.layers, hw)
    w = WorkloadValidator(entries)
    assert w.validate(), "ZigZag rejects the exported workload"
    mv = MappingValidator(zz.mapping())
    assert mv.validate(), "ZigZag rejects the exported mapping"
    nodes = WorkloadFactory(w.normalized_data, mv.normalized_data).create()
    macs = [l for l in wl.layers if l.is_mac]
    got = {n.name: n.total_mac_count for n in nodes.topological_sort()}
    assert got == {l.name: l.macs for l in macs}
    # the CLI writes the same files
    r = CliRunner().invoke(_app(), ["hw", "export", "vs8", "--to", "zigzag", "-o", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert yaml.safe_load((tmp_path / "vs8.zigzag.yaml").read_text()) == zz.hardware(hw)


@needs_zigzag
def test_crosscheck_two_layers_pinned():
    """ZigZag evaluates this tool's loop nest of two layers (grouped and dense) on vs8: measured
    agreement within 2% in energy and 10% in latency; the test allows the +-25% the output flags."""
    from cosim.crosscheck import crosscheck, summary

    hw = load_preset("vs8")
    wl = _wl()
    layers = [l for l in wl.layers if l.name in ("conv1", "layer1.0.conv2")]
    res = crosscheck(layers, hw, mode="pinned")
    assert [c.name for c in res] == ["conv1", "layer1.0.conv2"]
    for c in res:
        assert 0.75 <= c.energy_ratio <= 1.25 and 0.75 <= c.latency_ratio <= 1.25, (c.name, c.explain())
        assert c.zz_terms["mac"] == pytest.approx(c.ours_terms["mac"], rel=1e-9)
        assert c.explain() == []
    assert summary(res)["energy_within"] == 1.0
    r = CliRunner().invoke(_app(), ["crosscheck", "resnet50", "-r", "64x64", "--hw", "vs8", "--layers",
                                    "conv1,layer1.0.conv2", "--detail"])
    assert r.exit_code == 0, r.output
    assert "energy by memory level and operand" in r.output and "agreement over 2 MAC layers" in r.output
    # printed as written: no markup tags left in the text (the console renders none)
    assert "this tool's loop nest" in r.output and "[bold]" not in r.output and "[/]" not in r.output


# -- loop nest -------------------------------------------------------------------------------

def test_loopnest_covers_the_layer():
    from cosim.loopnest import loopnest_levels, render_loopnest

    hw = load_preset("vs8")
    for l in [x for x in _wl().layers if x.is_mac][:6]:
        m = map_layer(l, hw)
        trips: dict[str, int] = {}
        for _, _, loops in loopnest_levels(l, m, hw):
            for dim, n, _, _ in loops:
                trips[dim] = trips.get(dim, 1) * n
        # every dimension is covered: trips x tile >= extent (tiles round up to whole lanes/vectors)
        assert trips["k"] >= l.K and trips["c"] >= l.C and trips["p"] >= l.P and trips["q"] >= l.Q
        assert trips["r"] == l.R and trips["s"] == l.S
        text = render_loopnest(l, m, hw)
        assert "spatial_for" in text and "DRAM [" in text
    r = CliRunner().invoke(_app(), ["map", "resnet50", "-r", "64x64", "--hw", "vs8", "--layer", "conv1", "--loopnest"])
    assert r.exit_code == 0 and "spatial_for k in [0:8)" in r.output, r.output


# -- whole models (slow: export takes seconds to tens of seconds) ------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet50", "segformer-b0"])
def test_model_onnx_matches_torch_path(tmp_path, model):
    from workloads.onnx_import import lower_onnx

    cfg = workloads.make_config(model, resolution="64x64")
    fam = workloads.families()[cfg.family]
    path = _export(workloads.build_torch(cfg), fam.example_input(cfg), tmp_path / f"{model}.onnx")
    layers, params = lower_onnx(path)
    ref = workloads.lower(cfg)
    assert [_key(l) for l in layers] == [_key(l) for l in ref.layers]
    assert (sum(l.macs for l in layers), params) == (ref.total_macs, ref.params)


@pytest.mark.slow  # ZigZag's own mapping search: about a minute
@needs_zigzag
def test_exported_files_run_through_zigzags_api(tmp_path, monkeypatch):
    """The files `cosim hw export` and `cosim workload --to zigzag` write, evaluated by ZigZag's own
    entry point (`get_hardware_performance_zigzag`, its mapping search included) on a small layer."""
    import logging

    from zigzag.api import get_hardware_performance_zigzag

    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text("- {name: pw, P: 8, Q: 8, C: 32, M: 32}\n"
                                         "- {name: c3, R: 3, S: 3, P: 8, Q: 8, C: 16, M: 16, padding: 1}\n")
    app = _app()
    r = CliRunner().invoke(app, ["hw", "export", "vs8", "--to", "zigzag", "-o", "zz"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["workload", "layers:small.yaml", "--to", "zigzag", "-o", "zz", "--hw", "vs8"])
    assert r.exit_code == 0 and "2 MAC layers" in r.output, r.output
    wl_file = next((tmp_path / "zz").glob("layers_small*.zigzag.yaml"))
    try:
        energy, latency, cmes = get_hardware_performance_zigzag(
            str(wl_file), str(tmp_path / "zz" / "vs8.zigzag.yaml"), str(tmp_path / "zz" / "mapping.zigzag.yaml"),
            opt="EDP", dump_folder=str(tmp_path / "out"), lpf_limit=4, nb_spatial_mappings_generated=1,
            loma_show_progress_bar=False)
    finally:
        logging.disable(logging.NOTSET)
    per_layer = {c.layer.name: c for c, _ in cmes[0][1]}
    assert {n: c.layer.total_mac_count for n, c in per_layer.items()} == {"pw": 8 * 8 * 32 * 32,
                                                                           "c3": 8 * 8 * 16 * 16 * 9}
    assert energy > 0 and latency > 0


@pytest.mark.slow  # the SystemC model and a short co-simulation
def test_onnx_model_runs_in_simulate_and_a_scenario(tmp_path, monkeypatch):
    import json
    import os

    import torch

    from cosim import scenario as scen
    from cosim.system import simulate

    monkeypatch.chdir(tmp_path)
    _export(_tiny(), torch.zeros(1, 3, 32, 32), tmp_path / "tiny.onnx")
    r = CliRunner().invoke(_app(), ["simulate", "onnx:tiny.onnx", "--hw", "vs8", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["config"].startswith("onnx:tiny.onnx@32x32#") and out["macs"] == workloads.lower(
        workloads.parse_config("onnx:tiny.onnx")).total_macs and out["latency_s"] > 0
    monkeypatch.setitem(os.environ, "DYNVIT_MODELS", "onnx:tiny.onnx")
    system, source = scen.load("_own_model")
    res = simulate(system, tmp_path / "own.h5", duration_s=0.2, scenario_source=source)
    assert res.frames > 0
