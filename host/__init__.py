"""The real-time host: SimPy processes for frame sources, resource availability,
governors (configuration choice) and the scheduler of one shared accelerator.

The host imports only `vocab` and `workloads` (contracts in ``pyproject.toml``). It reaches the accelerator through an
`AcceleratorPort` (see `port.py`) that `cosim` implements, and gets its latency
and energy predictions as data (`ProfileTable`) that `cosim` measures on the
SystemC model.
"""

from vocab.units import PS_PER_S, to_ps, to_s

from .frames import At, Frame, FrameSource
from .resources import RESOURCES, CsvReplay, Markov, Periodic, Piecewise, ResourceModel
from .profile import Candidate, ProfileTable, ResourceLevel
from .governors import (
    GOVERNORS, FeedbackGovernor, Governor, GovernorView, GreedyGovernor, OracleGovernor, StaticGovernor,
    make_governor, register_governor,
)
from .scheduler import Scheduler, Stream
from .port import AcceleratorPort, Outcome

__all__ = [
    "PS_PER_S", "to_ps", "to_s", "At", "Frame", "FrameSource", "RESOURCES", "CsvReplay", "Markov", "Periodic",
    "Piecewise", "ResourceModel", "Candidate", "ProfileTable", "ResourceLevel", "GOVERNORS", "FeedbackGovernor",
    "Governor", "GovernorView", "GreedyGovernor", "OracleGovernor", "StaticGovernor", "make_governor",
    "register_governor", "Scheduler", "Stream", "AcceleratorPort", "Outcome",
]
