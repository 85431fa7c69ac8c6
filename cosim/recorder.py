"""Turns host frames, accelerator results and resource changes into trace rows."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from host.frames import Frame
from host.profile import Candidate
from host.resources import RESOURCES
from vocab.names import OP_CLASSES, TENANCY_COMPONENTS
from vocab.units import PS_PER_S
from traces import TraceWriter
from traces.schema import counter_column, energy_column
from traces.tenancy import SPATIAL_FRAME_COLUMNS
from traces.vocabulary import TraceVocabulary

from accelerator.counters import COUNTER_INDEX, COUNTERS, TENANCY_COUNTERS, TRAFFIC_LEVELS
from accelerator.energy import COMPONENT_TERMS as ENERGY_COMPONENT_TERMS, ENERGY_LEVELS

#: The counters stored as /layers columns ``c_<name>``: all but the layer's start and end times,
#: which are the ``start_s`` / ``end_s`` columns.
STORED_COUNTERS = tuple(c for c in COUNTERS if c[0] not in ("start_ps", "end_ps") and c[0] not in TENANCY_COUNTERS)
#: ... and, in a run that can preempt, the preemption counters too.
TENANCY_STORED_COUNTERS = tuple(c for c in COUNTERS if c[0] not in ("start_ps", "end_ps"))


def stored_counters(components: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """The counters a trace stores: with the preemption counters exactly when it stores the
    preemption energy component (a run that can preempt; `cosim.system` decides), so that the
    trace of a run that cannot is what it was before tenants existed."""
    return TENANCY_STORED_COUNTERS if any(c in TENANCY_COMPONENTS for c in components) else STORED_COUNTERS


class Recorder:
    """Appends one run's rows to a `TraceWriter` as the run goes."""

    def __init__(self, writer: TraceWriter, energy_components: tuple[str, ...], offset_ps: int) -> None:
        self.w = writer
        self.components = energy_components
        self.offset_ps = offset_ps
        self.frames = 0  # frames recorded (rows are not kept in memory: the run's memory stays flat)
        # one template per (stream, config) pair: bounded by the scenario, not by the run's length
        self._frame_rows: dict[tuple[str, str], np.ndarray] = {}
        self._layer_rows: dict[tuple[str, str], np.ndarray] = {}
        # rows of a reused inference (cosim/reuse.py) per (stream, config, entry): filled once, then
        # only the frame and the times change (bounded by the reuse table, not by the run's length)
        self._reused_rows: dict[tuple[str, str, int], tuple[Any, np.ndarray]] = {}
        self._counter_columns = [(counter_column(n), COUNTER_INDEX[n]) for n, _, _ in stored_counters(energy_components)]
        # the per-frame tenancy columns are filled where the writer has them (`frame_extra_columns`)
        from traces.tenancy import TENANCY_FRAME_COLUMNS

        self.tenancy = all(c in (writer.dtype("frames").names or ()) for c in TENANCY_FRAME_COLUMNS)
        self.spatial = all(c in (writer.dtype("frames").names or ()) for c in SPATIAL_FRAME_COLUMNS)

    @staticmethod
    def layer_extra_columns(components: tuple[str, ...]) -> dict[str, str]:
        cols = {energy_column(c): "J" for c in components}
        cols.update({counter_column(n): unit for n, unit, _ in stored_counters(components)})
        return cols

    @staticmethod
    def frame_extra_columns(components: tuple[str, ...], spatial: bool = False) -> dict[str, str]:
        """Per-frame tenancy columns (isolated latency, preemptions): in a run that can preempt only;
        and the partition columns (PE group, shares) in a spatial run."""
        from traces.tenancy import TENANCY_FRAME_COLUMNS

        cols = dict(TENANCY_FRAME_COLUMNS) if any(c in TENANCY_COMPONENTS for c in components) else {}
        return {**cols, **SPATIAL_FRAME_COLUMNS} if spatial else cols

    @staticmethod
    def trace_vocabulary(components: tuple[str, ...]) -> TraceVocabulary:
        """What the columns of `layer_extra_columns` are, the op classes and the levels plots group
        them by: the trace stores it, so that its readers name nothing themselves."""
        meaning = dict(ENERGY_COMPONENT_TERMS)
        unknown = [c for c in components if c not in meaning]
        if unknown:
            raise ValueError(f"energy component(s) {', '.join(unknown)} are not declared in accelerator.energy.COMPONENT_TERMS")
        kept = set(components)
        return TraceVocabulary.of(
            energy_components=[(c, meaning[c]) for c in components],
            counters=list(stored_counters(components)),
            op_classes=OP_CLASSES,
            energy_levels={lv: [c for c in cs if c in kept] for lv, cs in ENERGY_LEVELS.items()
                           if any(c in kept for c in cs)},
            traffic_levels=TRAFFIC_LEVELS,
        )

    def config(self, c: Candidate, objective: str) -> None:
        self.w.add_config(c.config, model=c.model, knobs=c.knobs, macs=c.useful_macs, params=c.params,
                          accuracy=c.accuracy, accuracy_metric=c.accuracy_metric,
                          accuracy_source=c.accuracy_source, accuracy_label=c.accuracy_label, objective=objective,
                          accuracy_profile=c.accuracy_profile)

    def resource(self, t_ps: int, resource: str, value: float) -> None:
        self.w.append_resources({"time_s": [t_ps / PS_PER_S], "resource": [resource], "value": [float(value)],
                                 "unit": [RESOURCES[resource].unit]})

    def frame(self, f: Frame, workload_of: Callable[[str], Any]) -> None:
        ran = f.start_ps >= 0 and f.end_ps >= 0
        nan = math.nan
        row = self._frame_row(f.stream, f.config)
        row["frame"] = f.index
        row["arrival_s"] = f.arrival_ps / PS_PER_S
        row["deadline_s"] = f.deadline_ps / PS_PER_S
        row["start_s"] = f.start_ps / PS_PER_S if ran else nan
        row["end_s"] = f.end_ps / PS_PER_S if ran else nan
        row["accuracy"] = f.accuracy if ran and not f.aborted else nan
        row["latency_s"] = (f.end_ps - f.arrival_ps) / PS_PER_S if ran else nan
        row["energy_j"] = f.energy_j if ran else 0.0
        row["missed"] = bool(ran and not f.aborted and f.end_ps > f.deadline_ps)
        row["dropped"] = bool(f.dropped or f.aborted)
        if self.tenancy:
            row["isolated_s"] = f.isolated_ps / PS_PER_S if f.isolated_ps > 0 else nan
            row["preemptions"] = f.preemptions
        if self.spatial:
            for c in SPATIAL_FRAME_COLUMNS:
                v = getattr(f, c)
                row[c] = v if ran and v == v and v >= 0 else nan
        if ran and f.outcome is not None and f.outcome.detail is not None:
            self._layers(f, f.outcome.detail, workload_of)
        self.w.append_frames(row)  # after its layers: a flushed frame row implies its layers are on disk
        f.outcome = None  # the per-layer result is in the trace now
        self.frames += 1

    # Rows to fill: per (stream, config), one frame row and the layer rows, their constant columns
    # (names, ops) validated and encoded once by the writer. A frame overwrites every number
    # column; the writer copies the rows when they are appended, so the arrays are reused.
    def _frame_row(self, stream: str, config: str) -> np.ndarray:
        t = self._frame_rows.get((stream, config))
        if t is None:
            t = self._frame_rows[(stream, config)] = self.w.as_rows("frames", {
                "stream": [stream], "frame": [0], "arrival_s": [0.0], "deadline_s": [0.0], "start_s": [0.0],
                "end_s": [0.0], "config": [config], "accuracy": [0.0], "latency_s": [0.0], "energy_j": [0.0],
                "missed": [False], "dropped": [False],
                **({"isolated_s": [0.0], "preemptions": [0.0]} if self.tenancy else {}),
                **({c: [0.0] for c in SPATIAL_FRAME_COLUMNS} if self.spatial else {})})
        return t

    def _layer_rows_of(self, stream: str, config: str, workload_of) -> np.ndarray:
        t = self._layer_rows.get((stream, config))
        if t is None:
            layers = workload_of(config).layers
            n = len(layers)
            cols: dict[str, object] = {
                "stream": [stream] * n, "frame": np.zeros(n, dtype=np.int64), "layer": np.arange(n, dtype=np.int64),
                "name": [l.name for l in layers], "op": [l.op for l in layers],
                "op_class": [l.op_class for l in layers],
            }
            dtype = self.w.dtype("layers")
            for name in dtype.names:
                cols.setdefault(name, np.zeros(n, dtype=dtype[name]))  # numbers: filled per frame
            t = self._layer_rows[(stream, config)] = self.w.as_rows("layers", cols)
        return t

    def _layers(self, f: Frame, res, workload_of) -> None:
        base = getattr(res, "reused_of", None)
        if base is not None:
            key = (f.stream, f.config, id(base))
            hit = self._reused_rows.get(key)
            if hit is not None:  # every column but these is the entry's: filled before
                self._frame_times(hit[1], f, res.counters)
                self.w.append_layers(hit[1])
                return
        rows = self._fill(f, res, workload_of)
        if rows is not None:
            if base is not None:
                self._reused_rows[key] = (base, rows.copy())  # (the entry kept: its id stays its own)
            self.w.append_layers(rows)

    def _frame_times(self, rows: np.ndarray, f: Frame, counts: np.ndarray) -> None:
        """The columns a frame's layer rows take from the frame and the times (what a reused
        inference changes)."""
        rows["frame"] = f.index
        rows["start_s"] = (counts[:, COUNTER_INDEX["start_ps"]] - self.offset_ps) / PS_PER_S
        rows["end_s"] = (counts[:, COUNTER_INDEX["end_ps"]] - self.offset_ps) / PS_PER_S

    def _fill(self, f: Frame, res, workload_of) -> np.ndarray | None:
        """``f``'s layer rows, every column filled from ``res`` (None if no layer finished)."""
        counts = np.asarray(res.counters)
        n = min(counts.shape[0], int(res.layers_done))  # an aborted inference: only the layers it finished
        if n == 0:
            return None
        counts = counts[:n]  # every column is trimmed alike (names, counters, energies)
        rows = self._layer_rows_of(f.stream, f.config, workload_of)[:n]
        ci = COUNTER_INDEX
        self._frame_times(rows, f, counts)
        rows["macs_useful"] = counts[:, ci["macs_useful"]]
        rows["macs_issued"] = counts[:, ci["macs_issued"]]
        rows["dram_bytes"] = counts[:, ci["dram_read_bytes"]] + counts[:, ci["dram_write_bytes"]]
        rows["energy_j"] = np.asarray(res.layer_energy_j)[:n]
        for c in self.components:
            rows[energy_column(c)] = np.asarray(res.energy[c])[:n]
        for name, i in self._counter_columns:
            rows[name] = counts[:, i]  # int64 -> float64, as the column is stored
        return rows

