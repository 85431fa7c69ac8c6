"""`cosim map`: the mapping the mapper picks for a layer or a whole model, its predicted cost
(the cost model of `accelerator.cost`, the formulas the simulator charges) and the runner-up;
with ``--compare-estimate`` the mapper's finalists, all simulated, estimate beside simulation."""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer
from rich.table import Table

from .cli_common import SET_HELP, _fail, _guard, _hardware, app, console, layers_named, resolve_config


def _row(m, macs: int) -> dict:
    d = m.to_dict()
    d["edp_js"] = m.energy_j * m.time_s
    d["pj_per_mac"] = m.energy_j / macs * 1e12 if macs else float("nan")
    return d


@app.command("map")
def map_cmd(
    model: str = typer.Argument(..., help="model name (see `cosim workload --list`)"),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="one layer (name, or index in the IR); "
                                        "default: every MAC layer"),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="a configuration id"),
    knob: Optional[List[str]] = typer.Option(None, "--knob", "-k", help="NAME=VALUE, repeatable"),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help="input resolution HxW"),
    hw: Optional[str] = typer.Option(None, "--hw", help="hardware preset name or YAML file"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=SET_HELP),
    objective: Optional[str] = typer.Option(None, "--objective", help="edp | energy | latency (default: the "
                                            "hardware's mapping_objective)"),
    exhaustive: bool = typer.Option(False, "--exhaustive", help="search every legal tiling (small layers only)"),
    compare_estimate: bool = typer.Option(False, "--compare-estimate", help="print the mapper's finalists, all "
                                          "simulated, with estimated and simulated time and energy side by side"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    loopnest: bool = typer.Option(False, "--loopnest", help="print each chosen mapping as a per-level loop nest "
                                  "(Timeloop's map style)"),
) -> None:
    """Print the chosen mapping of each layer, its predicted time and energy, and the runner-up."""

    def go():
        import workloads
        from accelerator.invariants import check_program
        from accelerator.mapping import map_layer, mapping_candidates

        cfg = resolve_config(model, config, knob, resolution)
        hwp = _hardware(hw, sets)
        if objective:
            hwp = hwp.replace(mapping_objective=objective)
        wl = workloads.lower(cfg)
        layers = [l for l in wl.layers if l.is_mac and l.macs > 0]
        if layer is not None:
            layers = layers_named(wl, layer)
            if not layers:
                _fail(f"--layer {layer!r} is not a layer of {cfg.id} (see `cosim workload {model}`)")
        if compare_estimate:
            return _compare(cfg, hwp, layers, as_json)
        out, chosen = [], []
        for l in layers:
            if exhaustive:  # the estimate's optimum over every legal tiling
                best = mapping_candidates(l, hwp, top=2, exhaustive=True)
            else:  # the mapper's choice (best simulated finalist), then the estimate's best other tiling
                pick = map_layer(l, hwp)
                best = [pick] + [m for m in mapping_candidates(l, hwp, top=3) if m.tiling != pick.tiling][:1]
            check_program(hwp, [l], best[:1], name=cfg.id)  # the simulator's time range, as simulate checks it
            chosen.append(best[0])
            out.append({"layer": l.name, "op": l.op, "macs": l.macs, "chosen": _row(best[0], l.macs),
                        "runner_up": _row(best[1], l.macs) if len(best) > 1 else None})
        if loopnest:  # the chosen mapping of each layer as a loop nest (cosim/loopnest.py)
            from .loopnest import render_loopnest

            for l, m in zip(layers, chosen):
                console.print(render_loopnest(l, m, hwp), highlight=False, markup=False)
            return
        if as_json:
            sys.stdout.write(json.dumps({"config": cfg.id, "hardware": hwp.name,
                                         "objective": hwp.mapping_objective, "layers": out}, default=float) + "\n")
            return
        t = Table(title=f"{cfg.id} on {hwp.name}: mappings (objective {hwp.mapping_objective})", title_justify="left")
        for c in ("layer", "op", "", "tile N/K/C/P/Q", "PEs KxP", "order", "est. us", "est. uJ", "pJ/MAC",
                  "DRAM KB"):
            t.add_column(c, justify="left" if c in ("layer", "op", "", "order", "tile N/K/C/P/Q") else "right")
        for r in out:
            for tag, m in (("chosen", r["chosen"]), ("runner-up", r["runner_up"])):
                if m is None:
                    continue
                first = tag == "chosen"
                t.add_row(r["layer"] if first else "", r["op"] if first else "", tag,
                          f"{m['N_t']}/{m['K_t']}/{m['C_t']}/{m['P_t']}/{m['Q_t']}"
                          + (" in-res" if m["inputs_resident"] else ""),
                          f"{m['pes_k']}x{m['pes_p']}", m["order"], f"{m['time_s'] * 1e6:,.2f}",
                          f"{m['energy_j'] * 1e6:,.2f}", f"{m['pj_per_mac']:.3f}", f"{m['dram_bytes'] / 1e3:,.1f}")
        console.print(t)

    _guard(go)


def _compare(cfg, hwp, layers, as_json: bool) -> None:
    """`cosim map --compare-estimate`: each layer's simulated finalists, estimate beside measurement."""
    from accelerator.mapping import finalists, map_layer

    out = []
    for l in layers:
        chosen = map_layer(l, hwp).tiling
        rows = []
        for m, s, e in finalists(l, hwp):
            rows.append({**_row(m, l.macs), "sim_time_s": s, "sim_energy_j": e, "sim_edp_js": s * e,
                         "time_err": m.time_s / s - 1 if s > 0 else float("nan"), "chosen": m.tiling == chosen})
        out.append({"layer": l.name, "op": l.op, "macs": l.macs, "candidates": rows})
    if as_json:
        sys.stdout.write(json.dumps({"config": cfg.id, "hardware": hwp.name, "objective": hwp.mapping_objective,
                                     "layers": out}, default=float) + "\n")
        return
    for r in out:
        t = Table(title=f"{cfg.id} on {hwp.name}, {r['layer']} [{r['op']}]: the mapper's finalists, all simulated "
                        f"(the mapper's order; objective {hwp.mapping_objective}; est. = the pipeline estimate; "
                        f"* = chosen)", title_justify="left")
        for c in ("", "tile N/K/C/P/Q", "PEs KxP", "order", "est. us", "sim. us", "err", "est. uJ", "sim. uJ"):
            t.add_column(c, justify="left" if c in ("", "tile N/K/C/P/Q", "order") else "right")
        for m in r["candidates"]:
            t.add_row("*" if m["chosen"] else "", f"{m['N_t']}/{m['K_t']}/{m['C_t']}/{m['P_t']}/{m['Q_t']}"
                      + (" in-res" if m["inputs_resident"] else ""), f"{m['pes_k']}x{m['pes_p']}", m["order"],
                      f"{m['time_s'] * 1e6:,.2f}", f"{m['sim_time_s'] * 1e6:,.2f}", f"{m['time_err'] * 100:+.1f}%",
                      f"{m['energy_j'] * 1e6:,.2f}", f"{m['sim_energy_j'] * 1e6:,.2f}")
        console.print(t)
