"""The test that a model family refuses bad knob values, shared by the families' test files."""

import pytest

from workloads.knobs import ConfigError


def bad_knobs_test(family, cases):
    """A test, parametrized over ``cases`` of ``(knobs, pattern)``: ``family.config(**knobs)``
    raises a ConfigError whose message matches ``pattern`` (it names the knob and the allowed
    values). Assign it to a ``test_...`` name of the test module."""

    @pytest.mark.parametrize("knobs, pattern", cases)
    def test(knobs, pattern):
        with pytest.raises(ConfigError, match=pattern):
            family.config(**knobs)

    return test
