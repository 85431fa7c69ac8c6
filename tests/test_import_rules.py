"""The import rules are contracts (pyproject.toml [tool.importlinter]) that lint-imports checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vocab", "workloads", "accelerator", "host", "traces", "cosim")
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.fail(f"lint-imports not installed beside {sys.executable} (make setup installs the dev extras)")
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_contracts_kept():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize("source, target", [("vocab", "workloads"), ("workloads", "accelerator"),
                                            ("host", "accelerator"), ("traces", "cosim"), ("accelerator", "traces")])
def test_a_violation_fails(tmp_path, source, target):
    """A copy of the tree with one forbidden import added breaks a contract."""
    for p in PACKAGES:
        shutil.copytree(ROOT / p, tmp_path / p, ignore=shutil.ignore_patterns("__pycache__", "src", "data", "presets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    init = tmp_path / source / "__init__.py"
    init.write_text(init.read_text() + f"\nimport {target}  # deliberate violation\n")
    r = _lint(tmp_path)
    assert r.returncode != 0, r.stdout
    assert "BROKEN" in r.stdout and f"{source}" in r.stdout


def test_scenarios_import_only_cosim_host_and_vocab():
    """Scenario scripts (not a package, so outside lint-imports) assemble a System from cosim and
    host (and may use the ground, e.g. `Param` for a governor of their own); the accelerator,
    workloads and traces stay behind cosim."""
    import ast

    for path in sorted((ROOT / "scenarios").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                assert top not in set(PACKAGES) - {"cosim", "host", "vocab"}, f"{path.name} imports {name}"
