"""The IR disk cache (workloads/ir_cache.py) and a torch-free start with a warm cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import vocab.cache
import workloads
from workloads import ir_cache
from workloads.ir import Layer, Workload

ROOT = Path(__file__).resolve().parents[1]

# One small configuration of every model family, with knobs where the family has them.
CONFIGS = [
    ("segformer-b0", "64x64", {"heads": "1.1.2.4", "dec": "96", "blocks": "1.2.2.1"}),
    ("swin-t", "224x224", {"blocks": "2.2.3.1", "heads": "3.4.12.8"}),
    ("resnet50", "64x64", {}),
    ("ofa-resnet50", "64x64", {"depth": "0.1.0.2.1", "expand": "25", "width": "65.80.65.100.80.65"}),
]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(ir_cache.ENV, raising=False)
    return tmp_path / "ir"


def _fresh(cfg) -> Workload:
    return workloads.families()[cfg.family].lower(cfg)


@pytest.mark.parametrize("model,res,knobs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_cached_ir_equals_fresh_lowering(cache, model, res, knobs):
    cfg = workloads.make_config(model, resolution=res, **knobs)
    fresh = _fresh(cfg)
    assert ir_cache.read(cfg) is None
    ir_cache.write(cfg, fresh)
    assert ir_cache.path_of(cfg).parent == cache and ir_cache.path_of(cfg).is_file()
    back = ir_cache.read(cfg)
    assert back is not fresh
    # every layer field, the totals and the types (tuple resolution, int/bool fields)
    assert back == fresh
    assert back.to_dict() == fresh.to_dict()
    assert type(back.resolution) is tuple and len(back.layers) == len(fresh.layers) > 0
    for a, b in zip(back.layers, fresh.layers):
        assert a == b and {k: type(v) for k, v in vars(a).items()} == {k: type(v) for k, v in vars(b).items()}


def test_registry_lower_fills_and_reads_the_cache(cache, monkeypatch):
    cfg = workloads.make_config("segformer-b0", resolution="64x64", ffn="64.128.320.512")
    workloads.lower.cache_clear()
    wl = workloads.lower(cfg)
    assert ir_cache.read(cfg) == wl
    # a later process (per-process cache cleared) reads the entry instead of lowering
    workloads.lower.cache_clear()
    calls = []
    monkeypatch.setattr(type(workloads.families()["segformer"]), "lower", lambda self, c: calls.append(c))
    assert workloads.lower(cfg) == wl and calls == []
    workloads.lower.cache_clear()


def test_disabled_by_env(cache, monkeypatch):
    monkeypatch.setenv(ir_cache.ENV, "0")
    cfg = workloads.make_config("resnet50", resolution="32x32")
    wl = ir_cache.cached(cfg, _fresh)
    assert wl == _fresh(cfg)
    assert not cache.exists() or not any(cache.iterdir())


def _damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot json")
    elif how == "empty":
        path.write_bytes(b"")
    else:
        d = json.loads(raw)
        if how == "tampered_dims":  # a dimension changed, its stored MACs not: inconsistent
            d["workload"]["layers"][0]["K"] += 1
        elif how == "wrong_type":
            d["workload"]["layers"][0]["C"] = str(d["workload"]["layers"][0]["C"])
        elif how == "missing_field":
            del d["workload"]["layers"][0]["stride"]
        elif how == "dropped_layer":
            d["workload"]["layers"].pop()
        elif how == "other_config":
            d["config"] = "segformer-b1@64x64"
        elif how == "other_key":
            d["key"] = "0" * 32
        path.write_text(json.dumps(d))


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "tampered_dims", "wrong_type", "missing_field",
                                 "dropped_layer", "other_config", "other_key"])
def test_damaged_entry_is_detected_and_rebuilt(cache, how):
    cfg = workloads.make_config("resnet50", resolution="32x32")
    good = ir_cache.cached(cfg, _fresh)
    path = ir_cache.path_of(cfg)
    _damage(path, how)
    assert ir_cache.read(cfg) is None
    calls = []
    wl = ir_cache.cached(cfg, lambda c: calls.append(c) or _fresh(c))
    assert calls == [cfg] and wl == good
    assert ir_cache.read(cfg) == good  # rewritten


def test_stale_entry_is_not_used(cache, monkeypatch):
    """A new torch/transformers version or an edited source gives another key: the old entry
    is never read (it would be the IR of another model)."""
    cfg = workloads.make_config("resnet50", resolution="32x32")
    ir_cache.cached(cfg, _fresh)
    k = ir_cache.key(cfg)
    real = vocab.cache.version
    monkeypatch.setattr(vocab.cache, "version", lambda d: "0.0.1" if d == "torch" else real(d))
    assert ir_cache.key(cfg) != k and ir_cache.read(cfg) is None
    monkeypatch.undo()
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(cache.parent))
    vocab.cache.clear()
    edited = ROOT / "workloads" / "knobs.py"
    monkeypatch.setattr(vocab.cache, "_read", lambda p: p.read_bytes() + (b"# edited" if p == edited else b""))
    assert ir_cache.key(cfg) != k and ir_cache.read(cfg) is None
    vocab.cache.clear()


def test_versions_come_from_metadata_without_importing_the_libraries():
    code = ("import sys; from workloads import ir_cache; v = dict(ir_cache._library_versions()); "
            "assert set(v) == {'torch', 'transformers', 'python'} and all(v.values()), v; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_concurrent_writers_and_readers(cache):
    """Writers of one entry race (temp file + rename each): a reader sees no entry or the whole
    one, never a partial file, and no temporary file is left behind."""
    cfg = workloads.make_config("resnet50", resolution="32x32")
    wl = _fresh(cfg)
    errors, seen = [], []

    def writer():
        try:
            for _ in range(20):
                ir_cache.write(cfg, wl)
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    def reader():
        for _ in range(40):
            got = ir_cache.read(cfg)
            seen.append(got is None or got == wl)

    threads = [threading.Thread(target=writer) for _ in range(4)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(seen)
    assert ir_cache.read(cfg) == wl
    assert sorted(p.name for p in cache.iterdir()) == [ir_cache.path_of(cfg).name]


def test_read_only_cache_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(blocker))  # cache_dir("ir") cannot be created
    cfg = workloads.make_config("resnet50", resolution="32x32")
    assert ir_cache.cached(cfg, _fresh) == _fresh(cfg)


def test_layer_from_dict_is_the_inverse_of_to_dict():
    l = Layer(name="x", op="conv", N=1, C=3, K=8, H=9, W=9, P=5, Q=5, R=3, S=3, stride=2, padding=1, params=216)
    assert Layer.from_dict(l.to_dict()) == l
    d = l.to_dict()
    d["weights_are_activations"] = 0
    with pytest.raises(ValueError, match="weights_are_activations"):
        Layer.from_dict(d)


# ---- a torch-free start -------------------------------------------------------------------
_PROBE = r"""
import json, runpy, sys
trace = sys.argv[1]
sys.argv = ["cosim", "simulate", "segformer-b2", "--json"]
try:
    runpy.run_module("cosim", run_name="__main__", alter_sys=True)
except SystemExit as e:
    assert not e.code, e.code
from cosim import System, simulate
from explore import sweep_points
from host import FrameSource, Stream
sweep_points.warm_up()
row = sweep_points._simulate_point({"config": "segformer-b0@64x64/heads=1.1.2.4"})
system = System(name="probe", hardware="rt-64pe", duration_s=0.2, seed=1, streams=[Stream(
    name="s", candidates=["segformer-b0@64x64", "segformer-b0@64x64/heads=1.1.2.4"], source=FrameSource(fps=30.0),
    governor="greedy")])
assert simulate(system, trace).frames > 0  # the system builder, profile tables, the trace
print(json.dumps({"heavy": [m for m in ("torch", "transformers") if m in sys.modules], "latency": row["latency_s"]}),
      file=sys.stderr)
"""


def test_warm_cache_simulate_never_imports_torch(tmp_path):
    """With the IRs cached, `cosim simulate segformer-b2 --json`, a sweep worker (warm-up and one
    point) and a co-simulation run (`simulate(System)`: profiles, bridge, trace) never import torch
    or transformers. (That the cached IR is the lowered one is test_cached_ir_equals_fresh_lowering's.)"""
    for cid in ("segformer-b2@512x512", "segformer-b0@64x64", "segformer-b0@64x64/heads=1.1.2.4"):
        cfg = workloads.parse_config(cid)
        ir_cache.write(cfg, workloads.lower(cfg))  # into this session's cache (DYNVIT_CACHE_DIR)
    r = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "probe.h5")], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    probe = json.loads(r.stderr.strip().splitlines()[-1])
    assert probe["heavy"] == [], f"imported with a warm IR cache: {probe['heavy']}"
    assert probe["latency"] > 0
    out = json.loads(r.stdout.splitlines()[0])
    assert out["config"] == "segformer-b2@512x512" and out["latency_s"] > 0 and len(out["layers"]) == \
        len(workloads.lower(workloads.parse_config("segformer-b2")).layers)
