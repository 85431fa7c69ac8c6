"""Host time: SimPy runs in integer picoseconds (SystemC's default resolution),
so no float drift ever enters the event order."""

from __future__ import annotations

PS_PER_S = 10**12


def to_ps(seconds: float) -> int:
    """Seconds -> integer picoseconds (round half to even, as Python's round)."""
    return int(round(seconds * PS_PER_S))


def to_s(ps: int) -> float:
    return ps / PS_PER_S
