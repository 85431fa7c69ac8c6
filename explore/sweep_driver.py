"""The sweep driver: the results folder claimed, damaged parts set aside, the points not yet done
run on Dask (a local cluster or an existing scheduler), each row written as its point finishes."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .sweep_results import _schema, _write_row, finished_ids, load_results
from .sweep_points import _one_line, chains, run_point, run_point_after, warm_up
from .sweep_spec import Spec, SpecError, load_spec


@dataclass
class SweepReport:
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    wall_s: float = 0.0       # the whole sweep, cluster start-up included
    startup_s: float = 0.0    # cluster start and worker warm-up (imports, SystemC JIT)
    workers: int = 0
    out: Path | None = None
    errors: dict[str, str] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)  # part file set aside -> why (its point runs again)

    @property
    def points_per_min(self) -> float:
        """Points per minute after start-up (warm workers)."""
        t = self.wall_s - self.startup_s
        return 60.0 * self.done / t if self.done and t > 0 else float("nan")

    def __str__(self) -> str:
        s = f"{self.total} points: {self.done} run ({self.failed} failed), {self.skipped} already done"
        if self.damaged:
            s += f", {len(self.damaged)} damaged result part(s) set aside and run again"
        if self.done:
            s += (f"; {self.wall_s:.1f} s wall on {self.workers} worker(s) ({self.startup_s:.1f} s start-up), "
                  f"{self.points_per_min:.1f} points/min")
        return s + f" -> {self.out}"


def check_workers(workers: Any, scheduler: str | None = None) -> None:
    """The one check of a worker count (``--workers/-j`` of every command that starts a cluster)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError(f"--workers {workers} must be an integer >= 1 (local worker processes)")
    if workers is not None and scheduler:
        raise SpecError("give either --workers (a local cluster) or --scheduler (an existing one), not both")


def _client(workers: int | None, scheduler: str | None):
    """A Dask client: on an existing scheduler, or on a new LocalCluster (returned to close)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        from .sweep_checks import check_scheduler

        check_scheduler(scheduler)  # form and reachability, in seconds and one line
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, ValueError, TypeError) as e:
            raise SpecError(f"--scheduler {scheduler}: cannot connect a Dask client ({_one_line(e)})") from None
    n = workers or max(1, os.cpu_count() or 1)
    # the worker processes ignore SIGINT (inherited through their spawn): a Ctrl-C in the terminal
    # reaches the whole process group, and this process stops the cluster itself, where each
    # worker would print tracebacks of its own
    main = threading.current_thread() is threading.main_thread()  # (only it may set handlers)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, host="127.0.0.1")
    finally:
        if main:  # (None: a handler not set from Python; SIG_DFL is the nearest)
            signal.signal(signal.SIGINT, signal.SIG_DFL if old is None else old)
    return Client(cluster), cluster


def _results_folder(out: str | os.PathLike) -> Path:
    """The results folder, made if missing; one line if it cannot be."""
    from .sweep_checks import ResultsError

    d = Path(out)
    if d.exists() and not d.is_dir():
        raise SpecError(f"-o {str(d)!r} exists and is not a directory (sweep results are a Parquet directory)")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ResultsError(f"cannot create results folder {d}: {e.strerror or e}") from None
    return d


def _write_error(d: Path, e: OSError, rep: SweepReport, todo: int):
    from .sweep_checks import ResultsError

    return ResultsError(f"cannot write results to {d}: {e.strerror or e}; {rep.done} of {todo} points were "
                        "written this run, each part whole (none half-written); free space or fix the folder, "
                        "then run the same command again to resume")


def sweep(spec: str | os.PathLike | Mapping[str, Any] | Spec, out: str | os.PathLike, *, workers: int | None = None,
          scheduler: str | None = None, client: Any = None, retry_failed: bool = False,
          progress: Callable[[SweepReport], None] | None = None, report: SweepReport | None = None,
          stop: Any = None):
    """Run every point of ``spec`` not yet in ``out`` on Dask; return all results (pandas).

    ``workers``: local worker processes (default: one per core); ``scheduler``: the address of
    an existing Dask scheduler (``tcp://HOST:PORT``) instead; ``client``: a `distributed.Client`
    to use (several sweeps on one cluster; left open). ``retry_failed`` runs points
    again whose earlier attempt failed. ``progress(report)`` is called after every point.
    One sweep at a time writes a results folder (a second is refused, naming the first); damaged
    result parts are set aside (``.damaged-part-*.parquet``) and their points run again.
    ``stop`` (a `threading.Event`, for a sweep run from a thread): once set, the sweep ends without
    writing a row for a point that did not finish (its client is being closed: the point was
    interrupted, not failed, and a re-run runs it).
    """
    from .sweep_checks import ResultsLock

    check_workers(workers, scheduler)
    s = spec if isinstance(spec, Spec) else load_spec(spec)
    d = _results_folder(out)
    with ResultsLock(d):
        return _sweep_locked(s, d, workers, scheduler, client, retry_failed, progress,
                             report if report is not None else SweepReport(), stop)


def _sweep_locked(s: Spec, d: Path, workers, scheduler, client, retry_failed, progress, rep: SweepReport,
                  stop: Any = None):
    """`sweep` once the folder is claimed (damaged parts, the points to run, the cluster, the rows)."""
    from distributed import as_completed

    from .sweep_checks import damaged_parts, set_aside

    points = s.points()
    schema = _schema(s, points)
    try:
        for part, why in damaged_parts(d):
            rep.damaged[str(set_aside(part))] = why
        done = finished_ids(d, include_failed=not retry_failed)
        todo = [p for p in points if p.id not in done]
        rep.total, rep.skipped, rep.out = len(points), len(points) - len(todo), d
        _write_text_atomic(d / "_sweep.json", json.dumps({"name": s.name, "mode": s.mode, "spec": s.source,
                                                           "points": len(points)}, indent=1))
    except OSError as e:
        raise _write_error(d, e, rep, 0) from None
    t0 = time.perf_counter()
    if todo:
        own = client is None
        client, cluster = _client(workers, scheduler) if own else (client, None)
        try:
            rep.workers = len(client.scheduler_info()["workers"])
            try:
                client.run(warm_up)  # JIT and imports once per worker, in parallel
            except Exception as e:
                raise SpecError(f"the Dask workers cannot run dynvit-cosim ({_one_line(e)}); start each `dask "
                                f"worker` from this project's environment (.venv/bin/dask worker ...)") from None
            rep.startup_s = time.perf_counter() - t0
            futs = {}
            for chain in chains(todo, rep.workers):
                prev = None
                for p in chain:
                    key = f"{s.name}-{p.id}-{uuid.uuid4().hex[:6]}"
                    fut = (client.submit(run_point, p.mode, p.as_dict(), key=key, pure=False) if prev is None else
                           client.submit(run_point_after, prev, p.mode, p.as_dict(), key=key, pure=False))
                    futs[fut] = p
                    prev = fut
            for fut in as_completed(futs):
                p = futs[fut]
                try:
                    row = fut.result()
                except Exception as e:  # a worker died under the point (KilledWorker), or transport
                    if stop is not None and stop.is_set():  # interrupted, not failed: no row
                        for f in futs:
                            f.cancel()
                        break
                    row = {"error": _one_line(e), "wall_s": float("nan"), "worker": ""}
                try:
                    _write_row(d, schema, p, s, row)
                except OSError as e:  # a full disk, a folder made read-only: stop; a re-run resumes
                    for f in futs:
                        f.cancel()
                    raise _write_error(d, e, rep, len(todo)) from None
                rep.done += 1
                if row.get("error"):
                    rep.failed += 1
                    rep.errors[p.id] = row["error"]
                rep.wall_s = time.perf_counter() - t0
                if progress:
                    progress(rep)
        finally:
            if own:
                client.close()
            if cluster is not None:
                cluster.close()
    rep.wall_s = time.perf_counter() - t0
    df = load_results(d) if any(d.glob("part-*.parquet")) else None
    if df is not None:
        ids = {p.id for p in points}
        df = df[df["point_id"].isin(ids)].reset_index(drop=True)
    return df


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
