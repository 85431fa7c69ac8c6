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

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="dynvit-cosim: dynamic vision-transformer inference on a SystemC accelerator under a SimPy real-time host.",
)
# Piped output (logs, CI) gets a wide console instead of rich's 80-column fallback.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {msg}", highlight=False)
    raise typer.Exit(code)


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


def print_summary(summ, title: str = "summary", metrics: dict | None = None) -> None:
    """A trace summary (traces.summary DataFrame) as a table. ``metrics`` (traces.summary.
    accuracy_metrics) names each row's accuracy metric: a row mixing metrics shows no mean."""
    from traces.summary import MIXED, MIXED_CELL, SUMMARY_FORMATS as F

    metrics = metrics or {}
    t = Table(title=title, title_justify="left")
    cols = ["stream", "frames", "run", "dropped", "missed", "miss_rate", "accuracy_mean", "energy_per_frame_j",
            "latency_p50_s", "latency_p99_s", "configs"]
    for k in cols:
        t.add_column(f"{F[k].header()} (frames known)" if k == "accuracy_mean" else F[k].header(compact=True),
                     justify="left" if k == "stream" else "right")
    for _, r in summ.iterrows():
        def f(k):
            if k != "accuracy_mean":
                return F[k].cell(r[k])
            if metrics.get(str(r["stream"]), "").startswith(MIXED):
                return f"{MIXED_CELL} ({r['accuracy_known']} known)"
            v = r[k]
            return F[k].cell(v) if v != v else f"{F[k].cell(v)} ({r['accuracy_known']}/{r['run']})"
        t.add_row(*[f(k) for k in cols])
    console.print(t)
