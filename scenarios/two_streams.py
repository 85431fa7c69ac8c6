"""Two streams share one accelerator: segmentation and classification.

SegFormer segmentation at 30 fps (priority 1) and Once-For-All ResNet-50
classification at 10 fps (priority 0), scheduled by fixed priority. Each stream has
its own greedy governor; the classification stream switches among OFA sub-nets
(their configurations approximate the published ones: see `cosim workload --list`).
Another tenant takes half the PEs now and then.
"""

from cosim import System
from host import FrameSource, Markov, Scheduler, Stream

OFA = [f"ofa-resnet50-mac{m}b" for m in ("4.1", "2.4", "1.2", "0.6")]

system = System(
    name="two_streams",
    hardware="rt-64pe",
    streams=[
        Stream(name="seg", candidates=[f"segformer-b{i}@512x512" for i in range(3)],
               source=FrameSource(fps=30.0), governor="greedy", priority=1),
        Stream(name="cls", candidates=OFA, source=FrameSource(fps=10.0, start_s=0.005),
               governor="greedy", priority=0),
    ],
    resources=[Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[2.0, 1.0])],
    scheduler=Scheduler(policy="priority", late="drop"),
    duration_s=20.0,
    seed=2,
)
