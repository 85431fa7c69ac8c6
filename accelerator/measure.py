"""Candidate mappings measured on the SystemC model itself (for the mapper's final ranking).

The cost model (`accelerator.cost`) counts every action exactly but only estimates time; the
mapper prunes with it and lets the simulator decide among the best few candidates. The
measurement runs in a helper process of its own (started on first use, kept for the
process's lifetime, re-targeted to each hardware point): the process's own SystemC model
belongs to whoever drives it in time (a co-simulation's bridge pins its kernel time to
SimPy's, and may load programs -- hence map layers -- while an inference runs), so the
mapper must neither advance nor occupy it. The helper (`accelerator.measure_helper`, the one
module of this exchange that imports the model) imports no torch.

All candidates of a batch run as the layers of one program, one inference: a layer starts
when the previous layer's last output is in DRAM, so the DRAM and NoC servers, the input and
output slots are empty at its start and each layer's latency and energy are those of the
layer run alone (a test checks it). The result is a pure function of (hardware, layers,
mappings): the kernel's absolute time does not enter a layer's duration.
"""

from __future__ import annotations

import atexit
import os
import pickle
import struct
import subprocess
import tempfile
import sys
import threading
from typing import Sequence

import numpy as np

from workloads.ir import Layer

__all__ = ["simulate", "start", "MeasureError"]


class MeasureError(RuntimeError):
    """The measuring helper process failed (its message and stderr tail)."""


_lock = threading.Lock()
_proc: dict[str, subprocess.Popen] = {}


def _send(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)) + data)
    f.flush()


def _recv(f):
    head = f.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(f.read(n))


def _helper() -> subprocess.Popen:
    p = _proc.get("p")
    if p is not None and p.poll() is None:
        return p
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
    # its stderr (SystemC diagnostics, first-use lines) goes to a file: a pipe nobody reads until a
    # failure would block the helper once full
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([sys.executable, "-c", "from accelerator.measure_helper import serve; serve()"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env)
    _proc["p"], _proc["err"] = p, err
    return p


def _stderr_tail() -> str:
    err = _proc.get("err")
    if err is None:
        return ""
    err.seek(0)
    return err.read().decode(errors="replace")[-2000:]


@atexit.register
def _stop() -> None:
    p = _proc.pop("p", None)
    err = _proc.pop("err", None)
    if p is not None and p.poll() is None:
        try:
            p.stdin.close()
            p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
    if err is not None:
        err.close()


def start() -> None:
    """Start the helper now if it is not running, without waiting for it: it loads SystemC and the
    model (about half a second) while the caller ranks the candidates it will send."""
    with _lock:
        _helper()


def simulate(hw, layers: Sequence[Layer], mappings: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, joules) of each layer run with its mapping on the SystemC model of ``hw`` at
    full resources (the energy by `accelerator.energy.EnergyModel`, leakage x time included)."""
    if not layers:
        return np.zeros(0), np.zeros(0)
    with _lock:
        p = _helper()
        try:
            _send(p.stdin, (hw, tuple(layers), tuple(mappings)))
            ok, payload = _recv(p.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as e:
            err = _stderr_tail() if p.poll() is not None else ""
            _stop()
            raise MeasureError(f"the measuring process failed ({e}): {err}") from None
        if not ok:
            _stop()  # after an error its model's state is unknown: the next request gets a fresh one
    if not ok:
        raise MeasureError(payload)
    return payload
