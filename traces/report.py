"""A static report of one trace: summary tables, figures as PNG, and a page
(HTML and Markdown) embedding them, readable without Jupyter.

    from traces.report import write_report
    page = write_report("runs/default-seed1.h5", "runs/default-seed1-report")

The folder then holds ``index.html`` (the page returned), ``report.md`` (the same
content in Markdown), ``summary.csv`` (:func:`traces.summary`),
``summary.json`` (:func:`traces.summary_dict`), ``config_counts.csv`` and the
figures ``run_at_a_glance.png``, ``time_energy_breakdown.png`` and
``frame_layers.png``.
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from . import plots, schema
from .reader import open as _open_trace
from .style import save as save_figure
from .summary import (ACCURACY_CELL_HEADER, ALL, PARTIAL_NOTE, SUMMARY_COLUMNS, SUMMARY_FORMATS, accuracy_cell,
                      accuracy_metrics, accuracy_partial, config_counts, summary, summary_dict)

#: Figures of a report: file name -> (plot function, caption).
FIGURES: dict[str, tuple[Any, str]] = {
    "run_at_a_glance.png": (
        plots.run_at_a_glance,
        "Run at a glance: the resources the host applied, the configuration chosen for each frame, "
        "latency against the deadline (misses and drops marked) and the accelerator energy of each frame.",
    ),
    "time_energy_breakdown.png": (
        plots.time_energy_breakdown,
        "Where time and energy go, per completed frame of the most used configurations: by op class, "
        "by level of the memory hierarchy, and bytes moved at each memory level.",
    ),
    "frame_layers.png": (
        plots.frame_layers,
        "Layer by layer time and energy of one frame of the most used configuration.",
    ),
}

def format_summary(s: pd.DataFrame, metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """A :func:`traces.summary` table as strings, formatted by :data:`traces.summary.SUMMARY_FORMATS`
    (units in the headers; NaN accuracy reads "unknown", other NaN "-"). The mean accuracy shows
    its coverage (known/run frames) and marks a partial mean (:func:`traces.summary.accuracy_cell`).
    With ``metrics`` (:func:`traces.accuracy_metrics`) a column names each row's accuracy metric,
    and a row mixing metrics shows no mean."""
    out = {}
    metrics = metrics or {}
    for col in SUMMARY_COLUMNS:
        f = SUMMARY_FORMATS[col]
        if col == "accuracy_mean" and metrics:
            out["accuracy metric"] = [metrics.get(str(st), "") or "-" for st in s["stream"]]
        if col == "accuracy_mean":  # with its coverage; a partial mean marked (one definition: accuracy_cell)
            out[ACCURACY_CELL_HEADER] = [accuracy_cell(r, metrics.get(str(r["stream"]), "")) for _, r in s.iterrows()]
            continue
        out[f.header()] = [f.cell(v) for v in s[col]]
    return pd.DataFrame(out)


def _configs_view(t) -> pd.DataFrame:
    c = t.configs
    cc = config_counts(t)
    counts = cc[cc["stream"] == ALL].set_index("config")["count"]
    rows = []
    for _, r in c.iterrows():
        acc = r["accuracy"]
        rows.append({
            "configuration": r["config"],
            "model": r["model"],
            "GMACs": f"{r['macs'] / 1e9:.3f}",
            "params [M]": f"{r['params'] / 1e6:.2f}",
            "run frames": int(counts.get(r["config"], 0)),
            "accuracy": "unknown" if not math.isfinite(acc) else f"{acc:.2f}",
            "metric": r["accuracy_metric"],
            "accuracy source": r["accuracy_source"] or ("-" if not math.isfinite(acc) else ""),
            "governor objective": r["objective"],
        })
    df = pd.DataFrame(rows)
    if len(df):
        order = plots.config_order(t, df["configuration"])
        df = df.set_index("configuration").loc[order].reset_index()
    return df


def _vocabulary_view(t) -> pd.DataFrame:
    """The trace's energy components and counters (columns of /layers), as the file names them."""
    v = t.vocabulary
    level_of = {("energy component", n): lv for lv, ns in v.energy_levels for n in ns}
    level_of.update({("counter", n): lv for lv, ns in v.traffic_levels for n in ns})
    rows = [{"kind": r["kind"], "name": r["name"], "column of /layers": r["column"], "unit": r["unit"] or "-",
             "level": level_of.get((r["kind"], r["name"]), "-"), "meaning": r["doc"] or "-"} for r in v.terms()]
    return pd.DataFrame(rows, columns=["kind", "name", "column of /layers", "unit", "level", "meaning"])


def _counts_view(t) -> pd.DataFrame:
    cc = config_counts(t)
    if not len(cc):
        return pd.DataFrame()
    p = cc.pivot_table(index="config", columns="stream", values="count", aggfunc="sum", fill_value=0)
    p = p.reindex(plots.config_order(t, p.index))
    p.columns = [str(c) for c in p.columns]
    cols = [c for c in p.columns if c != ALL] + ([ALL] if ALL in p.columns else [])
    return p[cols].reset_index().rename(columns={"config": "configuration"})


def _hardware_rows(hw: Any, prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if isinstance(hw, dict):
        for k, v in hw.items():
            rows.extend(_hardware_rows(v, f"{prefix}{k}."))
    else:
        rows.append((prefix.rstrip("."), json.dumps(hw) if not isinstance(hw, str) else hw))
    return rows


def _md_table(df: pd.DataFrame) -> str:
    if not len(df.columns):
        return "_(none)_\n"
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |",
             "| " + " | ".join("---" for _ in df.columns) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _html_table(df: pd.DataFrame) -> str:
    if not len(df.columns):
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            s = str(v)
            num = s.replace(".", "", 1).replace("-", "", 1).isdigit()
            cells.append(f'<td class="{"num" if num else ""}">{html.escape(s)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1300px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa} img{max-width:100%;border:1px solid #eee}
figure{margin:1em 0} figcaption{color:#555;font-size:.92em} .warn{color:#a40000;font-weight:bold}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em} .meta td:first-child{font-weight:bold}
"""


@dataclass
class _Page:
    """What the report page shows, in the order it shows it (written as Markdown or HTML)."""

    name: str
    facts: list[tuple[str, str]]
    incomplete: bool
    summary: pd.DataFrame
    partial: bool
    tenants: pd.DataFrame | None
    configs: pd.DataFrame
    counts: pd.DataFrame
    vocabulary: pd.DataFrame
    vocabulary_note: str
    figures: list[tuple[str, str]]  # (file name, caption)
    hardware: pd.DataFrame
    scenario: str


_SUMMARY_NOTE = ("Miss rate = frames missed or dropped / frames. Mean accuracy over run frames whose "
                 "accuracy is known (unknown = not measured or published, never invented).")
_TENANTS_NOTE = ("Multi-tenant metrics: miss rate = frames not completed by their deadline / frames; "
                 "ANTT = mean of (end - arrival) / isolated latency, STP = sum of isolated latency / "
                 "(end - arrival) over completed frames (PREMA, Choi and Rhu, HPCA 2020); preemption "
                 "overhead = time vacating and restoring, DRAM bytes spilled and restored, their energy.")
_INCOMPLETE = "This run did not finish cleanly (complete = False): the trace holds the frames written up to its last flush."


def _page(t, s: pd.DataFrame, figures: list[tuple[str, str]]) -> _Page:
    meta = t.meta
    from . import tenancy  # a multi-tenant run: its metrics (issue 22)

    facts = [
        ("trace", os.path.abspath(t.path)),
        ("created", str(meta.get("created", ""))),
        ("tool version", str(meta.get("tool_version", ""))),
        ("schema version", f"{meta.get('schema_version', '')}.{meta.get('schema_minor_version', 0)}"),
        ("seed", "none" if meta.get("seed") is None else str(meta.get("seed"))),
        ("frames / layer rows / resource changes", f"{len(t.frames)} / {t.rows('layers')} / {len(t.resources)}"),
        ("accuracy metric", plots.accuracy_metric(t) or "(mixed or none)"),
    ]
    return _Page(
        name=os.path.basename(t.path), facts=facts, incomplete=not meta.get("complete", False),
        summary=format_summary(s, accuracy_metrics(t)), partial=any(accuracy_partial(r) for _, r in s.iterrows()),
        tenants=tenancy.metrics(t) if tenancy.has_tenancy(t) else None,
        configs=_configs_view(t), counts=_counts_view(t), vocabulary=_vocabulary_view(t),
        vocabulary_note=("Energy components and counters of this trace (from the file"
                         + ("" if any(k in meta for k in schema.VOCABULARY_ATTRS) else
                            "'s columns; names, units and levels of schema 1.0 files") + ")."),
        figures=figures,
        hardware=pd.DataFrame(_hardware_rows(meta.get("hardware", {})), columns=["parameter", "value"]),
        scenario=str(meta.get("scenario", "")),
    )


def _markdown(pg: _Page) -> str:
    md = [f"# Trace report: {pg.name}\n"]
    if pg.incomplete:
        md.append(f"**{_INCOMPLETE}**\n")
    md.append(_md_table(pd.DataFrame(pg.facts, columns=["", ""])))
    md.append("\n## Summary\n")
    md.append(_SUMMARY_NOTE + "\n")
    md.append(_md_table(pg.summary))
    if pg.partial:
        md.append("\n" + PARTIAL_NOTE.replace("*", "\\*", 1) + "\n")
    if pg.tenants is not None:
        md.append("\n## Tenants: preemption, ANTT, STP\n")
        md.append(_TENANTS_NOTE + "\n")
        md.append(_md_table(pg.tenants))
    md.append("\n## Configurations\n")
    md.append(_md_table(pg.configs))
    md.append("\n## Run frames per configuration and stream\n")
    md.append(_md_table(pg.counts))
    md.append("\n## Layer columns: energy components and counters\n")
    md.append(pg.vocabulary_note + "\n")
    md.append(_md_table(pg.vocabulary))
    md.append("\n## Figures\n")
    for fname, caption in pg.figures:
        md.append(f"![{caption}]({fname})\n\n_{caption}_\n")
    md.append("\n## Hardware\n")
    md.append(_md_table(pg.hardware))
    md.append("\n## Scenario source\n")
    md.append("```python\n" + pg.scenario.rstrip() + "\n```\n")
    return "\n".join(md)


def _html(pg: _Page) -> str:
    e = html.escape
    h = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(pg.name)}: trace report</title>"
         f"<style>{_CSS}</style></head><body>", f"<h1>Trace report: {e(pg.name)}</h1>"]
    if pg.incomplete:
        h.append(f'<p class="warn">{_INCOMPLETE}</p>')
    h.append('<table class="meta">' + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in pg.facts)
             + "</table>")
    h.append("<h2>Summary</h2><p>" + _SUMMARY_NOTE.replace("(unknown =", "(<em>unknown</em> =") + "</p>")
    h.append(_html_table(pg.summary))
    if pg.partial:
        h.append(f"<p class=\"warn\">{e(PARTIAL_NOTE)}</p>")
    if pg.tenants is not None:
        h.append(f"<h2>Tenants: preemption, ANTT, STP</h2><p>{e(_TENANTS_NOTE)}</p>" + _html_table(pg.tenants))
    h.append("<h2>Configurations</h2>" + _html_table(pg.configs))
    h.append("<h2>Run frames per configuration and stream</h2>" + _html_table(pg.counts))
    h.append(f"<h2>Layer columns: energy components and counters</h2><p>{e(pg.vocabulary_note)}</p><details>"
             f"<summary>{len(pg.vocabulary)} columns</summary>" + _html_table(pg.vocabulary) + "</details>")
    h.append("<h2>Figures</h2>")
    for fname, caption in pg.figures:
        h.append(f'<figure><img src="{e(fname)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption>'
                 "</figure>")
    h.append("<h2>Hardware</h2><details><summary>all parameters</summary>" + _html_table(pg.hardware) + "</details>")
    h.append(f"<h2>Scenario source</h2><details><summary>script</summary><pre>{e(pg.scenario)}</pre></details>")
    h.append("</body></html>")
    return "\n".join(h)


def write_report_files(trace_path: str | os.PathLike, out_dir: str | os.PathLike,
                       formats: Sequence[str] = ("html", "md")) -> dict[str, str]:
    """Write the report of a trace into ``out_dir``; returns kind -> path of every
    file written (kinds: html, md, summary_csv, summary_json, config_counts_csv and
    each figure's file name)."""
    bad = [f for f in formats if f not in ("html", "md")]
    if bad or not formats:
        raise ValueError(f"report formats must be among 'html', 'md', got {list(formats)}")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"report folder {out_dir} exists and is not a folder")
    written: dict[str, str] = {}
    with _open_trace(trace_path) as t:
        os.makedirs(out_dir, exist_ok=True)
        s = summary(t)

        p = os.path.join(out_dir, "summary.csv")
        s.to_csv(p, index=False)
        written["summary_csv"] = p
        p = os.path.join(out_dir, "summary.json")
        with open(p, "w", encoding="utf-8") as fh:
            json.dump(summary_dict(t), fh, indent=1)
        written["summary_json"] = p
        p = os.path.join(out_dir, "config_counts.csv")
        config_counts(t).to_csv(p, index=False)
        written["config_counts_csv"] = p

        figs = []
        for fname, (fn, caption) in FIGURES.items():
            fig = fn(t)
            p = os.path.join(out_dir, fname)
            for q in save_figure(fig, p):  # PNG for the page, SVG beside it for papers
                written[os.path.basename(q)] = str(q)
            figs.append((fname, caption))

        pg = _page(t, s, figs)
        for kind, fname, render in (("md", "report.md", _markdown), ("html", "index.html", _html)):
            if kind in formats:
                p = os.path.join(out_dir, fname)
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(render(pg))
                written[kind] = p
    return written


def write_report(trace_path: str | os.PathLike, out_dir: str | os.PathLike,
                 formats: Sequence[str] = ("html", "md")) -> str:
    """Write the report of a trace into ``out_dir`` (see the module doc); returns the
    path of the page: ``index.html``, or ``report.md`` if HTML was not asked for."""
    files = write_report_files(trace_path, out_dir, formats)
    return files.get("html") or files["md"]


__all__ = ["write_report", "write_report_files", "format_summary", "FIGURES"]
