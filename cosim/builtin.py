"""Where the built-in scenarios, sweep studies and golden summaries are: the checkout's own
folders (``scenarios/``, ``studies/``, ``tests/golden/``) when running from a source tree (or an
editable install), else the package data an installed wheel carries (``cosim.scenarios``,
``cosim.studies``, ``cosim.golden``: pyproject.toml maps those folders to these packages, so they
stay where they are in the repository) found through importlib.resources."""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _dir(package: str, source: str) -> Path:
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    if spec is not None:  # installed: the data travels inside the cosim package
        found = importlib.resources.files(package)
        if isinstance(found, Path):
            return found
        # a data folder without __init__.py is a namespace package: files() gives a MultiplexedPath
        # over its folders, of which an installed wheel has exactly one
        return Path(next(iter(spec.submodule_search_locations)))
    return _SOURCE_ROOT / source


def scenario_dir() -> Path:
    """The built-in scenario scripts."""
    return _dir("cosim.scenarios", "scenarios")


def study_dir() -> Path:
    """The sweep specs `cosim reproduce` runs."""
    return _dir("cosim.studies", "studies")


def golden_dir() -> Path:
    """The golden summaries `cosim regress` compares with."""
    return _dir("cosim.golden", "tests/golden")
