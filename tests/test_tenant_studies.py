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


@pytest.mark.parametrize("key,value", [("policy", "round-robin"), ("preemption", "instr"), ("mechanism", "pause"),
                                       ("spatial", "diagonal"), ("partition_bandwidth", "yes")])
def test_bad_scheduler_coordinate_is_one_clear_error(key, value):
    spec = {"name": "x", "mode": "run", "fixed": {"scenario": "multi_tenant"}, "axes": {key: [value]}}
    with pytest.raises(SpecError, match=key):
        load_spec(spec)


def test_spatial_study_compares_time_and_space_sharing():
    pts = [dict(p.coords) for p in load_spec("studies/spatial.yaml").points()]
    assert {p["spatial"] for p in pts} == {"none", "dynamic"}
    assert {p.get("preemption") for p in pts if p["spatial"] == "none"} == {"none", "tile"}
    assert {p.get("partition_bandwidth", False) for p in pts if p["spatial"] == "dynamic"} == {False, True}


def test_spatial_coordinates_reach_the_scheduler_and_the_row():
    from explore.sweep_points import run_point
    from explore.sweep_results import _schema

    base = {"scenario": "spatial_tenants", "duration_s": 0.3}
    shared = run_point("run", {**base, "spatial": "dynamic"})
    parted = run_point("run", {**base, "spatial": "dynamic", "partition_bandwidth": True})
    timed = run_point("run", {**base, "spatial": "none", "preemption": "tile"})
    assert shared["error"] == parted["error"] == timed["error"] == ""
    assert 0 < shared["pe_share"] < 1 and shared["dram_share"] == 1.0  # one DRAM channel for both
    assert 0 < parted["dram_share"] < 1 and parted["dram_share"] == parted["pe_share"]
    assert timed["pe_share"] != timed["pe_share"] and timed["preemptions"] > 0  # NaN: no partition
    # spatial sharing with preemption: the point records the scheduler's one-line refusal
    refused = run_point("run", {**base, "spatial": "dynamic", "preemption": "tile"})
    assert "Scheduler.spatial" in refused["error"] and "preemption" in refused["error"]
    spec = load_spec({"name": "s", "mode": "run", "fixed": {"scenario": "spatial_tenants"},
                      "axes": {"spatial": ["none", "dynamic"]}})
    names = _schema(spec, list(spec.points())).names
    assert {"pe_share", "dram_share", "antt"} <= set(names)
