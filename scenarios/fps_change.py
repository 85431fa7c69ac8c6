"""Frame-rate change: the camera switches 15 -> 30 -> 60 fps.

One SegFormer stream whose deadline is always one frame period. At 15 fps the
governor can afford large variants; at 60 fps (16.7 ms) only the small ones fit.
Resources stay at full share: only the frame rate drives the choice.
"""

from cosim import System
from host import At, FrameSource, Stream

system = System(
    name="fps_change",
    hardware="rt-64pe",
    streams=[
        Stream(
            name="seg",
            candidates=[f"segformer-b{i}@512x512" for i in range(5)],
            source=FrameSource(fps=15.0, changes=[At(10.0, fps=30.0), At(20.0, fps=60.0)]),
            governor="greedy",
        ),
    ],
    duration_s=30.0,
    seed=1,
)
