"""Resilience curves of a measured accuracy profile (`cosim report-accuracy`).

For each configuration of the profile: its knob (the one knob that differs from the full
configuration of its model; "full" for the full model, "mixed" when several differ), its
useful MACs from the layer IR, its accuracy, and optionally the latency and energy of one
inference simulated on a hardware preset at full resources. One curve per knob: the
paper's resilience figure (accuracy against the work kept).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def knob_family(config_id: str) -> str:
    """The knob that differs from the full configuration of its model ("full" for the full model,
    "mixed" when several differ): the family a configuration's point belongs to in a figure."""
    import workloads

    cfg = workloads.parse_config(config_id)
    full = workloads.full_config(cfg)
    diff = [k for (k, v), (_, fv) in zip(cfg.knobs, full.knobs) if v != fv]
    return "full" if not diff else diff[0] if len(diff) == 1 else "mixed"


def is_synthetic(profile: Any) -> bool:
    """Whether a profile was measured on the project's synthetic demo task (its provenance says so)."""
    return any((a.provenance or {}).get("synthetic_task") or "synthetic" in a.label.lower()
               for a in profile.entries.values())


def rows_of(profile: Any, hw: str | None = None) -> list[dict]:
    import workloads

    rows = []
    for cid, acc in profile.entries.items():
        cfg = workloads.parse_config(cid)
        full = workloads.full_config(cfg)
        wl = workloads.lower(cfg)
        rows.append({"config": cid, "model": cfg.name, "knob": knob_family(cid), "macs": wl.total_macs,
                     "full_macs": workloads.lower(full).total_macs, "accuracy": acc.value, "metric": acc.metric})
    if hw:
        _simulate(rows, hw)
    return rows


def _simulate(rows: list[dict], hw_name: str) -> None:
    import workloads
    from accelerator.model import Accelerator
    from accelerator.presets import load_preset

    from host.profile import ResourceLevel

    from .profiles import measure
    from .system import load_program

    hw = load_preset(hw_name)
    acc = Accelerator.for_process(hw)
    cfgs = {r["config"]: workloads.parse_config(r["config"]) for r in rows}
    programs: dict = {}

    def program_of(cid: str):
        if cid not in programs:
            programs[cid] = load_program(acc, cfgs[cid])
        return programs[cid]

    table = measure(acc, hw, sorted(cfgs), [ResourceLevel()], program_of)
    for r in rows:
        r["latency_s"], r["energy_j"] = table.predict(r["config"], ResourceLevel())


def figure(rows: list[dict], hw: str | None, prof: Any, path: Path) -> Path:
    """:func:`draw` written to ``path`` (PNG) and beside it as SVG."""
    from traces import style

    style.save(draw(rows, hw, prof), path)
    return path


def draw(rows: list[dict], hw: str | None, prof: Any):
    """Accuracy against the work kept: one marker per knob family (points of one family are
    different values of that knob), each family's best accuracy at a given cost as a step line,
    the full model as a star; one panel per cost (MACs, and latency and energy with ``hw``)."""
    from traces import style

    big = max(r["macs"] for r in rows) >= 1e9
    xs = [("macs", "useful MACs [G]" if big else "useful MACs [M]", 1e-9 if big else 1e-6)]
    if hw:
        xs += [("latency_s", f"latency on {hw} [ms]", 1e3), ("energy_j", f"energy on {hw} [mJ]", 1e3)]
    knobs = sorted({r["knob"] for r in rows if r["knob"] != "full"}, key=lambda k: (k == "mixed", k))
    full = [r for r in rows if r["knob"] == "full"]
    metric = rows[0]["metric"] or "accuracy"
    with style.use():
        fig = style.figure(4.6 * len(xs) + 1.8, 4.2)
        axes = fig.subplots(1, len(xs), sharey=True, squeeze=False)[0]
        for ax, (key, label, scale) in zip(axes, xs):
            for i, k in enumerate(knobs):
                pts = sorted([r for r in rows if r["knob"] == k] + full, key=lambda r: r[key])
                x = np.array([r[key] * scale for r in pts])
                y = np.array([r["accuracy"] for r in pts])
                ax.step(x, np.maximum.accumulate(y), where="post", color=style.color(i), lw=1, alpha=0.6)
                own = [r for r in pts if r["knob"] == k]
                ax.scatter([r[key] * scale for r in own], [r["accuracy"] for r in own], color=style.color(i),
                           marker=style.marker(i), s=34, zorder=3, label=k)
            ax.scatter([r[key] * scale for r in full], [r["accuracy"] for r in full], marker="*", s=160,
                       color=style.BASE_COLOR, zorder=4, label="full model")
            ax.set_xlabel(label)
            ax.set_title(label.split(" [")[0], loc="left")
        axes[0].set_ylabel(f"{metric.split(',')[0]} [%]")
        style.legend_outside(axes[-1], title="knob (line: best so far)")
        labels = sorted({a.label for a in prof.entries.values()})
        fig.suptitle(f"{prof.path.name}: accuracy against work kept, per knob\n({'; '.join(labels)})",
                     fontsize=10)
    return fig


def report(profile_path: str, out: str | None = None, hw: str | None = None) -> dict:
    from workloads.accuracy import load_profile, resolve_profile

    from traces.output import check_output_folder, output_path

    prof = load_profile(profile_path)
    if not prof.entries:
        from workloads.accuracy import AccuracyDataError

        raise AccuracyDataError(f"{profile_path}: the profile has no entries; expected at least one configuration")
    outdir = Path(check_output_folder(out if out else prof.path.resolve().with_name(prof.path.stem + "-report"),
                                      inputs=[resolve_profile(profile_path)], what="report folder"))
    rows = rows_of(prof, hw)
    png = figure(rows, hw, prof, outdir / "resilience.png")
    labels = sorted({a.label for a in prof.entries.values()})
    full = [r for r in rows if r["knob"] == "full"]
    cols = ["config", "knob", "macs", "accuracy"] + (["latency_s", "energy_j"] if hw else [])
    lines = [f"# Resilience of {prof.path.name}", "", f"profile: {prof.name}", "",
             f"metric: {rows[0]['metric']}; label(s): {'; '.join(labels)}", "",
             "| " + " | ".join(cols + ["MACs kept %", "drop"]) + " |", "|" + "---|" * (len(cols) + 2)]
    ref = {r["model"]: r["accuracy"] for r in full}
    for r in sorted(rows, key=lambda r: (r["knob"] != "full", r["knob"], -r["macs"])):
        drop = r["accuracy"] - ref[r["model"]] if r["model"] in ref else math.nan
        cells = [str(r["config"]), r["knob"], f"{r['macs']:,}", f"{r['accuracy']:.2f}"]
        if hw:
            cells += [f"{r['latency_s'] * 1e3:.3f} ms", f"{r['energy_j'] * 1e3:.3f} mJ"]
        cells += [f"{100 * r['macs'] / r['full_macs']:.1f}", "" if math.isnan(drop) else f"{drop:+.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    md = outdir / "resilience.md"
    with output_path(md, inputs=[prof.path], what="report page") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    return {"png": png, "md": md, "rows": rows, "table": "\n".join(lines[6:])}
