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
        provenance: {...}          # optional mapping: how a measured value was obtained
                                   # (checkpoint hash, data set, split, images, date, ...)

After applying ``defaults``, every entry must have ``value``, ``metric``, ``source`` and
``label``. A config id may appear in only one file. Nothing is interpolated: a
configuration without an entry (e.g. any knob-skipped configuration, or a
resolution other than the published one) has accuracy NaN with source
"not published or measured".

Measured profiles (written by ``cosim accuracy``) use the same schema and live wherever
the user keeps them; they are NOT read from ``data/`` automatically but given to a
`System` (``accuracy=[...]``) or ``cosim run --accuracy``, and then take precedence over
the built-in tables for the configurations they hold (`load_profile`, `accuracy_of`'s
``profiles``). Profiles the project ships (e.g. the demo model's) are in
``data/measured/`` and may be named without their path (`resolve_profile`).
Every `Accuracy` says which profile it came from (``profile``), which the trace records.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from vocab.errors import UserError
from vocab.inputs import read_text

DATA_DIR = Path(__file__).resolve().parent / "data"
MEASURED_DIR = DATA_DIR / "measured"  # shipped measured profiles (not loaded automatically)
UNKNOWN_SOURCE = "not published or measured"
_FIELDS = ("value", "metric", "source", "label")
_OPTIONAL = ("provenance",)


@dataclass(frozen=True)
class Accuracy:
    value: float
    metric: str
    source: str
    label: str
    provenance: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    profile: str = ""  # which profile the value came from ("" = unknown value)

    @property
    def known(self) -> bool:
        return not math.isnan(self.value)


class AccuracyDataError(UserError, ValueError):
    """An accuracy file does not follow the schema."""


def _load_file(path: Path, where: str | None = None,
               profile: str | None = None) -> tuple[str | None, dict[str, Any], dict[str, Accuracy]]:
    import yaml

    where = where or path.name
    profile = profile or f"built-in: {path.name}"
    text = read_text("accuracy profile", path, "a YAML file written by `cosim accuracy`")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise AccuracyDataError(f"{where}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        raise AccuracyDataError(f"{where}: top level must be a mapping with 'schema: 1'")
    defaults = doc.get("defaults") or {}
    entries = doc.get("entries")
    if not isinstance(entries, dict) or not isinstance(defaults, dict):
        raise AccuracyDataError(f"{where}: 'entries' (and 'defaults', if given) must be mappings")
    unknown_defaults = set(defaults) - set(_FIELDS)
    if unknown_defaults:
        raise AccuracyDataError(f"{where}: unknown fields in defaults: {sorted(unknown_defaults)}")
    out: dict[str, Accuracy] = {}
    for cid, e in entries.items():
        if not isinstance(e, dict):
            raise AccuracyDataError(f"{where}: entry {cid!r} must be a mapping")
        merged = {**defaults, **e}
        missing = [f for f in _FIELDS if f not in merged]
        extra = set(merged) - set(_FIELDS) - set(_OPTIONAL)
        if missing or extra:
            raise AccuracyDataError(
                f"{where}: entry {cid!r}: missing fields {missing}, unknown fields {sorted(extra)}; "
                f"fields: {', '.join(_FIELDS)}"
            )
        try:
            value = float(merged["value"])
        except (TypeError, ValueError):
            raise AccuracyDataError(f"{where}: entry {cid!r}: value {merged['value']!r} is not a number") from None
        if math.isnan(value):
            raise AccuracyDataError(f"{where}: entry {cid!r}: unknown values are simply left out, not NaN")
        prov = merged.get("provenance")
        if prov is not None and not isinstance(prov, dict):
            raise AccuracyDataError(f"{where}: entry {cid!r}: provenance must be a mapping")
        out[str(cid)] = Accuracy(value, str(merged["metric"]), str(merged["source"]), str(merged["label"]),
                                 prov, profile)
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


# What one measured profile is bound to: every entry's provenance has the same values of these
# fields (checkpoint, data set, split) and every entry the same metric. Mixing them would make
# every later use (governors, `report-accuracy`, the study) compare numbers of different models
# or data as if they were one curve.
BINDING_FIELDS = ("checkpoint_sha256", "dataset", "split")


def binding_of(entry: Mapping[str, Any] | Accuracy) -> dict[str, Any]:
    """The binding of one entry (a profile-file mapping or an `Accuracy`): checkpoint hash,
    data set, split from its provenance (None where absent) and its metric."""
    if isinstance(entry, Accuracy):
        prov, metric = entry.provenance or {}, entry.metric
    else:
        prov, metric = entry.get("provenance") or {}, entry.get("metric")
    prov = prov if isinstance(prov, Mapping) else {}
    return {**{f: prov.get(f) for f in BINDING_FIELDS}, "metric": metric}


def describe_binding(b: Mapping[str, Any]) -> str:
    sha = b.get("checkpoint_sha256")
    return (f"checkpoint sha256 {str(sha)[:12] if sha else 'unknown'}, data {b.get('dataset') or 'unknown'} "
            f"{b.get('split') or ''}".rstrip() + f", metric {b.get('metric') or 'unknown'!r}")


def profile_binding(where: str, entries: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one binding all ``entries`` share (None for no entries); AccuracyDataError naming
    the file and what differs if they mix checkpoints, data sets, splits or metrics."""
    groups: dict[tuple, list[str]] = {}
    for cid, e in entries.items():
        b = binding_of(e)
        groups.setdefault(tuple(b.items()), []).append(str(cid))
    if len(groups) <= 1:
        return dict(next(iter(groups))) if groups else None
    keys = [dict(k) for k in groups]
    differ = [f for f in (*BINDING_FIELDS, "metric") if len({str(k[f]) for k in keys}) > 1]
    parts = "; ".join(f"{describe_binding(k)} ({len(v)} entries, e.g. {v[0]})" for k, v in
                      zip(keys, groups.values()))
    raise AccuracyDataError(f"{where}: the profile mixes {len(groups)} measurements (different "
                            f"{', '.join(differ)}): {parts}; a profile holds one checkpoint, data set, split and "
                            "metric: split it into one file per measurement, or measure again into a new profile")


@dataclass(frozen=True)
class Profile:
    """A measured accuracy profile file: its entries and its identity (path and hash)."""

    path: Path
    sha256: str
    family: str | None
    entries: Mapping[str, Accuracy]

    @property
    def name(self) -> str:
        """How traces name it: the path and the first 12 hex digits of its SHA-256."""
        return f"{self.path} (sha256 {self.sha256[:12]})"


def resolve_profile(name_or_path: str | Path) -> Path:
    """A profile file: an existing path, or the name of a shipped profile in ``data/measured``."""
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    shipped = MEASURED_DIR / (str(name_or_path) if str(name_or_path).endswith(".yaml") else f"{name_or_path}.yaml")
    if shipped.is_file() and "/" not in str(name_or_path):
        return shipped
    names = ", ".join(sorted(q.stem for q in MEASURED_DIR.glob("*.yaml"))) or "(none)"
    raise AccuracyDataError(f"accuracy profile {str(name_or_path)!r}: no such file, and not a shipped profile "
                            f"(shipped: {names}); expected a YAML file written by `cosim accuracy`")


@lru_cache(maxsize=64)
def _load_profile(path: str, mtime_ns: int, size: int) -> Profile:
    p = Path(path)
    data = p.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    try:
        shown = p.relative_to(Path.cwd())
    except ValueError:
        shown = p
    if p.is_relative_to(MEASURED_DIR):
        shown = Path("workloads/data/measured") / p.name
    name = f"{shown} (sha256 {sha[:12]})"
    family, _, entries = _load_file(p, where=str(p), profile=name)
    profile_binding(str(p), entries)  # one measurement per profile (an older tool could mix them)
    return Profile(shown, sha, family, entries)


def load_profile(name_or_path: str | Path) -> Profile:
    """Read a measured profile (a path or a shipped name); errors name the file."""
    p = resolve_profile(name_or_path).resolve()
    st = p.stat()
    return _load_profile(str(p), st.st_mtime_ns, st.st_size)


def accuracy_of(config: Any, data_dir: str | Path | None = None, profiles: Iterable[Profile] = ()) -> Accuracy:
    """The accuracy of a configuration (a ``Config`` or its canonical id string).

    ``profiles`` (measured profiles, `load_profile`) are searched first, in order; then
    the built-in tables. Unknown configurations give ``value=nan`` with source "not
    published or measured" (and the family's metric when a file declares one).
    """
    entries, metrics, _ = _load_all(str(data_dir or DATA_DIR))
    cid = config if isinstance(config, str) else config.id
    for prof in profiles:
        if cid in prof.entries:
            return prof.entries[cid]
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
    _load_profile.cache_clear()
