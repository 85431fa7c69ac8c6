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


def rows_of(profile: Any, hw: str | None = None) -> list[dict]:
    import workloads

    rows = []
    for cid, acc in profile.entries.items():
        cfg = workloads.parse_config(cid)
        full = workloads.full_config(cfg)
        diff = [k for (k, v), (_, fv) in zip(cfg.knobs, full.knobs) if v != fv]
        knob = "full" if not diff else diff[0] if len(diff) == 1 else "mixed"
        wl = workloads.lower(cfg)
        rows.append({"config": cid, "model": cfg.name, "knob": knob, "macs": wl.total_macs,
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
    acc = Accelerator(hw)
    cfgs = {r["config"]: workloads.parse_config(r["config"]) for r in rows}
    programs: dict = {}

    def program_of(cid: str):
        if cid not in programs:
            programs[cid] = load_program(acc, cfgs[cid])
        return programs[cid]

    table = measure(acc, hw, sorted(cfgs), [ResourceLevel()], program_of)
    for r in rows:
        r["latency_s"], r["energy_j"] = table.predict(r["config"], ResourceLevel())


def report(profile_path: str, out: str | None = None, hw: str | None = None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workloads.accuracy import load_profile, resolve_profile

    from traces.output import check_output_folder, output_path

    prof = load_profile(profile_path)
    if not prof.entries:
        from workloads.accuracy import AccuracyDataError

        raise AccuracyDataError(f"{profile_path}: the profile has no entries; expected at least one configuration")
    outdir = Path(check_output_folder(out if out else prof.path.resolve().with_name(prof.path.stem + "-report"),
                                      inputs=[resolve_profile(profile_path)], what="report folder"))
    rows = rows_of(prof, hw)
    xs = [("macs", "useful MACs (G)", 1e-9)]
    if hw:
        xs += [("latency_s", f"latency on {hw} (ms)", 1e3), ("energy_j", f"energy on {hw} (mJ)", 1e3)]
    fig, axes = plt.subplots(1, len(xs), figsize=(5.2 * len(xs), 4.2), squeeze=False)
    knobs = sorted({r["knob"] for r in rows if r["knob"] != "full"})
    full = [r for r in rows if r["knob"] == "full"]
    for ax, (key, label, scale) in zip(axes[0], xs):
        for k in knobs:
            pts = sorted([r for r in rows if r["knob"] == k] + ([] if k == "mixed" else full), key=lambda r: r[key])
            ax.plot([r[key] * scale for r in pts], [r["accuracy"] for r in pts], "o-" if k != "mixed" else "x",
                    label=k, ms=4)
        for r in full:
            ax.plot([r[key] * scale], [r["accuracy"]], "k*", ms=11, label="full model" if key == "macs" else None)
        ax.set_xlabel(label)
        ax.set_ylabel(rows[0]["metric"] or "accuracy")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    labels = sorted({a.label for a in prof.entries.values()})
    fig.suptitle(f"{prof.path.name}: accuracy vs work kept per knob\n({'; '.join(labels)})", fontsize=9)
    fig.tight_layout()
    png = outdir / "resilience.png"
    with output_path(png, inputs=[prof.path], what="figure") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)

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
