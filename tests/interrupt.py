"""Interrupting a command as a terminal does: a signal to the process group it leads."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Callable


def interrupt_group(cmd: list[str], ready: Callable[[], bool], sig: int, cwd: str,
                    timeout_s: float = 240.0) -> tuple[int, str]:
    """Run ``cmd`` as the leader of a new process group, poll ``ready()`` until it is true, then
    send ``sig`` to the group (a terminal's Ctrl-C is SIGINT to the group). Returns the exit code
    and the standard error. Fails if the command ended before ``ready()`` (the test then needs a
    longer run)."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and p.poll() is None and not ready():
            time.sleep(0.1)
        assert p.poll() is None, "the command ended before it could be interrupted; the test needs a longer run"
        os.killpg(p.pid, sig)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return p.returncode, err
