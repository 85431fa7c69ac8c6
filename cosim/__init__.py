"""Co-simulation: the SimPy-SystemC bridge, the gem5-style `System`/`simulate()`, and the `cosim` CLI.

The one package that wires the others (`vocab`, `workloads`, `accelerator`, `host`, `traces`).
"""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import cosim` stays cheap for the CLI
    if name in ("System", "simulate", "SimulationResult"):
        from . import system

        return getattr(system, name)
    if name in ("sweep", "load_results", "load_spec"):  # design-space sweeps on Dask (cosim/sweeps.py)
        from . import sweeps

        return getattr(sweeps, name)
    raise AttributeError(name)
