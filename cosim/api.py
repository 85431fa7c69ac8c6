"""The co-simulation's public API for the tools above it (`explore/`: sweeps, Pareto, the paper's
study): what a design point may set (hardware fields and presets, the host's choices), one
inference on given hardware, and what it costs (energy components, area).

Exploration reaches the SystemC model, the cost tables and the host only through these functions
(an import contract in pyproject.toml holds `explore` to it), so that a change inside them
(a new energy component, how the process's model is re-targeted) changes one place. Hardware is an
`accelerator.params.HardwareParams`, built from presets (`accelerator.presets`), the typed
description a user writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["hardware_fields", "check_hardware_value", "hardware_units", "check_preset", "governor_names",
           "scheduler_choices", "run_sources", "energy_components", "area_mm2", "area_without_memory_interface_mm2",
           "memory_interface_energy_components", "run_inference", "elaborate"]


# ---------------------------------------------------------------------------------------------
# what a point may set
# ---------------------------------------------------------------------------------------------
def hardware_fields() -> tuple[str, ...]:
    """The `HardwareParams` fields a point may set (every field but the preset's name)."""
    from accelerator.params import HardwareParams

    return tuple(f for f in HardwareParams.param_names() if f != "name")


def check_hardware_value(field: str, value: Any) -> Any:
    """``value`` (a number, or text with a unit such as 800MHz) as the checked value of hardware
    ``field``; `vocab.params.ParamError` naming the field and its allowed range otherwise."""
    from accelerator.params import HardwareParams

    p = HardwareParams.param(field)
    return p.check(p.parse(value))


def hardware_units() -> dict[str, str]:
    """Hardware field -> its unit, for the fields that have one."""
    from accelerator.params import HardwareParams

    return {r["name"]: r["unit"] for r in HardwareParams.describe() if r["unit"]}


def check_preset(name_or_path: str) -> None:
    """`vocab.params.ParamError` naming the shipped presets unless ``name_or_path`` is a shipped
    preset's name or an existing preset file."""
    from accelerator.presets import preset_path

    preset_path(name_or_path)


def governor_names() -> tuple[str, ...]:
    """The registered governors (a stream's ``governor``)."""
    from host.governors import GOVERNORS

    return tuple(GOVERNORS)


def scheduler_choices(field: str) -> tuple[str, ...]:
    """The allowed values of a text field of the host's `Scheduler` (policy, preemption, mechanism,
    spatial)."""
    from host.scheduler import Scheduler

    return tuple(Scheduler.param(field).choices)


def run_sources() -> list[Path]:
    """The source folders that decide a scenario run's result beyond the accelerator's model
    (`cosim.profiles.model_version`): the host's and the co-simulation's."""
    import host

    return [Path(host.__file__).parent, Path(__file__).resolve().parent]


# ---------------------------------------------------------------------------------------------
# costs
# ---------------------------------------------------------------------------------------------
def energy_components() -> tuple[str, ...]:
    """The energy components of an inference's breakdown, in order."""
    from accelerator.energy import COMPONENTS

    return tuple(COMPONENTS)


def area_mm2(hw: Any) -> dict[str, float]:
    """Area per component of ``hw`` and its ``total`` [mm^2] (NaN where unknown)."""
    from accelerator.area import area_mm2 as area

    return area(hw)


def area_without_memory_interface_mm2(hw: Any) -> float:
    """The known area of ``hw`` with the DRAM interface (PHY, controller, devices) left free."""
    from accelerator.area import totals

    return totals(hw, memory_interface=False)["area_mm2"]


def memory_interface_energy_components() -> tuple[str, ...]:
    """The energy components of the DRAM interface (its static energy)."""
    from accelerator.area import MEMORY_INTERFACE_ENERGY_COMPONENTS

    return tuple(MEMORY_INTERFACE_ENERGY_COMPONENTS)


# ---------------------------------------------------------------------------------------------
# one inference
# ---------------------------------------------------------------------------------------------
def run_inference(cfg: Any, hw: Any) -> Any:
    """One inference of configuration ``cfg`` on hardware ``hw``, on this process's SystemC model
    (re-targeted to ``hw``): its `accelerator.model.InferenceResult`."""
    from accelerator.model import Accelerator

    from .programs import load_program

    acc = Accelerator.for_process(hw)
    return acc.run(load_program(acc, cfg))


def elaborate() -> None:
    """Elaborate this process's SystemC model (imports and JIT paid once, e.g. per sweep worker)."""
    from accelerator.model import Accelerator

    Accelerator.for_process()
