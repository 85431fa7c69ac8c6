"""Parts 1, 2, 4 and 5 of `cosim reproduce` (part 3, OFA, is explore/reproduce_ofa.py): each takes the
study's results (`study.Context`), draws its figures in the project's style (traces/style.py)
and returns its Markdown, ending in one verdict line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cosim.accuracy_report import knob_family
from traces import style

from .study import (PAPER, STUDY_CLASSES, TOLERANCE_PCT, Context, close_to, ok_rows, pct, quote, study_class,
                    verdict)

MODEL_ORDER = [f"segformer-b{i}" for i in range(6)] + ["swin-t", "resnet50"]
CLASS_NAMES = {"dense_conv": "dense conv", "depthwise": "depthwise conv", "conv1x1": "1x1 conv",
               "linear": "linear (per token)", "attention": "attention matmul", "non_mac": "non-MAC (PPU)"}
FAMILIES = {
    "equal MACs per PE": ("vs8", "vs16", "vs32"),
    "lanes = vector size": ("vs8", "sq16", "sq32"),
    "equal lanes (~area)": ("lanes4-vs8", "vs16", "lanes4-vs32"),
}
BUDGETS = (1.4, 4.0)


# ---------------------------------------------------------------------------------------------
# part 1
# ---------------------------------------------------------------------------------------------
def class_costs(config_id: str, preset: str, cache: Path) -> dict[str, dict[str, float]]:
    """Per op class: useful MACs, summed layer time [s] and energy [J] of one inference of
    ``config_id`` on ``preset`` (simulated in this process; cached in ``cache`` by model version)."""
    import workloads
    from accelerator.presets import load_preset
    from cosim.api import run_inference
    from cosim.profiles import model_version

    key = f"{config_id}|{preset}|{model_version()}"
    store = json.loads(cache.read_text()) if cache.is_file() else {}
    if key in store:
        return store[key]
    cfg = workloads.parse_config(config_id)
    wl = workloads.lower(cfg)
    cls = {l.name: study_class(l) for l in wl.layers}
    r = run_inference(cfg, load_preset(preset))
    out = {c: {"macs": 0.0, "time_s": 0.0, "energy_j": 0.0} for c in STUDY_CLASSES + ("non_mac",)}
    for l in wl.layers:
        out[cls[l.name]]["macs"] += float(l.macs) if cls[l.name] != "non_mac" else 0.0
    for name, t, e in zip(r.layer_names, r.layer_latency_s, r.layer_energy_j):
        c = out[cls.get(name, "non_mac")]
        c["time_s"] += float(t)
        c["energy_j"] += float(e)
    store[key] = out
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(store, indent=1, sort_keys=True))
    return out


def part_op_classes(ctx: Context) -> list[str]:
    df = ok_rows(ctx.results["op_classes"])
    preset = str(df["hardware"].iloc[0])
    rows = []
    for _, r in df.iterrows():
        rows.append((r["config"].split("@")[0], class_costs(r["config"], preset, ctx.figs.parent / "sweeps"
                                                             / "op_classes_by_class.json"), r))
    rows.sort(key=lambda x: MODEL_ORDER.index(x[0]) if x[0] in MODEL_ORDER else 99)
    classes = STUDY_CLASSES + ("non_mac",)
    share = {k: np.array([[100 * x[1][c][k] / max(1e-30, sum(x[1][cc][k] for cc in classes)) for c in classes]
                          for x in rows]) for k in ("macs", "time_s", "energy_j")}
    _op_class_figure(ctx.figs / "op_classes.png", [x[0] for x in rows], classes, share, preset)
    conv_idx = [classes.index(c) for c in ("dense_conv", "depthwise", "conv1x1")]
    lin = classes.index("linear")
    att = classes.index("attention")
    md = ["## 1. Where the work goes: MACs, time and energy by op class", "", quote("op_classes"), "",
          f"Tool: each model's MACs split from the layer IR; time (summed layer time) and energy of one inference "
          f"simulated on the `{preset}` preset. *conv* = dense + depthwise + 1x1 convolutions; a per-token linear "
          "layer is a 1x1 convolution over the feature map, so *conv incl. linear* adds it.", "",
          "| model | GMACs | " + " | ".join(CLASS_NAMES[c] for c in STUDY_CLASSES)
          + " | conv incl. linear: MACs | time | energy | latency [ms] | energy [mJ] |",
          "|---|---|" + "---|" * len(STUDY_CLASSES) + "---|---|---|---|---|"]
    for i, (name, c, r) in enumerate(rows):
        s = share["macs"][i]
        cl = [float(share[k][i][conv_idx].sum() + share[k][i][lin]) for k in ("macs", "time_s", "energy_j")]
        md.append(f"| {name} | {sum(c[k]['macs'] for k in STUDY_CLASSES) / 1e9:.2f} | "
                  + " | ".join(f"{s[classes.index(k)]:.1f}%" for k in STUDY_CLASSES)
                  + f" | **{cl[0]:.1f}%** | {cl[1]:.1f}% | {cl[2]:.1f}% | {r['latency_s'] * 1e3:.1f} | "
                    f"{r['energy_j'] * 1e3:.1f} |")
    seg = [i for i, x in enumerate(rows) if x[0].startswith("segformer")]
    if seg:
        mac_cl = [float(share["macs"][i][conv_idx].sum() + share["macs"][i][lin]) for i in seg]
        mac_conv = [float(share["macs"][i][conv_idx].sum()) for i in seg]
        t_cl = [float(share["time_s"][i][conv_idx].sum() + share["time_s"][i][lin]) for i in seg]
        t_att = [float(share["time_s"][i][att]) for i in seg]
        holds = min(mac_cl) > 50 and max(share["macs"][i][att] for i in seg) < min(mac_cl)
        v = verdict("agrees" if holds else "disagrees",
                    f"in SegFormer B0..B5 convolutions incl. per-token linear layers carry {min(mac_cl):.0f}-"
                    f"{max(mac_cl):.0f}% of the MACs and {min(t_cl):.0f}-{max(t_cl):.0f}% of the layer time "
                    f"(attention matmuls {min(t_att):.0f}-{max(t_att):.0f}% of the time); counting only layers that "
                    f"are convolutions in the model's code, {min(mac_conv):.0f}-{max(mac_conv):.0f}% of the MACs.")
    else:
        v = verdict("cannot be stated", "no SegFormer model in the results (run the part without --only filters).")
    ctx.verdicts["op_classes"] = v
    return md + ["", v, "", "![op classes](figures/op_classes.png)", ""]


def _op_class_figure(path: Path, models: list[str], classes: tuple, share: dict, preset: str) -> None:
    from traces.style import OP_COLORS

    with style.use():
        fig = style.figure(12, 0.45 * len(models) + 2.2)
        axes = fig.subplots(1, 3, sharey=True)
        y = np.arange(len(models))
        for ax, (k, title) in zip(axes, (("macs", "MACs"), ("time_s", f"layer time on {preset}"),
                                         ("energy_j", f"energy on {preset}"))):
            left = np.zeros(len(models))
            for j, c in enumerate(classes):
                v = share[k][:, j]
                ax.barh(y, v, left=left, color=OP_COLORS.get(c, "#8c8c8c"), label=CLASS_NAMES[c], height=0.7,
                        edgecolor="white", linewidth=0.5)
                left += v
            ax.set_xlim(0, 100)
            ax.set_xlabel(f"share of {title.split(' on ')[0]} [%]")
            ax.set_title(title, loc="left")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, models)
        axes[0].invert_yaxis()
        h, lab = axes[0].get_legend_handles_labels()
        fig.legend(h, lab, loc="outside lower center", ncol=6, frameon=False)
        style.save(fig, path)


# ---------------------------------------------------------------------------------------------
# part 2
# ---------------------------------------------------------------------------------------------
def _savings(df, base):
    df = df.copy()
    df["time_saved"] = [pct(v, base["latency_s"]) for v in df["latency_s"]]
    df["energy_saved"] = [pct(v, base["energy_j"]) for v in df["energy_j"]]
    df["macs_removed"] = [pct(v, base["macs"]) for v in df["macs"]]
    df["drop"] = base["accuracy"] - df["accuracy"]
    df["family"] = [knob_family(c) if c.split("@")[0] == base["config"].split("@")[0] else "switch "
                    + c.split("@")[0].split("-")[-1].upper() for c in df["config"]]
    return df


def best_within(df, budget: float, col: str):
    """The row with the most ``col`` saved among configurations (not the base) with a known accuracy
    within ``budget`` points of drop; None if there is none."""
    ok = df[(df["family"] != "full") & np.isfinite(df["drop"]) & (df["drop"] <= budget + 1e-9)]
    return None if not len(ok) else ok.loc[ok[col].idxmax()]


def full_of(configs, model: str) -> str | None:
    """The full configuration of ``model`` among ``configs`` (any resolution), or None."""
    import workloads

    for c in configs:
        if c.split("@")[0] == model and workloads.full_config(workloads.parse_config(c)).id == c:
            return c
    return None


def part_b2(ctx: Context) -> list[str]:
    df = ok_rows(ctx.results["b2_dynamic"])
    base_id = full_of(df["config"], "segformer-b2")
    base = df[df["config"] == base_id].iloc[0]
    df = _savings(df, base)
    _b2_proxy_figure(ctx.figs / "b2_dynamic.png", df)
    md = ["## 2. SegFormer-B2: time and energy saved at an accuracy drop", "", quote("b2"), "", quote("b2_v3"), "",
          f"Tool: preset vs16; the full SegFormer-B2 (`{base_id}`) takes {base['latency_s'] * 1e3:.1f} ms and "
          f"{base['energy_j'] * 1e3:.1f} mJ. Dynamic configurations skip heads, blocks, Mix-FFN channels or decoder "
          "width without retraining; switching runs the scaled B1/B0 instead (published mIoU).", "",
          "| configuration | MACs removed | time saved | energy saved | accuracy | drop [points] | accuracy source |",
          "|---|---|---|---|---|---|---|"]
    for _, r in df.sort_values("macs_removed").iterrows():
        known = np.isfinite(r["accuracy"])
        md.append(f"| `{r['config']}` | {r['macs_removed']:.1f}% | {r['time_saved']:.1f}% | {r['energy_saved']:.1f}% "
                  f"| {r['accuracy']:.2f} | {r['drop']:.2f} | {r['accuracy_profile']}: {r['accuracy_label']} |"
                  if known else
                  f"| `{r['config']}` | {r['macs_removed']:.1f}% | {r['time_saved']:.1f}% | {r['energy_saved']:.1f}% "
                  "| unknown | unknown | not published or measured |")
    knob = df[df["config"].str.startswith("segformer-b2@") & (df["config"] != base_id)]
    b2_known = bool(np.isfinite(knob["accuracy"]).any()) and np.isfinite(base["accuracy"])
    md += ["", "![B2 dynamic](figures/b2_dynamic.png)", ""]
    panels = []
    for prof in ctx.profiles:
        res = ctx.results.get(f"profile-{prof.sha256[:12]}")
        if res is not None:
            panels.append(_profile_panel(ctx, prof, ok_rows(res)))
    b2_panels = [p for p in panels if p[0] == "segformer-b2"]
    if b2_panels:
        v = b2_panels[0][1]
    elif b2_known:
        v = _b2_verdict(df, "the knob-skipped configurations of the table above")
    else:
        demo = [p for p in panels if p[0] != "segformer-b2"]
        v = verdict("cannot be stated", "no accuracy of a knob-skipped SegFormer-B2 configuration is published or "
                    "measured here (only the full B2, B1 and B0 have published mIoU; switching's smallest drop is "
                    f"{min(df.loc[df['drop'] > 0, 'drop'], default=float('nan')):.2f} points), and time and energy at "
                    "an accuracy drop need one; a profile measured with `cosim accuracy` on a SegFormer-B2 checkpoint "
                    "and ADE20K, given with `--accuracy`, states it."
                    + (f" The panel below computes the same numbers on {demo[0][0]} from its measured profile, to "
                       "show the machinery; it is not SegFormer-B2." if demo else ""))
    ctx.verdicts["b2_dynamic"] = v
    md += [v, ""]
    for _, _, lines in panels:
        md += lines
    return md


def _b2_verdict(df, what: str) -> str:
    p4, p14 = PAPER["b2"].numbers, PAPER["b2_v3"].numbers
    e4, t4 = best_within(df, 4.0, "energy_saved"), best_within(df, 4.0, "time_saved")
    e14 = best_within(df, 1.4, "energy_saved")
    if e4 is None or t4 is None or e14 is None:
        return verdict("cannot be stated", f"{what} have no configuration with a known accuracy within "
                       f"{'1.4' if e14 is None else '4'} points of drop.")
    tool = {"time at 4": (t4["time_saved"], p4["time"]), "energy at 4": (e4["energy_saved"], p4["energy"]),
            "energy at 1.4": (e14["energy_saved"], p14["energy"])}
    agree = all(close_to(t, p) for t, p in tool.values())
    text = "; ".join(f"{k} points: tool {t:.1f}% vs paper {p:g}%" for k, (t, p) in tool.items())
    return verdict("agrees" if agree else "disagrees", f"{text} ({what}; agreement within {TOLERANCE_PCT:g} points).")


def _profile_panel(ctx: Context, prof, df) -> tuple[str, str, list[str]]:
    """Part 2 from a measured profile: time and energy saved at 1.4 and 4 points of drop."""
    import workloads

    from cosim.accuracy_report import is_synthetic

    full = {workloads.full_config(workloads.parse_config(c)).id for c in df["config"]}
    model = sorted(full)[0].split("@")[0]
    base_rows = df[df["config"].isin(full)]
    if len(full) != 1 or not len(base_rows) or not np.isfinite(base_rows["accuracy"].iloc[0]):
        return model, verdict("cannot be stated", f"{prof.name} holds {len(full)} models or no accuracy of the full "
                              "configuration; a drop needs the full model's accuracy as reference."), []
    base = base_rows.iloc[0]
    df = _savings(df, base)
    synthetic = is_synthetic(prof)
    tag = prof.sha256[:12]
    png = f"b2_profile_{tag}.png"
    what = (f"the measured profile `{prof.name}` ({model} on "
            + ("the project's SYNTHETIC DEMO TASK, not SegFormer-B2 on ADE20K" if synthetic else
               f"{base['accuracy_metric']}") + ")")
    _profile_figure(ctx.figs / png, df, model, synthetic)
    lines = [f"### Part 2 from a measured profile: {model}" + (" (synthetic demo task)" if synthetic else ""), "",
             f"Accuracy from {what}; provenance of every value: {base['accuracy_label']}, {base['accuracy_metric']}. "
             f"Full {model} on vs16: {base['latency_s'] * 1e3:.3f} ms, {base['energy_j'] * 1e3:.3f} mJ, accuracy "
             f"{base['accuracy']:.2f}.", "",
             "| drop budget [points] | most time saved | its configuration (drop) | most energy saved | "
             "its configuration (drop) | paper (SegFormer-B2, ADE20K) |", "|---|---|---|---|---|---|"]
    for b in BUDGETS:
        t, e = best_within(df, b, "time_saved"), best_within(df, b, "energy_saved")
        paper = (f"{PAPER['b2'].numbers['time']:g}% time, "
                 f"{PAPER['b2'].numbers['energy']:g}% energy" if b == 4.0 else
                 f"{PAPER['b2_v3'].numbers['energy']:g}% energy")
        cell = (lambda r, col: ("-", "no configuration") if r is None else
                (f"{r[col]:.1f}%", f"`{r['config'].split('/', 1)[-1]}` ({r['drop']:.2f})"))
        (tv, tc), (ev, ec) = cell(t, "time_saved"), cell(e, "energy_saved")
        lines.append(f"| {b:g} | {tv} | {tc} | {ev} | {ec} | {paper} |")
    v = (_b2_verdict(df, what) if model == "segformer-b2" else
         verdict("cannot be stated", f"{what} is not SegFormer-B2; see the table for its own numbers."))
    lines += ["", f"Measured accuracy source: {base['accuracy_profile']}.", "",
              f"![part 2 from {model}](figures/{png})", ""]
    return model, v, lines


def _family_style(families) -> dict[str, tuple[str, str]]:
    order = ["full", "heads", "blocks", "ffn", "dec", "mixed"]
    fams = sorted(set(families), key=lambda f: (order.index(f) if f in order else 10, f))
    return {f: (style.BASE_COLOR if f == "full" else style.color(i), "*" if f == "full" else style.marker(i))
            for i, f in enumerate(fams)}


def _b2_proxy_figure(path: Path, df) -> None:
    fam = _family_style(df["family"])
    with style.use():
        fig = style.figure(11, 4.2)
        axes = fig.subplots(1, 2, sharex=True, sharey=True)
        for ax, col, lbl in ((axes[0], "time_saved", "time saved [%]"), (axes[1], "energy_saved", "energy saved [%]")):
            for f, (c, m) in fam.items():
                g = df[df["family"] == f]
                ax.scatter(g["macs_removed"], g[col], color=c, marker=m, s=60 if f == "full" else 36,
                           label=f if not f.startswith("switch") else f"{f} (published mIoU)", zorder=3)
            hi = max(5.0, float(df[["macs_removed", "time_saved", "energy_saved"]].max().max()) * 1.05)
            ax.plot([0, hi], [0, hi], ":", color="#777777", lw=1.2, label="saving = MACs removed")
            ax.set_xlabel("MACs removed [%] (not an accuracy)")
            ax.set_ylabel(lbl)
            ax.set_title(lbl.split(" [")[0], loc="left")
        axes[1].tick_params(labelleft=True)  # its own y label (energy), so its own numbers (sharey hides them)
        style.legend_outside(axes[1], title="knob family")
        fig.suptitle("SegFormer-B2 dynamic configurations on vs16: savings against MACs removed (accuracy unknown)",
                     x=0.01, ha="left")
        style.save(fig, path)


def _profile_figure(path: Path, df, model: str, synthetic: bool) -> None:
    fam = _family_style(df["family"])
    d = df[np.isfinite(df["drop"])]
    with style.use():
        fig = style.figure(11, 4.4)
        axes = fig.subplots(1, 2, sharex=True)
        for ax, col, lbl, paper in ((axes[0], "time_saved", "time saved [%]", [(4.0, PAPER["b2"].numbers["time"])]),
                                    (axes[1], "energy_saved", "energy saved [%]",
                                     [(4.0, PAPER["b2"].numbers["energy"]), (1.4, PAPER["b2_v3"].numbers["energy"])])):
            for f, (c, m) in fam.items():
                g = d[d["family"] == f]
                ax.scatter(g["drop"], g[col], color=c, marker=m, s=60 if f == "full" else 32, label=f, zorder=3)
            xs = np.sort(d["drop"].to_numpy(float))
            best = [d.loc[d["drop"] <= x + 1e-12, col].max() for x in xs]
            ax.step(xs, best, where="post", color="#555555", lw=1.2, label="most saved within the drop")
            for k, b in enumerate(BUDGETS):
                ax.axvline(b, color="#bbbbbb", lw=1, ls="--", zorder=0,
                           label=None if k else f"drop budgets {' and '.join(f'{x:g}' for x in BUDGETS)} points")
            ax.scatter([p[0] for p in paper], [p[1] for p in paper], marker=style.PAPER_MARKER, s=200,
                       color="white", edgecolors="k", linewidths=1.5, zorder=4, label="paper (SegFormer-B2, ADE20K)")
            ax.set_xlabel("accuracy drop [points]")
            ax.set_ylabel(lbl)
            ax.set_title(lbl.split(" [")[0], loc="left")
        style.legend_outside(axes[1], title="knob family")
        fig.suptitle(f"{model} on vs16: savings against measured accuracy drop"
                     + (" (synthetic demo task, not ADE20K)" if synthetic else ""))
        style.save(fig, path)


# ---------------------------------------------------------------------------------------------
# part 4
# ---------------------------------------------------------------------------------------------
def part_vector_size(ctx: Context) -> list[str]:
    from accelerator.presets import load_preset

    df = ok_rows(ctx.results["vector_size"])
    base_id = full_of(df["config"], "segformer-b2")
    full_macs = df[df["config"] == base_id]["macs"].max()
    df["family"] = [knob_family(c) for c in df["config"]]
    df["kept"] = 100 * df["macs"] / full_macs
    md = ["## 4. Vector size, per PE-organisation family", "", quote("vector_size"), "",
          "Tool: SegFormer-B2 dynamic configurations on seven presets in three families. The same configuration "
          "has the same accuracy on every preset (the knobs, not the hardware, decide what is computed), so at "
          "equal configuration lower energy *is* a better energy-accuracy trade-off, whether or not the accuracy is "
          "known.", "",
          "| family | preset | VS | lanes | PEs | full B2 ms | full B2 mJ | configs where the widest VS of the family "
          "has the least energy |", "|---|---|---|---|---|---|---|---|"]
    wins = {}
    for fam, presets in FAMILIES.items():
        piv = df[df["preset"].isin(presets)].pivot_table(index="config", columns="preset", values="energy_j")
        piv = piv.dropna()
        widest = max(presets, key=lambda p: load_preset(p).vector_size)
        wins[fam] = (int((piv.idxmin(axis=1) == widest).sum()), len(piv), widest)
        for p in presets:
            hw = load_preset(p)
            full = df[(df["preset"] == p) & (df["config"] == base_id)]
            if not len(full):
                continue
            full = full.iloc[0]
            md.append(f"| {fam} | {p} | {hw.vector_size} | {hw.lanes} | {hw.num_pes} | {full['latency_s'] * 1e3:.1f} "
                      f"| {full['energy_j'] * 1e3:.1f} | " + (f"{wins[fam][0]}/{wins[fam][1]}" if p == widest else "")
                      + " |")
    _vector_figure(ctx.figs / "vector_size.png", df)
    n_all = sum(w[0] == w[1] and w[1] > 0 for w in wins.values())
    parts = "; ".join(f"{f}: {w[2]} least energy on {w[0]}/{w[1]} configurations" for f, w in wins.items())
    kind = "agrees" if n_all == len(wins) else "disagrees"
    reasons = []
    for fam, (won, n, widest) in wins.items():
        if won < n:
            narrow = min(FAMILIES[fam], key=lambda p: load_preset(p).vector_size)
            reasons.append(f"in *{fam}* {widest} vs {narrow} on the full B2: " + _component_delta(df, widest, narrow,
                                                                                                base_id))
    reason = (" Measured where the wider vector loses (energy by component, full B2): " + "; ".join(reasons) + "."
              if reasons else "")
    v = verdict(kind, f"{parts}.{reason}")
    ctx.verdicts["vector_size"] = v
    return md + ["", v, "", "![vector size](figures/vector_size.png)", ""]


def _component_delta(df, a: str, b: str, config: str) -> str:
    """The energy components that differ most between presets ``a`` and ``b`` on ``config``."""
    ra = df[(df["preset"] == a) & (df["config"] == config)]
    rb = df[(df["preset"] == b) & (df["config"] == config)]
    if not len(ra) or not len(rb):
        return "not in the results"
    cols = [c for c in df.columns if c.startswith("energy_") and c.endswith("_j") and c != "energy_j"]
    d = sorted(((float(ra[c].iloc[0] - rb[c].iloc[0]), c[7:-2]) for c in cols), key=lambda t: -abs(t[0]))[:3]
    tot = float(ra["energy_j"].iloc[0] - rb["energy_j"].iloc[0])
    return f"{tot * 1e3:+.2f} mJ in all, of which " + ", ".join(f"{name} {v * 1e3:+.2f} mJ" for v, name in d)


def _vector_figure(path: Path, df) -> None:
    from accelerator.presets import load_preset
    from matplotlib.lines import Line2D

    fam = _family_style(df["family"])
    with style.use():
        fig = style.figure(13, 4.4)
        axes = fig.subplots(1, 3, sharey=True)
        for ax, (name, presets) in zip(axes, FAMILIES.items()):
            for i, p in enumerate(presets):
                g = df[df["preset"] == p]
                vs = load_preset(p).vector_size
                for f, (_, m) in fam.items():
                    h = g[g["family"] == f]
                    ax.scatter(h["kept"], h["energy_j"] * 1e3, color=style.color(i), marker=m, s=40, zorder=3)
            ax.set_title(name, loc="left")
            ax.set_xlabel("MACs kept [%]")
            colours = [Line2D([], [], ls="", marker="o", color=style.color(i), label=f"{p} (VS {load_preset(p).vector_size})")
                       for i, p in enumerate(presets)]
            style.legend_outside(ax, where="below", ncol=1, title="preset (colour)", handles=colours)
        axes[0].set_ylabel("energy per inference [mJ]")
        handles = [Line2D([], [], ls="", marker=m, color="#444444", label=f) for f, (_, m) in fam.items()]
        fig.legend(handles=handles, title="configuration (marker)", loc="outside right upper")
        fig.suptitle("SegFormer-B2 configurations: energy per vector size, per organisation family")
        style.save(fig, path)


# ---------------------------------------------------------------------------------------------
# part 5
# ---------------------------------------------------------------------------------------------
BASE_HW = (16, 65536, 25.6e9)


def _hw_label(pes, gb, bw) -> str:
    return f"{int(pes)} PE, {int(gb) // 1024} KiB GB, {bw / 1e9:g} GB/s"


def _design_hw(pes: int, gb: int, bw: float):
    from accelerator.presets import apply_overrides, load_preset

    return apply_overrides(load_preset("vs16"), {"num_pes": int(pes), "global_buffer_bytes": int(gb),
                                                 "dram_bandwidth_bytes_per_s": float(bw)})


def design_area(pes: int, gb: int, bw: float) -> dict[str, float]:
    """Area per component of vs16 with these resources, from the area model (accelerator.area), so
    that components it learns to price appear here without a change."""
    from cosim.api import area_mm2

    return area_mm2(_design_hw(pes, gb, bw))


def design_area_without_memory_interface(pes: int, gb: int, bw: float) -> float:
    """The same design's known area with the DRAM interface (PHY, controller, devices) left free."""
    from cosim.api import area_without_memory_interface_mm2

    return area_without_memory_interface_mm2(_design_hw(pes, gb, bw))


def _best_edap(df, col: str) -> dict[str, tuple]:
    """Model -> (best design by ``col``, its EDAP relative to the base design's)."""
    out = {}
    for m, g in df.groupby("model"):
        b = g[g["hw"] == BASE_HW].iloc[0]
        best = g.loc[g[col].idxmin()]
        out[m] = (best.hw, best[col] / b[col])
    return out


def part_scaling(ctx: Context) -> list[str]:
    df = ok_rows(ctx.results["scaling"])
    keys = ["num_pes", "global_buffer_bytes", "dram_bandwidth_bytes_per_s"]
    designs = sorted({tuple(r) for r in df[keys].itertuples(index=False)}, key=lambda d: (d != BASE_HW, d))
    areas = {d: design_area(*d) for d in designs}
    df["hw"] = [tuple(r) for r in df[keys].itertuples(index=False)]
    df["area"] = [areas[d]["total"] for d in df["hw"]]
    df["edap"] = df["energy_j"] * df["latency_s"] * df["area"]
    # the same designs with the memory interface free (its area and its static energy left out):
    # what the ranking was before the DRAM interface was priced, to show how the conclusion moves
    from cosim.api import memory_interface_energy_components

    mi_cols = [f"energy_{c}_j" for c in memory_interface_energy_components() if f"energy_{c}_j" in df.columns]
    free_area = {d: design_area_without_memory_interface(*d) for d in designs}
    df["edap_free"] = ((df["energy_j"] - df[mi_cols].sum(axis=1)) * df["latency_s"]
                       * [free_area[d] for d in df["hw"]])
    unknown = sorted({k for a in areas.values() for k, v in a.items() if isinstance(v, float) and math.isnan(v)})
    models = [m for m in MODEL_ORDER if m in set(df["model"])]
    md = ["## 5. Scaling resources for larger models", "", quote("scaling"), "",
          "Tool: vs16 with PEs x global buffer x DRAM bandwidth (`studies/scaling.yaml`); area per design from the "
          "area model (" + ", ".join(f"{k}" for k in areas[designs[0]] if k != "total") + "). Per model, the "
          "best energy-delay-area product (EDAP) against the base design " + _hw_label(*BASE_HW) + ":", "",
          "| model | base ms | base mJ | base mm² | best-EDAP design | its ms | its mJ | its mm² | EDAP vs base | "
          "fastest design's speed-up |", "|---|---|---|---|---|---|---|---|---|---|"]
    gains = {}
    for m in models:
        g = df[df["model"] == m]
        b = g[g["hw"] == BASE_HW].iloc[0]
        best = g.loc[g["edap"].idxmin()]
        fast = g.loc[g["latency_s"].idxmin()]
        gains[m] = best.edap / b.edap
        md.append(f"| {m} | {b.latency_s * 1e3:.1f} | {b.energy_j * 1e3:.1f} | {b.area:.2f} | {_hw_label(*best.hw)} | "
                  f"{best.latency_s * 1e3:.1f} | {best.energy_j * 1e3:.1f} | {best.area:.2f} | {gains[m]:.2f}x | "
                  f"{b.latency_s / fast.latency_s:.2f}x ({_hw_label(*fast.hw)}) |")
    _scaling_figure(ctx.figs / "scaling.png", df, designs, models)
    large = [m for m in models if m in ("segformer-b3", "segformer-b4", "segformer-b5")] or models
    best_gain = min(gains[m] for m in large)
    caveat = (f" Not priced by the area model: {', '.join(unknown)} (unknown, left out of the area)." if unknown else "")
    priced, free = _best_edap(df, "edap"), _best_edap(df, "edap_free")
    md += ["", "Best-EDAP design with the DRAM interface (PHY, controller, devices: area and static power) priced, "
           "and with it free (its area and static energy left out" + ("" if mi_cols else
           "; this sweep has no static-energy columns of the interface, so only its area is left out") + "):", "",
           "| model | best design, interface priced | EDAP vs base | best design, interface free | EDAP vs base |",
           "|---|---|---|---|---|"]
    for m in models:
        md.append(f"| {m} | {_hw_label(*priced[m][0])} | {priced[m][1]:.2f}x | {_hw_label(*free[m][0])} | "
                  f"{free[m][1]:.2f}x |")
    changed = [m for m in models if priced[m][0] != free[m][0]]
    caveat += (f" Pricing the DRAM interface changes the best-EDAP design for {', '.join(changed)}"
               if changed else " Pricing the DRAM interface changes no model's best-EDAP design") + \
        " (table above)."
    v = verdict("agrees" if best_gain > 0.8 else "disagrees",
                f"for {', '.join(large)} the best design's EDAP is {best_gain:.2f}x the base design's at best (the paper: "
                f"no significant improvement; counted here as better than 0.8x).{caveat}")
    ctx.verdicts["scaling"] = v
    return md + ["", v, "", "![scaling](figures/scaling.png)", ""]


def _scaling_figure(path: Path, df, designs, models) -> None:
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    n = len(designs)
    with style.use():
        fig = style.figure(13, 8.5)
        axes = fig.subplots(3, 1, sharex=True)
        x = np.arange(len(models))
        w = 0.8 / n
        for ax, (col, lbl, log) in zip(axes, (("latency_s", "latency [ms]", True), ("energy_j", "energy [mJ]", True),
                                              ("edap_rel", "EDAP / base design [-]", False))):
            for i, d in enumerate(designs):
                vals = []
                for m in models:
                    g = df[df["model"] == m].set_index("hw")
                    if col == "edap_rel":
                        vals.append(g.loc[[d], "edap"].iloc[0] / g.loc[[BASE_HW], "edap"].iloc[0])
                    else:
                        vals.append(g.loc[[d], col].iloc[0] * 1e3)
                color = style.BASE_COLOR if i == 0 else cmap((i - 1) / max(1, n - 2) * 0.9)
                ax.bar(x - 0.4 + w * (i + 0.5), vals, w, color=color, label=_hw_label(*d) + (" (base)" if i == 0 else ""))
            if log:
                ax.set_yscale("log")
                style.plain_ticks(ax, "y")
            else:
                ax.axhline(1.0, color="#555555", lw=1, ls="--")
            ax.set_ylabel(lbl)
            ax.grid(axis="x", visible=False)
        axes[-1].set_xticks(x, models)
        axes[-1].set_xlabel("model (512x512)")
        h, lab = axes[0].get_legend_handles_labels()
        fig.legend(h, lab, loc="outside right upper", title="design (vs16 with)")
        fig.suptitle("Scaling PEs, global buffer (GB) and DRAM bandwidth for SegFormer B0..B5", x=0.01, ha="left")
        style.save(fig, path)
