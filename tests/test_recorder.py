"""The recorder's fast path (reused, pre-encoded rows appended as arrays) writes exactly the
rows that the writer's validated column path writes, frame after frame, aborted frames included."""

import dataclasses

import h5py
import numpy as np

import traces
import workloads
from accelerator.counters import COUNTER_INDEX, COUNTER_NAMES
from accelerator.model import Accelerator
from accelerator.presets import load_preset
from cosim.recorder import Recorder
from host.frames import Frame
from host.port import Outcome
from vocab.units import PS_PER_S

CONFIGS = ("segformer-b0@128x128", "segformer-b0@128x128/dec=128")


def _columns_path(w: traces.TraceWriter, f: Frame, res, wl, offset_ps: int, components) -> None:
    """The rows as mappings of columns, validated and coerced by the writer (the reference)."""
    ran = f.start_ps >= 0 and f.end_ps >= 0
    counts = np.asarray(res.counters)
    n = min(counts.shape[0], int(res.layers_done)) if ran else 0
    if n:
        ci, counts = COUNTER_INDEX, counts[:n]
        cols = {
            "stream": [f.stream] * n, "frame": np.full(n, f.index), "layer": np.arange(n),
            "name": [l.name for l in wl.layers[:n]], "op": [l.op for l in wl.layers[:n]],
            "op_class": [l.op_class for l in wl.layers[:n]],
            "start_s": (counts[:, ci["start_ps"]] - offset_ps) / PS_PER_S,
            "end_s": (counts[:, ci["end_ps"]] - offset_ps) / PS_PER_S,
            "macs_useful": counts[:, ci["macs_useful"]], "macs_issued": counts[:, ci["macs_issued"]],
            "dram_bytes": counts[:, ci["dram_read_bytes"]] + counts[:, ci["dram_write_bytes"]],
            "energy_j": res.layer_energy_j[:n],
            **{f"energy_{c}_j": res.energy[c][:n] for c in components},
            **{f"c_{k}": counts[:, ci[k]].astype(float) for k in COUNTER_NAMES if k not in ("start_ps", "end_ps")},
        }
        w.append_layers(cols)
    nan = float("nan")
    w.append_frames([{
        "stream": f.stream, "frame": f.index, "arrival_s": f.arrival_ps / PS_PER_S,
        "deadline_s": f.deadline_ps / PS_PER_S, "start_s": f.start_ps / PS_PER_S if ran else nan,
        "end_s": f.end_ps / PS_PER_S if ran else nan, "config": f.config,
        "accuracy": f.accuracy if ran and not f.aborted else nan,
        "latency_s": (f.end_ps - f.arrival_ps) / PS_PER_S if ran else nan, "energy_j": f.energy_j if ran else 0.0,
        "missed": bool(ran and not f.aborted and f.end_ps > f.deadline_ps), "dropped": bool(f.dropped or f.aborted),
    }])


def test_fast_path_rows_equal_the_validated_rows(tmp_path):
    acc = Accelerator.for_process(load_preset("rt-64pe"))
    components = tuple(acc.energy_model.components)
    wls = {c: workloads.lower(workloads.parse_config(c)) for c in CONFIGS}
    results = {c: acc.run(acc.load(wl)) for c, wl in wls.items()}
    frames = []
    for i in range(6):  # alternate configs and streams; frame 3 aborted half-way, frame 4 dropped
        cfg = CONFIGS[i % 2]
        res = results[cfg]
        if i == 3:
            res = dataclasses.replace(res, layers_done=res.n_layers // 2, aborted=True)
        f = Frame(stream=f"cam{i % 3}", index=i, arrival_ps=i * 10**9, deadline_ps=i * 10**9 + 5 * 10**8,
                  config=cfg, start_ps=i * 10**9 + 1000, end_ps=i * 10**9 + 3 * 10**8 + 7 * i, energy_j=0.1 * i,
                  accuracy=0.25 + i, aborted=i == 3, dropped=i == 4)
        if i == 4:
            f.start_ps = f.end_ps = -1
        f.outcome = Outcome(tag=i, config=cfg, start_ps=f.start_ps, end_ps=f.end_ps, energy_j=f.energy_j, detail=res)
        frames.append((f, res))
    paths = {}
    for how in ("fast", "columns"):
        paths[how] = tmp_path / f"{how}.h5"
        with traces.TraceWriter(paths[how], seed=1, scenario="", hardware={}, tool_version="t",
                                created="2000-01-01T00:00:00Z", flush_every_s=None, flush_every_rows=700,
                                layer_extra_columns=Recorder.layer_extra_columns(components)) as w:
            rec = Recorder(w, components, offset_ps=123)
            for f, res in frames:
                f = dataclasses.replace(f)  # the recorder clears f.outcome
                if how == "fast":
                    rec.frame(f, lambda cid: wls[cid])
                else:
                    _columns_path(w, f, res, wls[f.config], 123, components)
    with h5py.File(paths["fast"], "r") as a, h5py.File(paths["columns"], "r") as b:
        for t in ("frames", "layers"):
            assert a[t].dtype == b[t].dtype and len(a[t]) == len(b[t]) > 0
            assert a[t][()].tobytes() == b[t][()].tobytes(), t
        n0, n1 = (results[c].n_layers for c in CONFIGS)
        assert len(a["layers"]) == 2 * n0 + 2 * n1 + n1 // 2  # frames 0, 2 / 1, 5 in full, half of 3, none of 4


def test_counter_columns_carry_their_units():
    from cosim.recorder import Recorder
    from accelerator.counters import COUNTERS
    from accelerator.energy import COMPONENTS as ENERGY_COMPONENTS

    cols = Recorder.layer_extra_columns(ENERGY_COMPONENTS)
    units = {n: u for n, u, _ in COUNTERS}
    assert cols["c_dram_read_bytes"] == "B" and cols["c_macs_issued"] == "MAC" and cols["energy_mac_j"] == "J"
    assert all(cols[f"c_{n}"] == units[n] for n in units if n not in ("start_ps", "end_ps"))
