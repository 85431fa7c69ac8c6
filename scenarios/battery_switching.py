"""Draining battery, adapted by MODEL SWITCHING (SegFormer B0..B2, published accuracy).

Pair with `battery_skipping.py` (the same budget, adapted by skipping work inside
SegFormer-B2) and compare: `cosim compare runs/battery_switching-seed3.h5 runs/battery_skipping-seed3.h5`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _battery import BUDGET, DURATION_S, SCHEDULER  # noqa: E402

from cosim import System  # noqa: E402
from host import FrameSource, Stream  # noqa: E402

system = System(
    name="battery_switching",
    hardware="rt-64pe",
    streams=[Stream(name="seg", candidates=[f"segformer-b{i}@512x512" for i in range(3)],
                    source=FrameSource(fps=30.0), governor="greedy")],
    resources=[BUDGET],
    scheduler=SCHEDULER,
    duration_s=DURATION_S,
    seed=3,
)
