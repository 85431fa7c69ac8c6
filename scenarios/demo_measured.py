"""Measured accuracy drives the governor: the offline demo SegFormer on a small accelerator.

The model is the project's own ``segformer-demo`` (a real `transformers` SegFormer smaller
than B0) trained by ``scripts/train_demo.py`` on the project's synthetic segmentation task;
the accuracy of every candidate was MEASURED with ``cosim accuracy`` on that task
(``workloads/data/measured/segformer-demo.yaml``: "measured on the project's synthetic
demo task, not ADE20K"). So the governor trades real, measured accuracy for time.

A 128x128 camera at 800 fps (1.25 ms deadline) on the ``simba-like`` accelerator. Another
tenant takes half or three quarters of the PEs now and then (seeded Markov process), and
the clock throttles once. The full model fits a frame only at full resources; the
``greedy`` governor picks, frame by frame, the most accurate measured configuration that
fits the slack. Compare with ``governor="static"`` (always the most accurate one):
``scripts/compare_governors.py demo_measured``.
"""

from cosim import System
from host import FrameSource, Markov, Piecewise, Scheduler, Stream

M = "segformer-demo@128x128"
# measured configurations near the accuracy/latency Pareto front of the profile (full model: 40.58 mIoU, 0.784 ms)
CANDIDATES = [M] + [f"{M}/{k}" for k in (
    "blocks=2.2.2.1",   # 40.78 mIoU, 0.763 ms on simba-like at full resources
    "blocks=2.2.1.2",   # 39.63, 0.749 ms
    "blocks=1.2.2.2",   # 36.84, 0.730 ms
    "blocks=1.1.1.1",   # 32.37, 0.640 ms
    "dec=96",           # 31.20, 0.623 ms
    "dec=32",           #  1.38, 0.400 ms (the decoder is what costs most here)
)]

system = System(
    name="demo_measured",
    hardware="simba-like",
    accuracy=["segformer-demo"],  # the shipped measured profile (workloads/data/measured/)
    streams=[
        Stream(name="cam", candidates=CANDIDATES, source=FrameSource(fps=800.0), governor="greedy"),
    ],
    resources=[
        Markov(resource="pe_share", states=[1.0, 0.5, 0.25], mean_dwell_s=[0.4, 0.3, 0.1],
               transitions=[[0.0, 0.8, 0.2], [0.8, 0.0, 0.2], [0.5, 0.5, 0.0]]),
        Piecewise(resource="clock_scale", points=[(0.0, 1.0), (1.5, 0.8), (2.2, 1.0)]),
    ],
    scheduler=Scheduler(policy="edf", late="drop"),
    duration_s=3.0,
    seed=1,
)

if __name__ == "__main__":
    from cosim import simulate

    print(simulate(system))
