"""`cosim sweep`, `cosim pareto`, `cosim reproduce`: design-space sweeps on Dask, Pareto fronts,
and the paper's study in one command."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from .cli_common import _fail, _guard, app, console, err_console


@app.command("sweep")
def sweep_cmd(
    spec: str = typer.Argument(..., help="sweep spec (YAML; see studies/ and cosim/sweeps.py)"),
    out: str = typer.Option(..., "--out", "-o", help="results directory (Parquet, one file per point; re-runs skip "
                                                     "finished points)"),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="local worker processes (default: one per "
                                                                        "core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="address of an existing Dask scheduler, "
                                                                      "e.g. tcp://10.0.0.5:8786"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="run points again whose earlier attempt failed"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run a design-space sweep on Dask and write one Parquet row per point."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    def go():
        from .sweeps import SweepReport, load_spec, sweep

        if workers is not None and workers < 1:
            _fail(f"--workers {workers} must be >= 1")
        if workers is not None and scheduler:
            _fail("give either --workers (a local cluster) or --scheduler (an existing one), not both")
        s = load_spec(spec)
        rep = SweepReport()
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=err_console, disable=quiet, transient=True) as prog:
            task = prog.add_task(s.name, total=None, info="starting workers")

            def tick(r: SweepReport) -> None:
                prog.update(task, total=r.total - r.skipped, completed=r.done,
                            info=f"failed {r.failed}, {r.points_per_min:.1f} points/min")

            df = sweep(s, out, workers=workers, scheduler=scheduler, retry_failed=retry_failed, progress=tick,
                       report=rep)
        console.print(str(rep), highlight=False)
        if rep.failed:
            for pid, e in list(rep.errors.items())[:5]:
                console.print(f"  [red]failed[/] {pid}: {e}", highlight=False)
            if rep.failed > 5:
                console.print(f"  ... {rep.failed - 5} more (the error column of the results)")
        if df is not None and len(df):
            xy = "--x latency_s --y energy_j" if s.mode == "simulate" else "--x latency_p99_s --y energy_per_frame_j"
            console.print(f"{len(df)} rows: pandas.read_parquet({out!r}) or `cosim pareto {out} {xy}`", highlight=False)

    _guard(go)


@app.command("pareto")
def pareto_cmd(
    results: str = typer.Argument(..., help="sweep results directory (or one Parquet file)"),
    x: str = typer.Option("latency_s", "--x", help="column to minimise (x axis)"),
    y: str = typer.Option("energy_j", "--y", help="column to minimise (y axis)"),
    z: Optional[str] = typer.Option(None, "--z", help="a third column to minimise (colour)"),
    accuracy: bool = typer.Option(False, "--accuracy", help="also maximise the accuracy column (rows with unknown "
                                                          "accuracy are left out)"),
    group: Optional[str] = typer.Option(None, "--group", help="one front per value of this column"),
    where: Optional[List[str]] = typer.Option(None, "--where", help="COLUMN=VALUE filter, repeatable"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="PNG path (default: RESULTS/pareto_<x>_<y>.png)"),
) -> None:
    """Pareto front(s) of sweep results: a table, a PNG and the knee points."""

    def go():
        from pathlib import Path

        from . import pareto as pa
        from .sweeps import load_results

        df = load_results(results)
        for w in where or []:
            if "=" not in w:
                _fail(f"--where {w!r} must be COLUMN=VALUE")
            k, v = w.split("=", 1)
            if k not in df.columns:
                _fail(f"--where {k}: no such column; columns: {', '.join(df.columns)}")
            df = df[df[k].astype(str) == v]
        objectives = [x, y] + ([z] if z else [])
        res = pa.fronts(df, objectives, maximise=["accuracy"] if accuracy else [], group=group)
        png = Path(out) if out else (Path(results) if Path(results).is_dir() else Path(results).parent) / \
            f"pareto_{x}_{y}{'_' + z if z else ''}{'_acc' if accuracy else ''}.png"
        pa.plot(res, x, y, z, png, group=group)
        t = Table(title=f"Pareto front ({', '.join(res.objectives_text)}): {len(res.front)} of {res.n_valid} points"
                        + (f", {res.n_dropped} without values left out" if res.n_dropped else ""),
                  title_justify="left")
        cols = [c for c in res.label_columns if c in res.front.columns] + res.all_objectives + ["knee"]
        for c in cols:
            t.add_column(c, justify="left" if c in res.label_columns else "right")
        for _, r in res.front.iterrows():
            t.add_row(*[("*" if r["knee"] else "") if c == "knee" else _fmt(r[c]) for c in cols])
        console.print(t)
        for _, r in res.front[res.front["knee"]].iterrows():
            console.print("knee" + (f" [{r[group]}]" if group else "") + ": " + ", ".join(
                f"{c}={_fmt(r[c])}" for c in cols if c != "knee"), highlight=False, markup=False)
        console.print(f"figure: {png}", highlight=False)

    _guard(go)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.4g}"
    return str(v)


@app.command("reproduce")
def reproduce_cmd(
    out: str = typer.Option("runs/reproduce", "--out", "-o", help="output folder (figures, sweeps, the page)"),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="local worker processes (default: one per "
                                                                        "core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="address of an existing Dask scheduler"),
    only: Optional[List[str]] = typer.Option(None, "--only", help="run only these parts (op_classes, b2_dynamic, "
                                                                  "ofa, vector_size, scaling)"),
    accuracy: Optional[List[str]] = typer.Option(None, "--accuracy", help="accuracy profile (YAML written by "
                                                 "`cosim accuracy`, or a shipped name such as segformer-demo), "
                                                 "repeatable: replaces the built-in tables wherever it covers a "
                                                 "configuration; part 2 then states time and energy saved at 1.4 "
                                                 "and 4 points of drop from it"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """The paper's study on this tool: sweeps under studies/, figures (PNG and SVG) and a Markdown
    page that puts the paper's published numbers beside the tool's, one verdict per part."""

    def go():
        from . import reproduce as rp

        page = rp.reproduce(out, workers=workers, scheduler=scheduler, only=only, accuracy=accuracy or (),
                            log=None if quiet else (lambda m: err_console.print(m, highlight=False)))
        console.print(f"page: {page}", highlight=False)

    _guard(go)
