#!/usr/bin/env python
"""Fit the 8 named OFA ResNet-50 sub-nets: a one-off derivation of shipped data.

What it derives: for each of the 8 specialized sub-nets of the Once-For-All ResNet-50 model
zoo (``ofa-resnet50-mac4.1b`` ... ``ofa-resnet50-mac0.6b``), a configuration of the OFA
ResNet-50 space (depth, expand, width) and a resolution whose MACs (conv + linear, as OFA's
``flops_counter.py`` counts them) and parameters both round to the published figures.

From which published numbers: ``PUBLISHED`` below, the table "OFA Specialized Sub-nets",
ResNet50 design space, of mit-han-lab/once-for-all's README.md (top-1, top-5, params, MACs;
net ids ``resnet50D_MAC@...`` as in ``ofa/model_zoo.py``); the same table is in
``shared/reference/published.md``. The sub-nets' exact ``net.config`` / ``run.config`` files
(han-cai/files) are in no public source we could read, so each fitted configuration is an
APPROXIMATION (``exact: false`` in the output), not OFA's own sub-net.

How: a deterministic local search (``fit_subnet``: random restarts + best-improvement hill
climbing over single-knob changes, seed 0 for every net) on the analytic cost of
``workloads.ofa_resnet.subnet_cost``. Resolutions are tried from 224 down in steps of 4; the
first one that admits a configuration inside both rounding tolerances wins (the smallest
sub-net of the space has 0.96 GMACs at 224x224, so the 1.2B/0.9B/0.6B nets need a smaller
resolution; OFA specializes the image size too).

Re-run it (about a minute of CPU time, most of it on the small nets, which try many
resolutions; one process)::

    python scripts/fit_ofa_subnets.py            # rewrite workloads/data/ofa_resnet50_subnets.yaml
    python scripts/fit_ofa_subnets.py --check    # fit again, compare with the shipped file (exit 1 if not identical)

Where its output is stored: ``workloads/data/ofa_resnet50_subnets.yaml`` (``SUBNETS_FILE``),
which ``workloads/ofa_resnet.py`` reads at run time as ``NAMED_SUBNETS`` (the model names,
their knobs and resolution, and the published figures). The published top-1 goes into
``workloads/data/accuracy_ofa_resnet50.yaml``, written by hand with the same sources.
``tests/test_ofa_resnet.py`` checks that the shipped file is exactly what this script writes
for the fitted values, and (slow suite) that a re-run of the fit reproduces it.
"""

from __future__ import annotations

import argparse
import difflib
import random
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from workloads.ofa_resnet import (  # noqa: E402
    BASE_DEPTH_LIST,
    DEPTH_LIST,
    EXPAND_PCT,
    MAX_DEPTH,
    SUBNETS_FILE,
    WIDTH_PCT,
    subnet_cost,
)

# mit-han-lab/once-for-all README.md, "OFA Specialized Sub-nets", ResNet50 design space:
# (our model name, OFA net id, top-1 %, top-5 %, params, MACs). The figures are rounded to
# 0.1M params and 0.1B MACs, hence the fit's tolerances.
PUBLISHED: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("ofa-resnet50-mac4.1b", "resnet50D_MAC@4.1B_top1@79.8", 79.8, 94.7, 30.9e6, 4.1e9),
    ("ofa-resnet50-mac3.7b", "resnet50D_MAC@3.7B_top1@79.7", 79.7, 94.7, 26.5e6, 3.7e9),
    ("ofa-resnet50-mac3.0b", "resnet50D_MAC@3.0B_top1@79.3", 79.3, 94.5, 28.7e6, 3.0e9),
    ("ofa-resnet50-mac2.4b", "resnet50D_MAC@2.4B_top1@79.0", 79.0, 94.2, 29.0e6, 2.4e9),
    ("ofa-resnet50-mac1.8b", "resnet50D_MAC@1.8B_top1@78.3", 78.3, 94.0, 20.7e6, 1.8e9),
    ("ofa-resnet50-mac1.2b", "resnet50D_MAC@1.2B_top1@77.1_finetune@25", 77.1, 93.3, 19.3e6, 1.2e9),
    ("ofa-resnet50-mac0.9b", "resnet50D_MAC@0.9B_top1@76.3_finetune@25", 76.3, 92.9, 14.5e6, 0.9e9),
    ("ofa-resnet50-mac0.6b", "resnet50D_MAC@0.6B_top1@75.0_finetune@25", 75.0, 92.1, 9.6e6, 0.6e9),
)
MAC_TOL = 0.05e9  # half of the published rounding step (0.1B MACs)
PARAM_TOL = 0.05e6  # half of 0.1M params
RESOLUTIONS = tuple(range(224, 127, -4))  # OFA's specialized image sizes, largest first
RESTARTS = 40
SEED = 0


def fit_subnet(
    target_macs: float,
    target_params: float,
    mac_tol: float = MAC_TOL,
    param_tol: float = PARAM_TOL,
    resolutions: Sequence[int] = RESOLUTIONS,
    restarts: int = RESTARTS,
    seed: int = SEED,
):
    """Find a configuration whose MACs and params round to the published ones.

    Deterministic local search (random restarts + best-improvement hill climbing over
    single-knob changes) on ``excess(MACs) + excess(params)`` beyond the rounding
    tolerance of the published figures, refined by the relative error to them.
    Resolutions are tried from the largest down (224 first); the first resolution
    with a configuration inside both tolerances wins. Returns
    ``(depth, expand, width, resolution, macs, params)`` or None.
    """
    rng = random.Random(seed)
    nblocks = [b + MAX_DEPTH for b in BASE_DEPTH_LIST]

    def decode(d, e):
        out, st = [], 0
        for s, n in enumerate(nblocks):
            out.append(tuple(e[st: st + BASE_DEPTH_LIST[s] + d[s + 1]]))
            st += n
        return tuple(out)

    def score(st, res):
        d, e, w = st
        m, p = subnet_cost(d, decode(d, e), w, (res, res))
        excess = max(0.0, abs(m - target_macs) - mac_tol) / target_macs + max(0.0, abs(p - target_params) - param_tol) / target_params
        return 1000 * excess + abs(m - target_macs) / target_macs + abs(p - target_params) / target_params, excess, m, p

    for res in resolutions:
        best = None
        for _ in range(restarts):
            st = (
                tuple([rng.choice((0, MAX_DEPTH))] + [rng.choice(DEPTH_LIST) for _ in range(4)]),
                tuple(rng.choice(EXPAND_PCT) for _ in range(sum(nblocks))),
                tuple(rng.choice(WIDTH_PCT) for _ in range(6)),
            )
            cur = score(st, res)
            while True:
                d, e, w = st
                nbrs = [((*d[:i], v, *d[i + 1:]), e, w) for i in range(5) for v in ((0, MAX_DEPTH) if i == 0 else DEPTH_LIST) if v != d[i]]
                nbrs += [(d, (*e[:i], v, *e[i + 1:]), w) for i in range(len(e)) for v in EXPAND_PCT if v != e[i]]
                nbrs += [(d, e, (*w[:i], v, *w[i + 1:])) for i in range(6) for v in WIDTH_PCT if v != w[i]]
                cand = min(((score(n, res), n) for n in nbrs), key=lambda t: t[0][0])
                if cand[0][0] >= cur[0]:
                    break
                cur, st = cand
            if cur[1] == 0 and (best is None or cur[0] < best[0][0]):
                best = (cur, st)
        if best is not None:
            (_, _, m, p), (d, e, w) = best
            return d, decode(d, e), w, res, m, p
    return None


def fit_all() -> dict[str, dict]:
    """Fit every published sub-net: name -> the entry ``render`` writes."""
    out = {}
    for name, net_id, top1, top5, params, macs in PUBLISHED:
        found = fit_subnet(macs, params)
        if found is None:
            raise SystemExit(f"{name}: no configuration of the OFA ResNet-50 space matches {macs:g} MACs and {params:g} params")
        depth, expand, width, res, m, p = found
        out[name] = {
            "net_id": net_id,
            "published": {"top1": top1, "top5": top5, "params": params, "macs": macs},
            "exact": False,
            "depth": depth, "expand": expand, "width": width, "resolution": res,
            "fitted": {"macs": m, "params": p},
        }
    return out


def _num(v: float, exp: int) -> str:
    """``v`` as ``<mantissa>e+<exp>`` that YAML reads back as this very float (30.9e6 -> 30.9e+6;
    YAML 1.1 wants the dot and the sign)."""
    m = f"{v / 10 ** exp:g}"
    text = f"{m if '.' in m else m + '.0'}e+{exp}"
    assert float(text) == v, (v, text)
    return text


def _list(v) -> str:
    return "[" + ", ".join(_list(x) if isinstance(x, (list, tuple)) else str(x) for x in v) + "]"


HEADER = """\
# GENERATED by scripts/fit_ofa_subnets.py: do not edit by hand; re-run the script (its docstring
# says how and from which published numbers). Read by workloads/ofa_resnet.py as NAMED_SUBNETS.
#
# The 8 specialized sub-nets of the Once-For-All ResNet-50 model zoo (mit-han-lab/once-for-all
# README.md, "OFA Specialized Sub-nets", ResNet50 design space) as configurations of the OFA
# ResNet-50 space. APPROXIMATIONS (exact: false): the nets' own net.config / run.config files
# are in no public source we could read, so each configuration (depth, expand per active block
# and stage, width; see workloads/ofa_resnet.py) and its resolution were fitted so that its
# MACs (conv + linear) and params round to the published figures; `fitted` gives its own.
"""


def render(subnets: dict[str, dict]) -> str:
    """The data file's text (deterministic: the same fit gives the same bytes)."""
    lines = [HEADER.rstrip("\n"), "schema: 1",
             f"fit: {{seed: {SEED}, restarts: {RESTARTS}, resolutions: {_list(RESOLUTIONS)}, "
             f"mac_tol: {_num(MAC_TOL, 9)}, param_tol: {_num(PARAM_TOL, 6)}}}",
             "subnets:"]
    for name, n in subnets.items():
        pub = n["published"]
        lines += [
            f"  {name}:",
            f"    net_id: \"{n['net_id']}\"",
            f"    published: {{top1: {pub['top1']}, top5: {pub['top5']}, params: {_num(pub['params'], 6)}, "
            f"macs: {_num(pub['macs'], 9)}}}",
            f"    exact: {str(n['exact']).lower()}",
            f"    depth: {_list(n['depth'])}",
            f"    expand: {_list(n['expand'])}",
            f"    width: {_list(n['width'])}",
            f"    resolution: {n['resolution']}",
            f"    fitted: {{macs: {n['fitted']['macs']}, params: {n['fitted']['params']}}}",
        ]
    return "\n".join(lines) + "\n"


def read(path: Path = SUBNETS_FILE) -> dict[str, dict]:
    """A data file back as ``fit_all``'s entries (``render(read(f))`` is ``f``'s text if the
    script wrote it)."""
    import yaml

    out = {}
    for name, n in yaml.safe_load(path.read_text())["subnets"].items():
        out[name] = dict(n, depth=tuple(n["depth"]), expand=tuple(tuple(g) for g in n["expand"]),
                         width=tuple(n["width"]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fit again and compare with the shipped file; write nothing")
    ap.add_argument("-o", "--out", type=Path, default=SUBNETS_FILE, help=f"output file (default {SUBNETS_FILE})")
    args = ap.parse_args(argv)
    text = render(fit_all())
    if args.check:
        shipped = args.out.read_text()
        if shipped == text:
            print(f"{args.out}: identical to a re-run of the fit")
            return 0
        sys.stdout.writelines(difflib.unified_diff(shipped.splitlines(True), text.splitlines(True),
                                                   str(args.out), "re-run"))
        return 1
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
