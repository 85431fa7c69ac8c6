"""Trace-analysis commands of `cosim`: report, export, compare."""

from __future__ import annotations

import contextlib
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


def claim_report_files(folder: str, trace: str):
    """The writer lock on every file a report writes, held while it is written."""
    from traces.output import claim_files
    from traces.report import FIGURES

    names = ("summary.csv", "summary.json", "config_counts.csv", *FIGURES, "report.md", "index.html")
    return claim_files([os.path.join(folder, n) for n in names], inputs=[trace], what="report file")


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
        from traces.output import check_output_folder

        folder = out or _default_report_dir(trace)
        made = not os.path.isdir(folder)
        check_output_folder(folder, inputs=[trace], what="report folder")
        try:
            _write(folder)
        except BaseException:
            if made:  # a folder this call made and nothing was written into: not left behind
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
            raise

    def _write(folder: str) -> None:
        import traces
        from traces.report import write_report_files

        with claim_report_files(folder, trace):
            with traces.open(trace) as t:
                s = traces.summary(t)
                metrics = traces.accuracy_metrics(t)
            print_summary(s, title=f"{os.path.basename(trace)}", metrics=metrics)
            files = write_report_files(trace, folder, formats=("md",) if markdown_only else ("html", "md"))
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
    force: bool = typer.Option(False, "--force", "-f", help="overwrite an existing output file"),
) -> None:
    """Export a trace for trace viewers (open the JSON in https://ui.perfetto.dev or chrome://tracing)."""
    if not chrome_trace:
        _fail("give an output: --chrome-trace OUT.json")

    def go():
        from traces.chrome import export_chrome_trace
        from traces.output import check_output

        check_output(chrome_trace, overwrite=force, inputs=[trace], what="--chrome-trace")

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
    force: bool = typer.Option(False, "--force", "-f", help="overwrite existing output files"),
) -> None:
    """Print the summaries of several traces side by side."""

    def go():
        from traces.compare import METRICS, compare as compare_df
        from traces.summary import MIXED, MIXED_CELL, SUMMARY_FORMATS
        from traces.output import check_output, output_path

        for opt, p in (("--csv", csv), ("--plot", plot)):
            if p:
                check_output(p, overwrite=force, inputs=traces_, what=opt)
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
            with output_path(csv, overwrite=force, inputs=traces_, what="--csv") as tmp:
                df.to_csv(tmp)
            console.print(f"wrote {csv}", highlight=False)
        if plot:
            from traces.plots import compare_traces

            fig = compare_traces(traces_, labels=list(df.columns.get_level_values(0).unique()))
            with output_path(plot, overwrite=force, inputs=traces_, what="--plot") as tmp:
                fig.savefig(tmp, dpi=110)
            console.print(f"wrote {plot}", highlight=False)

    _trace_guard(go)


trace_app = typer.Typer(help="Trace files: repair a killed run's trace.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")


@trace_app.command("repair")
def trace_repair(trace: str = typer.Argument(..., help="trace file (.h5) of a killed or failed run")) -> None:
    """Make a killed run's trace a plain HDF5 file any tool opens: clear the 'open for writing'
    flag (as h5clear -s does) and cut the tables back to the last completed flush."""

    def go():
        from traces.writer import repair

        r = repair(trace)
        done = []
        if r["flags_cleared"]:
            done.append("cleared the 'open for writing' flag")
        if r["cut"]:
            done.append("removed unflushed rows (" + ", ".join(f"/{t}: {n}" for t, n in r["cut"].items()) + ")")
        rows = ", ".join(f"{n} {t}" for t, n in r["rows"].items())
        console.print(f"{trace}: {'; '.join(done) if done else 'nothing to repair'}; holds {rows}", highlight=False)

    _trace_guard(go)
