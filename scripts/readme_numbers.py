#!/usr/bin/env python
"""The numbers the README and the scenario comments quote, computed from the code.

    python scripts/readme_numbers.py                  # check: print what differs, exit 1 if anything does
    python scripts/readme_numbers.py --write          # rewrite the generated parts
    python scripts/readme_numbers.py --only scenarios,comments   # the quick parts (seconds)

Parts (``--only`` takes their names):

``scenarios``  README block ``scenario-results``: each built-in scenario's summary, rendered from its
               golden file (``tests/golden/``), which ``cosim regress`` checks against the code.
``comments``   the comments of ``scenarios/demo_measured.py`` quoting each candidate's measured mIoU
               (the shipped profile) and its latency on ``simba-like`` at full resources (one
               inference on the SystemC model).
``demo``       README block ``demo-table``: greedy against every static choice on ``demo_measured``
               (``scripts/compare_governors.py``; eight 3-second runs, a few minutes).

A README block is the text between ``<!-- begin generated: NAME -->`` and
``<!-- end generated: NAME -->``; edit this script, not the block.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
README = ROOT / "README.md"
DEMO = ROOT / "scenarios" / "demo_measured.py"
PARTS = ("scenarios", "comments", "demo")


def _fmt_acc(s: dict) -> str:
    """Mean accuracy with its coverage, as the command line shows it (traces.summary.accuracy_cell)."""
    from traces.summary import accuracy_cell

    return accuracy_cell(s)


def scenario_results() -> str:
    """The built-in scenarios' aggregate summaries, from their goldens."""
    from explore.regress import golden_path, scenario_names
    from traces.summary import PARTIAL_NOTE

    rows = ["| scenario | s simulated | frames | miss rate | mean accuracy (known/run frames) | mJ/frame | p99 latency | configurations |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    partial = False
    for name in scenario_names():
        g = json.loads(Path(golden_path(name)).read_text())
        a = g["streams"]["all"]
        s = {k: (float("nan") if v is None else v) for k, v in a.items() if k != "config_counts"}
        cell = _fmt_acc(s)
        partial |= "*" in cell
        rows.append(f"| `{name}` | {g['duration_s']:g} | {a['frames']} | {100 * a['miss_rate']:.2f}% | {cell} | "
                    f"{1e3 * a['energy_per_frame_j']:.3f} | {1e3 * a['latency_p99_s']:.2f} ms | {a['configs']} |")
    note = f"\n\n{PARTIAL_NOTE}" if partial else ""
    return "\n".join(rows) + note


def candidate_numbers() -> list[tuple[str, float, float]]:
    """(candidate id, measured accuracy, latency [s] on its hardware at full resources) of
    demo_measured's candidates, in order."""
    import workloads
    from accelerator.model import Accelerator
    from cosim import scenario as scen
    from cosim.programs import load_program
    from cosim.system import candidate_of

    system, _ = scen.load("demo_measured")
    profiles = system.accuracy_profiles()
    acc = Accelerator.for_process(system.hardware_params())
    out = []
    for cid in system.streams[0].candidates:
        cfg = workloads.parse_config(cid)
        a = candidate_of(cfg, cfg.id, profiles).accuracy
        out.append((cid, a, acc.run(load_program(acc, cfg)).latency_s))
    return out


def demo_comments(source: str) -> str:
    """demo_measured.py with its candidate comments recomputed."""
    nums = candidate_numbers()
    full_id, full_acc, full_lat = nums[0]
    src = re.sub(r"\(full model: [^)]*\)", f"(full model: {full_acc:.2f} mIoU, {1e3 * full_lat:.3f} ms)", source)
    for i, (cid, a, lat) in enumerate(nums[1:]):
        knob = cid.split("/", 1)[1]
        tail = " on simba-like at full resources" if i == 0 else ""
        unit = " mIoU" if i == 0 else ""
        pat = re.compile(rf'^(\s*"{re.escape(knob)}",\s*)# *[0-9.]+(?: mIoU)?, [0-9.]+ ms(?: on simba-like at full resources)?',
                         re.M)
        if not pat.search(src):
            raise SystemExit(f"{DEMO}: no comment line for candidate {knob!r}")
        src = pat.sub(lambda m: f"{m.group(1)}# {a:5.2f}{unit}, {1e3 * lat:.3f} ms{tail}", src)
    return src


def demo_table() -> str:
    """Greedy against every static choice on demo_measured, and what it shows."""
    import tempfile

    sys.path.insert(0, str(ROOT / "scripts"))
    from compare_governors import run  # noqa: E402  (one definition of the comparison runs)

    from cosim import scenario as scen
    from host.governors import StaticGovernor

    system, _ = scen.load("demo_measured")
    cands = system.streams[0].candidates
    with tempfile.TemporaryDirectory() as d:
        rows = [run(system, "greedy", Path(d), "greedy")]
        rows += [run(system, StaticGovernor(config=c), Path(d), f"static {c}") for c in cands]
    g, statics = rows[0], rows[1:]
    best = max(statics, key=lambda r: r["accuracy_mean"])
    cheap = min(statics, key=lambda r: r["energy_per_frame_j"])

    def label(r) -> str:
        cfg = r["run"].removeprefix("static ")
        return "greedy" if r is g else f"static {cfg.split('/', 1)[1] if '/' in cfg else 'full model'}"

    lines = ["| governor | miss rate | mean mIoU of run frames | mJ/frame |", "| --- | --- | --- | --- |"]
    for r in rows:
        name = label(r) + (" (the most accurate)" if r is best else "") + (" (the cheapest)" if r is cheap else "")
        lines.append(f"| {name} | {100 * r['miss_rate']:.2f}% | {r['accuracy_mean']:.2f} | "
                     f"{1e3 * r['energy_per_frame_j']:.3f} |")
    as_rare = [s for s in statics if s["miss_rate"] <= g["miss_rate"]]
    as_acc = [s for s in statics if s["accuracy_mean"] >= g["accuracy_mean"]]
    said = []
    if as_rare:
        b = max(as_rare, key=lambda s: s["accuracy_mean"])
        said.append(f"Every static choice that misses no more often than greedy ({100 * g['miss_rate']:.2f}%) is less "
                    f"accurate: the best of them, {label(b)}, by "
                    f"{g['accuracy_mean'] - b['accuracy_mean']:.2f} mIoU points." if
                    all(s["accuracy_mean"] < g["accuracy_mean"] for s in as_rare) else
                    "Some static choice misses no more often than greedy and is at least as accurate.")
    else:
        said.append(f"No static choice misses as rarely as greedy ({100 * g['miss_rate']:.2f}%).")
    if as_acc:
        worst = min(s["miss_rate"] for s in as_acc)
        said.append(f"Every static choice at least as accurate as greedy misses at least {worst / g['miss_rate']:.0f}x "
                    f"as often ({100 * worst:.2f}% or more)." if g["miss_rate"] > 0 and worst > g["miss_rate"] else
                    "Some static choice at least as accurate as greedy misses no more often.")
    return "\n".join(lines) + "\n\n" + " ".join(said)


BLOCKS = {"scenarios": "scenario-results", "demo": "demo-table"}


def replace_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- begin generated: {name} -->", f"<!-- end generated: {name} -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"README.md has no block {begin} ... {end}")
    return text[:i + len(begin)] + "\n" + body.strip() + "\n" + text[j:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="rewrite the generated parts")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts ({', '.join(PARTS)})")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"--only {','.join(bad)}: parts are {', '.join(PARTS)}")
    files = {README: README.read_text(), DEMO: DEMO.read_text()}
    want = dict(files)
    for p in parts:
        if p == "comments":
            want[DEMO] = demo_comments(want[DEMO])
        else:
            want[README] = replace_block(want[README], BLOCKS[p], scenario_results() if p == "scenarios" else demo_table())
    differ = [f for f in files if files[f] != want[f]]
    for f in differ:
        if args.write:
            f.write_text(want[f])
            print(f"wrote {f.relative_to(ROOT)}")
        else:
            sys.stdout.writelines(difflib.unified_diff(files[f].splitlines(True), want[f].splitlines(True),
                                                       f"{f.relative_to(ROOT)} (now)", "(from the code)"))
    return 1 if differ and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
