"""Model registry: model name -> family. The single place that lists the models."""

from __future__ import annotations

from functools import lru_cache

from . import ir_cache
from .ir import Workload
from .knobs import Config, ConfigError, Family


@lru_cache(maxsize=None)
def families() -> dict[str, Family]:
    from .ofa_resnet import OFAResNet50Family, ResNet50Family
    from .segformer import SegFormerFamily
    from .swin import SwinFamily

    fams = [SegFormerFamily(), ResNet50Family(), OFAResNet50Family(), SwinFamily()]
    return {f.family: f for f in fams}


@lru_cache(maxsize=None)
def external_families() -> dict[str, Family]:
    """Families of a user's own file (``onnx:PATH``, ``layers:PATH``; `workloads.external`): looked up
    by the prefix of a model name, not listed among the built-in models."""
    from .external import PREFIXES

    return {k: cls() for k, cls in PREFIXES.items()}


def _family(family: str) -> Family:
    return families().get(family) or external_families()[family]


def model_names() -> list[str]:
    return [n for f in families().values() for n in f.model_names()]


def family_of(name: str) -> Family:
    prefix, colon, _ = name.partition(":")
    if colon and prefix.lower() in external_families():
        return external_families()[prefix.lower()]
    for f in families().values():
        if name.lower() in f.model_names():
            return f
    raise ConfigError(f"unknown model {name!r}; models: {', '.join(model_names())}; or your own: "
                      f"onnx:PATH (an ONNX file), layers:PATH (a YAML/CSV layer list)")


def make_config(model: str, resolution=None, **knobs) -> Config:
    """Validate and build a configuration of a model (knob values as text or typed)."""
    fam = family_of(model)
    return fam.config(name=model if fam.family in external_families() else model.lower(), resolution=resolution,
                      **knobs)


def parse_config(config_id: str) -> Config:
    """Parse a stable config id (e.g. 'segformer-b2@512x512/heads=1.2.4.8')."""
    name = config_id.split("@", 1)[0].split("/", 1)[0]
    return family_of(name).parse_id(config_id)


def full_config(config: Config) -> Config:
    """The full configuration of the same model and resolution: every knob at its default
    except those the model name spells (e.g. the variant of segformer-b2). A dynamic
    configuration is a reduced version of it."""
    return _family(config.family).config(name=config.name, resolution=config.resolution)


@lru_cache(maxsize=512)
def lower(config: Config) -> Workload:
    """The layer IR of a configuration (cached per process, and on disk: `ir_cache`)."""
    return ir_cache.cached(config, lambda c: _family(c.family).lower(c))


def build_torch(config: Config, device: str = "cpu"):
    return _family(config.family).build_torch(config, device=device)
