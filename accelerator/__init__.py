"""The SystemC accelerator: C++ sources (src/), the cppyy loader, typed parameters,
presets, mapping, energy and area tables, and the Python driver (`Accelerator`).

It imports only `vocab` and `workloads`, never the host (contracts in ``pyproject.toml``).
Imports are lazy so that ``import accelerator`` does not load SystemC.
"""

from __future__ import annotations

__all__ = ["Accelerator", "InferenceResult", "Completion", "ProgramHandle", "ElaborationError",
           "Mapping", "MappingError", "map_layer", "SystemCNotFound"]


def __getattr__(name):
    if name in ("Accelerator", "InferenceResult", "Completion", "ProgramHandle", "ElaborationError"):
        from . import model
        return getattr(model, name)
    if name in ("Mapping", "MappingError", "map_layer"):
        from . import mapping
        return getattr(mapping, name)
    if name == "SystemCNotFound":
        from .loader import SystemCNotFound
        return SystemCNotFound
    raise AttributeError(f"module 'accelerator' has no attribute {name!r}")
