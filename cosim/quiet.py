"""What the command line lets other libraries print: their warnings and progress bars only with
``cosim -v``; otherwise a user sees the tool's own output (results on stdout, progress and errors
on stderr) and nothing interleaved with it.

Silenced without ``-v``: Dask's "port already in use" notice for its dashboard (a second local
cluster picks another port; nothing is wrong), distributed's informational logging, transformers'
advisory warnings and checkpoint-shard progress bars, the Hugging Face hub's progress bars. The
settings are environment variables where the library reads one, so the worker processes of a
sweep inherit them.
"""

from __future__ import annotations

import logging
import os
import warnings

#: True once ``cosim -v`` asked for everything.
VERBOSE = False


def configure(verbose: bool) -> None:
    """Apply the command line's choice (called once per process, before any command runs)."""
    global VERBOSE
    VERBOSE = bool(verbose)
    if verbose:
        os.environ["DYNVIT_VERBOSE"] = "1"
        return
    for k, v in (("TRANSFORMERS_VERBOSITY", "error"), ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
                 ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TQDM_DISABLE", "1")):
        os.environ.setdefault(k, v)
    warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
    warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
    for name in ("distributed", "distributed.node", "distributed.scheduler", "distributed.nanny",
                 "distributed.worker", "distributed.http.proxy", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
