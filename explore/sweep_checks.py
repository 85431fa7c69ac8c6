"""What a sweep checks before any work, and how it guards its results folder.

* sizes before expansion: an axis's number of values and the grid's number of points are computed
  from the spec's numbers (never by expanding them) and refused above ``max_points``
  (:data:`MAX_POINTS` unless the spec sets ``max_points``);
* coordinate values a worker could not use: non-finite numbers, integers that do not fit the
  results' int64 columns;
* the results folder: one writer at a time (:class:`ResultsLock`, naming the other process),
  writable, and damaged result parts moved aside (reported and run again, never counted finished);
* the scheduler address: its form and whether it answers, within seconds.

Every refusal is a `vocab.errors.UserError` with one line naming the field or the path.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import socket
from pathlib import Path
from typing import Any

from vocab.errors import UserError

__all__ = ["MAX_POINTS", "ResultsError", "ResultsLock", "range_count", "size_error", "number_error",
           "damaged_parts", "check_scheduler", "LOCK_NAME", "row_violations"]

#: Points (and values of one axis) a spec may expand to unless it sets ``max_points``: a
#: sweep of this many points runs for days on a workstation; more is almost always a typo
#: (``range: [1, 1e12, 1]``).
MAX_POINTS = 100_000
#: The lock file of a results folder (hidden: pandas and pyarrow skip names starting with '.').
LOCK_NAME = ".sweep.lock"
#: Seconds to wait for a Dask scheduler to accept a connection.
SCHEDULER_CONNECT_S = 5.0
INT64 = (-(2**63), 2**63 - 1)


class ResultsError(UserError, OSError):
    """The results folder cannot be written (busy, read-only, full, not a folder)."""


def range_count(lo: float, hi: float, step: float) -> int:
    """Values of ``range: [lo, hi, step]`` (lo..hi inclusive), computed, not expanded."""
    return int(math.floor((hi - lo) / step + 1e-9)) + 1


def size_error(n: int | float, limit: int, what: str) -> str | None:
    """The complaint about ``what`` giving ``n`` points, None within the limit."""
    if n <= limit:
        return None
    return (f"{what} gives {n:.4g} points, more than the limit of {limit}; set max_points in the spec to "
            "allow more (a sweep point takes seconds to minutes)")


def number_error(key: str, value: Any) -> str | None:
    """The complaint about a number a point cannot be run with or its row cannot hold (not finite,
    an integer beyond int64), None if it is fine (or not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{key} = {value!r} must be a finite number"
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        return (f"{key} = {value} does not fit a 64-bit integer (the results' column type); "
                f"allowed: [{INT64[0]}, {INT64[1]}]")
    return None


def _why(e: OSError) -> str:
    return e.strerror or str(e)


class ResultsLock:
    """An exclusive claim on a results folder: the lock of `traces.output.FileLock` on a hidden file
    that names the holder (pid, host, start time). The operating system drops the lock when the
    process ends, however it ends, so a killed sweep leaves no stale lock. A second sweep into the
    same folder is refused with a message naming the first."""

    def __init__(self, folder: str | os.PathLike) -> None:
        from traces.output import FileLock, LockRefused  # lazy: traces loads h5py, a spec's checks need neither

        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        try:
            self._lock = FileLock(self.path, read_holder=_read_holder)
        except LockRefused as r:
            if r.opening:
                raise ResultsError(f"results folder {self.folder} is not writable ({_why(r.error)})") from None
            if r.busy:
                raise ResultsError(f"results folder {self.folder} is being written by another sweep ({r.holder}); "
                                   "wait for it to finish or give another -o") from None
            raise ResultsError(f"cannot lock results folder {self.folder}: {_why(r.error)}") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
        try:
            self._lock.write(json.dumps(me))
        except OSError as e:
            self.release()
            raise ResultsError(f"results folder {self.folder} is not writable ({_why(e)})") from None

    @property
    def held(self) -> bool:
        return self._lock.held

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> "ResultsLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        d = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {d['pid']} on {d['host']}, started {d['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its name yet"


def damaged_parts(folder: Path) -> list[tuple[Path, str]]:
    """Result parts (``part-*.parquet``) whose Parquet footer cannot be read, with the reason."""
    import pyarrow.parquet as pq

    bad = []
    for p in sorted(folder.glob("part-*.parquet")):
        try:
            md = pq.read_metadata(p)
            if md.num_rows != 1:
                raise ValueError(f"holds {md.num_rows} rows, a result part holds 1")
        except Exception as e:  # ArrowInvalid, OSError (truncated), ValueError
            bad.append((p, " ".join(str(e).split())[:200] or type(e).__name__))
    return bad


def set_aside(part: Path) -> Path:
    """Move a damaged part out of the results (hidden, so no reader globs it) and return where."""
    dest = part.with_name(f".damaged-{part.name}")
    os.replace(part, dest)
    return dest


def check_scheduler(address: str) -> None:
    """A Dask scheduler address (``tcp://HOST:PORT`` or ``HOST:PORT``) that accepts a connection
    within :data:`SCHEDULER_CONNECT_S`; one line otherwise."""
    from urllib.parse import urlsplit

    text = address.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise UserError(f"--scheduler {address!r} is not a Dask scheduler address; give tcp://HOST:PORT "
                        "(e.g. tcp://10.0.0.5:8786)")
    try:
        with socket.create_connection((parts.hostname, port), timeout=SCHEDULER_CONNECT_S):
            pass
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) or isinstance(e, socket.timeout) else _why(e)
        raise UserError(f"--scheduler {address}: cannot reach a Dask scheduler there ({why} within "
                        f"{SCHEDULER_CONNECT_S:g} s)") from None


#: The simulated-time ceiling: int64 picoseconds (a latency at or beyond it was clamped).
MAX_SIM_S = (2**63 - 1) * 1e-12
#: A latency this close to the ceiling was clamped (a real run is hours, the ceiling ~106 days).
CLAMPED = 0.99
#: Relative tolerance of the energy sum check (float rounding of a sum of components).
ENERGY_SUM_RTOL = 1e-6


def row_violations(row: dict[str, Any]) -> str:
    """The invariants a sweep row's numbers must hold, checked before the row is written (issue 20
    item 2): "" if all hold, else one line naming each broken one. Applies to the columns present:
    utilisation in [0, 1]; latencies finite, > 0 and below the simulated-time ceiling (a clamped
    value); energies finite and >= 0, the total equal to the sum of its components; issued MACs at
    least the useful ones; rates in [0, 1]; counts non-negative.

    Hook: helper `guards` writes the accelerator's own invariant check (latency against the compute
    and memory bounds) and a derived-range hardware validation in accelerator/; once merged, call
    them in `explore.sweep_points._simulate_point` (result) and `explore.sweep_spec.load_spec` (hardware), beside
    this check, which stays the last word before a row is written."""
    bad = []

    def num(k):
        v = row.get(k)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    for k in ("utilization", "miss_rate"):
        v = num(k)
        if v is not None and not 0.0 <= v <= 1.0:
            bad.append(f"{k} = {v:.6g} is outside [0, 1]")
    for k in ("latency_s", "latency_p50_s", "latency_p99_s"):
        v = num(k)
        if v is not None and not math.isnan(v) and not 0.0 < v < CLAMPED * MAX_SIM_S:
            bad.append(f"{k} = {v:.6g} s is not within (0, {MAX_SIM_S:.4g}) s, the simulated-time range (at its "
                       "ceiling: a clamped value)")
    energies = {k: num(k) for k in row if k.startswith("energy_") and k.endswith("_j")}
    for k, v in energies.items():
        if v is not None and not math.isnan(v) and not (math.isfinite(v) and v >= 0):
            bad.append(f"{k} = {v:.6g} J must be finite and >= 0")
    total = energies.get("energy_j")
    parts = [v for k, v in energies.items() if k not in ("energy_j", "energy_per_frame_j", "energy_total_j")]
    if total is not None and parts and all(v is not None and math.isfinite(v) for v in parts) and math.isfinite(total):
        s = math.fsum(parts)
        if abs(s - total) > ENERGY_SUM_RTOL * max(abs(total), abs(s), 1e-30):
            bad.append(f"energy_j = {total:.9g} J differs from the sum of its components ({s:.9g} J)")
    mu, mi = num("macs"), num("macs_issued")
    if mu is not None and mi is not None and mi < mu:
        bad.append(f"macs_issued = {mi:.0f} is below the useful macs = {mu:.0f}")
    for k in ("dram_bytes", "macs", "macs_issued", "frames", "run", "dropped", "missed"):
        v = num(k)
        if v is not None and v < 0:
            bad.append(f"{k} = {v:.0f} is negative")
    return ("result violates invariants: " + "; ".join(bad)) if bad else ""
