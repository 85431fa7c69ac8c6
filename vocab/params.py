"""Typed, documented, validated parameters (the gem5 SimObject idea, compact).

A component declares its parameters once, as class attributes::

    class Cache(Component):
        size_bytes = Param(int, 32768, unit="B", doc="capacity", min=1)
        policy = Param(str, "lru", doc="replacement", choices=("lru", "fifo"))

        def validate(self):              # optional cross-field checks (checks only)
            ...

        def setup(self):                 # optional: state, files read (after validate)
            ...

Every value is checked when it is set (type, range, choices) and the whole
component when it is built (``__init__``, ``from_dict``, ``replace``), which
calls ``validate()`` and then ``setup()``. ``describe()`` gives a printable table; ``to_dict()`` and
``from_dict()`` round-trip. All errors are `ParamError` (a ``ValueError``) and
name the field, its unit and its allowed range.

It lives in `vocab`, the ground package, so that every subsystem may use it.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Iterable, Mapping

from .errors import UserError

__all__ = ["ParamError", "Param", "Component", "REQUIRED", "format_table", "parse_quantity", "did_you_mean"]


class ParamError(UserError, ValueError):
    """A parameter value, name or combination that is not allowed."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a parameter that has none: the user must give a value."""


class Param:
    """One declared parameter: type, default, unit, doc and allowed range/choices.

    ``min``/``max`` are inclusive unless ``min_exclusive``/``max_exclusive``.
    A ``float`` parameter accepts an ``int`` (converted); an ``int`` parameter
    accepts an integral float such as ``1e6`` (converted) but never ``bool``.
    """

    def __init__(self, type: type, default: Any = REQUIRED, *, unit: str = "", doc: str = "",
                 min: float | None = None, max: float | None = None,
                 min_exclusive: bool = False, max_exclusive: bool = False,
                 choices: Iterable[Any] | None = None) -> None:
        self.type = type
        self.unit = unit
        self.doc = doc
        self.min, self.max = min, max
        self.min_exclusive, self.max_exclusive = min_exclusive, max_exclusive
        self.choices = tuple(choices) if choices is not None else None
        self.name = "?"
        self.owner = "?"
        self.default = default if default is REQUIRED else self.check(default, _where="default of ")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.owner = name, owner.__name__

    # -- descriptor protocol -------------------------------------------------
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = self.check(value)

    # -- checks ----------------------------------------------------------------
    def range_text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.min is None and self.max is None:
            return "any"
        lo = "(" if (self.min is None or self.min_exclusive) else "["
        hi = ")" if (self.max is None or self.max_exclusive) else "]"
        lo_v = "-inf" if self.min is None else f"{self.min:g}"
        hi_v = "inf" if self.max is None else f"{self.max:g}"
        return f"{lo}{lo_v}, {hi_v}{hi}"

    def _what(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.owner}.{self.name}{unit}"

    def check(self, value: Any, _where: str = "") -> Any:
        """Return ``value`` converted to the parameter's type, or raise ParamError."""
        t = self.type
        ok = True
        if isinstance(value, bool) and t is not bool:
            ok = False
        elif t is float and isinstance(value, (int, float)):
            value = float(value)
        elif t is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif not isinstance(value, t):
            ok = False
        if not ok:
            raise ParamError(f"{_where}{self._what()}: expected {t.__name__}, got "
                             f"{type(value).__name__} {value!r} (allowed: {self.range_text()})")
        if self.choices is not None and value not in self.choices:
            raise ParamError(f"{_where}{self._what()} = {value!r} is not allowed "
                             f"(allowed: {self.range_text()})")
        if isinstance(value, (int, float)):
            bad = (isinstance(value, float) and math.isnan(value))
            if self.min is not None:
                bad |= value <= self.min if self.min_exclusive else value < self.min
            if self.max is not None:
                bad |= value >= self.max if self.max_exclusive else value > self.max
            if bad:
                unit = f" {self.unit}" if self.unit else ""
                raise ParamError(f"{_where}{self._what()} = {value!r} is out of range "
                                 f"(allowed: {self.range_text()}{unit})")
        return value

    def parse(self, text: Any) -> Any:
        """A value typed on a command line (``--set``) converted to this parameter's type:
        ``true``/``false`` for a bool, a number with or without a unit literal for a number
        (:func:`parse_quantity`: ``800MHz``, ``128KiB``, ``25.6GB/s``, ``43ns``), text as is.
        A value that is not text is returned unchanged (typed already); :meth:`check` does the
        range and type checks."""
        if not isinstance(text, str):
            return text
        t = text.strip()
        if self.type is bool:
            if t.lower() in _TRUE or t.lower() in _FALSE:
                return t.lower() in _TRUE
            raise ParamError(f"{self._what()} = {text!r} is not a boolean (allowed: true, false)")
        if self.type in (int, float):
            v = parse_quantity(t, self.unit, what=self._what(), allowed=self.range_text())
            if self.type is int:
                if not float(v).is_integer():
                    raise ParamError(f"{self._what()} = {text!r} is not an integer (allowed: {self.range_text()}"
                                     f"{' ' + self.unit if self.unit else ''})")
                return int(v)
            return float(v)
        return t


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")

#: SI prefixes (decimal: k = 1000, so 25.6GB/s is 25.6e9 B/s) and IEC binary ones (KiB = 1024 B).
#: Unlike gem5's toMemorySize, "kB" here is 1000 bytes: write KiB for 1024.
_PREFIXES = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9,
             "p": 1e-12, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}
_UNIT_ALIASES = {"bits": "bit", "b": "bit", "Bps": "B/s", "sec": "s"}


def parse_quantity(text: str, unit: str, what: str = "value", allowed: str = "") -> float:
    """``"800MHz"`` -> 8e8 for a parameter in ``Hz``; ``"128KiB"`` -> 131072 in ``B``;
    ``"25.6GB/s"`` -> 2.56e10 in ``B/s``; ``"43ns"`` -> 4.3e-8 in ``s``; a bare number is in
    ``unit`` already (``"1_000"`` too). A unit literal must name ``unit`` (with an SI or
    binary prefix); anything else is a ParamError naming ``what`` and the unit expected."""
    import re

    t = text.strip().replace("_", "")
    try:
        return float(t)  # a bare number (also inf / nan, which the range check then judges)
    except ValueError:
        pass
    m = re.fullmatch(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)", t)
    if not m:
        raise ParamError(f"{what} = {text!r} is not a number (allowed: {allowed}{' ' + unit if unit else ''})")
    num, lit = float(m.group(1)), m.group(2)
    if not lit:
        return num
    ex = f"e.g. 800MHz, 128KiB, 25.6GB/s, 43ns" if unit else "a plain number"
    for pre in sorted(_PREFIXES, key=len, reverse=True):  # the longest prefix first (Ki before K)
        if lit.startswith(pre):
            u = _UNIT_ALIASES.get(lit[len(pre):], lit[len(pre):])
            if u and u == unit:
                return num * _PREFIXES[pre]
    raise ParamError(f"{what} = {text!r}: unit {lit!r} is not {unit or 'allowed (the value has no unit)'} "
                     f"with an optional prefix (k M G T, Ki Mi Gi Ti, m u n p; {ex})")


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """``"; did you mean 'num_pes'?"`` for the closest of ``names`` (``""`` if none is close)."""
    import difflib

    close = difflib.get_close_matches(name, list(names), n=2, cutoff=0.75)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _fresh(default: Any) -> Any:
    if default is None or isinstance(default, (str, bytes, int, float, bool, tuple, frozenset)):
        return default
    return copy.deepcopy(default)


class _hybrid:
    """A method callable on the class (values = defaults) or on an instance."""

    def __init__(self, fn):
        self.fn = fn

    def __get__(self, obj, objtype=None):
        target = obj if obj is not None else objtype
        return lambda *a, **k: self.fn(target, *a, **k)


class Component:
    """Base of every configurable component (think gem5 SimObject)."""

    _params: dict[str, Param] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        params: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            for k, v in vars(klass).items():
                if isinstance(v, Param):
                    params[k] = v
        cls._params = params

    def __init__(self, **values: Any) -> None:
        self._reject_unknown(values)
        missing = [n for n, p in self._params.items() if p.default is REQUIRED and n not in values]
        if missing:
            raise ParamError(f"{type(self).__name__}: missing required parameter(s) "
                             f"{', '.join(missing)}")
        for name, p in self._params.items():
            # a default is never shared between instances (a list or component default is copied)
            setattr(self, name, values[name] if name in values else _fresh(p.default))
        self.validate()
        self.setup()

    @classmethod
    def _reject_unknown(cls, values: Mapping[str, Any]) -> None:
        unknown = [k for k in values if k not in cls._params]
        if unknown:
            raise ParamError(f"{cls.__name__}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                             f"valid names: {', '.join(cls._params)}")

    # -- hooks and conveniences ------------------------------------------------
    def validate(self) -> None:
        """Cross-field checks; override and raise ParamError with a clear message. Checks only:
        no state, no files read (that is `setup`'s)."""

    def setup(self) -> None:
        """Called once when the component is built, after `validate`: initialise the instance's
        state or read its input files here."""

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(cls._params)

    @classmethod
    def param(cls, name: str) -> Param:
        """The declared `Param` of field ``name`` (KeyError if there is none)."""
        return cls._params[name]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        if not isinstance(d, Mapping):
            raise ParamError(f"{cls.__name__}: expected a mapping of parameters, got {type(d).__name__}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._params}

    def replace(self, **changes: Any):
        """A new, fully validated component with some values changed."""
        self._reject_unknown(changes)
        return type(self)(**{**self.to_dict(), **changes})

    @_hybrid
    def describe(self_or_cls) -> list[dict[str, Any]]:
        """One row per parameter: name, type, unit, default, range, doc, value."""
        is_cls = isinstance(self_or_cls, type)
        rows = []
        for n, p in self_or_cls._params.items():
            default = None if p.default is REQUIRED else p.default
            rows.append({"name": n, "type": p.type.__name__, "unit": p.unit, "default": default,
                         "range": p.range_text(), "doc": p.doc,
                         "value": default if is_cls else getattr(self_or_cls, n)})
        return rows

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.to_dict().items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"


def format_table(rows: list[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    """Plain-text table of ``describe()``-style rows."""
    rows = list(rows)
    if not rows:
        return ""
    cols = list(columns or rows[0].keys())
    cells = [[("" if r.get(c) is None else f"{r.get(c):g}" if isinstance(r.get(c), float) else str(r.get(c)))
              for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])
