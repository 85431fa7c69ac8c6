"""Draining battery, adapted by SKIPPING WORK inside SegFormer-B2 (knobs, no retraining).

The candidates skip decoder channels, Mix-FFN channels, heads and blocks of the
pretrained B2. Their accuracy was not measured here, so it is unknown (NaN) and the
governor ranks them by useful MACs, a declared proxy recorded in the trace.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _battery import BUDGET, DURATION_S, SCHEDULER  # noqa: E402

from cosim import System  # noqa: E402
from host import FrameSource, Stream  # noqa: E402

B2 = "segformer-b2@512x512"
SKIPPING = [
    B2,
    B2 + "/dec=384",
    B2 + "/ffn=128.256.640.1024/dec=192",
    B2 + "/blocks=2.2.3.2/heads=1.1.3.4/ffn=128.256.640.1024/dec=96",
]

system = System(
    name="battery_skipping",
    hardware="rt-64pe",
    streams=[Stream(name="seg", candidates=SKIPPING, source=FrameSource(fps=30.0), governor="greedy")],
    resources=[BUDGET],
    scheduler=SCHEDULER,
    duration_s=DURATION_S,
    seed=3,
)
