"""Trace-analysis commands of `cosim`: report, export, compare."""

from __future__ import annotations

import contextlib
import os
from typing import List, Optional

import typer

from .cli_common import _fail, _guard, app, console, print_summary, print_table


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
    """The writer lock on every file a report writes, held while it is written (figures too:
    `traces.style.save` only writes each whole, it claims nothing)."""
    from traces.output import claim_files
    from traces.report import FIGURES

    names = ("summary.csv", "summary.json", "config_counts.csv", *FIGURES,
             *(os.path.splitext(f)[0] + ".svg" for f in FIGURES), "report.md", "index.html")
    return claim_files([os.path.join(folder, n) for n in names], inputs=[trace], what="report file")


def _default_report_dir(trace: str) -> str:
    stem, _ = os.path.splitext(trace)
    return f"{stem}-report"


@app.command()
def report(
    trace: str = typer.Argument(..., metavar="TRACE.h5", help="trace file (.h5) written by `cosim run`"),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="FOLDER", help="report folder (default: <trace>-report beside the trace)"),
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
                complete = t.meta["complete"]
            print_summary(s, title=f"{os.path.basename(trace)}", metrics=metrics, complete=complete)
            files = write_report_files(trace, folder, formats=("md",) if markdown_only else ("html", "md"))
        page = files.get("html") or files["md"]
        console.print(f"report: {page}")
        for kind, p in files.items():
            if p != page:
                console.print(f"  wrote {p}")

    _trace_guard(go)


@app.command()
def export(
    trace: str = typer.Argument(..., metavar="TRACE.h5", help="trace file (.h5)"),
    chrome_trace: Optional[str] = typer.Option(None, "--chrome-trace", metavar="FILE.json", help="write Chrome / Perfetto trace-event JSON here"),
    parquet: Optional[str] = typer.Option(None, "--parquet", metavar="FOLDER", help="write the tables (frames, layers, "
                                          "resources, configs) as FOLDER/<table>.parquet, units in the schema metadata"),
    csv: Optional[str] = typer.Option(None, "--csv", metavar="FOLDER", help="write the tables as FOLDER/<table>.csv"),
    no_layers: bool = typer.Option(False, "--no-layers", help="leave out the layer events (smaller file)"),
    perfetto: Optional[str] = typer.Option(None, "--perfetto", help="write Perfetto's binary trace (protobuf) here; "
                                           "a long run is cut into parts the Perfetto UI opens (OUT-001.pftrace, ...)"),
    force: bool = typer.Option(False, "--force", "-f", help="overwrite an existing output file"),
) -> None:
    """Export a trace: its tables as Parquet or CSV (pandas reads them without this project), or a
    timeline for trace viewers (Perfetto's binary format for long runs, or Chrome trace-event JSON;
    open either in https://ui.perfetto.dev)."""
    if not (chrome_trace or perfetto or parquet or csv):
        _fail("give an output: --perfetto OUT.pftrace (long runs), --chrome-trace OUT.json, --parquet FOLDER or --csv FOLDER")

    def go():
        from traces.tables import export_tables

        for fmt, folder in (("parquet", parquet), ("csv", csv)):
            if folder:
                if os.path.exists(folder) and not os.path.isdir(folder):
                    _fail(f"--{fmt} {folder} is a file; give a folder")
                try:
                    files = export_tables(trace, folder, fmt, overwrite=force)
                except FileExistsError as e:
                    _fail(str(e))
                console.print(f"{fmt}: " + ", ".join(str(p) for p in files))
        if not (chrome_trace or perfetto):
            return
        from traces.chrome import export_chrome_trace
        from traces.output import check_output

        for opt, p in (("--chrome-trace", chrome_trace), ("--perfetto", perfetto)):
            if p:
                check_output(p, overwrite=force, inputs=[trace], what=opt)
        if perfetto:
            from traces.perfetto import export_perfetto

            parts = export_perfetto(trace, perfetto, layers=not no_layers)
            for p in parts:
                console.print(f"perfetto trace: {p} ({os.path.getsize(p) / 1e6:.2f} MB)")
            console.print("open it in https://ui.perfetto.dev" if len(parts) == 1 else
                          "open the parts (each a span of simulated time) one at a time in https://ui.perfetto.dev")
        if chrome_trace:
            p = export_chrome_trace(trace, chrome_trace, layers=not no_layers)
            console.print(f"chrome trace: {p} ({os.path.getsize(p) / 1e6:.2f} MB); open it in https://ui.perfetto.dev")

    _trace_guard(go)


@app.command()
def compare(
    traces_: List[str] = typer.Argument(..., metavar="TRACE.h5...", help="two or more trace files"),
    streams: bool = typer.Option(True, "--streams/--all-only", help="show every stream, or only each trace's aggregate"),
    csv: Optional[str] = typer.Option(None, "--csv", metavar="FILE.csv", help="also write the table as CSV here"),
    plot: Optional[str] = typer.Option(None, "--plot", metavar="FILE.png", help="also write a comparison figure here (PNG, or SVG/PDF by the suffix)"),
    force: bool = typer.Option(False, "--force", "-f", help="overwrite existing output files"),
) -> None:
    """Print the summaries of several traces side by side."""

    def go():
        from traces.compare import METRICS, accuracy_ranking, compare as compare_df, tidy
        from traces.output import check_output, output_path
        from traces.summary import ACCURACY_CELL_HEADER, PARTIAL_NOTE, SUMMARY_FORMATS, accuracy_cell, accuracy_partial

        for opt, p in (("--csv", csv), ("--plot", plot)):
            if p:
                check_output(p, overwrite=force, inputs=traces_, what=opt)
        df = compare_df(traces_)
        cols = list(df.columns) if streams else [c for c in df.columns if c[1] == "all"]
        complete = df.attrs.get("complete", {})
        metrics = df.attrs.get("metrics", {})
        headers = ["metric"] + [f"{tr}{'' if complete.get(tr, True) else ' (INCOMPLETE)'} {st}" for tr, st in cols]
        rows = []
        for key in METRICS:
            if key == "accuracy_known":
                continue  # shown with the mean accuracy
            f = SUMMARY_FORMATS[key]
            label = ACCURACY_CELL_HEADER if key == "accuracy_mean" else f.header()
            rows.append([label] + [accuracy_cell(df[c], metrics.get(c[0], {}).get(c[1], "")) if key == "accuracy_mean"
                                   else f.cell(df.loc[key, c]) for c in cols])
        print_table("comparison", headers, rows, key_columns=1, labels=True)
        if any(accuracy_partial(df[c]) for c in cols):
            console.print(PARTIAL_NOTE)
        for label, p in df.attrs["paths"].items():
            sc = df.attrs["scenarios"].get(label, "")
            console.print(f"  {label}: {p}" + (f"  ({sc})" if sc else "")
                          + ("" if complete.get(label, True) else "  [INCOMPLETE: a killed run, frames up to its last flush]"))
        if not df.attrs.get("same_resources", True):
            console.print("note: the traces applied different resource timelines, so their means are over frames at "
                          "different resource levels")
        order, why = accuracy_ranking(df)
        console.print(f"{why}: {' > '.join(order)}" if order else why)
        if csv:
            with output_path(csv, overwrite=force, inputs=traces_, what="--csv") as tmp:
                tidy(df).to_csv(tmp, index=False)
            console.print(f"wrote {csv} (one row per trace x stream x metric)")
        if plot:
            from traces.plots import compare_traces

            fig = compare_traces(traces_, labels=list(df.columns.get_level_values(0).unique()))
            with output_path(plot, overwrite=force, inputs=traces_, what="--plot") as tmp:
                fig.savefig(tmp, dpi=110, bbox_inches="tight")
            console.print(f"wrote {plot}")

    _trace_guard(go)


trace_app = typer.Typer(help="Trace files: repair a killed run's trace.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")


@trace_app.command("repair")
def trace_repair(
    trace: str = typer.Argument(..., metavar="TRACE.h5", help="trace file (.h5) of a killed or failed run"),
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
            console.print(f"{trace}: nothing to repair; holds {rows}")
            return
        console.print(f"{trace}: repaired; holds {rows}")
        for line in r.lines():
            console.print(f"  {line}")
        console.print(f"  original kept as {r.backup}" if r.backup else "  no backup kept (--no-backup)")

    _trace_guard(go)
