"""The process's one SystemC model (`Accelerator.for_process`) in tests: a test module's fixtures
of it, and a configuration's standalone run on it."""

import pytest

import workloads
from accelerator.model import Accelerator
from accelerator.params import RuntimeResources
from accelerator.presets import load_preset


def model_fixtures(hw):
    """The fixtures of a test module on the model of hardware ``hw``: ``acc`` (module-scoped) and
    ``full_model`` (autouse), which gives every test the model at full resources in the
    decoupled sync mode, and leaves it so. Use: ``acc, full_model = model_fixtures(HW)``."""

    @pytest.fixture(scope="module")
    def acc():
        return Accelerator.for_process(hw)

    def reset(acc):
        acc.set_resources(RuntimeResources.full(hw))
        acc.sync = "decoupled"

    @pytest.fixture(autouse=True)
    def full_model(acc):
        reset(acc)
        yield
        reset(acc)

    return acc, full_model


def run_alone(preset: str, config: str):
    """The result of configuration ``config`` run alone on the model of hardware preset ``preset``
    at full resources (the model may keep the resources an earlier test left it with)."""
    hw = load_preset(preset)
    acc = Accelerator.for_process(hw)
    acc.set_resources(clock_hz=hw.clock_hz, active_pes=hw.num_pes, dram_share=1.0)
    cfg = workloads.parse_config(config)
    return acc.run(acc.load(workloads.lower(cfg), config=cfg.id))
