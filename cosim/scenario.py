"""Loading scenario scripts.

A scenario is a plain Python script (gem5 style) that builds a `System`. It
either binds it to a module-level name ``system`` or defines ``build()``
returning one; under ``python scenario.py`` it may call ``simulate()`` itself
(``if __name__ == "__main__"``), which `cosim run` does not trigger.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from vocab.errors import UserError
from vocab.inputs import read_text
from vocab.params import ParamError

from .builtin import scenario_dir

SCENARIO_DIR = scenario_dir()  # the checkout's scenarios/, or the installed package data
DEFAULT_SCENARIO = SCENARIO_DIR / "default.py"


class ScenarioError(UserError, ValueError):
    """A scenario script that cannot be loaded or does not build a System."""


def list_scenarios() -> list[Path]:
    return sorted(p for p in SCENARIO_DIR.glob("*.py") if not p.name.startswith("_"))


def resolve(name_or_path: str | None) -> Path:
    if not name_or_path:
        return DEFAULT_SCENARIO
    p = Path(name_or_path)
    if p.is_file():
        return p
    q = SCENARIO_DIR / (name_or_path if name_or_path.endswith(".py") else name_or_path + ".py")
    if q.is_file():
        return q
    names = ", ".join(s.stem for s in list_scenarios())
    raise ScenarioError(f"scenario {name_or_path!r}: no such file, and not a built-in scenario ({names})")


def load(name_or_path: str | None):
    """Run the script and return (System, source text)."""
    from workloads.knobs import ConfigError

    from .system import System

    path = resolve(name_or_path)
    source = read_text("scenario", path, "a Python script that builds a System")
    try:
        ns = runpy.run_path(str(path), run_name="__cosim_scenario__")
    except (ParamError, ConfigError, ScenarioError):
        raise
    except SyntaxError as e:
        raise ScenarioError(f"scenario {path}: syntax error at line {e.lineno}: {e.msg}") from None
    except Exception as e:  # the script itself failed: say where, not a deep traceback
        raise ScenarioError(f"scenario {path} failed while building: {type(e).__name__}: {e}") from e
    system = ns.get("system")
    if system is None and callable(ns.get("build")):
        try:
            system = ns["build"]()
        except (ParamError, ConfigError, ScenarioError):
            raise
        except Exception as e:  # like a module-level failure: one line saying where
            raise ScenarioError(f"scenario {path} failed in build(): {type(e).__name__}: {e}") from e
    if not isinstance(system, System):
        raise ScenarioError(f"scenario {path} must bind a System to the name 'system' or define build() returning one")
    return system, source
