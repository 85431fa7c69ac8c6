"""Co-simulation: the SimPy-SystemC bridge, the gem5-style `System`/`simulate()`, and the `cosim` CLI."""

__version__ = "0.1.0"
