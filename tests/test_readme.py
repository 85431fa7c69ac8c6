"""Every number the README (and a scenario's comments) quotes comes from the code: the
generator `scripts/readme_numbers.py` computes them, and these tests fail when the committed
text and the code disagree (run `python scripts/readme_numbers.py --write` after a change
that moves them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gen():
    spec = importlib.util.spec_from_file_location("readme_numbers", ROOT / "scripts" / "readme_numbers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scenario_results_in_the_readme_are_the_goldens(capsys):
    assert _gen().main(["--only", "scenarios"]) == 0, capsys.readouterr().out


def test_demo_scenario_comments_quote_todays_accuracy_and_latency(capsys):
    assert _gen().main(["--only", "comments"]) == 0, capsys.readouterr().out


def test_a_stale_number_is_caught(tmp_path, monkeypatch):
    g = _gen()
    readme = tmp_path / "README.md"
    text = g.README.read_text()
    assert "| `default` |" in text
    readme.write_text(text.replace("| `default` | 30 | 901 |", "| `default` | 30 | 900 |"))
    monkeypatch.setattr(g, "README", readme)
    monkeypatch.setattr(g, "ROOT", tmp_path)
    monkeypatch.setattr(g, "DEMO", tmp_path / "demo.py")
    (tmp_path / "demo.py").write_text("")
    assert g.main(["--only", "scenarios"]) == 1


@pytest.mark.slow
def test_demo_table_in_the_readme_is_what_the_code_gives(capsys):
    assert _gen().main(["--only", "demo"]) == 0, capsys.readouterr().out
