"""API traps refused or made explicit: SimPy internals behind a version check, duplicate
governor names, state set up outside validate(), C++ programs freed while jobs point to them."""

from __future__ import annotations

import numpy as np
import pytest

from accelerator.model import Accelerator, _hw_config
from accelerator.program import encode_program
from accelerator.presets import load_preset
from cosim.bridge import SIMPY_SUPPORTED_MAJOR, check_simpy
from host.governors import GOVERNORS, FeedbackGovernor, Governor, register_governor
from host.resources import CsvReplay
from vocab.errors import UserError
from vocab.params import ParamError
from workloads.ir import Layer

HW = load_preset("simba-like")


def test_simpy_of_another_major_version_is_refused_naming_both():
    check_simpy()  # the installed one is supported
    with pytest.raises(UserError, match=rf"simpy 5\.0\.1 is installed.*supports simpy {SIMPY_SUPPORTED_MAJOR}\.x"):
        check_simpy("5.0.1")


def test_a_governor_name_registered_twice_is_refused():
    with pytest.raises(ParamError, match="'greedy' is already registered"):
        @register_governor("greedy")
        class Other(Governor):  # noqa: F841
            def choose(self, frame, view):
                return None
    assert GOVERNORS["greedy"].__name__ == "GreedyGovernor"
    # the same class again (a module imported twice under one name) is no error
    assert register_governor("feedback")(FeedbackGovernor) is FeedbackGovernor


def test_state_lives_in_setup_not_validate(tmp_path):
    g = FeedbackGovernor()
    g.observe(None, 1.0, 2.0)
    k = g.scale()
    g.validate()  # checks only: the learned state stays
    assert g.scale() == k != 1.0
    assert g.replace(alpha=0.5).scale() == 1.0  # a new governor starts afresh

    csv = tmp_path / "r.csv"
    csv.write_text("time_s,value\n0,1.0\n1,0.5\n")
    r = CsvReplay(path=str(csv), resource="pe_share")
    csv.write_text("time_s,value\n0,0.25\n")
    r.validate()  # does not read the file again
    assert r.timeline(10**13, None) == [(0, 1.0), (10**12, 0.5)]


def _program(acc, pid_layers=8):
    layers = [Layer("fc", "linear", C=64, K=64, H=pid_layers, W=1, P=pid_layers, Q=1)]
    return acc.load(layers, config="traps")


def test_cxx_refuses_to_free_programs_that_unreleased_jobs_reference():
    acc = Accelerator.for_process(HW)
    h = _program(acc)
    core = acc._core
    flat = np.ascontiguousarray(encode_program(h.layers, h.mappings, HW)).ravel()
    jid = core.submit(h.id)  # straight to C++: Python's own bookkeeping would refuse earlier
    while core.busy():  # it ends; its counters (and its program pointer) stay until released
        core.advance(10**15)
    core.clear_completions()
    try:
        with pytest.raises(Exception, match="reconfigure refused: 1 job"):
            core.reconfigure(_hw_config(acc._ns, HW))
        with pytest.raises(Exception, match=f"load_program refused: program {h.id} is referenced by job {jid}"):
            core.load_program(h.id, h.n_layers, flat, flat.size)
        assert core.has_program(h.id)
    finally:
        core.release(jid)
    # released: both are allowed again
    core.load_program(h.id, h.n_layers, flat, flat.size)
    Accelerator.for_process(HW.replace(name="other", num_pes=8))
    Accelerator.for_process(HW)
