"""Exploration: design-space sweeps on Dask (explore/sweep_*.py), Pareto fronts (pareto.py), the
regression check of the shipped scenarios against their goldens (regress.py) and the paper's
reproduction study (reproduce*.py).

It sits above the co-simulation and runs every point through cosim's public API (`cosim.api`,
`cosim.system`, `cosim.scenario`); an import contract in pyproject.toml keeps it off the SystemC
model, the cost tables and the host's internals, and only cosim's command line imports it. A sweep
in short::

    from explore import load_results, load_spec, sweep

    sweep(load_spec("studies/vector_size.yaml"), "out/vs")   # one Parquet part per point
    df = load_results("out/vs")
"""


def __getattr__(name):  # lazy: `import explore` stays cheap (Dask, pyarrow load on first use)
    if name == "sweep":
        from .sweep_driver import sweep

        return sweep
    if name in ("load_spec", "SpecError"):
        from . import sweep_spec

        return getattr(sweep_spec, name)
    if name == "load_results":
        from .sweep_results import load_results

        return load_results
    raise AttributeError(name)
