"""Every on-disk cache declares what invalidates it (`vocab.cache.CacheInputs`), and its key
changes when any declared input does: each file, each library version, each parameter."""

from __future__ import annotations

import pytest

import vocab.cache as vc

# Importing these declares their caches (the mapper's choices, the compiled model and the sc_main
# shim, the lowered IR, the profiles).
import accelerator.choices  # noqa: F401
import accelerator.loader  # noqa: F401
import cosim.profiles  # noqa: F401
import workloads.ir_cache  # noqa: F401

EXPECTED = {"mappings", "build", "shim", "ir", "profiles"}


def _params(inputs: vc.CacheInputs, **changed) -> dict:
    return {p: changed.get(p, f"value of {p}") for p in inputs.params}


@pytest.fixture(autouse=True)
def _fresh_digests():
    vc.clear()
    yield
    vc.clear()


def test_the_caches_are_declared():
    assert EXPECTED <= set(vc.DECLARED)


CASES = [(name, kind, what) for name in sorted(EXPECTED) for kind, whats in
         (("file", vc.DECLARED[name].files), ("version", vc.DECLARED[name].versions),
          ("param", vc.DECLARED[name].params)) for what in whats]


@pytest.mark.parametrize("name,kind,what", CASES, ids=[f"{n}:{k}:{w}" for n, k, w in CASES])
def test_each_declared_input_changes_the_key(monkeypatch, name, kind, what):
    inputs = vc.DECLARED[name]
    before = inputs.key(**_params(inputs))
    if kind == "file":
        matched = [p for p in inputs.paths() if p in set(vc.SOURCE_ROOT.glob(what))]
        assert matched, f"{name}: {what!r} matches no file (a declared input that does not exist)"
        for edited in (matched[0], matched[-1]):
            vc.clear()
            monkeypatch.setattr(vc, "_read", lambda p, e=edited: p.read_bytes() + (b"\n#" if p == e else b""))
            assert inputs.key(**_params(inputs)) != before, f"{name}: editing {edited} left the key"
    elif kind == "version":
        real = vc.version
        monkeypatch.setattr(vc, "version", lambda d: "0.0.0-other" if d == what else real(d))
        assert inputs.key(**_params(inputs)) != before
    else:
        assert inputs.key(**_params(inputs, **{what: "another value"})) != before


def test_undeclared_or_missing_params_are_refused():
    inputs = vc.DECLARED["profiles"]
    with pytest.raises(TypeError, match="undeclared"):
        inputs.key(**_params(inputs), resources="x")
    with pytest.raises(TypeError, match="missing"):
        inputs.key(hw={})


def test_a_second_declaration_of_a_name_with_other_inputs_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        vc.CacheInputs("profiles", files=("vocab/*.py",))


def test_the_key_is_stable_within_and_across_calls():
    inputs = vc.DECLARED["ir"]
    a = inputs.key(**_params(inputs))
    vc.clear()
    assert inputs.key(**_params(inputs)) == a


def test_the_profile_cache_covers_the_resource_settings(tmp_path, monkeypatch):
    """A measurement is keyed by the accelerator settings its level gives: when
    `resource_settings` maps a level to other settings, the cached one is not reused."""
    from accelerator.model import Accelerator
    from accelerator.presets import load_preset
    from host.profile import ResourceLevel
    from workloads.ir import Layer

    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path))
    hw = load_preset("simba-like")
    acc = Accelerator.for_process(hw)
    prog = acc.load([Layer("fc", "linear", C=64, K=64, H=16, W=1, P=16, Q=1)], config="cache-keys")
    runs = []
    real_run = acc.run

    class Counting:  # the real accelerator, counting its standalone inferences
        def __getattr__(self, n):
            return getattr(acc, n)

        def run(self, *a, **k):
            runs.append(a)
            return real_run(*a, **k)

    level = ResourceLevel(pe_share=0.5)
    t1 = cosim.profiles.measure(Counting(), hw, ["cfg"], [level], lambda c: prog)
    assert len(runs) == 1
    cosim.profiles.measure(Counting(), hw, ["cfg"], [level], lambda c: prog)
    assert len(runs) == 1  # cached
    real = cosim.profiles.resource_settings
    monkeypatch.setattr(cosim.profiles, "resource_settings",
                        lambda hw_, r, v: {"active_pes": hw_.num_pes} if r == "pe_share" else real(hw_, r, v))
    t2 = cosim.profiles.measure(Counting(), hw, ["cfg"], [level], lambda c: prog)
    assert len(runs) == 2  # other settings: measured again, not read from the cache
    assert t2.predict("cfg", level)[0] < t1.predict("cfg", level)[0]  # all PEs: faster than half
