"""The tenants studies (issue 22) are valid sweep specs of the promised size, and the scheduler
coordinates of run points are checked like every other coordinate."""

import pytest

from explore.sweep_spec import SpecError, load_spec


def test_codesign_study_has_at_least_100_run_points_over_presets_governors_policies_scenarios_seeds():
    s = load_spec("studies/codesign.yaml")
    pts = list(s.points())
    assert s.mode == "run" and len(pts) >= 100
    seen = {k: {dict(p.coords).get(k) for p in pts} for k in ("preset", "governor", "policy", "preemption",
                                                             "scenario", "seed")}
    assert all(len(v) >= 2 for v in seen.values()), seen
    assert len({p.id for p in pts}) == len(pts)


def test_multitenant_study_compares_every_policy_and_mechanism():
    pts = [dict(p.coords) for p in load_spec("studies/multitenant.yaml").points()]
    assert {p["policy"] for p in pts} == {"fifo", "edf", "priority", "prema"}
    assert {p.get("mechanism") for p in pts if p["preemption"] != "none"} == {"kill", "checkpoint", "drain"}
    assert {p["preemption"] for p in pts} == {"none", "layer", "tile"}


@pytest.mark.parametrize("key,value", [("policy", "round-robin"), ("preemption", "instr"), ("mechanism", "pause")])
def test_bad_scheduler_coordinate_is_one_clear_error(key, value):
    spec = {"name": "x", "mode": "run", "fixed": {"scenario": "multi_tenant"}, "axes": {key: [value]}}
    with pytest.raises(SpecError, match=key):
        load_spec(spec)
