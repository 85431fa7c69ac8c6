"""The measuring helper process of `accelerator.measure`: its loop, (hw, layers, mappings) in,
(seconds, joules) per layer out. A module of its own so that the mapper's side (`measure`,
which `accelerator.mapping` imports) never imports the model that imports the mapper."""

from __future__ import annotations

import sys

import numpy as np

from .measure import _recv, _send
from .model import Accelerator

__all__ = ["serve"]


def serve() -> None:
    """The helper's loop, until its stdin closes (``python -c "from accelerator.measure_helper
    import serve; serve()"``, started by `accelerator.measure`)."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the reply stream
    try:  # SystemC and the model now, while the mapper ranks its candidates (`measure.start`)
        from .loader import load
        load()
    except Exception:  # noqa: BLE001  the first request loads it again and reports the error
        pass
    while True:
        try:
            hw, layers, mappings = _recv(inp)
        except EOFError:
            return
        try:
            acc = Accelerator.for_process(hw)
            r = acc.run(acc.load(list(layers), mappings=list(mappings)))
            _send(out, (True, (np.asarray(r.layer_latency_s, dtype=np.float64),
                               np.asarray(r.layer_energy_j, dtype=np.float64))))
        except Exception as e:  # reported to the caller, which raises it
            _send(out, (False, f"{type(e).__name__}: {e}"))
