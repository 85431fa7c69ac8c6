"""Accelerator lanes of the timeline exports (:mod:`traces.chrome`, :mod:`traces.perfetto`): a
frame goes to the first lane free when it starts, so frames that overlap in time (several tenants
on one accelerator) go to further lanes."""

from __future__ import annotations


def take_lane(lanes_end: list, start, end) -> int:
    """The lane of a frame from ``start`` to ``end``, taken in order of start: the first lane whose
    last frame ended by ``start``, else a new one. ``lanes_end`` (each lane's end) is updated."""
    lane = next((k for k, e in enumerate(lanes_end) if e <= start), None)
    if lane is None:
        lanes_end.append(end)
        return len(lanes_end) - 1
    lanes_end[lane] = end
    return lane


__all__ = ["take_lane"]
