"""The built-in default scenario (what `cosim run` and `make run` execute).

SegFormer segmentation at 30 fps for 30 s. Another tenant takes part of the PE
array in bursts (a seeded Markov process), and the chip throttles its clock once
(thermal event at 12 s, recovered at 20 s). The `greedy` governor switches among
the SegFormer variants whose ADE20K accuracy is published at 512x512 (B0..B4).

Hardware: the `rt-64pe` preset (`cosim hw show rt-64pe`): vs16 scaled out so that
SegFormer-B2, the paper's model, fits a 30 fps frame at full resources and the
governor has real choices to make when the tenant or the throttling takes them away.
"""

from cosim import System
from host import FrameSource, Markov, Piecewise, Scheduler, Stream

SEGFORMER_PUBLISHED = [f"segformer-b{i}@512x512" for i in range(5)]

system = System(
    name="default",
    hardware="rt-64pe",
    streams=[
        Stream(name="seg", candidates=SEGFORMER_PUBLISHED, source=FrameSource(fps=30.0), governor="greedy"),
    ],
    resources=[
        # another tenant: usually away, sometimes takes half or three quarters of the PEs
        Markov(resource="pe_share", states=[1.0, 0.5, 0.25], mean_dwell_s=[3.0, 1.0, 0.5],
               transitions=[[0.0, 0.7, 0.3], [0.8, 0.0, 0.2], [0.6, 0.4, 0.0]]),
        # one thermal throttling episode
        Piecewise(resource="clock_scale", points=[(0.0, 1.0), (12.0, 0.6), (20.0, 1.0)]),
    ],
    scheduler=Scheduler(policy="edf", late="drop"),
    duration_s=30.0,
    seed=1,
)

if __name__ == "__main__":
    from cosim import simulate

    print(simulate(system))
