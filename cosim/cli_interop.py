"""`cosim crosscheck`, `cosim hw export` and the exports of `cosim workload --to`: the commands
that speak the formats of Timeloop/Accelergy and ZigZag (`accelerator.export`, `cosim.crosscheck`).

`cli.py` imports this module (registering ``crosscheck`` on `app`) and calls `register_hw` with its
``hw`` group; its ``workload`` command calls `export_workload`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from .cli_common import SET_HELP, _fail, _guard, _hardware, app, console, layers_named, resolve_config

FORMATS = ("timeloop", "zigzag")


def _check_format(to: str) -> str:
    if to not in FORMATS:
        _fail(f"--to {to!r} is not a known format; allowed: {', '.join(FORMATS)}")
    return to


def export_hardware(hwp, to: str, out: str) -> list[Path]:
    from accelerator.export import timeloop, zigzag

    return (timeloop if _check_format(to) == "timeloop" else zigzag).write_hardware(hwp, out)


def workload_model(model: str | None, onnx: str | None, to: str | None, out: str | None) -> str | None:
    """`cosim workload`'s model from MODEL or --onnx PATH, and the --to/-o pairing checked."""
    if onnx:
        if model:
            _fail("give either MODEL or --onnx, not both")
        model = f"onnx:{onnx}"
    if bool(to) != bool(out):
        _fail("--to and --out go together: --to timeloop|zigzag -o DIR")
    return model


def export_workload(wl, to: str, out: str, hw: str | None = None, sets: list[str] | None = None) -> None:
    """Write the MAC layers of ``wl`` for Timeloop (one problem per layer) or ZigZag (one workload
    YAML; precisions from the hardware preset) and list what was written."""
    from accelerator.export import timeloop, zigzag

    name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in wl.config.split("#")[0]).strip("._")
    if _check_format(to) == "timeloop":
        paths = timeloop.write_workload(wl.layers, out, wl.config)
    else:
        paths = zigzag.write_workload(wl.layers, _hardware(hw, sets), out, name)
    skipped = sum(1 for l in wl.layers if not (l.is_mac and l.macs > 0))
    console.print(f"wrote {len(paths)} file(s) to {out} ({to}: {sum(1 for l in wl.layers if l.is_mac and l.macs)} "
                  f"MAC layers; {skipped} non-MAC layers are not part of these formats)", highlight=False)


def register_hw(hw_app: typer.Typer) -> None:
    @hw_app.command("export")
    def hw_export(
        preset: str = typer.Argument(..., help="preset name or YAML path"),
        to: str = typer.Option(..., "--to", help="timeloop (v0.4 architecture + ERT) | zigzag (hardware + mapping)"),
        out: str = typer.Option(..., "--out", "-o", help="output folder"),
        sets: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP),
    ) -> None:
        """Write a preset for Timeloop/Accelergy or ZigZag, energies from this tool's energy model."""

        def go():
            paths = export_hardware(_hardware(preset, sets), to, out)
            for p in paths:
                console.print(f"wrote {p}", highlight=False)

        _guard(go)


def _pick_layers(wl, layers: list[str] | None):
    macs = [l for l in wl.layers if l.is_mac and l.macs > 0]
    if not layers:
        return macs
    want: list[str] = [x.strip() for spec in layers for x in spec.split(",") if x.strip()]
    out = []
    for w in want:
        hit = layers_named(wl, w)
        if not hit:
            _fail(f"--layers {w!r} is not a layer of {wl.config} (see `cosim workload`)")
        if not hit[0].is_mac:
            _fail(f"--layers {w!r} is a {hit[0].op} layer; ZigZag models MAC layers only")
        out += hit
    return out


def _unique(layers):
    """Layers of equal dimensions are evaluated once (ZigZag's search is the slow part)."""
    keys, first = [], {}
    for l in layers:
        d = l.to_dict()
        d.pop("name")
        d.pop("params")
        k = json.dumps(d, sort_keys=True)
        keys.append(k)
        first.setdefault(k, l)
    return keys, first


@app.command("crosscheck")
def crosscheck_cmd(
    model: str = typer.Argument(..., help="model name or onnx:PATH / layers:PATH"),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="a configuration id"),
    knob: Optional[List[str]] = typer.Option(None, "--knob", "-k", help="NAME=VALUE, repeatable"),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help="input resolution HxW"),
    hw: Optional[str] = typer.Option(None, "--hw", help="hardware preset name or YAML file"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP),
    layers: Optional[List[str]] = typer.Option(None, "--layers", "-l", help="layer names or IR indices (comma "
                                               "separated, repeatable); default: every MAC layer"),
    mode: str = typer.Option("pinned", "--mode", help="pinned: ZigZag evaluates this tool's loop nest (separates "
                             "the cost models; seconds per layer); search: ZigZag searches its own mapping "
                             "(cost model + search; about a minute per layer)"),
    lpf: int = typer.Option(4, "--lpf", help="search mode: ZigZag's loop-prime-factor limit (larger: slower, "
                            "a wider search)"),
    detail: bool = typer.Option(False, "--detail", help="energy by level and operand per layer, and both loop nests"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Run ZigZag on the model's MAC layers on the same hardware and compare latency and energy per
    layer, and energy by memory level and operand (needs the `crosscheck` extra: zigzag-dse)."""

    def go():
        import workloads

        from .crosscheck import MODES, crosscheck, summary, zigzag_version

        if mode not in MODES:
            _fail(f"--mode {mode!r} is not one of {', '.join(MODES)}")
        cfg = resolve_config(model, config, knob, resolution)
        hwp = _hardware(hw, sets)
        wl = workloads.lower(cfg)
        todo = _pick_layers(wl, layers)
        keys, first = _unique(todo)
        res = {c.name: c for c in crosscheck(list(first.values()), hwp, mode=mode, lpf_limit=lpf)}
        checks = []
        for l, k in zip(todo, keys):
            c = res[first[k].name]
            checks.append(c if c.name == l.name else _renamed(c, l.name))
        s = summary(checks)
        if as_json:
            sys.stdout.write(json.dumps({
                "config": cfg.id, "hardware": hwp.name, "mode": mode, "zigzag": zigzag_version(), "summary": s,
                "layers": [{"layer": c.name, "op": c.op, "macs": c.macs, "ours_s": c.ours_s, "zigzag_s": c.zz_s,
                            "ours_j": c.ours_j, "zigzag_j": c.zz_j, "ours_terms_j": c.ours_terms,
                            "zigzag_terms_j": c.zz_terms, "explain": c.explain(), "notes": c.notes}
                           for c in checks]}, default=float) + "\n")
            return
        _print_checks(checks, s, f"{cfg.id} on {hwp.name}: this tool vs ZigZag {zigzag_version()} ({mode} mapping)",
                      detail)

    _guard(go)


def _print_checks(checks, s: dict, title: str, detail: bool) -> None:
    """The per-layer table, the energy by level and operand, the explanations and the agreement."""
    from .crosscheck import TERMS, TOLERANCE

    t = Table(title=title, title_justify="left")
    for col in ("layer", "op", "MACs", "ours us", "ZigZag us", "ratio", "ours uJ", "ZigZag uJ", "ratio"):
        t.add_column(col, justify="left" if col in ("layer", "op") else "right")
    for c in checks:
        t.add_row(c.name, c.op, f"{c.macs:,}", f"{c.ours_s * 1e6:,.2f}", _num(c.zz_s * 1e6),
                  _ratio(c.latency_ratio), f"{c.ours_j * 1e6:,.2f}", _num(c.zz_j * 1e6),
                  _ratio(c.energy_ratio))
    console.print(t)
    done = [c for c in checks if c.zz_j == c.zz_j]
    groups = [("all layers ZigZag evaluated", done)] + ([(c.name, [c]) for c in done] if detail else [])
    for what, cs in groups:
        e = Table(title=f"energy by memory level and operand: {what}", title_justify="left")
        for col in ("level", "operand", "ours uJ", "ZigZag uJ", "ratio"):
            e.add_column(col, justify="left" if col in ("level", "operand") else "right")
        for key, level, ops in TERMS:
            a = sum(c.ours_terms.get(key, 0.0) for c in cs)
            b = sum(c.zz_terms.get(key, 0.0) for c in cs)
            e.add_row(level, ops, f"{a * 1e6:,.3f}", f"{b * 1e6:,.3f}", _ratio(b / a if a else float("nan")))
        console.print(e)
        if detail and len(cs) == 1:
            console.print(f"this tool's loop nest\n{cs[0].ours_loopnest}\nZigZag's temporal mapping (per operand, "
                          f"innermost first, by memory level): {cs[0].zz_loopnest}")
    outside = [(c, c.explain()) for c in checks]
    outside = [(c, x) for c, x in outside if x]
    if outside:
        console.print(f"differences beyond +-{TOLERANCE:.0%} (ratio = ZigZag / this tool):")
        for c, x in outside:
            for line in x:
                console.print(f"  {c.name}: {line}")
            for n in c.notes:
                if not n.startswith("ZigZag could not"):
                    console.print(f"    (pinned loop nest: {n})")
    if s.get("not_evaluated"):
        console.print(f"{s['not_evaluated']} layer(s) not evaluated by ZigZag (reason above); the agreement "
                      f"below is over the others", highlight=False)
    if not s.get("layers"):
        _fail("ZigZag evaluated none of the layers", code=1)
    console.print(
        f"agreement over {s['layers']} MAC layers: latency ZigZag/ours {s['latency_ratio']:.3f} "
        f"({100 * s['latency_within']:.0f}% of layers within +-{TOLERANCE:.0%}), energy ZigZag/ours "
        f"{s['energy_ratio']:.3f} ({100 * s['energy_within']:.0f}% within +-{TOLERANCE:.0%}). This tool: its cost "
        f"model (action counts equal to the SystemC simulation's; time an estimate); ZigZag has no NoC, "
        f"leakage or padded-MAC energy.", highlight=False)


def _num(x: float) -> str:
    return "-" if x != x else f"{x:,.2f}"


def _ratio(r: float) -> str:
    return "-" if r != r else f"{r:.3f}"


def _renamed(c, name: str):
    from dataclasses import replace

    return replace(c, name=name)
