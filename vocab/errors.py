"""The base of every bad-input error.

Each subsystem raises its own error type (``ParamError``, ``ConfigError``, ``PresetError``,
...), all subclasses of `UserError` and of the built-in type that fits (``ValueError`` for a
bad value, ``RuntimeError`` for a missing install). The command line catches `UserError`
once and prints its message as one line (exit 2); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """Input the user can fix: the message names the field and the allowed values."""
