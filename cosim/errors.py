"""User-facing errors: every layer's bad-input error, caught once at the CLI."""

from __future__ import annotations


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'bad input' (printed as one clear line, exit 2)."""
    types: list[type[BaseException]] = []
    from workloads.knobs import ConfigError

    types.append(ConfigError)
    try:
        from workloads.params import ParamError

        types.append(ParamError)
    except ImportError:  # pragma: no cover - params module not present
        pass
    for mod, name in (
        ("accelerator.loader", "SystemCNotFound"),
        ("accelerator.presets", "PresetError"),
        ("accelerator.mapping", "MappingError"),
        ("cosim.scenario", "ScenarioError"),
        ("cosim.sweeps", "SpecError"),
        ("traces.reader", "TraceFormatError"),
        ("workloads.accuracy", "AccuracyDataError"),
        ("traces.output", "OutputError"),
    ):
        try:
            m = __import__(mod, fromlist=[name])
            types.append(getattr(m, name))
        except (ImportError, AttributeError):
            pass
    return tuple(types)
