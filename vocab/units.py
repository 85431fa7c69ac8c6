"""The one time unit: integer picoseconds (SystemC's default resolution), in which SimPy runs,
so no float drift ever enters the event order; its conversions and bounds, and the picojoule
of the per-action energy tables."""

from __future__ import annotations

import math

from .params import ParamError

PS_PER_S = 10**12
#: Seconds per picosecond, for vectorised conversions (``ps_array * S_PER_PS``).
S_PER_PS = 1e-12
#: Joules per picojoule (per-action energies are tabulated in pJ).
J_PER_PJ = 1e-12

#: Longest simulated time any input may name (11.6 days). Host time is an int64 count
#: of picoseconds (9.2e6 s) and SystemC's runs ahead of it by the profiling time and a
#: step horizon; this bound keeps every time well inside both.
MAX_TIME_S = 1e6
#: Shortest step of a resource pattern, dwell or budget window (1 ns); shorter ones
#: round to 0 ps and would never advance time.
MIN_STEP_S = 1e-9
#: Most change points one resource timeline may hold over a run.
MAX_CHANGES = 1_000_000


def check_time(value, where: str, *, min_s: float = 0.0, positive: bool = False) -> float:
    """A finite time in [min_s, MAX_TIME_S] (``positive``: > 0 and >= min_s), as float; else ParamError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"{where} = {value!r} must be a time in seconds") from None
    if isinstance(value, bool) or not math.isfinite(v) or v < min_s or v > MAX_TIME_S or (positive and v <= 0):
        lo = f"[{min_s:g}" if min_s > 0 or not positive else "(0"
        raise ParamError(f"{where} = {value!r} s is out of range (allowed: {lo}, {MAX_TIME_S:g}] s)")
    return v


def to_ps(seconds: float) -> int:
    """Seconds -> integer picoseconds (round half to even, as Python's round)."""
    return int(round(seconds * PS_PER_S))


def to_s(ps: int) -> float:
    return ps / PS_PER_S
