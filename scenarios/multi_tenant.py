"""Three tenants share one accelerator in time, with preemption (issue 22).

* ``cls``: Once-For-All ResNet-50 classification at 60 fps, the highest priority (a control
  loop that must not wait behind a segmentation frame);
* ``seg``: SegFormer segmentation at 30 fps (B0..B2 at 512x512, published ADE20K accuracy), with
  the feedback governor (its latency predictions learn the time preemptions take from it);
* ``bg``: a bursty background stream (SegFormer-B0 at 256x256, lowest priority, loose deadline):
  5 fps, with two bursts of 40 fps.

Preemptive fixed priority: a waiting frame of a higher priority preempts the running one at its
next tile boundary, which is checkpointed (its partial sums, operand tiles and resident operands
go to DRAM and come back through the DMA; PREMA's CHECKPOINT, Choi and Rhu, HPCA 2020). The
trace holds the preemption counters and energy, each frame's isolated latency and preemptions,
and `cosim report` / the golden summary the per-stream miss rate, ANTT and STP.
`studies/multitenant.yaml` compares the policies on this mix.
"""

from cosim import System
from host import At, FrameSource, Scheduler, Stream

OFA = [f"ofa-resnet50-mac{m}b" for m in ("4.1", "2.4", "1.2", "0.6")]

system = System(
    name="multi_tenant",
    hardware="rt-64pe",
    streams=[
        Stream(name="cls", candidates=OFA, source=FrameSource(fps=60.0, start_s=0.003), governor="greedy",
               priority=2),
        Stream(name="seg", candidates=[f"segformer-b{i}@512x512" for i in range(3)], source=FrameSource(fps=30.0),
               governor="feedback", priority=1),
        Stream(name="bg", candidates=["segformer-b0@256x256"], governor="static", priority=0,
               source=FrameSource(fps=5.0, start_s=0.011, deadline_s=0.5,
                                  changes=[At(1.0, fps=40.0), At(1.5, fps=5.0), At(3.0, fps=40.0), At(3.5, fps=5.0)])),
    ],
    scheduler=Scheduler(policy="priority", late="drop", preemption="tile", mechanism="checkpoint"),
    duration_s=5.0,
    seed=7,
)

if __name__ == "__main__":
    from cosim import simulate

    print(simulate(system))
