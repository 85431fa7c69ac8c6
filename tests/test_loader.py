"""The SystemC loader: finding SystemC, the sc_main shim, SC_CPLUSPLUS, the C++ model."""

import os
import re

import pytest

from accelerator import loader
from accelerator.counters import NUM_COUNTERS


def test_find_systemc_reports_version_and_standard():
    inst = loader.find_systemc()
    assert inst.library.exists()
    assert (inst.include_dir / "systemc").exists()
    assert re.fullmatch(r"\d+\.\d+\.\d+", inst.version)
    assert inst.cplusplus in (201103, 201402, 201703, 202002, 202302)
    # the standard comes from the exported API-version symbol
    assert f"sc_api_version_{inst.version.replace('.', '_')}_cxx{inst.cplusplus}L".encode() in inst.library.read_bytes()


def test_systemc_home_without_systemc_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SYSTEMC_HOME", str(tmp_path))
    with pytest.raises(loader.SystemCNotFound, match="apt-get install libsystemc-dev|SYSTEMC_HOME"):
        loader.find_systemc()


def test_systemc_home_is_used(tmp_path, monkeypatch):
    inst = loader.find_systemc()
    (tmp_path / "include").symlink_to(inst.include_dir)
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64" / "libsystemc.so").symlink_to(inst.library)
    monkeypatch.setenv("SYSTEMC_HOME", str(tmp_path))
    got = loader.find_systemc()
    assert got.library == inst.library and got.version == inst.version


def test_shim_is_cached_per_user(tmp_path, monkeypatch):
    monkeypatch.delenv("DYNVIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    inst = loader.find_systemc()
    p1 = loader.build_shim(inst)
    assert p1.parent == tmp_path / "dynvit-cosim" and p1.exists()
    mtime = p1.stat().st_mtime_ns
    assert loader.build_shim(inst) == p1 and p1.stat().st_mtime_ns == mtime
    monkeypatch.setenv("DYNVIT_CACHE_DIR", str(tmp_path / "elsewhere"))  # the project's own setting wins
    assert loader.cache_dir() == tmp_path / "elsewhere"


def test_load_defines_sc_cplusplus_and_the_model():
    ns = loader.load()
    import cppyy

    inst = loader.load_systemc()
    assert cppyy.gbl.sc_core.sc_time_stamp is not None
    assert ns.NUM_COUNTERS == NUM_COUNTERS
    assert loader.load() is ns  # once per process
    assert os.environ.get("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE") == "1"
    assert inst.cplusplus > 0


def test_every_source_is_included_by_the_top_header():
    top = (loader.SRC_DIR / loader.TOP_HEADER).read_text()
    for src in loader.model_sources():
        if src.suffix == ".h" and src.name != loader.TOP_HEADER:
            assert f'#include "{src.name}"' in top, src.name
