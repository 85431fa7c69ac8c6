"""Shared by the battery scenarios: a draining energy budget per 1 s window.

The battery allows 10 J per second at first and drains in steps down to 1.5 J per
second. (Module names starting with '_' are helpers, not scenarios.)
"""

from host import Piecewise, Scheduler

BUDGET = Piecewise(resource="energy_budget_j", points=[(0.0, 10.0), (5.0, 6.0), (10.0, 3.0), (15.0, 1.5)])
SCHEDULER = Scheduler(policy="edf", late="drop", budget_window_s=1.0)
DURATION_S = 20.0
