"""The compiled C++ model (accelerator/loader.py): the same numbers as the JIT path (the
reference), a clear one-line fallback without a compiler, a damaged cached library rebuilt,
concurrent builders that do not corrupt the cache."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from accelerator import codegen, loader

ROOT = Path(__file__).resolve().parents[1]

# Runs a few models in a process of its own (one SystemC kernel per process) and saves
# every layer's counters and activations: decoupled and tile sync, resource changes
# inside inferences, an abort, a dynamic configuration.
_RUN = textwrap.dedent("""
    import sys
    import numpy as np
    from accelerator import loader
    from accelerator.model import Accelerator
    from accelerator.presets import load_preset
    from workloads.ir import Layer
    from workloads.registry import full_config, lower, make_config

    out = {}
    acc = Accelerator.for_process(load_preset("simba-like"))
    assert loader.model_build().path == sys.argv[2], loader.model_build()
    # quick: a SegFormer-like block written as IR (no torch), full and with fewer heads/channels
    tok, d = 1024, 64
    def block(heads, hid):
        return [
            Layer("patch", "conv", C=3, K=d, H=128, W=128, P=32, Q=32, R=7, S=7, stride=4, padding=3),
            Layer("ln", "layernorm", elements=tok * d, in_elements=tok * d),
            Layer("q", "linear", C=d, K=heads * 32, H=tok, W=1, P=tok, Q=1),
            Layer("qk", "matmul", N=heads, C=32, K=256, H=tok, W=1, P=tok, Q=1, weights_are_activations=True),
            Layer("sm", "softmax", elements=heads * tok * 256, in_elements=heads * tok * 256),
            Layer("av", "matmul", N=heads, C=256, K=32, H=tok, W=1, P=tok, Q=1, weights_are_activations=True),
            Layer("o", "linear", C=heads * 32, K=d, H=tok, W=1, P=tok, Q=1),
            Layer("fc1", "linear", C=d, K=hid, H=tok, W=1, P=tok, Q=1),
            Layer("dw", "conv", C=hid, K=hid, H=32, W=32, P=32, Q=32, R=3, S=3, padding=1, groups=hid),
            Layer("gelu", "gelu", elements=tok * hid, in_elements=tok * hid),
            Layer("fc2", "linear", C=hid, K=d, H=tok, W=1, P=tok, Q=1),
            Layer("add", "add", elements=tok * d, in_elements=2 * tok * d),
        ]
    models = [(block(4, 256), None), (block(3, 160), block(4, 256))]
    hws = ["simba-like"]
    if sys.argv[3] == "full":  # real models
        for cfg in (make_config("segformer-b0", resolution=(256, 256), heads="1.1.2.4", dec=128),
                    make_config("ofa-resnet50-mac0.6b", resolution=(128, 128))):
            models.append((lower(cfg), lower(full_config(cfg))))
        hws += ["vs16"]
    for hw in hws:
        acc = Accelerator.for_process(load_preset(hw))
        for i, (wl, ref) in enumerate(models):
            for sync in ("decoupled", "tile"):
                acc.sync = sync
                h = acc.load(wl, reference=ref)
                tag = f"{hw}/{i}/{sync}"
                acc.submit(h, tag=tag)
                t = acc.now_ps()
                # resources change inside the inference: clock, PEs, DRAM share
                for k, (clk, pes, share) in enumerate([(0.7e9, 8, 0.5), (1.3e9, 3, 0.9), (1e9, 16, 1.0)]):
                    acc.run_until(t + (k + 1) * 20_000_000)
                    acc.set_resources(clock_hz=clk, active_pes=min(pes, acc.hw.num_pes), dram_share=share)
                acc.run_until(acc.now_ps() + 10**15)
                r = acc.result(tag, keep=False)
                out[tag] = r.counters
                out[tag + "/acts"] = r.layer_activations
                acc.set_resources(clock_hz=acc.hw.clock_hz, active_pes=acc.hw.num_pes, dram_share=1.0)
        h = acc.load(models[0][0])
        acc.submit(h, tag="aborted")
        acc.run_until(acc.now_ps() + 30_000_000)
        acc.abort()
        acc.run_until(acc.now_ps() + 10**15)
        out[hw + "/aborted"] = acc.result("aborted", keep=False).counters
    np.savez(sys.argv[1], **out)
""")


def _env(**changes):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def _python(code, *args, timeout=600, **env):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=_env(**env))


@pytest.mark.parametrize("scope, n_models, n_hw", [
    ("quick", 2, 1), pytest.param("full", 4, 2, marks=pytest.mark.slow)])
def test_compiled_and_jit_models_give_identical_counters(tmp_path, scope, n_models, n_hw):
    runs = {}
    for mode in ("compiled", "jit"):
        out = tmp_path / f"{mode}.npz"
        r = _python(_RUN, out, mode, scope, DYNVIT_SYSTEMC_BUILD=mode)
        assert r.returncode == 0, r.stderr[-3000:]
        runs[mode] = dict(np.load(out))
    assert runs["compiled"].keys() == runs["jit"].keys() and len(runs["jit"]) == n_hw * (n_models * 2 * 2 + 1)
    for k, v in runs["jit"].items():
        assert v.dtype == np.int64 and v.size > 0, k
        assert np.array_equal(runs["compiled"][k], v), k


_TINY = textwrap.dedent("""
    from accelerator import loader
    from accelerator.model import Accelerator
    from accelerator.presets import load_preset
    from workloads.ir import Layer
    r = Accelerator.for_process(load_preset("simba-like")).run([Layer("fc", "linear", C=64, K=64, H=32, W=1, P=32, Q=1)])
    print(loader.model_build().path, r.latency_s)
""")


@pytest.mark.parametrize("env, missing", [
    ({"CXX": "/nonexistent/g++"}, "CXX=/nonexistent/g++ is not an executable C++ compiler"),
    pytest.param({"CXX": None, "PATH": "/nonexistent"}, "no C++ compiler found (g++, c++ or clang++ on PATH, or $CXX)",
                 marks=pytest.mark.slow),
])
def test_without_a_compiler_a_one_line_warning_and_the_jit_path(env, missing):
    loader.build_shim(loader.find_systemc())  # cached (a process without a compiler needs it)
    r = _python(_TINY, DYNVIT_SYSTEMC_BUILD=None, **env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[0] == "jit"
    warning = [l for l in r.stderr.splitlines() if "warning" in l]
    assert len(warning) == 1 and missing in warning[0] and "falling back to JIT" in warning[0], r.stderr
    # asked for the compiled model explicitly: an error that says what is missing
    r = _python(_TINY, DYNVIT_SYSTEMC_BUILD="compiled", **env)
    assert r.returncode != 0 and "ModelBuildError" in r.stderr and missing in r.stderr


def test_a_bad_build_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(loader.BUILD_ENV, "fast")
    with pytest.raises(loader.UserError, match="DYNVIT_SYSTEMC_BUILD='fast' is not allowed .*auto, compiled, jit"):
        loader.build_mode()


def test_a_failing_build_names_the_compiler_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(loader, "model_flags", lambda install: ["-include", "dynvit_no_such_header.h", "-shared"])
    gen = codegen.write_headers()
    with pytest.raises(loader.ModelBuildError, match="compiling the SystemC model with .* failed"):
        loader.build_model(loader.find_systemc(), gen)
    assert not list((tmp_path / "build").glob("dynvit-model-*.so*"))  # nothing half-written left


def _build(cache):
    code = ("from accelerator import codegen, loader\n"
            "print(loader.build_model(loader.find_systemc(), codegen.write_headers()))")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=_env(DYNVIT_CACHE_DIR=str(cache)))


def test_a_damaged_cached_library_is_rebuilt(tmp_path):
    built = loader.build_model(loader.find_systemc(), codegen.write_headers())  # this session's, shared
    (tmp_path / "build").mkdir()
    lib = tmp_path / "build" / built.name
    good = built.read_bytes()
    lib.write_bytes(good[: len(good) // 2])  # truncated, as by a full disk or a killed copy
    stamp = built.with_name(built.name + ".sha256")
    (tmp_path / "build" / stamp.name).write_text(stamp.read_text())
    assert not loader._intact(lib)
    p = _build(tmp_path)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    assert Path(out.strip()) == lib and loader._intact(lib) and len(lib.read_bytes()) == len(good)
    r = _python(_TINY, DYNVIT_SYSTEMC_BUILD="compiled", DYNVIT_CACHE_DIR=str(tmp_path))
    assert r.returncode == 0 and r.stdout.split()[0] == "compiled", r.stderr[-3000:]


@pytest.mark.slow
def test_concurrent_builders_share_one_library(tmp_path):
    procs = [_build(tmp_path) for _ in range(3)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    libs = {o.strip() for o, _ in outs}
    assert len(libs) == 1 and loader._intact(Path(libs.pop()))
    left = [p.name for p in (tmp_path / "build").iterdir() if p.name.startswith(".")]
    assert left == [], left  # no temporary file left behind
