"""Generate the trace-analysis notebooks (committed without outputs).

    .venv/bin/python notebooks/make_notebooks.py

Edit the cells here, not in the .ipynb files, then run this script again.
Each notebook takes its inputs in its first code cell, tagged ``parameters`` as papermill expects
(plain assignments with defaults under runs/): edit it, or let a tool inject a cell after it
(``papermill -p TRACE runs/x.h5 ...``; the tests do the same with :func:`inject_parameters`). With
the defaults a notebook runs top to bottom after ``make run`` (``jupyter execute NOTEBOOK``, which
``make setup`` installs).
"""

from __future__ import annotations

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = '''
# Make the repository importable when the notebook runs from notebooks/ (or the repo root),
# and resolve relative trace paths against the repository root.
ROOT = os.path.abspath("..") if os.path.basename(os.getcwd()) == "notebooks" else os.getcwd()
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def resolve(p):
    p = p.strip()
    return p if os.path.isabs(p) or os.path.exists(p) else os.path.join(ROOT, p)
'''.strip()

IMPORTS = '''
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import traces
from traces import plots, style

style.apply()  # the project's figure style (fonts, colours, units) for the plain-matplotlib cells too
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
'''.strip()


def nb(cells) -> nbformat.NotebookNode:
    n = new_notebook(cells=cells)
    for i, c in enumerate(n.cells):  # stable ids: regenerating gives no spurious diffs
        c["id"] = f"c{i:02d}"
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.metadata["language_info"] = {"name": "python"}
    return n


def params_cell(src: str):
    c = new_code_cell(src.strip())
    c.metadata["tags"] = ["parameters"]
    return c


def inject_parameters(notebook: nbformat.NotebookNode, **values) -> nbformat.NotebookNode:
    """Papermill's convention: a cell tagged ``injected-parameters`` right after the cell tagged
    ``parameters``, assigning the given values (their ``repr``). Returns the notebook."""
    i = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    cell = new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(i + 1, cell)
    return notebook


def run_at_a_glance():
    return nb([
        new_markdown_cell("""# 1. A run at a glance

What the host saw and did, frame by frame: the resources it was given, the configuration the governor
chose, latency against the deadline (misses and drops), energy per frame.

**Input:** one trace written by `cosim run` (default `runs/default-seed1.h5`, which `cosim run` writes for the
default scenario): the `TRACE` parameter in the next cell (tagged `parameters`, so papermill's `-p TRACE ...`
sets it too). The same figures without Jupyter: `cosim report TRACE.h5`."""),
        params_cell('''
TRACE = "runs/default-seed1.h5"  # the trace to analyse (relative paths: from the repository root)'''),
        new_code_cell(f'''
import os
import sys

{SETUP}

TRACE = resolve(TRACE)
TRACE'''.strip()),
        new_code_cell(IMPORTS),
        new_markdown_cell("""## Open the trace

`traces.open` gives four pandas tables (`frames`, `layers`, `resources`, `configs`) and the run's metadata.
`units(table)` tells the unit of every column."""),
        new_code_cell('''t = traces.open(TRACE)
print(t)
{k: v for k, v in t.meta.items() if k not in ("scenario", "hardware")}'''),
        new_code_cell('''pd.DataFrame(t.columns("frames"))[["name", "kind", "unit", "doc"]]'''),
        new_markdown_cell("""## Summary per stream

Miss rate = (missed + dropped) / frames. Mean accuracy is over run frames whose accuracy is known; an
accuracy nobody measured or published is NaN (*unknown*), never invented. `accuracy_known` of `run` says how
many frames a mean covers: a partial mean (marked `*`) is not comparable with a mean over all frames."""),
        new_code_cell('''from traces.summary import PARTIAL_NOTE, accuracy_cell, accuracy_partial

s = traces.summary(t)
metrics = traces.accuracy_metrics(t)
s.insert(s.columns.get_loc("accuracy_mean"), "accuracy (known/run)",
         [accuracy_cell(r, metrics.get(r["stream"], "")) for _, r in s.iterrows()])
s'''),
        new_code_cell('''row = s.set_index("stream").loc["all"]
print("mean accuracy:", row["accuracy (known/run)"], f"({plots.accuracy_metric(t) or 'metric not recorded'})")
if accuracy_partial(row):
    print(PARTIAL_NOTE)
if not t.meta["complete"]:
    print("INCOMPLETE: a killed run's trace; its frames end at the last flush")'''),
        new_markdown_cell("## The whole run on one time axis"),
        new_code_cell('''display(plots.run_at_a_glance(t))'''),
        new_markdown_cell("""## Querying the tables directly

The frames that missed their deadline or were dropped, and how late they were:"""),
        new_code_cell('''f = t.frames
bad = f[f["missed"] | f["dropped"]].assign(late_ms=lambda d: (d["end_s"] - d["deadline_s"]) * 1e3)
bad[["stream", "frame", "arrival_s", "deadline_s", "config", "latency_s", "late_ms", "missed", "dropped"]].head(20)'''),
        new_markdown_cell("Frames per configuration and stream (run frames only), and the mean latency of each:"),
        new_code_cell('''ran = f[~f["dropped"]]
ran.pivot_table(index="config", columns="stream", values="latency_s", aggfunc=["count", "mean"])'''),
        new_markdown_cell("The resource levels the host applied, one column per resource (forward-filled in time):"),
        new_code_cell('''levels = t.resources.pivot_table(index="time_s", columns="resource", values="value", aggfunc="last").ffill()
levels.head(15)'''),
        new_markdown_cell("Latency distribution per stream with the relative deadline, in plain matplotlib:"),
        new_code_cell('''fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
for stream, g in ran.groupby("stream"):
    lat = g["latency_s"].dropna() * 1e3
    if len(lat):
        ax.hist(lat, bins=40, alpha=0.6, label=f"{stream} (n={len(lat)})")
    ax.axvline(((g["deadline_s"] - g["arrival_s"]) * 1e3).median(), ls="--", color="k", lw=1)
ax.set_xlabel("latency [ms] (dashed: median relative deadline)")
ax.set_ylabel("frames [count]")
ax.set_title("latency distribution of run frames", loc="left")
style.legend_outside(ax)
plt.show()'''),
        new_code_cell('''t.close()'''),
    ])


def where_time_and_energy_go():
    return nb([
        new_markdown_cell("""# 2. Where time and energy go

Per-layer breakdown of time and energy by op class (dense_conv, pointwise, depthwise, attention, non_mac) and
by level of the memory hierarchy (DRAM, global buffer + NoC, PE buffers), for chosen configurations.

**Input:** the parameters in the next cell: `TRACE` (default `runs/default-seed1.h5`) and `CONFIGS`, a list of
configuration ids (default `[]`: the most used ones)."""),
        params_cell('''
TRACE = "runs/default-seed1.h5"  # the trace to analyse (relative paths: from the repository root)
CONFIGS = []  # configuration ids to break down ([] = the most used ones)'''),
        new_code_cell(f'''
import os
import sys

{SETUP}

TRACE = resolve(TRACE)
TRACE, CONFIGS'''.strip()),
        new_code_cell(IMPORTS),
        new_code_cell('''t = traces.open(TRACE)
configs = CONFIGS or plots.choose_configs(t)
print(t)
print("configurations:", configs)'''),
        new_markdown_cell("""## The layer table

One row per executed layer. Beside the fixed columns, `energy_<component>_j` holds the energy of each
component and `c_<counter>` the raw counters of the SystemC model (bytes read and written at each buffer,
cycles, ...). The trace names them itself, with their units, meaning and memory level
(`t.vocabulary`). `plots.layers_with_frames` adds each layer's configuration and its duration."""),
        new_code_cell('''pd.DataFrame(t.vocabulary.terms())'''),
        new_code_cell('''L = plots.layers_with_frames(t)
L.head()'''),
        new_markdown_cell("Share of time, energy, MACs and DRAM traffic of each op class over the whole run:"),
        new_code_cell('''by_class = L.groupby("op_class")[["duration_s", "energy_j", "macs_useful", "dram_bytes"]].sum()
(100 * by_class / by_class.sum()).round(1).add_suffix(" [%]")'''),
        new_markdown_cell("""How much of the issued MAC work is useful, per op class: skipping channels saves only whole vectors,
and depthwise convolutions map badly onto channel-reducing vector MACs."""),
        new_code_cell('''mac = L[L["macs_issued"] > 0].groupby("op_class")[["macs_useful", "macs_issued"]].sum()
mac["useful share [%]"] = (100 * mac["macs_useful"] / mac["macs_issued"]).round(1)
mac'''),
        new_markdown_cell("## Per frame, for the chosen configurations"),
        new_code_cell('''b = plots.per_frame_breakdown(t, configs)
print("completed frames averaged:", b["frames"].to_dict())
b["time_ms"].round(3)'''),
        new_code_cell('''b["level_mj"].round(3)'''),
        new_code_cell('''b["traffic_mb"].round(2)'''),
        new_code_cell('''display(plots.time_energy_breakdown(t, configs))'''),
        new_markdown_cell("## Layer by layer, one frame of the first configuration"),
        new_code_cell('''display(plots.frame_layers(t, config=configs[0] if configs else None))'''),
        new_markdown_cell("The ten layers that cost the most energy per frame in that configuration:"),
        new_code_cell('''if configs:
    one = L[(L["config"] == configs[0]) & ~L["dropped"]]
    n_frames = one[["stream", "frame"]].drop_duplicates().shape[0]
    top = (one.groupby(["layer", "name", "op", "op_class"])[["duration_s", "energy_j", "dram_bytes"]].sum() / n_frames)
    top = top.nlargest(10, "energy_j")
    top.assign(time_us=top["duration_s"] * 1e6, energy_uj=top["energy_j"] * 1e6, dram_kb=top["dram_bytes"] / 1e3)[
        ["time_us", "energy_uj", "dram_kb"]].round(2)'''),
        new_code_cell('''t.close()'''),
    ])


def compare_runs():
    return nb([
        new_markdown_cell("""# 3. Compare runs

Several traces side by side: miss rate, mean accuracy, energy per frame, p99 latency, configuration mix.

**Input:** the parameters in the next cell: `TRACES`, a list of traces; if it is empty, every trace in the
folder `RUNS` (default `runs/`: after `make run` that is `runs/default-seed1.h5` alone; add another with e.g.
`cosim run --seed 2`). The same table on the command line: `cosim compare A.h5 B.h5 ...`."""),
        params_cell('''
TRACES = []  # the traces to compare ([] = every trace in RUNS)
RUNS = "runs"  # folder of traces used when TRACES is empty (relative paths: from the repository root)'''),
        new_code_cell(f'''
import glob
import os
import sys

{SETUP}

if TRACES:
    TRACES = [resolve(p) for p in TRACES]
else:
    TRACES = sorted(glob.glob(os.path.join(resolve(RUNS), "*.h5")))
if not TRACES:
    raise SystemExit(f"no traces in {{RUNS}}: run `make run` (or `cosim run`) first, or set TRACES")
TRACES'''.strip()),
        new_code_cell(IMPORTS + "\nfrom traces.compare import accuracy_ranking, compare"),
        new_markdown_cell("""## Summaries side by side

`compare` gives one column block per trace (labelled by file name) and one column per stream plus `all`.
A mean accuracy covers `accuracy_known` of the `run` frames: where that is only part of them the mean is not
comparable with another, and `accuracy_ranking` refuses to rank on it (and says why). A killed run's trace
(`complete` False) holds its frames up to the last flush only."""),
        new_code_cell('''df = compare(TRACES)
print("complete:", df.attrs["complete"])
if not df.attrs["same_resources"]:
    print("the traces applied different resource timelines: their means are over frames at different resource levels")
order, why = accuracy_ranking(df)
print(why + (": " + " > ".join(order) if order else ""))
df.round(4)'''),
        new_code_cell('''# only each trace's aggregate
df.xs("all", axis=1, level="stream").round(4)'''),
        new_code_cell('''display(plots.compare_traces(TRACES))'''),
        new_markdown_cell("## Directly with pandas: latency percentiles and configuration mix"),
        new_code_cell('''frames = []
for label, path in df.attrs["paths"].items():
    with traces.open(path) as tr:
        frames.append(tr.frames.assign(trace=label))
F = pd.concat(frames, ignore_index=True)
ran = F[~F["dropped"]]
(ran.groupby("trace")["latency_s"].quantile([0.5, 0.9, 0.99]).unstack() * 1e3).round(3).add_suffix(" [ms]")'''),
        new_code_cell('''mix = ran.groupby(["trace", "config"]).size().unstack(fill_value=0)
(100 * mix.div(mix.sum(axis=1), axis=0)).round(1)'''),
        new_markdown_cell("Latency CDF of run frames, one line per trace:"),
        new_code_cell('''fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
for label, g in ran.groupby("trace"):
    lat = np.sort(g["latency_s"].dropna().to_numpy()) * 1e3
    if len(lat):
        ax.step(lat, np.arange(1, len(lat) + 1) / len(lat), where="post", label=label)
ax.set_xlabel("latency [ms]")
ax.set_ylabel("share of run frames [-]")
ax.set_title("latency CDF", loc="left")
style.legend_outside(ax)
plt.show()'''),
    ])


def design_space() -> nbformat.NotebookNode:
    return nb([
        new_markdown_cell("""# Design space: a sweep's results and its Pareto front

Reads the Parquet results of `cosim sweep SPEC.yaml -o DIR` (one row per point: coordinates, latency,
energy by component, area, accuracy, error) with pandas and draws the latency-energy Pareto front with its
knee. `SWEEP` in the next cell is the results directory (default: the vector-size part of `cosim reproduce`,
`runs/reproduce/sweeps/vector_size`); `explore.load_results` reads its result files only (another file in the
folder is ignored). The same on the command line:
`cosim pareto DIR --x latency_s --y energy_j [--z area_mm2] [--accuracy] [--group preset]`."""),
        params_cell('''
SWEEP = "runs/reproduce/sweeps/vector_size"  # a sweep's results directory (relative paths: from the repository root)'''),
        new_code_cell(f'''
import os
import sys

{SETUP}

SWEEP = resolve(SWEEP)
SWEEP'''.strip()),
        new_code_cell(IMPORTS + "\nfrom explore import load_results\nfrom explore.pareto import draw, fronts"),
        new_code_cell('''df = load_results(SWEEP)
failed = df[df["error"].fillna("") != ""]
print(f"{len(df)} points, {len(failed)} failed")
display(failed[["point_id", "error"]].head())
df.head()'''),
        new_markdown_cell("""## Pareto front: latency against energy

One front per hardware preset when the sweep has several (a staircase: the region it bounds is achievable);
the ringed point is each front's knee (the point nearest the best latency and the best energy, each scaled to
the front's range). The same figure as `cosim pareto` (`explore.pareto.draw`)."""),
        new_code_cell('''group = "preset" if "preset" in df.columns and df["preset"].nunique() > 1 else None
res = fronts(df, ["latency_s", "energy_j"], group=group)
display(draw(res, "latency_s", "energy_j", group=group))
cols = [c for c in ("preset", "config", "latency_s", "energy_j", "area_mm2", "knee") if c in res.front.columns]
res.front[cols]'''),
        new_markdown_cell("## Where the energy of the front's points goes"),
        new_code_cell('''comp = [c for c in df.columns if c.startswith("energy_") and c.endswith("_j") and c != "energy_j"]
if comp:
    f = res.front.sort_values("energy_j")
    labels = [f"{r.get('preset', '')} {str(r.get('config', '')).split('@')[-1]}" for _, r in f.iterrows()]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(f) + 1.5), layout="constrained")
    left = np.zeros(len(f))
    for c in comp:
        v = f[c].to_numpy(float) * 1e3
        ax.barh(range(len(f)), v, left=left, label=c[7:-2].replace("_", " "))
        left += v
    ax.set_yticks(range(len(f)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("energy [mJ]")
    ax.set_title("energy by component of the front's points (lowest energy first)", loc="left")
    style.legend_outside(ax, title="component")
    plt.show()'''),
    ])


NOTEBOOKS = {
    "01_run_at_a_glance.ipynb": run_at_a_glance,
    "02_where_time_and_energy_go.ipynb": where_time_and_energy_go,
    "03_compare_runs.ipynb": compare_runs,
    "04_design_space.ipynb": design_space,
}


def main() -> None:
    for name, make in NOTEBOOKS.items():
        n = make()
        nbformat.validate(n)
        path = os.path.join(HERE, name)
        with open(path, "w", encoding="utf-8") as fh:
            nbformat.write(n, fh)
        print("wrote", path)


if __name__ == "__main__":
    main()
