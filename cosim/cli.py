"""The `cosim` command line: workload tables, single inferences, co-simulation runs, analysis."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import List, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli_common import (  # noqa: F401  (app, console: also the names other code imports from cosim.cli)
    SET_HELP,
    _fail,
    _guard,
    _hardware,
    app,
    console,
    err_console,
    print_summary,
    resolve_config,
)


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
    model: Optional[str] = typer.Argument(None, metavar="MODEL", help="model name (see --list)"),
    config: Optional[str] = typer.Option(None, "--config", "-c", metavar="ID", help="a configuration id, e.g. segformer-b2@512x512/heads=1.2.4.8"),
    knob: Optional[List[str]] = typer.Option(None, "--knob", "-k", metavar="NAME=VALUE", help="NAME=VALUE, repeatable (see --list)"),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", metavar="HxW", help="input resolution HxW"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    list_: bool = typer.Option(False, "--list", help="list models and their knobs"),
    max_rows: int = typer.Option(0, "--rows", metavar="N", help="print at most this many layer rows (0 = all)"),
    onnx: Optional[str] = typer.Option(None, "--onnx", help="an ONNX file as the model (same as MODEL onnx:PATH)"),
    to: Optional[str] = typer.Option(None, "--to", help="write the MAC layers for timeloop | zigzag (with -o)"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="output folder of --to"),
    hw: Optional[str] = typer.Option(None, "--hw", help="--to zigzag: the preset giving the precisions"),
) -> None:
    """Lower a model configuration to the layer IR and print its layers, MACs and parameters."""
    import workloads

    if list_:
        return _guard(_list_models)
    model = cli_interop.workload_model(model, onnx, to, out)  # --onnx PATH is onnx:PATH; --to needs -o
    if not model:
        _fail("give a MODEL (see `cosim workload --list`)")

    def go():
        cfg = resolve_config(model, config, knob, resolution)
        wl = workloads.lower(cfg)
        if to:
            return cli_interop.export_workload(wl, to, out, hw)
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
            f">= {fam.min_resolution}, <= {fam.max_resolution}, default {fam.default_resolution[0]}x{fam.default_resolution[1]}\n"
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
    b.add_row("total", _fmt_int(wl.total_macs), "100.0%", style="bold")
    console.print(b)
    console.print(
        f"layers {len(wl.layers)}, parameters {_fmt_int(wl.params)}, non-MAC elements {_fmt_int(wl.non_mac_elements())}"
    )


class Sync(str, Enum):
    """--sync: how the accelerator synchronises with the SystemC kernel."""
    decoupled = "decoupled"
    tile = "tile"


class Reuse(str, Enum):
    """--reuse: whether an undisturbed inference may reuse an earlier identical one's result."""
    on = "on"
    off = "off"


_REUSE_HELP = ("on: an inference nothing can disturb reuses the result of an earlier identical one "
               "(cosim/reuse.py; the trace is the same); off: every inference is simulated (the reference)")

_SYNC_HELP = ("decoupled: the accelerator runs tiles ahead in local time up to the next host event (fast); "
              "tile: one kernel activation per tile (the reference mode); results are identical")



@app.command()
def simulate(
    model: str = typer.Argument(..., metavar="MODEL", help="model name (see `cosim workload --list`)"),
    config: Optional[str] = typer.Option(None, "--config", "-c", metavar="ID", help="a configuration id"),
    knob: Optional[List[str]] = typer.Option(None, "--knob", "-k", metavar="NAME=VALUE", help="NAME=VALUE, repeatable"),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", metavar="HxW", help="input resolution HxW"),
    hw: Optional[str] = typer.Option(None, "--hw", metavar="PRESET|FILE", help="hardware preset name or YAML file (default: the default preset)"),
    sets: Optional[List[str]] = typer.Option(None, "--set", metavar="FIELD=VALUE", help=SET_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    max_rows: int = typer.Option(0, "--rows", metavar="N", help="print at most this many layer rows (0 = all)"),
    sync: Sync = typer.Option(Sync.decoupled, "--sync", help=_SYNC_HELP),
) -> None:
    """Run one inference on the SystemC accelerator and print per-layer timing and energy."""
    import time

    def go():
        from accelerator.area import area_mm2
        from accelerator.model import Accelerator

        from .programs import load_program

        cfg = resolve_config(model, config, knob, resolution)
        hwp = _hardware(hw, sets)
        acc = Accelerator.for_process(hwp)
        acc.sync = sync.value
        handle = load_program(acc, cfg)
        a0 = acc.activations
        t0 = time.perf_counter()
        r = acc.run(handle)
        wall = time.perf_counter() - t0
        events = acc.activations - a0  # the kernel's, in this call (also wake-ups of idle units)
        activations = int(r.layer_activations.sum())  # the inference's: the sum over its layers
        tiles = int(r.counter("tiles").sum())
        area = area_mm2(hwp)
        layers = r.layer_table()
        out = {
            "model": cfg.name, "config": cfg.id, "hardware": hwp.name, "hardware_overrides": hwp.overrides, "latency_s": r.latency_s, "energy_j": r.energy_j,
            "energy_breakdown_j": r.energy_by_component, "macs": r.macs, "macs_issued": r.macs_issued,
            "dram_bytes": r.dram_bytes, "utilization": r.utilization, "roofline_ratio": r.roofline_ratio,
            "area_mm2": area["total"], "area_breakdown_mm2": area, "events": events, "activations": activations,
            "tiles": tiles, "sync": acc.sync, "wall_s": wall,
            "layers": layers,
        }
        if as_json:
            sys.stdout.write(json.dumps(out, default=float) + "\n")
            return
        t = Table(title=f"{cfg.id} on {hwp.name}", title_justify="left")
        for c, j in (("#", "right"), ("layer", "left"), ("op", "left"), ("MACs", "right"), ("latency us", "right"),
                     ("x roofline", "right"), ("DRAM KB", "right"), ("energy uJ", "right"), ("tiles", "right"),
                     ("activ.", "right")):
            t.add_column(c, justify=j)
        for i, row in enumerate(layers if not max_rows else layers[:max_rows]):
            t.add_row(str(i), row["name"], row["op"], _fmt_int(row["macs"]) if row["macs"] else "-",
                      f"{row['latency_s'] * 1e6:.2f}", f"{row['roofline_ratio']:.2f}",
                      f"{row['dram_bytes'] / 1e3:,.1f}", f"{row['energy_j'] * 1e6:,.1f}", f"{row['tiles']:,}",
                      str(row["activations"]))
        console.print(t)
        if max_rows and len(layers) > max_rows:
            console.print(f"... {len(layers) - max_rows} more layers")
        e = Table(title="energy by component", title_justify="left")
        e.add_column("component")
        e.add_column("mJ", justify="right")
        e.add_column("share", justify="right")
        for k, v in out["energy_breakdown_j"].items():
            e.add_row(k, f"{v * 1e3:.3f}", f"{100 * v / out['energy_j']:.1f}%")
        console.print(e)
        console.print(
            f"latency {r.latency_s * 1e3:.3f} ms ({r.roofline_ratio:.2f} x roofline), energy "
            f"{r.energy_j * 1e3:.2f} mJ, MACs {_fmt_int(r.macs)} (issued {_fmt_int(r.macs_issued)}), "
            f"utilization {100 * r.utilization:.1f}%, DRAM {r.dram_bytes / 1e6:.1f} MB, area {area['total']:.2f} mm2; "
            f"{tiles:,} tiles in {activations:,} kernel activations ({acc.sync}), "
            f"{wall * 1e3:.1f} ms wall"
        )

    _guard(go)


hw_app = typer.Typer(help="Hardware presets: list them, show one with the source of every number.", no_args_is_help=True)
app.add_typer(hw_app, name="hw")


@hw_app.command("list")
def hw_list() -> None:
    """List the shipped hardware presets."""
    from accelerator.area import area_mm2
    from accelerator.presets import DEFAULT_PRESET, list_presets, load_preset

    t = Table(title="hardware presets", title_justify="left")
    for c in ("preset", "PEs x lanes x VS", "peak MAC/cycle", "clock", "GLB", "DRAM BW", "area"):
        t.add_column(c, no_wrap=True)
    for name in list_presets():
        hw = load_preset(name)
        t.add_row(name + (" (default)" if name == DEFAULT_PRESET else ""),
                  f"{hw.num_pes} x {hw.lanes} x {hw.vector_size}", f"{hw.peak_macs_per_cycle:,}",
                  f"{hw.clock_hz / 1e9:g} GHz", f"{hw.global_buffer_bytes // 1024} KiB",
                  f"{hw.dram_bandwidth_bytes_per_s / 1e9:g} GB/s",
                  f"{area_mm2(hw)['total']:.2f} mm2 @{hw.technology_nm} nm")
    console.print(t)
    console.print("`cosim hw show PRESET` prints every parameter with its source.")


@hw_app.command("show")
def hw_show(preset: str = typer.Argument(..., metavar="PRESET", help="preset name or YAML path"),
            sets: Optional[List[str]] = typer.Option(None, "--set", metavar="FIELD=VALUE", help=SET_HELP),
            as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Show a preset: every parameter with unit, value and source; energy and area tables."""

    def go():
        from accelerator.area import area_mm2, cost_breakdown, cost_record
        from accelerator.energy import EnergyModel
        from accelerator.presets import provenance

        hw = _hardware(preset, sets)
        prov = {**provenance(preset), **{k: f"override: --set {k}={v['value']} (preset value {v['was']})"
                                         for k, v in hw.overrides.items()}}
        em = EnergyModel(hw)
        if as_json:
            sys.stdout.write(json.dumps({"params": hw.to_dict(), "overrides": hw.overrides, "provenance": prov, "energy": em.table(),
                                         "area_mm2": area_mm2(hw), "silicon": cost_record(hw),
                                         "silicon_sources": {c: v.source for c, v in cost_breakdown(hw).items()}},
                                        default=str) + "\n")
            return
        from accelerator.presets import preset_info

        console.print(Text(preset, style="bold") + Text(": " + " ".join(str(preset_info(preset).get("description", "")).split())))
        t = Table(title=f"preset {preset}", title_justify="left")
        for c in ("parameter", "value", "unit", "source"):
            t.add_column(c, overflow="fold")
        for row in hw.describe():
            v = row["value"]
            t.add_row(row["name"], str(v) if isinstance(v, bool) else f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else str(v),
                      row["unit"], prov.get(row["name"], ""))
        console.print(t)
        e = Table(title=f"energy per action at {hw.technology_nm} nm", title_justify="left")
        rows = em.table()
        cols = list(rows[0].keys()) if rows else []
        for c in cols:
            e.add_column(c, overflow="fold")
        for r in rows:
            e.add_row(*[f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols])
        console.print(e)
        rec = cost_record(hw)
        a = Table(title=f"area and static power at {hw.technology_nm} nm ({rec['dram_channels']} {hw.dram_type} "
                        f"channel(s); NaN = unknown, see source)", title_justify="left")
        for c in ("component", "mm2", "static mW", "memory interface", "kind", "source"):
            a.add_column(c, overflow="fold", justify="right" if c in ("mm2", "static mW") else "left")
        for k, v in cost_breakdown(hw).items():
            a.add_row(k, f"{v.area_mm2:.3f}", f"{v.static_w * 1e3:.4g}", "yes" if v.memory_interface else "",
                      v.kind, v.source)
        a.add_row("total (known)", f"{rec['area_total_mm2']:.3f}", f"{rec['static_total_w'] * 1e3:.4g}", "", "", "")
        a.add_row("total without memory interface", f"{rec['area_total_without_memory_interface_mm2']:.3f}",
                  f"{rec['static_total_without_memory_interface_w'] * 1e3:.4g}", "", "", "")
        console.print(a)

    _guard(go)


@app.command()
def run(
    scenario: Optional[str] = typer.Argument(None, metavar="SCENARIO", help="scenario script (a path, or a built-in name); default: the built-in default"),
    out: Optional[str] = typer.Option(None, "--out", "-o", metavar="FILE", help="trace file (default: runs/<scenario>-seed<N>.h5)"),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="N", help="override the scenario's seed"),
    duration: Optional[float] = typer.Option(None, "--duration", metavar="SECONDS", help="override the scenario's duration [s]"),
    no_cache: bool = typer.Option(False, "--no-cache", help="measure profile tables again instead of using the cache"),
    sets: Optional[List[str]] = typer.Option(None, "--set", metavar="FIELD=VALUE", help=SET_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    sync: Sync = typer.Option(Sync.decoupled, "--sync", help=_SYNC_HELP),
    reuse: Reuse = typer.Option(Reuse.on, "--reuse", help=_REUSE_HELP),
    accuracy: Optional[List[str]] = typer.Option(None, "--accuracy", metavar="PROFILE.yaml", help="measured accuracy profile YAML (repeatable; before the scenario's own)"),
    force: bool = typer.Option(False, "--force", "-f", help="overwrite an existing trace file"),
) -> None:
    """Co-simulate a scenario and write its HDF5 trace; print a summary."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    def go():
        import traces

        from . import scenario as scen
        from .system import simulate, trace_path

        if duration is not None and not duration > 0:
            _fail(f"--duration {duration} must be > 0 s")
        system, source = scen.load(scenario)
        if accuracy:
            system = system.replace(accuracy=list(accuracy) + list(system.accuracy))
        if sets:
            from accelerator.presets import apply_overrides

            system = system.replace(hardware=apply_overrides(system.hardware_params(), sets))
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[sim]}"),
                      TimeElapsedColumn(), console=err_console, disable=quiet, transient=True) as prog:
            task = prog.add_task(system.name, total=1.0, sim="")

            def tick(t_s: float, total_s: float) -> None:
                prog.update(task, completed=t_s / total_s, sim=f"{t_s:.1f}/{total_s:g} s simulated")

            try:
                res = simulate(system, out, seed=seed, duration_s=duration, scenario_source=source,
                               progress=tick, use_profile_cache=not no_cache, overwrite=force,
                               inputs=(str(scen.resolve(scenario)),), sync=sync.value,
                               reuse=reuse is Reuse.on)
            except traces.TraceWriteError as e:  # e.g. disk full: the rows flushed so far are kept
                _fail(str(e), code=1)
            except KeyboardInterrupt:  # the writer closed the trace on the way out
                path = trace_path(system.replace(seed=seed) if seed is not None else system, out)
                err_console.print(f"interrupted: {path} keeps every frame written so far (marked incomplete)",
                                  highlight=False)
                raise typer.Exit(130) from None
        print_summary(res.summary, title=f"{system.name}: {res}", metrics=traces.accuracy_metrics(res.trace_path))

    _guard(go)


@app.command()
def regress(
    names: Optional[List[str]] = typer.Argument(None, metavar="SCENARIO", help="scenarios (default: every built-in scenario)"),
    update: bool = typer.Option(False, "--update", help="rewrite the goldens from this run (a deliberate act: review the diff)"),
) -> None:
    """Run the scenarios and compare their summaries with the committed goldens (tests/golden)."""

    def go():
        from explore import regress as rg

        todo = names or rg.scenario_names()
        failed = 0
        for n in todo:
            problems = rg.check(n, update=update)
            if update:
                console.print(Text("updated ", style="green") + Text(str(rg.golden_path(n))))
            elif problems:
                failed += 1
                console.print(Text("FAIL ", style="red") + Text(n))
                for p in problems:
                    console.print(f"    {p}")
            else:
                console.print(Text("ok   ", style="green") + Text(n))
        if failed:
            _fail(f"{failed} of {len(todo)} scenarios differ from their goldens", code=1)

    _guard(go)


# The other command modules register their commands on `app` (cli_common) when imported;
# none of them imports this module, so there is no import circle.
from . import cli_map  # noqa: E402,F401  (map)
from . import cli_sweep  # noqa: E402,F401  (sweep, pareto, reproduce)
from . import cli_analysis  # noqa: E402,F401  (report, export, compare, trace repair)
from . import cli_accuracy  # noqa: E402,F401  (accuracy, report-accuracy)
from . import cli_interop  # noqa: E402  (crosscheck, hw export, workload --to)

cli_interop.register_hw(hw_app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    # `python -m cosim.cli`: this copy's commands and the command modules all registered on
    # the one `app` of cli_common
    main()
