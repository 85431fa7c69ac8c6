"""`cosim sweep`, `cosim pareto`, `cosim reproduce`: design-space sweeps on Dask, Pareto fronts,
and the paper's study in one command."""

from __future__ import annotations

from typing import List, Optional

import typer

from .cli_common import _fail, _guard, app, console, err_console, print_table


def _resumable(fn, out: str) -> None:
    """`_guard(fn)`; a Ctrl-C ends with one line saying what is kept and how to go on (exit 130)."""
    try:
        _guard(fn)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: every finished point is kept in {out}; the same command runs the rest",
                          highlight=False)
        raise typer.Exit(130) from None


@app.command("sweep")
def sweep_cmd(
    spec: str = typer.Argument(..., metavar="SPEC.yaml", help="sweep spec (YAML; see studies/ and explore/sweep_spec.py)"),
    out: str = typer.Option(..., "--out", "-o", metavar="FOLDER", help="results directory (Parquet, one file per point; re-runs skip "
                                                     "finished points)"),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", metavar="N", help="local worker processes (default: one per "
                                                                        "core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS", help="address of an existing Dask scheduler, "
                                                                      "e.g. tcp://10.0.0.5:8786"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="run points again whose earlier attempt failed"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run a design-space sweep on Dask and write one Parquet row per point."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    def go():
        from explore.sweep_driver import SweepReport, check_workers, sweep
        from explore.sweep_spec import load_spec

        check_workers(workers, scheduler)
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
                console.print(f"  failed {pid}: {e}")
            if rep.failed > 5:
                console.print(f"  ... {rep.failed - 5} more (the error column of the results)")
        if df is not None and len(df):
            xy = "--x latency_s --y energy_j" if s.mode == "simulate" else "--x latency_p99_s --y energy_per_frame_j"
            console.print(f"{len(df)} rows: pandas.read_parquet({out!r}) or `cosim pareto {out} {xy}`", highlight=False)

    _resumable(go, out)


@app.command("pareto")
def pareto_cmd(
    results: str = typer.Argument(..., metavar="RESULTS", help="sweep results directory (or one Parquet file)"),
    x: str = typer.Option("latency_s", "--x", metavar="COLUMN", help="column to minimise (x axis)"),
    y: str = typer.Option("energy_j", "--y", metavar="COLUMN", help="column to minimise (y axis)"),
    z: Optional[str] = typer.Option(None, "--z", metavar="COLUMN", help="a third column to minimise (colour)"),
    accuracy: bool = typer.Option(False, "--accuracy", help="also maximise the accuracy column (rows with unknown "
                                                          "accuracy are left out)"),
    group: Optional[str] = typer.Option(None, "--group", metavar="COLUMN", help="one front per value of this column"),
    where: Optional[List[str]] = typer.Option(None, "--where", metavar="COLUMN=VALUE", help="COLUMN=VALUE filter, repeatable"),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="FILE|FOLDER", help="PNG file, or an existing folder to write it in "
                                                            "(default: beside RESULTS, RESULTS-pareto_<x>_<y>.png)"),
    force: bool = typer.Option(False, "--force", "-f", help="overwrite an existing --out file"),
) -> None:
    """Pareto front(s) of sweep results: a table, a PNG and the knee points."""

    def go():
        from pathlib import Path

        from traces.output import check_output, output_path

        from explore import pareto as pa
        from explore.sweep_results import load_results

        png = _pareto_png(results, out, f"pareto_{x}_{y}{'_' + z if z else ''}{'_acc' if accuracy else ''}.png")
        inputs = sorted(Path(results).glob("part-*.parquet")) if Path(results).is_dir() else [results]
        check_output(png, overwrite=force or not out, inputs=inputs, what="Pareto figure")
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
        with output_path(png, overwrite=force or not out, inputs=inputs, what="Pareto figure") as tmp:
            pa.plot(res, x, y, z, tmp, group=group)
        title = (f"Pareto front ({', '.join(res.objectives_text)}): {len(res.front)} of {res.n_valid} points"
                 + (f", {res.n_dropped} without values left out" if res.n_dropped else ""))
        cols = [c for c in res.label_columns if c in res.front.columns] + res.all_objectives + ["knee"]
        rows = [[("*" if r["knee"] else "") if c == "knee" else _fmt(r[c]) for c in cols] for _, r in res.front.iterrows()]
        nlab = len([c for c in cols if c in res.label_columns])
        print_table(title, cols, rows, justify=["left" if c in res.label_columns else "right" for c in cols],
                    key_columns=max(nlab, 1))
        for _, r in res.front[res.front["knee"]].iterrows():
            console.print("knee" + (f" [{r[group]}]" if group else "") + ": " + ", ".join(
                f"{c}={_fmt(r[c])}" for c in cols if c != "knee"))
        console.print(f"figure: {png}")

    _guard(go)


def _pareto_png(results: str, out: str | None, name: str):
    """Where the figure goes: ``-o FILE`` as given (``.png`` added when it has no suffix), ``-o
    FOLDER`` (an existing one) inside it; by default beside the results, never inside a sweep's
    folder (readers of the folder take every file there for a result)."""
    from pathlib import Path

    r = Path(results)
    if out:
        o = Path(out)
        if o.is_dir():
            if r.is_dir() and o.resolve() == r.resolve():
                _fail(f"-o {out} is the sweep's results folder; the figure goes beside it, not inside "
                      "(readers of the folder take every file there for a result)")
            return o / name
        return o if o.suffix else o.with_name(o.name + ".png")
    if r.is_dir():
        return r.parent / f"{r.name}-{name}"
    return r.parent / f"{r.stem}-{name}"


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.4g}"
    return str(v)


@app.command("reproduce")
def reproduce_cmd(
    out: str = typer.Option("runs/reproduce", "--out", "-o", metavar="FOLDER", help="output folder (figures, sweeps, the page)"),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", metavar="N", help="local worker processes (default: one per "
                                                                        "core)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS", help="address of an existing Dask scheduler"),
    only: Optional[List[str]] = typer.Option(None, "--only", metavar="PART", help="run only these parts (op_classes, b2_dynamic, "
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
        from traces.output import check_output_folder

        from explore import reproduce as rp
        from explore.sweep_driver import check_workers

        check_workers(workers, scheduler)  # the same check as `cosim sweep`'s
        check_output_folder(out, what="output folder")  # before any sweep: a file in the way is one line
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                      console=err_console, disable=quiet, transient=True) as prog:
            tasks: dict = {}

            def tick(name, r) -> None:  # per point, like `cosim sweep`
                if name not in tasks:
                    tasks[name] = prog.add_task(name, total=None, info="")
                prog.update(tasks[name], total=r.total - r.skipped, completed=r.done, info=f"failed {r.failed}")

            page = rp.reproduce(out, workers=workers, scheduler=scheduler, only=only, accuracy=accuracy or (),
                                log=None if quiet else (lambda m: err_console.print(m, highlight=False)),
                                progress=tick)
        console.print(f"page: {page}", highlight=False)

    _resumable(go, out)
