"""What every `cosim` command module shares: the app they register on, the consoles, the
one-line error exit, and the options and helpers more than one command uses.

The command modules (`cli.py`'s own commands, `cli_map`, `cli_sweep`, `cli_analysis`,
`cli_accuracy`) import this module and nothing of each other; `cli.py` is the entry module
that imports them all, so each registers its commands on `app`. Heavy imports (torch, the
SystemC model, h5py, Dask) stay inside the commands that need them.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # plain (click) help and usage errors: choices shown as [a|b], flags without a type, no boxes
    # hard-wrapped at a guessed width, text printed as written
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="dynvit-cosim: dynamic vision-transformer inference on a SystemC accelerator under a SimPy real-time host.",
)


def _version(value: bool) -> None:
    if value:
        from .version import __version__

        print(f"dynvit-cosim {__version__} (Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", help="print the version and exit", callback=_version,
                                 is_eager=True),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also show other libraries' warnings, "
                                 "notices and progress bars (on stderr)"),
) -> None:
    """dynvit-cosim: dynamic vision-transformer inference on a SystemC accelerator under a SimPy real-time host."""
    from vocab.allocator import keep_freed_memory

    from . import quiet

    keep_freed_memory()
    quiet.configure(verbose)
    _show_first_use()


def _show_first_use() -> None:
    """First-use work (vocab.progress) as labelled lines on stderr, above a live progress bar."""
    import logging

    from vocab.progress import LOGGER

    class _Say(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            err_console.print(Text("... ", style="dim") + Text(record.getMessage()))

    if not any(getattr(h, "dynvit_cli", False) for h in LOGGER.handlers):  # once per process
        h = _Say()
        h.dynvit_cli = True
        LOGGER.addHandler(h)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


class _Console(Console):
    """A console whose messages are printed as written (no markup, no highlighting: user data
    and bracketed text such as "[lo, hi]" stay intact) and never hard-wrapped where the output
    is not a terminal (a log or a pipe gets one line per message, whatever COLUMNS says); in a
    terminal it is as wide as the terminal."""

    def __init__(self, **kw):
        super().__init__(markup=False, highlight=False, **kw)

    def print(self, *objects, soft_wrap: bool | None = None, **kw) -> None:
        # off a terminal a message is one line; in one, long messages wrap at word boundaries
        super().print(*objects, soft_wrap=(not self.is_terminal) if soft_wrap is None else soft_wrap, **kw)

    @property
    def size(self):
        if not self.is_terminal:  # decided at each print: sys.stdout may be swapped (tests, pipes)
            from rich.console import ConsoleDimensions

            return ConsoleDimensions(_UNBOUNDED, 25)
        return super().size

    @size.setter
    def size(self, new_size) -> None:
        Console.size.fset(self, new_size)


#: The width of a console that is not a terminal: wide enough that no table is squeezed.
_UNBOUNDED = 100_000

console = _Console()
err_console = _Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(Text("error: ", style="bold red") + Text(msg))
    raise typer.Exit(code)


def layers_named(wl, which: str) -> list:
    """The layers of workload ``wl`` a command-line option names: ``which`` is a layer index
    (below the layer count) or a layer name; [] if none is."""
    if which.isdigit() and int(which) < len(wl.layers):
        return [wl.layers[int(which)]]
    return [l for l in wl.layers if l.name == which]


def print_table(title: str, headers: list[str], rows: list[list[str]], justify: list[str] | None = None,
                key_columns: int = 1, out: Console | None = None, labels: bool = False) -> None:
    """Print a table that fits the console without truncating a value: as it is when it fits
    (headers may wrap, values never do), else transposed (one row per column) when it has few
    rows, else split into several tables by columns, each repeating the first ``key_columns``.
    ``labels``: the first column holds labels (they may wrap, like headers)."""
    out = out or console
    width = out.width
    justify = justify or ["left"] * key_columns + ["right"] * (len(headers) - key_columns)

    def need(cols: list[int], hdrs, rws, wrap=()) -> int:  # rich's heavy-head box: 3 per column + 1
        return 1 + sum(3 + _width(c, hdrs, rws, c in wrap) for c in cols)

    def emit(ttl, hdrs, rws, cols, just, wrap=()) -> None:
        t = Table(title=ttl or None, title_justify="left")
        for c in cols:
            t.add_column(hdrs[c], justify=just[c], min_width=_width(c, hdrs, rws, c in wrap, values_only=True),
                         overflow="fold")
        for r in rws:
            t.add_row(*[r[c] for c in cols])
        out.print(t)

    allc = list(range(len(headers)))
    wrap = (0,) if labels else ()
    if need(allc, headers, rows, wrap) <= width:
        return emit(title, headers, rows, allc, justify, wrap)
    if len(rows) <= 6 and key_columns == 1:  # transposed: a metric per row, a column per key
        th = [headers[0]] + [r[0] for r in rows]
        tr = [[headers[c]] + [r[c] for r in rows] for c in range(1, len(headers))]
        if need(list(range(len(th))), th, tr, wrap=(0,)) <= width:  # the labels may wrap, values not
            return emit(title, th, tr, list(range(len(th))), ["left"] + ["right"] * len(rows), wrap=(0,))
        headers, rows, justify, allc, wrap = th, tr, ["left"] + ["right"] * len(rows), list(range(len(th))), (0,)
    keys, rest = allc[:key_columns], allc[key_columns:]
    part: list[int] = []
    n = 0
    for c in rest:  # greedy split into tables that fit, each with the key columns
        if part and need(keys + part + [c], headers, rows, wrap) > width:
            n += 1
            emit(f"{title} ({n})" if title else "", headers, rows, keys + part, justify, wrap)
            part = []
        part.append(c)
    if part:
        emit(f"{title} ({n + 1})" if title and n else title, headers, rows, keys + part, justify, wrap)


def _guard(fn):
    """Run fn(), turning bad-input errors from any layer into one clear line (exit 2)."""
    from vocab.errors import UserError

    try:
        return fn()
    except UserError as e:
        _fail(str(e))


def _parse_knobs(knob: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for kv in knob or []:
        if "=" not in kv:
            _fail(f"--knob {kv!r} must be NAME=VALUE")
        k, v = kv.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def resolve_config(model: str, config: str | None, knob: list[str] | None, resolution: str | None):
    """MODEL + (--config ID | --knob ...) + --resolution -> a validated Config."""
    import workloads

    if config:
        if knob:
            _fail("give either --config or --knob, not both")
        cfg = workloads.parse_config(config)
        if cfg.family != workloads.family_of(model).family:
            _fail(f"--config {config!r} is not a configuration of {model!r}")
        if resolution:
            cfg = workloads.make_config(cfg.name, resolution=resolution, **{k: v for k, v in cfg.knobs})
        return cfg
    return workloads.make_config(model, resolution=resolution, **_parse_knobs(knob))


SET_HELP = "FIELD=VALUE: override one hardware parameter (repeatable; validated like a preset field)"


def _hardware(spec: str | None, sets: list[str] | None = None):
    from accelerator.presets import DEFAULT_PRESET, apply_overrides, load_preset

    return apply_overrides(load_preset(spec or DEFAULT_PRESET), sets)


def _width(c: int, headers, rows, wrap: bool = False, values_only: bool = False) -> int:
    """Width column ``c`` needs: its longest value (its longest word if ``wrap``), and the
    longest word of its header (headers wrap)."""
    cells = [str(r[c]) for r in rows]
    vals = [max((len(w) for w in x.split()), default=0) if wrap else len(x) for x in cells]
    head = [] if values_only else [max((len(w) for w in str(headers[c]).split()), default=0)]
    return max(vals + head + [0])


def print_summary(summ, title: str = "summary", metrics: dict | None = None, complete: bool = True) -> None:
    """A trace summary (traces.summary DataFrame) as a table that fits the console. ``metrics``
    (traces.summary.accuracy_metrics) names each row's accuracy metric: a row mixing metrics
    shows no mean; a partial mean (accuracy known for part of the run frames) is marked and
    footnoted; ``complete=False`` (a killed run's trace) is said in the title."""
    from traces.summary import ACCURACY_CELL_HEADER, PARTIAL_NOTE, SUMMARY_FORMATS as F, accuracy_cell, accuracy_partial

    metrics = metrics or {}
    cols = ["stream", "frames", "run", "dropped", "missed", "miss_rate", "accuracy_mean", "energy_per_frame_j",
            "latency_p50_s", "latency_p99_s", "configs"]
    headers = [ACCURACY_CELL_HEADER if k == "accuracy_mean" else F[k].header(compact=True) for k in cols]
    rows = [[accuracy_cell(r, metrics.get(str(r["stream"]), "")) if k == "accuracy_mean" else F[k].cell(r[k])
             for k in cols] for _, r in summ.iterrows()]
    if not complete:
        title += " [INCOMPLETE: a killed run's trace, its frames up to the last flush]"
    print_table(title, headers, rows)
    if any(accuracy_partial(r) for _, r in summ.iterrows()):
        console.print(PARTIAL_NOTE)
