"""Workloads: real PyTorch models lowered to a layer IR, their dynamic knobs and accuracy profiles.

It imports only `vocab` (the ground); the contracts in ``pyproject.toml`` enforce it.
"""

from .ir import Layer, Workload, OP_CLASSES, MAC_OPS, PPU_OPS
from .knobs import Config, ConfigError, Family, Knob
from .registry import build_torch, families, family_of, full_config, lower, make_config, model_names, parse_config

__all__ = [
    "Layer", "Workload", "OP_CLASSES", "MAC_OPS", "PPU_OPS",
    "Config", "ConfigError", "Family", "Knob",
    "build_torch", "families", "family_of", "full_config", "lower", "make_config", "model_names", "parse_config",
]
