"""A non-editable install works away from the checkout: the wheel carries the built-in
scenarios, studies, goldens, presets and shipped data (package data found through
importlib.resources), and `cosim run` / `cosim regress` find them from an unrelated folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, **kw):
    # PYTHONPATH would put the checkout (and the egg-info a build leaves there) before the install
    kw.setdefault("env", {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.mark.slow
def test_wheel_installs_and_runs_from_an_unrelated_folder(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)])
    (whl,) = wheels.glob("dynvit_cosim-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(whl)])
    # the dependencies come from this environment (nothing is downloaded), after the venv's own packages: the
    # project only from the wheel (this environment's editable install is not on the path: its .pth is not read)
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    assert (purelib / "cosim" / "scenarios" / "default.py").is_file()
    (purelib / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = _run([str(py), "-c", "import cosim, explore.regress as g, explore.reproduce as rp; "
                             "print(cosim.__file__); print(g.GOLDEN_DIR); print(rp.STUDY_DIR); print(g.scenario_names())"],
             cwd=work, env=env)
    where, golden, studies, names = r.stdout.splitlines()
    assert where.startswith(str(venv)) and golden.startswith(str(venv)) and studies.startswith(str(venv)), r.stdout
    assert "default" in names and "demo_measured" in names
    r = _run([str(venv / "bin" / "cosim"), "run", "default", "--duration", "1", "-o", "t.h5"], cwd=work, env=env)
    assert "default: 31 frames" in r.stdout and (work / "t.h5").is_file(), r.stdout
    r = _run([str(venv / "bin" / "cosim"), "--version"], cwd=work, env=env)
    assert r.stdout.startswith("dynvit-cosim ")
