"""Sweep results: the Parquet schema of a sweep's rows (with its metadata: tool version, units,
spec), one part file per point written atomically, and reading a results folder back."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Mapping

from .sweep_spec import SCHEDULER_COORDS, Point, Spec, SpecError

#: metric columns of every row (energy components follow as energy_<component>_j)
SIM_METRICS = ("latency_s", "energy_j", "area_mm2", "dram_bytes", "macs", "macs_issued", "utilization",
               "roofline_ratio", "peak_macs_per_cycle", "accuracy")
RUN_METRICS = ("frames", "run", "dropped", "missed", "miss_rate", "accuracy_mean", "energy_per_frame_j",
               "energy_total_j", "latency_p50_s", "latency_p99_s", "area_mm2")
#: metric columns of run points that set the scheduler (tenants): `_tenancy_row`
TENANCY_METRICS = ("antt", "stp", "preemptions", "preempt_s", "preempt_bytes", "preempt_energy_j", "accuracy_coverage",
                   "pe_share", "dram_share")
#: The resolved hardware of every point: the preset it started from, the overrides (JSON field ->
#: value) and every field with its value (JSON); ``hardware`` is the preset's name followed by the
#: overrides (``vs16+num_pes=64``), so that a label never names hardware a point did not run.
HARDWARE_COLUMNS = ("hardware", "hardware_preset", "hardware_overrides", "hardware_params")
#: Units of the result columns (the Parquet schema metadata carries them with those of the
#: hardware coordinates); "1" is dimensionless.
UNITS = {"latency_s": "s", "energy_j": "J", "area_mm2": "mm^2", "dram_bytes": "B", "macs": "MAC",
         "macs_issued": "MAC", "utilization": "1", "roofline_ratio": "1", "peak_macs_per_cycle": "MAC/cycle",
         "accuracy": "accuracy_metric", "frames": "frame", "run": "frame", "dropped": "frame", "missed": "frame",
         "miss_rate": "1", "accuracy_mean": "accuracy_metric", "energy_per_frame_j": "J", "energy_total_j": "J",
         "latency_p50_s": "s", "latency_p99_s": "s", "wall_s": "s", "duration_s": "s",
         "antt": "1", "stp": "1", "preemptions": "preemption", "preempt_s": "s", "preempt_bytes": "B",
         "preempt_energy_j": "J", "accuracy_coverage": "1", "pe_share": "1", "dram_share": "1"}


def _metric_columns(mode: str, tenants: bool = False) -> list[str]:
    from cosim.api import energy_components
    from vocab.names import TENANCY_COMPONENTS

    if mode == "simulate":  # one inference is never preempted
        return list(SIM_METRICS) + [f"energy_{c}_j" for c in energy_components() if c not in TENANCY_COMPONENTS]
    return list(RUN_METRICS) + (list(TENANCY_METRICS) if tenants else [])


def _coord_type(values: list[Any]):
    import pyarrow as pa

    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return pa.bool_()
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return pa.int64()
    if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return pa.float64()
    return pa.string()


def _schema(spec: Spec, points: list[Point]):
    import pyarrow as pa

    fields = [pa.field("point_id", pa.string()), pa.field("sweep", pa.string()), pa.field("mode", pa.string())]
    for c in spec.columns:
        fields.append(pa.field(c, _coord_type([p.as_dict().get(c) for p in points])))
    text = list(HARDWARE_COLUMNS) + (["config", "accuracy_label", "accuracy_metric"] if spec.mode == "simulate" else [])
    # a `config` coordinate becomes the canonical id the point ran (the same configuration)
    fields = [pa.field(f.name, pa.string()) if f.name in text else f for f in fields]
    fields += [pa.field(c, pa.string()) for c in text if c not in spec.columns]
    ints = ("dram_bytes", "macs", "macs_issued", "peak_macs_per_cycle", "frames", "run", "dropped", "missed",
            "preemptions")
    tenants = any(k in SCHEDULER_COORDS for p in points for k in p.as_dict())
    fields += [pa.field(c, pa.int64() if c in ints else pa.float64()) for c in _metric_columns(spec.mode, tenants)]
    fields += [pa.field("error", pa.string()), pa.field("wall_s", pa.float64()), pa.field("worker", pa.string())]
    return pa.schema(fields, metadata=_schema_metadata(spec, [f.name for f in fields]))


def _schema_metadata(spec: Spec, names: list[str]) -> dict[bytes, bytes]:
    """What a reader needs to interpret the rows without this project: the tool version, the
    units of the columns, the sweep's name, mode and spec."""
    from cosim import __version__
    from cosim.api import energy_components, hardware_units

    units = {k: v for k, v in UNITS.items() if k in names}
    units.update({f"energy_{c}_j": "J" for c in energy_components() if f"energy_{c}_j" in names})
    units.update({k: u for k, u in hardware_units().items() if k in names})
    meta = {"tool": "dynvit-cosim", "tool_version": __version__, "units": json.dumps(units, sort_keys=True),
            "sweep": spec.name, "mode": spec.mode, "spec": spec.source}
    return {f"dynvit.{k}".encode(): v.encode() for k, v in meta.items()}


def _cell(v: Any, typ) -> Any:
    import pyarrow as pa

    if v is None:
        return None
    if pa.types.is_string(typ):
        return v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)
    if pa.types.is_floating(typ):
        return float(v)
    if pa.types.is_integer(typ):
        return int(v)
    return v


def _write_row(out: Path, schema, point: Point, spec: Spec, row: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    full = {"point_id": point.id, "sweep": spec.name, "mode": spec.mode, **point.as_dict(), **row}
    table = pa.Table.from_pylist([{f.name: _cell(full.get(f.name), f.type) for f in schema}], schema=schema)
    tmp = out / f".tmp-{point.id}-{uuid.uuid4().hex[:8]}.parquet"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out / f"part-{point.id}.parquet")
    except BaseException:
        try:  # a part is whole or absent (a full disk leaves no half-written part)
            tmp.unlink()
        except OSError:
            pass
        raise


def finished_ids(out: str | os.PathLike, include_failed: bool = True) -> set[str]:
    """Ids of the points whose results are in ``out``."""
    d = Path(out)
    if not d.is_dir():
        return set()
    ids = {p.stem[5:] for p in d.glob("part-*.parquet")}
    if include_failed or not ids:
        return ids
    df = load_results(d)
    return set(df.loc[df["error"].fillna("") == "", "point_id"])


def load_results(out: str | os.PathLike):
    """Every row of a results directory as one pandas DataFrame (files of edited specs too)."""
    import pandas as pd
    import pyarrow.parquet as pq

    d = Path(out)
    files = sorted(d.glob("part-*.parquet")) if d.is_dir() else [d]
    if not files or not files[0].exists():
        raise SpecError(f"{out}: no sweep results here (expected part-*.parquet files written by `cosim sweep`)")
    frames = []
    for f in files:
        try:
            frames.append(pq.read_table(f).to_pandas())
        except Exception as e:  # ArrowInvalid, OSError: a damaged or foreign file
            raise SpecError(f"{f}: not a readable sweep result part ({' '.join(str(e).split())[:200]}); "
                            "`cosim sweep` sets damaged parts aside and runs their points again") from None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


