"""Co-simulation: the SimPy-SystemC bridge, the gem5-style `System`/`simulate()`, and the `cosim` CLI.

The one package that wires the others (`vocab`, `workloads`, `accelerator`, `host`, `traces`);
exploration (sweeps, Pareto, regression, the paper's study) is `explore/`, above it, reached
through `cosim.api`; only the command line imports it.
"""

from .version import __version__  # noqa: F401  (re-exported: cosim.__version__)


def __getattr__(name):  # lazy: `import cosim` stays cheap for the CLI
    if name in ("System", "simulate", "SimulationResult"):
        from . import system

        return getattr(system, name)
    raise AttributeError(name)
