"""One sweep point, run in this process (on a Dask worker): its hardware, one inference (``mode:
simulate``) or one scenario (``mode: run``) through the co-simulation's public API (`cosim.api`,
`cosim.system`), and its row of results; and the chains of points that share a worker's mapper.

Each worker keeps its one SystemC model and re-targets it to each point's hardware, so imports
and JIT are paid once per worker. A point that fails (an invalid combination, no tiling fits the
buffers) records its one-line error; the sweep goes on.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from vocab.errors import UserError

from .sweep_results import HARDWARE_COLUMNS, RUN_METRICS
from .sweep_spec import SCHEDULER_COORDS, Point, config_of


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, UserError):
        return text[:500]
    return f"{type(e).__name__}: {text}"[:500]


def _hardware_of(coords: Mapping[str, Any], default: Any = None):
    from accelerator.presets import DEFAULT_PRESET, apply_overrides, load_preset
    from cosim.api import hardware_fields

    hw = load_preset(coords["preset"]) if "preset" in coords else (default or load_preset(DEFAULT_PRESET))
    return apply_overrides(hw, {k: v for k, v in coords.items() if k in hardware_fields()})


def hardware_columns(hw) -> dict[str, str]:
    """The resolved hardware of a point as its text columns (see HARDWARE_COLUMNS)."""
    ov = {k: v["value"] for k, v in sorted(hw.overrides.items())}
    label = hw.name + "".join(f"+{k}={v:g}" if isinstance(v, float) else f"+{k}={v}" for k, v in ov.items())
    return {"hardware": label, "hardware_preset": hw.name,
            "hardware_overrides": json.dumps(ov, sort_keys=True, default=str),
            "hardware_params": json.dumps(hw.to_dict(), sort_keys=True, default=str)}


def _simulate_point(coords: Mapping[str, Any]) -> dict[str, Any]:
    from cosim.api import area_mm2, run_inference
    from workloads.accuracy import accuracy_of

    cfg = config_of(coords)
    hw = _hardware_of(coords)
    r = run_inference(cfg, hw)
    a = accuracy_of(cfg)
    row = {**hardware_columns(hw), "config": cfg.id, "latency_s": r.latency_s, "energy_j": r.energy_j,
           "area_mm2": area_mm2(hw)["total"], "dram_bytes": r.dram_bytes, "macs": r.macs,
           "macs_issued": r.macs_issued, "utilization": r.utilization, "roofline_ratio": r.roofline_ratio,
           "peak_macs_per_cycle": hw.peak_macs_per_cycle, "accuracy": a.value, "accuracy_label": a.label,
           "accuracy_metric": a.metric}
    row.update({f"energy_{k}_j": v for k, v in r.energy_by_component.items()})
    return row


def _run_point(coords: Mapping[str, Any]) -> dict[str, Any]:
    import tempfile

    from cosim import scenario as scen
    from cosim.api import area_mm2
    from cosim.system import simulate

    system, source = scen.load(coords.get("scenario") or None)
    hw = _hardware_of(coords, system.hardware_params())
    changes: dict[str, Any] = {"hardware": hw}
    if "governor" in coords:
        changes["streams"] = [s.replace(governor=coords["governor"]) for s in system.streams]
    sched = {k: coords[k] for k in SCHEDULER_COORDS if k in coords}
    if sched:
        if sched.get("policy") == "fifo" and "preemption" not in sched:
            sched["preemption"] = "none"  # fifo ranks no waiting frame first: it cannot preempt
        if sched.get("spatial", "none") != "none" and "preemption" not in sched:
            sched["preemption"] = "none"  # each stream runs in its own partition: nothing to preempt
        changes["scheduler"] = system.scheduler.replace(**sched)
    system = system.replace(**changes)
    with tempfile.TemporaryDirectory(prefix="dynvit-sweep-") as d:
        res = simulate(system, Path(d) / "trace.h5", seed=coords.get("seed"), duration_s=coords.get("duration_s"),
                       scenario_source=source, created="1970-01-01T00:00:00Z")
        summ = res.summary
        row_all = summ[summ["stream"] == "all"].iloc[0]
        tenants = _tenancy_row(res.trace_path) if system.scheduler.tenants else {}
    row = {**hardware_columns(hw), "area_mm2": area_mm2(hw)["total"], **tenants}
    for k in RUN_METRICS:
        if k in row_all.index:
            v = row_all[k]
            row[k] = int(v) if k in ("frames", "run", "dropped", "missed") else float(v)
    return row


def _tenancy_row(trace_path: Path) -> dict[str, Any]:
    """A multi-tenant run's metrics over all streams (`traces.tenancy`), and the coverage of its mean
    accuracy (run frames whose accuracy is known / run frames)."""
    import traces
    from traces import tenancy

    with traces.open(trace_path) as tr:
        m = tenancy.metrics(tr)
        f = tr.frames
    a = m[m["stream"] == "all"].iloc[0]
    row: dict[str, Any] = {k: float(a[k]) for k in ("antt", "stp", "preempt_s", "preempt_bytes", "preempt_energy_j")}
    row["preemptions"] = int(a["preemptions"])
    for k in ("pe_share", "dram_share"):  # spatial sharing: mean shares of the frames run (NaN otherwise)
        row[k] = float(a[k]) if k in a.index else float("nan")
    ran = f[f.end_s.notna() & ~f.dropped.astype(bool)]
    row["accuracy_coverage"] = float(ran.accuracy.notna().mean()) if len(ran) else float("nan")
    return row


def run_point(mode: str, coords: Mapping[str, Any]) -> dict[str, Any]:
    """Run one point in this process; never raises for a bad point (the error is in the row)."""
    import socket

    from vocab.allocator import keep_freed_memory

    from .sweep_checks import row_violations

    keep_freed_memory()  # (a Dask worker returns freed memory to the kernel at once otherwise)
    t0 = time.perf_counter()
    try:
        row = _simulate_point(coords) if mode == "simulate" else _run_point(coords)
        bad = row_violations(row)
        # a result that breaks an invariant is a failed point with its reason, never a row of numbers
        row = {k: v for k, v in row.items() if k in HARDWARE_COLUMNS} | {"error": bad} if bad else row | {"error": ""}
    except Exception as e:  # one bad point must not stop the sweep
        row = {"error": _one_line(e)}
    row["wall_s"] = time.perf_counter() - t0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def run_point_after(_previous: Any, mode: str, coords: Mapping[str, Any]) -> dict[str, Any]:
    """`run_point`, as the next link of a chain: Dask runs it on the worker that ran the previous
    point (the worker holding a task's inputs runs it), whose mapping cache has this hardware."""
    return run_point(mode, coords)


def affinity_key(p: Point) -> str:
    """Points with equal keys share the mapper's work on a worker: the same hardware and the same
    model (a dynamic configuration runs the mapping of its full model) or scenario."""
    from cosim.api import hardware_fields

    c = p.as_dict()
    hw = [(k, v) for k, v in p.coords if k == "preset" or k in hardware_fields()]
    if "config" in c:
        what = str(c["config"]).split("/", 1)[0] + "|" + str(c.get("resolution", ""))
    else:
        what = f"{c.get('model', '')}|{c.get('resolution', '')}|{c.get('scenario', '')}"
    return json.dumps([hw, what], default=str)


def chains(points: list[Point], workers: int) -> list[list[Point]]:
    """Points in chains that Dask runs one after another on one worker (through task dependencies,
    with its locality-aware scheduler): one chain per affinity group, or several when there are
    fewer groups than workers, so every worker has work. Chains of one group map its hardware
    once per worker instead of once per point's worker."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(affinity_key(p), []).append(p)
    per = max(1, -(-max(1, workers) // max(1, len(groups))))
    out = []
    for g in groups.values():
        n = min(per, len(g))
        out += [g[i::n] for i in range(n)]
    return sorted(out, key=len, reverse=True)  # longest first: better balance at the end


def warm_up() -> str:
    """Import the model and elaborate this process's SystemC model (run once per worker)."""
    import workloads
    from cosim.api import elaborate

    elaborate()
    workloads.lower(workloads.make_config("segformer-b0", resolution="64x64"))  # the IR cache (torch if cold)
    return f"{os.getpid()}"

