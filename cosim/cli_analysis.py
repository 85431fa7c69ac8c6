"""Trace-analysis commands of `cosim`: report, export, compare."""

from __future__ import annotations

import os
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import _fail, _guard, app, console, print_summary


def _trace_guard(fn):
    """_guard, plus the trace reader's bad-input errors (missing file, not a trace)
    and unwritable outputs, each as one clear line with exit code 2."""
    import traces

    def go():
        try:
            return fn()
        except FileNotFoundError as e:
            _fail(str(e) if "trace" in str(e) else f"file not found: {e.filename or e}")
        except traces.TraceFormatError as e:
            _fail(str(e))
        except (IsADirectoryError, NotADirectoryError, PermissionError) as e:
            _fail(f"cannot write {e.filename or ''}: {e.strerror or e}".replace("write : ", "write: "))
        except OSError as e:  # e.g. disk full while writing an output
            _fail(f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}")

    return _guard(go)


def _default_report_dir(trace: str) -> str:
    stem, _ = os.path.splitext(trace)
    return f"{stem}-report"


@app.command()
def report(
    trace: str = typer.Argument(..., help="trace file (.h5) written by `cosim run`"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="report folder (default: <trace>-report beside the trace)"),
    markdown_only: bool = typer.Option(False, "--markdown", help="write the Markdown page only (no HTML)"),
) -> None:
    """Write a report of a trace: summary tables, figures (PNG) and a page embedding them."""

    def go():
        import traces
        from traces.report import write_report_files

        with traces.open(trace) as t:
            s = traces.summary(t)
            metrics = traces.accuracy_metrics(t)
        print_summary(s, title=f"{os.path.basename(trace)}", metrics=metrics)
        files = write_report_files(trace, out or _default_report_dir(trace), formats=("md",) if markdown_only else ("html", "md"))
        page = files.get("html") or files["md"]
        console.print(f"[bold]report:[/] {page}", highlight=False)
        for kind, p in files.items():
            if p != page:
                console.print(f"  wrote {p}", highlight=False)

    _trace_guard(go)


@app.command()
def export(
    trace: str = typer.Argument(..., help="trace file (.h5)"),
    chrome_trace: Optional[str] = typer.Option(None, "--chrome-trace", help="write Chrome / Perfetto trace-event JSON here"),
    no_layers: bool = typer.Option(False, "--no-layers", help="leave out the layer events (smaller file)"),
    perfetto: Optional[str] = typer.Option(None, "--perfetto", help="write Perfetto's binary trace (protobuf) here; "
                                           "a long run is cut into parts the Perfetto UI opens (OUT-001.pftrace, ...)"),
    force: bool = typer.Option(False, "--force", "-f", help="overwrite an existing output file"),
) -> None:
    """Export a trace for trace viewers (open the JSON in https://ui.perfetto.dev or chrome://tracing)."""
    if not chrome_trace and not perfetto:
        _fail("give an output: --perfetto OUT.pftrace (long runs) or --chrome-trace OUT.json")

    def go():
        from traces.chrome import export_chrome_trace
        from traces.output import OutputError, check_not_input

        for opt, p in (("--chrome-trace", chrome_trace), ("--perfetto", perfetto)):
            if p:
                check_not_input(p, [trace], opt)
                if os.path.lexists(p) and not os.path.isdir(p) and not force:
                    raise OutputError(f"{opt} {p} exists; give --force to overwrite it")
        if perfetto:
            from traces.perfetto import export_perfetto

            parts = export_perfetto(trace, perfetto, layers=not no_layers)
            for p in parts:
                console.print(f"perfetto trace: {p} ({os.path.getsize(p) / 1e6:.2f} MB)", highlight=False,
                              markup=False, soft_wrap=True)
            console.print("open it in https://ui.perfetto.dev" if len(parts) == 1 else
                          "open the parts (each a span of simulated time) one at a time in https://ui.perfetto.dev",
                          highlight=False, markup=False, soft_wrap=True)
        if chrome_trace:
            p = export_chrome_trace(trace, chrome_trace, layers=not no_layers)
            console.print(f"[bold]chrome trace:[/] {p} ({os.path.getsize(p) / 1e6:.2f} MB); open it in https://ui.perfetto.dev",
                          highlight=False)

    _trace_guard(go)


@app.command()
def compare(
    traces_: List[str] = typer.Argument(..., metavar="TRACE.h5...", help="two or more trace files"),
    streams: bool = typer.Option(True, "--streams/--all-only", help="show every stream, or only each trace's aggregate"),
    csv: Optional[str] = typer.Option(None, "--csv", help="also write the table as CSV here"),
    plot: Optional[str] = typer.Option(None, "--plot", help="also write a comparison figure (PNG) here"),
) -> None:
    """Print the summaries of several traces side by side."""

    def go():
        from traces.compare import METRICS, compare as compare_df
        from traces.summary import MIXED, MIXED_CELL, SUMMARY_FORMATS
        from traces.output import check_not_input, prepare_parent

        for opt, p in (("--csv", csv), ("--plot", plot)):
            if p:
                check_not_input(p, traces_, opt)
                if os.path.isdir(p):
                    _fail(f"{opt} {p} is a folder; give a file name")
                prepare_parent(p, opt)  # a missing folder is made; a file in the way is a clear error
        df = compare_df(traces_)
        cols = list(df.columns) if streams else [c for c in df.columns if c[1] == "all"]
        t = Table(title="comparison", title_justify="left")
        t.add_column("metric", no_wrap=True)
        for tr, st in cols:
            t.add_column(escape(f"{tr}\n{st}"), justify="right")
        mixed = {c for c in cols if df.attrs.get("metrics", {}).get(c[0], {}).get(c[1], "").startswith(MIXED)}
        for key in METRICS:
            f = SUMMARY_FORMATS[key]
            t.add_row(escape(f.header()), *[MIXED_CELL if key == "accuracy_mean" and c in mixed else f.cell(df.loc[key, c])
                                            for c in cols])
        console.print(t)
        for label, p in df.attrs["paths"].items():
            sc = df.attrs["scenarios"].get(label, "")
            console.print(f"  {label}: {p}" + (f"  ({sc})" if sc else ""), highlight=False)
        if csv:
            df.to_csv(csv)
            console.print(f"wrote {csv}", highlight=False)
        if plot:
            from traces.plots import compare_traces

            compare_traces(traces_, labels=list(df.columns.get_level_values(0).unique())).savefig(plot, dpi=110)
            console.print(f"wrote {plot}", highlight=False)

    _trace_guard(go)


trace_app = typer.Typer(help="Trace files: repair a killed run's trace.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")


@trace_app.command("repair")
def trace_repair(
    trace: str = typer.Argument(..., help="trace file (.h5) of a killed or failed run"),
    no_backup: bool = typer.Option(False, "--no-backup", help="keep no copy of the original (default: TRACE.bak)"),
) -> None:
    """Make a killed run's trace a plain HDF5 file any tool opens: clear the 'open for writing'
    flag (as h5clear -s does) and cut the tables back to the last completed flush. A complete
    trace never loses a row; the work is done on a copy that replaces the file once it verifies,
    and the original is kept as TRACE.bak unless --no-backup."""

    def go():
        from traces.repair import repair

        r = repair(trace, backup=not no_backup)
        rows = ", ".join(f"{n} {t}" for t, n in r.rows.items())
        if not r.changed:
            console.print(f"{trace}: nothing to repair; holds {rows}", highlight=False, markup=False, soft_wrap=True)
            return
        console.print(f"{trace}: repaired; holds {rows}", highlight=False, markup=False, soft_wrap=True)
        for line in r.lines():
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"  original kept as {r.backup}" if r.backup else "  no backup kept (--no-backup)",
                      highlight=False, markup=False, soft_wrap=True)

    _trace_guard(go)
