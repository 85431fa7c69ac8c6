"""Turns host frames, accelerator results and resource changes into trace rows."""

from __future__ import annotations

import math

import numpy as np

from host.frames import Frame
from host.profile import Candidate
from host.resources import RESOURCES
from vocab.names import COUNTERS, ENERGY_COMPONENT_TERMS, ENERGY_LEVELS, OP_CLASSES, TRAFFIC_LEVELS
from vocab.units import PS_PER_S
from traces import TraceWriter
from traces.schema import counter_column, energy_column
from traces.vocabulary import TraceVocabulary

from accelerator.counters import COUNTER_INDEX, COUNTER_NAMES


class Recorder:
    """Appends one run's rows to a `TraceWriter` as the run goes."""

    def __init__(self, writer: TraceWriter, energy_components: tuple[str, ...], offset_ps: int) -> None:
        self.w = writer
        self.components = energy_components
        self.offset_ps = offset_ps
        self.frames = 0  # frames recorded (rows are not kept in memory: the run's memory stays flat)
        self._layer_meta: dict[str, dict[str, np.ndarray]] = {}

    @staticmethod
    def layer_extra_columns(components: tuple[str, ...]) -> dict[str, str]:
        cols = {energy_column(c): "J" for c in components}
        cols.update({counter_column(n): "" for n in COUNTER_NAMES if n not in ("start_ps", "end_ps")})
        return cols

    @staticmethod
    def trace_vocabulary(components: tuple[str, ...]) -> TraceVocabulary:
        """What the columns of `layer_extra_columns` are, the op classes and the levels plots group
        them by: the trace stores it, so that its readers name nothing themselves."""
        meaning = dict(ENERGY_COMPONENT_TERMS)
        unknown = [c for c in components if c not in meaning]
        if unknown:
            raise ValueError(f"energy component(s) {', '.join(unknown)} are not declared in vocab.names")
        kept = set(components)
        return TraceVocabulary.of(
            energy_components=[(c, meaning[c]) for c in components],
            counters=[c for c in COUNTERS if c[0] not in ("start_ps", "end_ps")],
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

    def frame(self, f: Frame, workload_of) -> None:
        ran = f.start_ps >= 0 and f.end_ps >= 0
        nan = math.nan
        self.w.append_frames({
            "stream": [f.stream], "frame": [f.index],
            "arrival_s": [f.arrival_ps / PS_PER_S], "deadline_s": [f.deadline_ps / PS_PER_S],
            "start_s": [f.start_ps / PS_PER_S if ran else nan], "end_s": [f.end_ps / PS_PER_S if ran else nan],
            "config": [f.config], "accuracy": [f.accuracy if ran and not f.aborted else nan],
            "latency_s": [(f.end_ps - f.arrival_ps) / PS_PER_S if ran else nan],
            "energy_j": [f.energy_j if ran else 0.0],
            "missed": [bool(ran and not f.aborted and f.end_ps > f.deadline_ps)],
            "dropped": [bool(f.dropped or f.aborted)],
        })
        if ran and f.outcome is not None and f.outcome.detail is not None:
            self._layers(f, f.outcome.detail, workload_of(f.config))
        f.outcome = None  # the per-layer result is in the trace now
        self.frames += 1

    def _meta(self, config: str, wl) -> dict[str, np.ndarray]:
        m = self._layer_meta.get(config)
        if m is None:
            m = {
                "name": np.array([l.name for l in wl.layers], dtype=object),
                "op": np.array([l.op for l in wl.layers], dtype=object),
                "op_class": np.array([l.op_class for l in wl.layers], dtype=object),
            }
            self._layer_meta[config] = m
        return m

    def _layers(self, f: Frame, res, wl) -> None:
        counts = np.asarray(res.counters)
        n = min(counts.shape[0], int(res.layers_done))  # an aborted inference: only the layers it finished
        if n == 0:
            return
        counts = counts[:n]  # every column is trimmed alike (names, counters, energies)
        meta = self._meta(f.config, wl)
        ci = COUNTER_INDEX
        cols: dict[str, object] = {
            "stream": [f.stream] * n,
            "frame": np.full(n, f.index, dtype=np.int64),
            "layer": np.arange(n, dtype=np.int64),
            "name": meta["name"][:n], "op": meta["op"][:n], "op_class": meta["op_class"][:n],
            "start_s": (counts[:, ci["start_ps"]] - self.offset_ps) / PS_PER_S,
            "end_s": (counts[:, ci["end_ps"]] - self.offset_ps) / PS_PER_S,
            "macs_useful": counts[:, ci["macs_useful"]].astype(np.int64),
            "macs_issued": counts[:, ci["macs_issued"]].astype(np.int64),
            "dram_bytes": (counts[:, ci["dram_read_bytes"]] + counts[:, ci["dram_write_bytes"]]).astype(np.int64),
            "energy_j": np.asarray(res.layer_energy_j)[:n],
        }
        for c in self.components:
            cols[f"energy_{c}_j"] = np.asarray(res.energy[c])[:n]
        for name in COUNTER_NAMES:
            if name not in ("start_ps", "end_ps"):
                cols[f"c_{name}"] = counts[:, ci[name]].astype(np.float64)
        self.w.append_layers(cols)
