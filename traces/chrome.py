"""Export a trace to the Chrome / Perfetto trace-event format (JSON).

Open the file at https://ui.perfetto.dev or chrome://tracing. Layout:

* process 1 "host (frames per stream)": one thread per stream; each frame that
  ran is a complete event (``ph: "X"``) from its start to its end, named
  ``<stream> #<frame> <config>``, with args config, arrival, deadline, latency,
  energy, accuracy, missed, dropped. Frames that were dropped get an instant
  event (``ph: "i"``): at their end if they were aborted, else at their
  deadline (the trace does not record when a never-run frame was given up).
* process 2 "accelerator": one thread ("inference") holding, for each frame, a
  complete event spanning the frame with its layers as complete events nested
  inside it (name = layer name; args op, op_class, MACs, DRAM bytes, energy).
  Were two frames ever to overlap on the accelerator, the later one goes to an
  extra thread ("inference (2)", ...) so that events on a thread always nest.
* process 3 "resources": counter events (``ph: "C"``) for each resource, named
  ``<resource> [<unit>]``; infinite values (e.g. no energy budget) are not
  representable in a counter and become instant events saying "unlimited".
* metadata events (``ph: "M"``) naming the processes and threads.

Every event has ``ph``, ``ts`` (microseconds of simulated time), ``pid`` and
``tid``; complete events have ``dur >= 0`` (microseconds). Times are rounded
to the picosecond (1e-6 us) before durations are taken, so a layer never sticks
out of its frame by rounding.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Iterator

import numpy as np

from .lanes import take_lane
from .output import atomic_output, check_not_input
from .reader import Trace
from .reader import open as _open_trace

PID_HOST, PID_ACCEL, PID_RES = 1, 2, 3
_DIGITS = 6  # microseconds to 1e-6 us = 1 ps
CHROME_CHUNK_ROWS = 1 << 15  # layer rows turned into events at a time (~50 MiB of events)


def _us(t_s: float) -> float:
    return round(float(t_s) * 1e6, _DIGITS)


def _num(v: Any) -> Any:
    """JSON-safe number: NaN / inf -> None, numpy scalars -> Python."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def _meta(pid: int, tid: int, kind: str, name: str) -> dict:
    return {"ph": "M", "name": kind, "ts": 0, "pid": pid, "tid": tid, "args": {"name": name}}


def chrome_events(trace: Trace, layers: bool = True) -> list[dict]:
    """The trace-event list of a trace (see the module doc)."""
    return [e for batch in iter_chrome_events(trace, layers) for e in batch]


def iter_chrome_events(trace: Trace, layers: bool = True) -> Iterator[list[dict]]:
    """The trace events in batches, in the order of :func:`chrome_events`: the frames
    (one batch; memory grows with the number of frames), then the layers one slice of
    /layers at a time (bounded memory whatever the trace's length), then the resources."""
    ev, lane_of = _frame_events(trace)
    yield ev
    if layers:
        yield from _layer_events(trace, lane_of)
    yield _resource_events(trace)


def _frame_events(trace: Trace) -> tuple[list[dict], dict[tuple[str, int], int]]:
    ev: list[dict] = [
        _meta(PID_HOST, 0, "process_name", "host (frames per stream)"),
        _meta(PID_ACCEL, 0, "process_name", "accelerator"),
        _meta(PID_RES, 0, "process_name", "resources"),
    ]
    for pid, idx in ((PID_HOST, 1), (PID_ACCEL, 2), (PID_RES, 3)):
        ev.append({"ph": "M", "name": "process_sort_index", "ts": 0, "pid": pid, "tid": 0, "args": {"sort_index": idx}})

    F = trace.frames
    streams = sorted(F["stream"].astype(str).unique())
    tid_of = {s: i + 1 for i, s in enumerate(streams)}
    for s, tid in tid_of.items():
        ev.append(_meta(PID_HOST, tid, "thread_name", f"stream {s}"))
        ev.append({"ph": "M", "name": "thread_sort_index", "ts": 0, "pid": PID_HOST, "tid": tid, "args": {"sort_index": tid}})

    # ---- frames (host) and frame spans (accelerator) --------------------------------
    ran = np.isfinite(F["start_s"].to_numpy(float)) & np.isfinite(F["end_s"].to_numpy(float))
    lanes_end: list[float] = []  # end (us) of the last frame on each accelerator thread
    lane_of: dict[tuple[str, int], int] = {}
    order = np.lexsort((F["frame"].to_numpy(), F["stream"].astype(str).to_numpy(), F["start_s"].to_numpy(float)))
    for i in order:
        r = F.iloc[int(i)]
        s, n = str(r["stream"]), int(r["frame"])
        args = {
            "stream": s,
            "frame": n,
            "config": str(r["config"]),
            "arrival_s": _num(r["arrival_s"]),
            "deadline_s": _num(r["deadline_s"]),
            "latency_ms": _num(r["latency_s"] * 1e3),
            "energy_mj": _num(r["energy_j"] * 1e3),
            "accuracy": _num(r["accuracy"]) if math.isfinite(r["accuracy"]) else "unknown",
            "missed": bool(r["missed"]),
            "dropped": bool(r["dropped"]),
        }
        # a multi-tenant run (traces.tenancy): preemptions of the frame, its latency alone
        if "preemptions" in F.columns:
            args["preemptions"] = int(r["preemptions"])
        if "isolated_s" in F.columns:
            args["isolated_ms"] = _num(r["isolated_s"] * 1e3)
        label = f"{s} #{n}"
        if ran[i]:
            ts, te = _us(r["start_s"]), _us(r["end_s"])
            dur = max(0.0, round(te - ts, _DIGITS))
            name = f"{label} {r['config']}".strip()
            if args.get("preemptions"):
                name += f" (preempted x{int(args['preemptions'])})"
            if "pe_first" in F.columns:  # a spatial run: the frame's partition and PE group
                first, last = int(r["pe_first"]), int(r["pe_first"] + r["pe_count"]) - 1
                args.update(partition=int(r["partition"]), pe_group=f"PEs {first}-{last}",
                            pe_share=_num(r["pe_share"]), dram_share=_num(r["dram_share"]))
                name += f" [PEs {first}-{last}]"
            if r["missed"]:
                name += " (missed)"
            elif r["dropped"]:
                name += " (aborted)"
            ev.append({"ph": "X", "name": name, "cat": "frame", "ts": ts, "dur": dur, "pid": PID_HOST,
                       "tid": tid_of[s], "args": args})
            lane = take_lane(lanes_end, ts, te)
            lane_of[(s, n)] = lane
            ev.append({"ph": "X", "name": name, "cat": "frame", "ts": ts, "dur": dur, "pid": PID_ACCEL,
                       "tid": lane + 1, "args": args})
        if r["dropped"]:
            if ran[i]:
                t_drop, why = r["end_s"], "aborted at its end"
            else:
                t_drop, why = r["deadline_s"], "never run; marked at its deadline"
            ev.append({"ph": "i", "s": "t", "name": f"dropped {label}", "cat": "drop", "ts": _us(t_drop),
                       "pid": PID_HOST, "tid": tid_of[s], "args": {**args, "when": why}})
    for k in range(max(1, len(lanes_end))):
        ev.append(_meta(PID_ACCEL, k + 1, "thread_name", "inference" if k == 0 else f"inference ({k + 1})"))

    return ev, lane_of


def _layer_events(trace: Trace, lane_of: dict[tuple[str, int], int]) -> Iterator[list[dict]]:
    cols_needed = ["stream", "frame", "layer", "name", "op", "op_class", "start_s", "end_s", "macs_useful",
                   "macs_issued", "dram_bytes", "energy_j"]
    for L in trace.iter_table("layers", cols_needed, chunk_rows=CHROME_CHUNK_ROWS):
        ev: list[dict] = []
        if len(L):
            ts = np.round(L["start_s"].to_numpy(float) * 1e6, _DIGITS)
            te = np.round(L["end_s"].to_numpy(float) * 1e6, _DIGITS)
            dur = np.maximum(0.0, np.round(te - ts, _DIGITS))
            cols = {c: L[c].to_numpy() for c in ("stream", "frame", "layer", "name", "op", "op_class",
                                                  "macs_useful", "macs_issued", "dram_bytes", "energy_j")}
            for j in range(len(L)):
                key = (str(cols["stream"][j]), int(cols["frame"][j]))
                lane = lane_of.get(key, 0)
                ev.append({
                    "ph": "X", "name": str(cols["name"][j]), "cat": "layer", "ts": float(ts[j]), "dur": float(dur[j]),
                    "pid": PID_ACCEL, "tid": lane + 1,
                    "args": {
                        "stream": key[0], "frame": key[1], "layer": int(cols["layer"][j]),
                        "op": str(cols["op"][j]), "op_class": str(cols["op_class"][j]),
                        "macs_useful": int(cols["macs_useful"][j]), "macs_issued": int(cols["macs_issued"][j]),
                        "dram_bytes": int(cols["dram_bytes"][j]), "energy_uj": _num(cols["energy_j"][j] * 1e6),
                    },
                })

        yield ev


def _resource_events(trace: Trace) -> list[dict]:
    ev: list[dict] = []
    # ---- resources (counters) ---------------------------------------------------------------
    R = trace.resources
    if len(R):
        ev.append(_meta(PID_RES, 0, "thread_name", "resources"))
        for _, r in R.sort_values(["time_s", "resource"], kind="stable").iterrows():
            name = f"{r['resource']} [{r['unit']}]" if str(r["unit"]) else str(r["resource"])
            v = float(r["value"])
            if math.isfinite(v):
                ev.append({"ph": "C", "name": name, "cat": "resource", "ts": _us(r["time_s"]), "pid": PID_RES,
                           "tid": 0, "args": {"value": v}})
            else:
                ev.append({"ph": "i", "s": "p", "name": f"{r['resource']} = {'unlimited' if v > 0 else v}",
                           "cat": "resource", "ts": _us(r["time_s"]), "pid": PID_RES, "tid": 0,
                           "args": {"resource": str(r["resource"]), "value": str(v), "unit": str(r["unit"])}})
    return ev


def export_chrome_trace(trace, out_json: str | os.PathLike, layers: bool = True) -> str:
    """Write ``trace`` (a Trace or a trace path) as Chrome / Perfetto trace-event JSON
    to ``out_json``; returns the path written. ``layers=False`` leaves out the layer
    events (much smaller files for long runs)."""
    check_not_input(out_json, (trace.path if isinstance(trace, Trace) else trace,), "chrome trace")
    if isinstance(trace, Trace):
        _write_chrome(trace, out_json, layers)
    else:
        with _open_trace(trace) as t:
            _write_chrome(t, out_json, layers)
    return os.fspath(out_json)


def _write_chrome(trace: Trace, out_json: str | os.PathLike, layers: bool) -> None:
    meta, path = trace.meta, trace.path
    other = {
        "source": os.path.basename(path),
        "schema_version": _num(meta.get("schema_version")),
        "schema_minor_version": _num(meta.get("schema_minor_version", 0)),
        "tool_version": str(meta.get("tool_version", "")),
        "seed": _num(meta.get("seed")),
        "created": str(meta.get("created", "")),
        "complete": bool(meta.get("complete", False)),
        "time_unit": "ts and dur are microseconds of simulated time",
    }
    out_json = os.fspath(out_json)
    with atomic_output(out_json, inputs=(path,), what="chrome trace") as fh:
        # streamed batch by batch; json.dumps (C encoder) of each batch rather than json.dump
        # (chunked, pure Python): ~3x faster on big traces
        fh.write('{"traceEvents":[')
        first = True
        for batch in iter_chrome_events(trace, layers):
            if not batch:
                continue
            fh.write(("" if first else ",") + json.dumps(batch, separators=(",", ":"), allow_nan=False)[1:-1])
            first = False
        fh.write('],"displayTimeUnit":"ms","otherData":'
                 + json.dumps(other, separators=(",", ":"), allow_nan=False) + "}")


__all__ = ["export_chrome_trace", "chrome_events", "iter_chrome_events"]
