"""Labelled progress of first-use work (lowering a model, compiling the SystemC model, measuring
profile tables): the slow steps a cache makes instant the next time. Each subsystem says what it
starts through :func:`first_use`; the command line shows it (stderr: a line in a terminal and in a
log); a library user sees it by configuring the ``dynvit.progress`` logger (silent by default)."""

from __future__ import annotations

import logging

LOGGER = logging.getLogger("dynvit.progress")


def first_use(what: str) -> None:
    """Say that slow, cached-afterwards work starts, e.g. "lowering segformer-b2@512x512"."""
    LOGGER.info(what)
