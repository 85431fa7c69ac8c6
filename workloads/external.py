"""A user's own model as a configuration: ``onnx:PATH`` (an ONNX file) and ``layers:PATH`` (a
YAML/CSV layer list, `workloads.layer_list`), usable wherever a model name or configuration id is
(``cosim workload/simulate/map``, scenario candidates, sweep ``config`` coordinates).

The configuration id names the file and the content it was lowered from::

    onnx:models/net.onnx@224x224#3f2a9c1b04de   (resolution: the model's input, or given when symbolic)
    layers:shapes.yaml#77c01a2e5b90

The ``#`` part is the first 12 hex digits of the file's SHA-256. An id written without it means
the file as it is now; an id with it must match the file (a changed file is an error naming both
digests, so a trace's configuration always names the content that ran). Caches keyed by the id
(IR, profiles) therefore never serve a stale model. These models have no knobs and no torch
module: their accuracy is unknown unless a profile names their id.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from .ir import Workload
from .knobs import Config, ConfigError, Family, parse_resolution

__all__ = ["ExternalFamily", "OnnxFamily", "LayerListFamily", "file_digest", "PREFIXES"]

DIGEST_CHARS = 12


def file_digest(path: str | Path) -> str:
    """The first `DIGEST_CHARS` hex digits of the file's SHA-256 (read again only when the file's
    size or modification time changed)."""
    st = Path(path).stat()
    return _digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:DIGEST_CHARS]


@lru_cache(maxsize=256)
def _onnx_input(path: str, digest: str):
    from .onnx_import import input_resolution

    return input_resolution(path)


class ExternalFamily(Family):
    """A family whose one model is a file; subclasses set ``family`` (the id prefix) and ``kind``."""

    kind = "file"
    max_resolution = 1 << 16

    def model_names(self) -> list[str]:
        return [f"{self.family}:PATH"]

    def _path(self, name: str) -> Path:
        prefix = self.family + ":"
        if not name.lower().startswith(prefix) or len(name) == len(prefix):
            raise ConfigError(f"model {name!r}: write {self.family}:PATH (the {self.kind}'s path)")
        p = Path(name[len(prefix):])
        if not p.is_file():
            raise ConfigError(f"model {name!r}: {self.kind} {str(p)!r} not found")
        return p

    def _resolution(self, path: Path, given: tuple[int, int] | None) -> tuple[int, int]:
        return (0, 0)

    def config(self, name: str | None = None, resolution: str | Sequence[int] | None = None, **knobs: Any) -> Config:
        name = (name or "").strip()
        path = self._path(name)
        digest = file_digest(path)
        given = knobs.pop("sha256", None)
        if knobs:
            raise ConfigError(f"{name}: a {self.kind} has no knobs (got {', '.join(sorted(knobs))})")
        if given is not None and str(given) != digest:
            raise ConfigError(f"{name}: the configuration names content #{given}, but {str(path)!r} is now "
                              f"#{digest} (the file changed); drop the #... part to use the file as it is")
        res = self._resolution(path, None if not resolution or tuple(resolution) == (0, 0) else parse_resolution(resolution))
        name = f"{self.family}:{name[len(self.family) + 1:]}"
        head = name if res == (0, 0) else f"{name}@{res[0]}x{res[1]}"
        return Config(family=self.family, resolution=res, knobs=(("sha256", digest),), name=name,
                      id=f"{head}#{digest}")

    def parse_id(self, config_id: str) -> Config:
        text = config_id.strip()
        head, sep, digest = text.rpartition("#")
        if not sep:
            head, digest = text, None
        name, at, res = head.rpartition("@")
        if not at or "x" not in res.lower():
            name, res = head, None
        return self.config(name=name, resolution=res, **({"sha256": digest} if digest else {}))

    def describe_knobs(self, config: Config | None = None) -> list[dict[str, str]]:
        return []

    def build_torch(self, config: Config, device: str = "cpu", weights=None):
        raise ConfigError(f"{config.id}: a {self.kind} has no torch module here, so its accuracy cannot be "
                          f"measured (it is unknown unless an accuracy profile names this id)")

    def _check(self, config: Config) -> Path:
        path = self._path(config.name)
        if file_digest(path) != config["sha256"]:
            raise ConfigError(f"{config.id}: {str(path)!r} changed since this configuration was made")
        return path


class OnnxFamily(ExternalFamily):
    family = "onnx"
    kind = "ONNX file"
    doc = "a user's ONNX model (workloads.onnx_import), id onnx:PATH[@HxW]"

    def _resolution(self, path: Path, given: tuple[int, int] | None) -> tuple[int, int]:
        res, symbolic = _onnx_input(str(path.resolve()), file_digest(path))
        if symbolic:
            if given is None:
                raise ConfigError(f"onnx:{path}: the model's input size is symbolic; give a resolution "
                                  f"(onnx:{path}@HxW or --resolution HxW)")
            return given
        res = res or (1, 1)
        if given is not None and given != res:
            raise ConfigError(f"onnx:{path}: resolution {given[0]}x{given[1]} differs from the model's fixed "
                              f"input {res[0]}x{res[1]}; export the model at that size (or with symbolic H, W)")
        return res

    def lower(self, config: Config) -> Workload:
        from .onnx_import import lower_onnx

        path = self._check(config)
        layers, params = lower_onnx(path, resolution=config.resolution)
        return Workload(model=config.name, config=config.id, resolution=config.resolution, layers=layers,
                        params=params)


class LayerListFamily(ExternalFamily):
    family = "layers"
    kind = "layer list"
    doc = "a YAML/CSV list of layer shapes (workloads.layer_list), id layers:PATH"

    def lower(self, config: Config) -> Workload:
        from .layer_list import read_layer_list

        layers = read_layer_list(self._check(config))
        return Workload(model=config.name, config=config.id, resolution=config.resolution, layers=layers,
                        params=sum(l.params for l in layers))


PREFIXES: dict[str, type[ExternalFamily]] = {"onnx": OnnxFamily, "layers": LayerListFamily}
