"""Your own model in a real-time scenario, without writing Python (a template, not a regression
scenario: the leading underscore keeps it out of `cosim regress`).

The candidates come from the environment, as configuration ids (``onnx:PATH``, ``layers:PATH`` or
any built-in model id), comma separated; the governor switches among them per frame::

    DYNVIT_MODELS=onnx:net_small.onnx,onnx:net_large.onnx cosim run _own_model --duration 2

Optional: ``DYNVIT_FPS`` (default 30), ``DYNVIT_HW`` (preset name or YAML, default rt-64pe),
``DYNVIT_GOVERNOR`` (default greedy). Another tenant takes half of the PEs now and then, and the
clock throttles once (0.4 s to 0.7 s); 1 s by default (``--duration``).
"""

import os

from cosim import System
from host import FrameSource, Markov, Piecewise, Scheduler, Stream

models = [m.strip() for m in os.environ.get("DYNVIT_MODELS", "").split(",") if m.strip()]
if not models:
    raise ValueError("DYNVIT_MODELS must name the candidate configurations, comma separated "
                     "(e.g. DYNVIT_MODELS=onnx:net.onnx cosim run _own_model)")
try:
    fps = float(os.environ.get("DYNVIT_FPS", "30"))
except ValueError:
    raise ValueError(f"DYNVIT_FPS = {os.environ['DYNVIT_FPS']!r} must be a number of frames per second") from None

system = System(
    name="own_model",
    hardware=os.environ.get("DYNVIT_HW", "rt-64pe"),
    streams=[Stream(name="own", candidates=models, source=FrameSource(fps=fps),
                    governor=os.environ.get("DYNVIT_GOVERNOR", "greedy"))],
    resources=[
        Markov(resource="pe_share", states=[1.0, 0.5], mean_dwell_s=[1.0, 0.5],
               transitions=[[0.0, 1.0], [1.0, 0.0]]),
        Piecewise(resource="clock_scale", points=[(0.0, 1.0), (0.4, 0.6), (0.7, 1.0)]),
    ],
    scheduler=Scheduler(policy="edf", late="drop"),
    duration_s=1.0,
    seed=1,
)
