"""Part 3 of `cosim reproduce`: switching between Once-For-All ResNet-50 sub-nets, and the gap to the
paper's numbers decomposed by re-running the study under alternative assumptions, one at a time:
how the drop is counted, the baseline, the (approximate) sub-net configurations, DRAM bandwidth,
utilisation and energy per MAC, and the PE-array size. Each row of the decomposition is measured
(a sweep of studies/ofa_assumptions.yaml or studies/ofa_refit.yaml) or computed from measured rows
(said so where it is).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from traces import style

from .study import PAPER, TOLERANCE_PCT, Context, close_to, ok_rows, pct, quote, verdict

EXTRA_STUDIES = ("ofa_assumptions", "ofa_refit")
BASE = "ofa-resnet50-mac4.1b"
T_BUDGET, E_BUDGET = PAPER["ofa"].numbers["drop"], PAPER["ofa_v3"].numbers["drop"]
T_PAPER, E_PAPER = PAPER["ofa"].numbers["time"], PAPER["ofa_v3"].numbers["energy"]


def _subnet(df):
    """Each row's named sub-net (``tag.subnet`` for re-fitted configurations, else the model)."""
    if "tag.subnet" in df.columns:
        return [s if isinstance(s, str) and s else c.split("@")[0] for s, c in zip(df["tag.subnet"], df["config"])]
    return [c.split("@")[0] for c in df["config"]]


def savings(df, acc: dict, base=None, relative_drop: bool = False):
    """Rows with time/energy saved against ``base`` (a row; default: the 4.1B sub-net of ``df``) and
    the drop of the published top-1 (``acc``: sub-net -> top-1) from the 4.1B sub-net's."""
    df = df.copy()
    df["subnet"] = _subnet(df)
    df = df[df["subnet"].isin(acc)]
    if base is None:
        base = df[df["subnet"] == BASE].iloc[0]
    df["time_saved"] = [pct(v, base["latency_s"]) for v in df["latency_s"]]
    df["energy_saved"] = [pct(v, base["energy_j"]) for v in df["energy_j"]]
    ref = acc[BASE]
    df["drop"] = [(ref - acc[s]) * (100.0 / ref if relative_drop else 1.0) for s in df["subnet"]]
    return df


def headline(df) -> tuple[float, float, str, str]:
    """(time saved within the v2 budget, energy saved within the v3 budget, their sub-nets)."""
    def best(budget, col):
        ok = df[(df["subnet"] != BASE) & (df["drop"] <= budget + 1e-9)]
        if not len(ok):
            return float("nan"), "-"
        r = ok.loc[ok[col].idxmax()]
        return float(r[col]), r["subnet"].replace("ofa-resnet50-", "")
    (t, ts), (e, es) = best(T_BUDGET, "time_saved"), best(E_BUDGET, "energy_saved")
    return t, e, ts, es


def alternatives(ctx: Context, acc: dict) -> list[tuple[str, str, object]]:
    """(assumption, how it was obtained, rows with savings) for the default and each alternative."""
    ofa = ok_rows(ctx.results["ofa"])
    out = [("as run: vs16, base = the 4.1B sub-net, drop in points", "sweep studies/ofa.yaml", savings(ofa, acc))]
    out.append((f"drop as % of the base's top-1 ({acc[BASE]:g}), not points", "same rows, drop recounted",
                savings(ofa, acc, relative_drop=True)))
    refit = ok_rows(ctx.results.get("ofa_refit", ofa.iloc[0:0]))
    if len(refit) and "tag.subnet" in refit.columns:
        r50 = refit[refit["tag.subnet"] == "resnet50"]
        if len(r50):
            out.append(("base = static ResNet-50 (4.09 GMACs), drop still from the 4.1B sub-net",
                        "sweep studies/ofa_refit.yaml", savings(ofa, acc, base=r50.iloc[0])))
        if "tag.fit_seed" in refit.columns:
            for seed in sorted({int(s) for s in refit["tag.fit_seed"].dropna() if s == s}):
                g = refit[refit["tag.fit_seed"] == seed]
                if BASE in set(_subnet(g)):
                    out.append((f"sub-nets re-fitted to the same MACs and params (seed {seed})",
                                "sweep studies/ofa_refit.yaml", savings(g, acc)))
    ass = ok_rows(ctx.results.get("ofa_assumptions", ofa.iloc[0:0]))
    for name in (sorted(set(ass["tag.assumption"])) if len(ass) else []):
        out.append((f"{name}" + (" (DRAM 25.6 to 102.4 GB/s)" if name == "dram x4" else " instead of 16"),
                    "sweep studies/ofa_assumptions.yaml", savings(ass[ass["tag.assumption"] == name], acc)))
    base = out[0][2]
    b = base[base["subnet"] == BASE].iloc[0]
    ideal = base.copy()
    ideal["latency_s"] = b["latency_s"] * ideal["macs"] / b["macs"]
    ideal["energy_j"] = b["energy_j"] * ideal["macs"] / b["macs"]
    out.append(("every sub-net at the base's utilisation and energy per MAC", "computed from the measured rows "
                "(savings = MACs removed)", savings(ideal, acc)))
    return out


def part_ofa(ctx: Context) -> list[str]:
    ofa = ok_rows(ctx.results["ofa"])
    acc = {s: a for s, a in zip(_subnet(ofa), ofa["accuracy"]) if np.isfinite(a)}
    alts = alternatives(ctx, acc)
    df = alts[0][2].sort_values("macs", ascending=False)
    md = ["## 3. Once-For-All ResNet-50 switching", "", quote("ofa"), "", quote("ofa_v3"), "",
          "Tool: preset vs16; baseline the 4.1B-MAC sub-net (published top-1 "
          f"{acc[BASE]:g}); each sub-net is a configuration of the OFA space fitted to the published MACs and "
          "params (the sub-nets' own configurations are not public), labelled approximate. *DRAM time* is the "
          "sub-net's DRAM traffic at vs16's full DRAM bandwidth over its latency: near 100% the sub-net is "
          "DRAM-bound.", "",
          "| sub-net | GMACs | top-1 | drop | latency ms | time saved | energy mJ | energy saved | utilisation | "
          "DRAM time |", "|---|---|---|---|---|---|---|---|---|---|"]
    from accelerator.presets import load_preset

    dram_bw = load_preset("vs16").dram_bandwidth_bytes_per_s
    for _, r in df.iterrows():
        md.append(f"| {r['subnet'].replace('ofa-resnet50-', '')} | {r['macs'] / 1e9:.2f} | {acc[r['subnet']]:.1f} | "
                  f"{r['drop']:.1f} | {r['latency_s'] * 1e3:.2f} | {r['time_saved']:.1f}% | {r['energy_j'] * 1e3:.2f} | "
                  f"{r['energy_saved']:.1f}% | {100 * r['utilization']:.0f}% | "
                  f"{100 * r['dram_bytes'] / dram_bw / r['latency_s']:.0f}% |")
    rows = [(name, how, *headline(d)) for name, how, d in alts]
    t0, e0 = rows[0][2], rows[0][3]
    # an alternative lacking a sub-net the default's numbers come from (a sweep cut short) is left
    # out rather than compared on fewer sub-nets
    need = {BASE} | {f"ofa-resnet50-{rows[0][4]}", f"ofa-resnet50-{rows[0][5]}"}
    missing = {name: sorted(need - set(d["subnet"])) for name, _, d in alts}
    rows = [r for r in rows if not missing[r[0]]]
    md += ["", "![OFA](figures/ofa.png)", "",
           "### The gap, decomposed", "",
           f"The tool's two numbers (most time saved within {T_BUDGET:g} points of drop, paper {T_PAPER:g}%; most "
           f"energy saved within {E_BUDGET:g} points, paper {E_PAPER:g}%) re-computed under one alternative "
           "assumption at a time:", "",
           f"| assumption | how | time saved (≤{T_BUDGET:g}) | Δ | energy saved (≤{E_BUDGET:g}) | Δ | sub-nets |",
           "|---|---|---|---|---|---|---|"]
    for name, how, t, e, ts, es in rows:
        md.append(f"| {name} | {how} | {t:.1f}% | {t - t0:+.1f} | {e:.1f}% | {e - e0:+.1f} | {ts} / {es} |")
    md += [f"| {n} | incomplete: no result for {', '.join(m)} | - | - | - | - | - |" for n, m in missing.items() if m]
    _ofa_figure(ctx.figs / "ofa.png", df)
    _gap_figure(ctx.figs / "ofa_gap.png", rows)
    agree = close_to(t0, T_PAPER) and close_to(e0, E_PAPER)
    if agree:
        text = (f"time saved within {T_BUDGET:g} points {t0:.1f}% vs paper {T_PAPER:g}%; energy saved within "
                f"{E_BUDGET:g} points {e0:.1f}% vs paper {E_PAPER:g}%.")
    else:
        near = [r for r in rows[1:] if close_to(r[2], T_PAPER) and close_to(r[3], E_PAPER)]
        moves = sorted(rows[1:], key=lambda r: -(abs(r[2] - t0) + abs(r[3] - e0)))[:3]
        text = (f"time saved within {T_BUDGET:g} points {t0:.1f}% vs paper {T_PAPER:g}%; energy saved within "
                f"{E_BUDGET:g} points {e0:.1f}% vs paper {E_PAPER:g}%. Measured reasons (table below): "
                + "; ".join(f"{r[0]} moves them by {r[2] - t0:+.1f} / {r[3] - e0:+.1f} points" for r in moves)
                + (". Within tolerance under: " + "; ".join(r[0] for r in near) if near else
                   ". No single assumption tried brings both within tolerance") + ".")
    v = verdict("agrees" if agree else "disagrees", text)
    ctx.verdicts["ofa"] = v
    md.insert(md.index("### The gap, decomposed"), v)
    md.insert(md.index("### The gap, decomposed"), "")
    return md + ["", "![OFA gap](figures/ofa_gap.png)", ""]


def _ofa_figure(path: Path, df) -> None:
    d = df.sort_values("drop")
    with style.use():
        fig = style.figure(8.5, 4.2)
        ax = fig.subplots()
        for i, (col, lbl, m, budget, paper) in enumerate((("time_saved", "time saved", "o", T_BUDGET, T_PAPER),
                                                          ("energy_saved", "energy saved", "s", E_BUDGET, E_PAPER))):
            x = d["drop"].to_numpy(float)
            best = [d.loc[d["drop"] <= v + 1e-12, col].max() for v in x]
            ax.step(x, best, where="post", color=style.color(i), lw=1.2)
            ax.scatter(x, d[col], color=style.color(i), marker=m, s=36, zorder=3, label=f"tool: {lbl}")
            ax.scatter([budget], [paper], marker=style.PAPER_MARKER, s=200, color=style.color(i), edgecolors="k",
                       zorder=4, label=f"paper: {paper:g}% {lbl.split()[0]} at {budget:g}")
        ax.set_xlabel("ImageNet top-1 drop from the 4.1B sub-net [points] (published)")
        ax.set_ylabel("saved against the 4.1B sub-net [%]")
        ax.set_title("OFA ResNet-50 switching on vs16 (line: most saved within the drop)", loc="left", fontsize=11)
        style.legend_outside(ax)
        style.save(fig, path)


def _gap_figure(path: Path, rows) -> None:
    import textwrap

    names = [textwrap.fill(r[0], 44) for r in rows]
    y = np.arange(len(rows))
    with style.use():
        fig = style.figure(12, 0.55 * len(rows) + 1.6)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, k, paper, lbl in ((axes[0], 2, T_PAPER, f"time saved within {T_BUDGET:g} points [%]"),
                                  (axes[1], 3, E_PAPER, f"energy saved within {E_BUDGET:g} points [%]")):
            vals = [r[k] for r in rows]
            ax.barh(y, vals, color=[style.BASE_COLOR] + [style.color(0)] * (len(rows) - 1), height=0.6, zorder=2)
            for yi, val in zip(y, vals):
                ax.text(val + 1, yi, f"{val:.1f}%", va="center", fontsize=9, zorder=4,  # above the paper's line
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
            ax.axvline(paper, color="#D55E00", lw=2, label=f"paper: {paper:g}%")
            ax.axvspan(paper - TOLERANCE_PCT, paper + TOLERANCE_PCT, color="#D55E00", alpha=0.15, lw=0, zorder=0,
                       label=f"paper ± {TOLERANCE_PCT:g} points")
            ax.set_xlim(0, 100)
            ax.set_xlabel(lbl)
            ax.grid(axis="y", visible=False)
            style.legend_outside(ax, where="below", ncol=2)
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        fig.suptitle("OFA ResNet-50: the tool's savings under one alternative assumption at a time (black: as run)")
        style.save(fig, path)
