"""Accuracy profiles: data with provenance, never invented.

Every ``workloads/data/accuracy_*.yaml`` file is read. Schema (version 1)::

    schema: 1                      # required, integer
    family: segformer              # optional: the family these entries belong to
    defaults:                      # optional: fields shared by all entries of the file
      metric: ADE20K mIoU (single-scale)
    entries:                       # required: one entry per configuration
      segformer-b2@512x512:        # the CANONICAL config id (Config.id: only non-default
                                   # knobs, in declared order), e.g. from registry.make_config
        value: 45.58               # float, in the metric's unit (percent for mIoU / top-1)
        metric: ...                # e.g. "ADE20K mIoU (single-scale)", "ImageNet top-1"
        source: ...                # citation text: where the number was published/measured
        label: published           # "published" | "measured: <how>" |
                                   # "approximate: <why>" (e.g. "approximate: config chosen
                                   # to match published MACs")

After applying ``defaults``, every entry must have ``value``, ``metric``, ``source`` and
``label``. A config id may appear in only one file. Nothing is interpolated: a
configuration without an entry (e.g. any knob-skipped configuration, or a
resolution other than the published one) has accuracy NaN with source
"not published or measured".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
UNKNOWN_SOURCE = "not published or measured"
_FIELDS = ("value", "metric", "source", "label")


@dataclass(frozen=True)
class Accuracy:
    value: float
    metric: str
    source: str
    label: str

    @property
    def known(self) -> bool:
        return not math.isnan(self.value)


class AccuracyDataError(ValueError):
    """An accuracy file does not follow the schema."""


def _load_file(path: Path) -> tuple[str | None, dict[str, Any], dict[str, Accuracy]]:
    import yaml

    doc = yaml.safe_load(path.read_text()) or {}
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        raise AccuracyDataError(f"{path.name}: top level must be a mapping with 'schema: 1'")
    defaults = doc.get("defaults") or {}
    entries = doc.get("entries")
    if not isinstance(entries, dict) or not isinstance(defaults, dict):
        raise AccuracyDataError(f"{path.name}: 'entries' (and 'defaults', if given) must be mappings")
    unknown_defaults = set(defaults) - set(_FIELDS)
    if unknown_defaults:
        raise AccuracyDataError(f"{path.name}: unknown fields in defaults: {sorted(unknown_defaults)}")
    out: dict[str, Accuracy] = {}
    for cid, e in entries.items():
        if not isinstance(e, dict):
            raise AccuracyDataError(f"{path.name}: entry {cid!r} must be a mapping")
        merged = {**defaults, **e}
        missing = [f for f in _FIELDS if f not in merged]
        extra = set(merged) - set(_FIELDS)
        if missing or extra:
            raise AccuracyDataError(
                f"{path.name}: entry {cid!r}: missing fields {missing}, unknown fields {sorted(extra)}; "
                f"fields: {', '.join(_FIELDS)}"
            )
        try:
            value = float(merged["value"])
        except (TypeError, ValueError):
            raise AccuracyDataError(f"{path.name}: entry {cid!r}: value {merged['value']!r} is not a number") from None
        if math.isnan(value):
            raise AccuracyDataError(f"{path.name}: entry {cid!r}: unknown values are simply left out, not NaN")
        out[str(cid)] = Accuracy(value, str(merged["metric"]), str(merged["source"]), str(merged["label"]))
    return doc.get("family"), defaults, out


@lru_cache(maxsize=None)
def _load_all(data_dir: str) -> tuple[dict[str, Accuracy], dict[str, str], dict[str, str]]:
    """(entries by config id, default metric by family, file name by config id)."""
    entries: dict[str, Accuracy] = {}
    metrics: dict[str, str] = {}
    origin: dict[str, str] = {}
    for path in sorted(Path(data_dir).glob("accuracy_*.yaml")):
        family, defaults, es = _load_file(path)
        for cid, acc in es.items():
            if cid in entries:
                raise AccuracyDataError(f"config {cid!r} appears in both {origin[cid]} and {path.name}")
            entries[cid] = acc
            origin[cid] = path.name
        if family and "metric" in defaults:
            metrics[str(family)] = str(defaults["metric"])
    return entries, metrics, origin


def profiles(data_dir: str | Path | None = None) -> dict[str, Accuracy]:
    """All accuracy entries, keyed by config id."""
    return dict(_load_all(str(data_dir or DATA_DIR))[0])


def accuracy_of(config: Any, data_dir: str | Path | None = None) -> Accuracy:
    """The accuracy of a configuration (a ``Config`` or its canonical id string).

    Unknown configurations give ``value=nan`` with source "not published or measured"
    (and the family's metric when a file declares one).
    """
    entries, metrics, _ = _load_all(str(data_dir or DATA_DIR))
    cid = config if isinstance(config, str) else config.id
    if cid in entries:
        return entries[cid]
    family = getattr(config, "family", None)
    if family is None:  # a bare id: the longest family name its model name starts with
        name = cid.split("@", 1)[0]
        family = max((f for f in metrics if name.startswith(f)), key=len, default="")
    return Accuracy(float("nan"), metrics.get(family, ""), UNKNOWN_SOURCE, "unknown")


def reload() -> None:
    """Forget cached files (after editing them in a running process)."""
    _load_all.cache_clear()
