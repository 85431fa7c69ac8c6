"""gem5-style regression: every scenario's summary statistics against committed goldens.

The runs are deterministic, so the tolerance is tight (relative 1e-9 on floats, exact
on counts). Goldens live in ``tests/golden/<scenario>.json`` and change only through
``cosim regress --update``, so any change of model behaviour shows up as a reviewed diff.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from cosim import scenario as scen
from cosim.builtin import golden_dir

GOLDEN_DIR = golden_dir()  # the checkout's tests/golden/, or the installed package data
REL_TOL = 1e-9
FIXED_CREATED = "2000-01-01T00:00:00Z"


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def run_scenario(name: str) -> dict[str, Any]:
    """Simulate a built-in scenario (its own duration and seed) and return its summary dict."""
    import traces

    from cosim.system import simulate

    system, source = scen.load(name)
    with tempfile.TemporaryDirectory() as d:
        res = simulate(system, Path(d) / f"{name}.h5", scenario_source=source, created=FIXED_CREATED)
        with traces.open(res.trace_path) as tr:
            out = traces.summary_dict(tr)
    out["scenario"] = name
    out["duration_s"] = system.duration_s
    out["seed"] = system.seed
    return out


def diff(golden: Any, got: Any, path: str = "") -> list[str]:
    """Human-readable differences beyond the tolerance (empty: equal)."""
    if isinstance(golden, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(golden) | set(got)):
            if k not in got:
                out.append(f"{path}/{k}: missing (golden {golden[k]!r})")
            elif k not in golden:
                out.append(f"{path}/{k}: new ({got[k]!r})")
            else:
                out += diff(golden[k], got[k], f"{path}/{k}")
        return out
    if isinstance(golden, float) or isinstance(got, float):
        if golden is None or got is None or not math.isclose(float(golden), float(got), rel_tol=REL_TOL, abs_tol=1e-15):
            return [f"{path}: golden {golden!r}, now {got!r}"]
        return []
    return [] if golden == got else [f"{path}: golden {golden!r}, now {got!r}"]


def check(name: str, update: bool = False) -> list[str]:
    """Run one scenario; compare with (or, with update, write) its golden. Returns the differences."""
    got = run_scenario(name)
    p = golden_path(name)
    if update:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
        return []
    if not p.is_file():
        return [f"no golden for scenario {name!r} ({p}); create it with `cosim regress --update {name}`"]
    return diff(json.loads(p.read_text()), got)


def scenario_names() -> list[str]:
    return [p.stem for p in scen.list_scenarios()]
