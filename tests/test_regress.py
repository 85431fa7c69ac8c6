"""Golden regression: each built-in scenario's summary equals its committed golden.

The goldens change only through `cosim regress --update` (a reviewed diff)."""

import pytest

from explore import regress


@pytest.mark.parametrize("name", regress.scenario_names())
def test_scenario_matches_golden(name):
    problems = regress.check(name)
    assert not problems, "\n".join(problems)


def test_diff_is_tight():
    assert regress.diff({"a": 1.0, "n": 3}, {"a": 1.0 + 1e-12, "n": 3}) == []
    assert regress.diff({"a": 1.0}, {"a": 1.0 + 1e-6}) != []
    assert regress.diff({"n": 3}, {"n": 4}) != []
    assert regress.diff({"a": None}, {"a": 0.5}) != []
    assert regress.diff({"a": 1}, {}) != []
