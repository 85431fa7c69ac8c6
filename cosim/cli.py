"""The `cosim` command line: workload tables, single inferences, co-simulation runs, analysis."""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="dynvit-cosim: dynamic vision-transformer inference on a SystemC accelerator under a SimPy real-time host.",
)
console = Console()
err_console = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {msg}", highlight=False)
    raise typer.Exit(code)


def _guard(fn):
    """Run fn(), turning bad-input errors from any layer into one clear line (exit 2)."""
    from .errors import user_error_types

    try:
        return fn()
    except user_error_types() as e:  # type: ignore[misc]
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


def _fmt_int(n: float) -> str:
    return f"{int(n):,}"


def _dims(l) -> str:
    if l.op == "matmul":
        return f"B{l.mm_b} M{l.mm_m} K{l.mm_k} N{l.mm_n}"
    if l.is_mac:
        s = f"C{l.C} K{l.K} {l.H}x{l.W}->{l.P}x{l.Q}"
        if l.R > 1 or l.S > 1:
            s += f" {l.R}x{l.S}/s{l.stride}"
        if l.groups > 1:
            s += f" g{l.groups}"
        return s
    return f"{l.elements:,} el"


@app.command()
def workload(
    model: Optional[str] = typer.Argument(None, help="model name (see --list)"),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="a configuration id, e.g. segformer-b2@512x512/heads=1.2.4.8"),
    knob: Optional[List[str]] = typer.Option(None, "--knob", "-k", help="NAME=VALUE, repeatable (see --list)"),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help="input resolution HxW"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    list_: bool = typer.Option(False, "--list", help="list models and their knobs"),
    max_rows: int = typer.Option(0, "--rows", help="print at most this many layer rows (0 = all)"),
) -> None:
    """Lower a model configuration to the layer IR and print its layers, MACs and parameters."""
    import workloads

    if list_:
        return _guard(_list_models)
    if not model:
        _fail("give a MODEL (see `cosim workload --list`)")

    def go():
        cfg = resolve_config(model, config, knob, resolution)
        wl = workloads.lower(cfg)
        if as_json:
            sys.stdout.write(json.dumps(wl.to_dict()) + "\n")
            return
        _print_workload(wl, max_rows)

    _guard(go)


def _list_models() -> None:
    import workloads

    for fam in workloads.families().values():
        t = Table(title=f"{fam.family}: {fam.doc}", title_justify="left", show_lines=False)
        t.add_column("knob")
        t.add_column("default")
        t.add_column("allowed")
        t.add_column("meaning")
        for row in fam.describe_knobs():
            t.add_row(row["knob"], row["default"], row["allowed"], row["doc"])
        console.print(t)
        console.print(
            f"  models: {', '.join(fam.model_names())}; resolution: multiples of {fam.resolution_multiple}, "
            f">= {fam.min_resolution}, default {fam.default_resolution[0]}x{fam.default_resolution[1]}\n"
        )


def _print_workload(wl, max_rows: int) -> None:
    t = Table(title=f"{wl.config}", title_justify="left")
    for c, j in (("#", "right"), ("layer", "left"), ("op", "left"), ("class", "left"), ("dims", "left"), ("MACs", "right"), ("params", "right")):
        t.add_column(c, justify=j)
    rows = wl.layers if not max_rows else wl.layers[:max_rows]
    for i, l in enumerate(rows):
        t.add_row(str(i), l.name, l.op, l.op_class, _dims(l), _fmt_int(l.macs) if l.is_mac else "-", _fmt_int(l.params) if l.params else "")
    console.print(t)
    if max_rows and len(wl.layers) > max_rows:
        console.print(f"... {len(wl.layers) - max_rows} more layers")
    b = Table(title="totals", title_justify="left")
    b.add_column("op class")
    b.add_column("MACs", justify="right")
    b.add_column("share", justify="right")
    total = wl.total_macs or 1
    for k, v in wl.breakdown().items():
        if k == "non_mac":
            continue
        b.add_row(k, _fmt_int(v), f"{100 * v / total:.1f}%")
    b.add_row("[bold]total[/]", f"[bold]{_fmt_int(wl.total_macs)}[/]", "100.0%")
    console.print(b)
    console.print(
        f"layers {len(wl.layers)}, parameters {_fmt_int(wl.params)}, non-MAC elements {_fmt_int(wl.non_mac_elements())}"
    )


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
