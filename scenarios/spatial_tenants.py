"""Two tenants share one accelerator in space: each runs on its own group of PEs (issue 22).

* ``cls``: Once-For-All ResNet-50 classification at 60 fps (greedy governor);
* ``seg``: SegFormer segmentation at 30 fps, B0..B2 at 512x512 (feedback governor: its latency
  predictions learn the time the other tenant's DRAM and NoC traffic costs it).

Dynamic spatial partition (Planaria-like, re-decided at every arrival and completion): the
streams with a frame running or waiting split the 64 PEs, ``cls`` and ``seg`` in the ratio 1:2
of their weights (``Stream.share``); a stream without work leaves its PEs to the other. The
DRAM and NoC are not partitioned: the tenants' transfers queue at the same servers of the
SystemC model, and that interference is in their latencies. The trace records each frame's
partition, PE group and mean share; `cosim report` the per-stream ANTT, STP and shares.
"""

from cosim import System
from host import FrameSource, Scheduler, Stream

OFA = [f"ofa-resnet50-mac{m}b" for m in ("4.1", "2.4", "1.2", "0.6")]

system = System(
    name="spatial_tenants",
    hardware="rt-64pe",
    streams=[
        Stream(name="cls", candidates=OFA, source=FrameSource(fps=60.0, start_s=0.003), governor="greedy",
               share=0.5),
        Stream(name="seg", candidates=[f"segformer-b{i}@512x512" for i in range(3)], source=FrameSource(fps=30.0),
               governor="feedback", share=1.0),
    ],
    scheduler=Scheduler(policy="edf", late="drop", spatial="dynamic"),
    duration_s=3.0,
    seed=5,
)

if __name__ == "__main__":
    from cosim import simulate

    print(simulate(system))
