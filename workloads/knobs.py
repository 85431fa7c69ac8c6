"""Dynamic-configuration knobs: typed, validated, one definition each.

A model *family* (SegFormer, OFA-ResNet-50, ...) declares its knobs once. A
`Config` is one point of that space; it has a stable, readable string id that
goes into traces, e.g.::

    segformer-b2@512x512                       (the full model)
    segformer-b2@512x512/heads=1.2.4.8/dec=384 (only non-default knobs, in declared order)

The same `Config` lowers two ways, both through the family's torch module with
the knobs applied (so there is a single definition of what a knob does):
``family.build_torch(config)`` gives an executable model that really skips the
work, and ``family.lower(config)`` traces that very module to the layer IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from vocab.errors import UserError

from .ir import Workload


class ConfigError(UserError, ValueError):
    """A bad model name, knob name or knob value; the message names the allowed values."""


def is_range(stage_allowed: Any) -> bool:
    """Whether one stage's allowed values (an entry of a per-stage knob's ``allowed(ctx)``) are
    an inclusive ``(lo, hi)`` range; otherwise they are a collection of the allowed values."""
    return isinstance(stage_allowed, (list, tuple)) and len(stage_allowed) == 2 \
        and not isinstance(stage_allowed[0], (list, tuple))


@dataclass(frozen=True)
class Knob:
    """One dynamic knob.

    ``per_stage`` knobs take one integer per stage, written ``a.b.c.d``.
    ``allowed(ctx)`` returns the allowed values (a list for choices, or a list of
    ``(lo, hi)`` inclusive ranges, one per stage, for per-stage integers) given the
    other knob values already parsed (``ctx``), because e.g. the number of blocks
    SegFormer-B2 can keep differs from B0's.
    """

    name: str
    doc: str
    kind: str  # "choice" | "per_stage" | "int" (a family may add its own: ofa_resnet's "per_block")
    allowed: Callable[[Mapping[str, Any]], Any]
    default: Callable[[Mapping[str, Any]], Any]
    step: Callable[[Mapping[str, Any]], Any] | None = None  # per-stage granularity, if any

    @classmethod
    def kept_per_stage(cls, name: str, doc: str, full: Callable[[Mapping[str, Any]], Sequence[int]]) -> "Knob":
        """A per-stage knob keeping the first n of each stage's ``full(ctx)`` units (blocks, heads,
        channels): 1..full in each stage, all of them by default."""
        return cls(name=name, doc=doc, kind="per_stage", allowed=lambda ctx: [(1, n) for n in full(ctx)],
                   default=lambda ctx: tuple(full(ctx)))

    def parse(self, text: str, ctx: Mapping[str, Any]) -> Any:
        text = str(text).strip()
        if self.kind == "choice":
            allowed = self.allowed(ctx)
            for a in allowed:
                if str(a).lower() == text.lower():
                    return a
            raise ConfigError(f"knob {self.name}={text!r} is not allowed; allowed values: {', '.join(map(str, allowed))}")
        if self.kind == "int":
            try:
                return self.validate(int(text), ctx)
            except ValueError as e:
                if isinstance(e, ConfigError):
                    raise
                raise ConfigError(f"knob {self.name}={text!r} is not an integer; {self.describe_allowed(ctx)}") from None
        if self.kind == "per_stage":
            try:
                vals = tuple(int(p) for p in text.replace(",", ".").split("."))
            except ValueError:
                raise ConfigError(
                    f"knob {self.name}={text!r} must be {len(self.allowed(ctx))} numbers, one per stage "
                    f"(a.b.c.d); {self.describe_allowed(ctx)}"
                ) from None
            return self.validate(vals, ctx)
        raise AssertionError(self.kind)

    def validate(self, value: Any, ctx: Mapping[str, Any]) -> Any:
        allowed = self.allowed(ctx)
        if self.kind == "choice":
            if value not in allowed:
                raise ConfigError(f"knob {self.name}={value!r} is not allowed; allowed values: {', '.join(map(str, allowed))}")
            return value
        if self.kind == "int":
            lo, hi = allowed
            if not (isinstance(value, int) and lo <= value <= hi):
                raise ConfigError(f"knob {self.name}={value!r} is out of range; {self.describe_allowed(ctx)}")
            step = self.step(ctx) if self.step else 1
            if value % step:
                raise ConfigError(f"knob {self.name}={value!r} must be a multiple of {step}; {self.describe_allowed(ctx)}")
            return value
        vals = tuple(value)
        if len(vals) != len(allowed):
            raise ConfigError(
                f"knob {self.name} takes {len(allowed)} values (one per stage), got {len(vals)}; {self.describe_allowed(ctx)}"
            )
        steps = self.step(ctx) if self.step else [1] * len(vals)
        for i, (v, rng, st) in enumerate(zip(vals, allowed, steps)):
            if is_range(rng):
                lo, hi = rng
                ok = lo <= v <= hi and (self.kind != "per_stage" or float(v).is_integer())
                if not ok:
                    raise ConfigError(f"knob {self.name} stage {i + 1} = {v} is out of range; {self.describe_allowed(ctx)}")
                if self.kind == "per_stage" and (v % st):
                    raise ConfigError(
                        f"knob {self.name} stage {i + 1} = {v} must be a multiple of {st}; {self.describe_allowed(ctx)}"
                    )
            elif v not in rng:
                raise ConfigError(f"knob {self.name} stage {i + 1} = {v} is not allowed; {self.describe_allowed(ctx)}")
        return vals

    def describe_allowed(self, ctx: Mapping[str, Any]) -> str:
        allowed = self.allowed(ctx)
        if self.kind == "choice":
            return "allowed values: " + ", ".join(map(str, allowed))
        if self.kind == "int":
            step = self.step(ctx) if self.step else 1
            return f"allowed: {allowed[0]}..{allowed[1]}" + (f" in steps of {step}" if step != 1 else "")
        steps = self.step(ctx) if self.step else None
        per = []
        for i, rng in enumerate(allowed):
            if is_range(rng):
                s = f"{rng[0]}..{rng[1]}"
                if steps and steps[i] != 1:
                    s += f" step {steps[i]}"
            else:
                s = "{" + ",".join(map(str, rng)) + "}"
            per.append(s)
        return "allowed per stage: " + " | ".join(per)

    def format(self, value: Any) -> str:
        if self.kind == "per_stage":
            return ".".join(str(int(v)) for v in value)
        return str(value)


@dataclass(frozen=True)
class Config:
    """One point of a family's configuration space (immutable, hashable)."""

    family: str
    resolution: tuple[int, int]
    knobs: tuple[tuple[str, Any], ...]  # every knob, in declared order
    name: str = ""  # model name used in the id (e.g. segformer-b2)
    id: str = field(default="", compare=False)

    def __getitem__(self, key: str) -> Any:
        for k, v in self.knobs:
            if k == key:
                return v
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.knobs)


def parse_resolution(text: str | Sequence[int]) -> tuple[int, int]:
    """'512x512' or '512' or (512, 512) -> (H, W); clear error otherwise."""
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        s = str(text).lower().strip()
        parts = s.split("x") if "x" in s else [s, s]
    try:
        h, w = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError(f"resolution={text!r} must be HxW with positive integers, e.g. 512x512") from None
    if h <= 0 or w <= 0:
        raise ConfigError(f"resolution={text!r} must be HxW with positive integers, e.g. 512x512")
    return h, w


@dataclass(frozen=True)
class PublishedSize:
    """A published size of one model, to check its torch module against: parameters and/or
    MACs (multiply-accumulates, what torch's FlopCounterMode counts / 2) at a resolution, each
    within the precision the source rounds it to (e.g. 30.9M -> 0.05e6), and the source."""

    source: str
    params: float | None = None
    params_tol: float = 0.0
    macs: float | None = None
    macs_tol: float = 0.0
    resolution: tuple[int, int] | None = None  # None: the model's default resolution


class Family:
    """Base class of a model family: its knobs, its torch module, its IR lowering.

    Subclasses set ``family``, ``knobs``, ``default_resolution``, ``min_resolution``
    and ``resolution_multiple`` and implement ``_build(config)`` (the knob-applied torch
    module; ``_build(config, weights=None)`` where the family loads weights; ``build_torch``
    calls it under the wanted device). They may declare ``representative_model`` (default: the
    family's name) and ``published_sizes()`` (default: none), which the family test suite
    (tests/test_model_families.py) checks.
    """

    family: str = ""
    doc: str = ""
    knobs: tuple[Knob, ...] = ()
    default_resolution: tuple[int, int] = (224, 224)
    min_resolution: int = 32
    #: Largest height or width (16x a 256-pixel side; a 4096x4096 SegFormer-B5 is ~3.5 TMAC per frame).
    max_resolution: int = 4096
    resolution_multiple: int = 32
    task: str = "classification"
    #: The smallest published model of the family whose knobs can all be set (all but those
    #: its name spells); the family test suite checks it at the smallest allowed resolution.
    #: "" means the family's own name.
    representative_model: str = ""

    # ---- names -------------------------------------------------------------
    def model_names(self) -> list[str]:
        """Names this family answers to on the command line (e.g. segformer-b0..b5)."""
        return [self.family]

    def name_presets(self, name: str) -> dict[str, Any]:
        """Knob values implied by a model name (e.g. segformer-b2 -> variant=b2)."""
        return {}

    def config_name(self, values: Mapping[str, Any]) -> str:
        return self.family

    def published_sizes(self) -> dict[str, PublishedSize]:
        """Published sizes of this family's models (model name -> PublishedSize); {} if none."""
        return {}

    # ---- configurations ----------------------------------------------------
    def check_resolution(self, res: tuple[int, int]) -> tuple[int, int]:
        h, w = res
        m, lo, hi = self.resolution_multiple, self.min_resolution, self.max_resolution
        if h < lo or w < lo or h % m or w % m:
            raise ConfigError(
                f"resolution={h}x{w} is not allowed for {self.family}: "
                f"height and width must be multiples of {m} and at least {lo}"
            )
        if h > hi or w > hi:
            raise ConfigError(f"resolution={h}x{w} is not allowed for {self.family}: "
                              f"height and width must be at most {hi}")
        return res

    def config(
        self,
        name: str | None = None,
        resolution: str | Sequence[int] | None = None,
        **knobs: Any,
    ) -> Config:
        """Build and validate a configuration from knob values (strings or typed values)."""
        name = name or self.family
        res = self.check_resolution(parse_resolution(resolution) if resolution is not None else self.default_resolution)
        given = dict(self.name_presets(name))
        for k, v in knobs.items():
            if k in given and str(given[k]).lower() != str(v).lower() and k in self.name_presets(name):
                raise ConfigError(f"knob {k}={v} contradicts the model name {name!r} ({k}={given[k]})")
            given[k] = v
        known = {k.name for k in self.knobs}
        for k in given:
            if k not in known:
                raise ConfigError(
                    f"unknown knob {k!r} for {self.family}; knobs: {', '.join(sorted(known)) or '(none)'}"
                )
        ctx: dict[str, Any] = {"resolution": res}
        values: list[tuple[str, Any]] = []
        for knob in self.knobs:
            if knob.name in given:
                v = given[knob.name]
                v = knob.parse(v, ctx) if isinstance(v, str) else knob.validate(v, ctx)
            else:
                v = knob.default(ctx)
            ctx[knob.name] = v
            values.append((knob.name, v))
        self.check_config(dict(values), res)
        cname = self.config_name(dict(values))
        parts = [f"{cname}@{res[0]}x{res[1]}"]
        for knob, (k, v) in zip(self.knobs, values):
            ctx_before = dict(values[: [n for n, _ in values].index(k)])
            ctx_before["resolution"] = res
            if k in self.name_keys():
                continue
            if v != knob.default(ctx_before):
                parts.append(f"{k}={knob.format(v)}")
        return Config(family=self.family, resolution=res, knobs=tuple(values), name=cname, id="/".join(parts))

    def name_keys(self) -> set[str]:
        """Knobs already spelled by the model name (not repeated in the id)."""
        return set()

    def check_config(self, values: Mapping[str, Any], res: tuple[int, int]) -> None:
        """Cross-knob checks; raise ConfigError."""

    def parse_id(self, config_id: str) -> Config:
        """Parse a config id such as ``segformer-b2@512x512/heads=1.2.4.8``."""
        head, *rest = config_id.strip().split("/")
        name, _, res = head.partition("@")
        knobs: dict[str, str] = {}
        for part in rest:
            if "=" not in part:
                raise ConfigError(f"config id part {part!r} of {config_id!r} must be knob=value")
            k, v = part.split("=", 1)
            knobs[k] = v
        return self.config(name=name, resolution=res or None, **knobs)

    # ---- lowering -----------------------------------------------------------
    def build_torch(self, config: Config, device: str = "cpu", weights: Mapping[str, Any] | None = None):
        """An executable torch module with the knobs applied (eval mode).

        ``weights``: a state_dict of the FULL model (all knobs at their defaults, same
        variant), loaded before the knobs are applied, so the skipped configuration
        runs the pretrained weights it keeps. Families whose ``_build`` takes a
        ``weights`` argument support it; others raise ConfigError.
        """
        import inspect

        import torch

        with torch.device(device):
            if weights is None:
                m = self._build(config)
            elif "weights" in inspect.signature(self._build).parameters:
                m = self._build(config, weights=weights)
            else:
                raise ConfigError(f"{self.family}: loading weights is not supported by this family")
        return m.eval()

    def _build(self, config: Config):  # pragma: no cover - abstract
        raise NotImplementedError

    def example_input(self, config: Config, device: str = "cpu"):
        import torch

        h, w = config.resolution
        return torch.zeros(1, 3, h, w, device=device)

    def lower(self, config: Config) -> Workload:
        """Trace the knob-applied torch module (on the meta device) to the layer IR."""
        from .extract import extract_layers

        module = self.build_torch(config, device="meta")
        layers, params = extract_layers(module, self.example_input(config, device="meta"))
        return Workload(model=config.name, config=config.id, resolution=config.resolution, layers=layers, params=params)

    def describe_knobs(self, config: Config | None = None) -> list[dict[str, str]]:
        cfg = config or self.config()
        ctx: dict[str, Any] = {"resolution": cfg.resolution}
        rows = []
        for knob in self.knobs:
            rows.append(
                {
                    "knob": knob.name,
                    "doc": knob.doc,
                    "default": knob.format(knob.default(ctx)),
                    "allowed": knob.describe_allowed(ctx),
                }
            )
            ctx[knob.name] = cfg[knob.name]
        return rows
