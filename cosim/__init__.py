"""Co-simulation: the SimPy-SystemC bridge, the gem5-style `System`/`simulate()`, and the `cosim` CLI."""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import cosim` stays cheap for the CLI
    if name in ("System", "simulate", "SimulationResult"):
        from . import system

        return getattr(system, name)
    raise AttributeError(name)
