"""The tool's version: in every trace (``tool_version``), `cosim --version` and the package metadata.

A module of its own so that the modules of `cosim` read it without importing the package's
``__init__`` (which imports `cosim.system` on first use of ``cosim.System``: no import circle).
"""

__version__ = "0.1.0"
