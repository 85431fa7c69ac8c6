"""Measure the accuracy of dynamic configurations: the executable knobs on real data.

The full model's weights load once from a local checkpoint; every configuration is then
built by the family's own ``build_torch(config, weights=...)`` (the very sliced module
whose IR gives the cost), run over the data set, and scored (`workloads.metrics`).

Checkpoints (local only; nothing is downloaded):

* SegFormer, Swin: a Hugging Face model folder (``config.json`` + ``model.safetensors`` or
  ``pytorch_model.bin``), loaded with ``from_pretrained(folder, local_files_only=True)``;
  its architecture must be the model's (``cosim accuracy segformer-b2`` needs a B2).
* ResNet-50, OFA ResNet-50: a state_dict file (torchvision's layout, resp. the OFA
  super-net's published checkpoint, a dict with a ``state_dict`` entry).

Pre-processing (documented, as the checkpoints' own configs define it):

* SegFormer: single-scale, whole image. The image is resized (bilinear) to the
  configuration's resolution (what Hugging Face's ``SegformerImageProcessor`` does, and
  the resolution whose cost the accelerator simulates), scaled to [0, 1] and normalised
  with the checkpoint's ``preprocessor_config.json`` mean/std (ImageNet's
  0.485/0.456/0.406, 0.229/0.224/0.225 if absent); the logits are resized (bilinear,
  ``align_corners=False``) to the label's size and the arg-max is scored there, as
  mmsegmentation scores at the original resolution. (mmsegmentation's ADE20K test
  pipeline keeps the aspect ratio with the short side at 512 and its Cityscapes
  pipeline slides a 1024x1024 window, so published numbers differ slightly.)
* Classification: the short side resized (bilinear) to ``resolution / 0.875`` (256 for
  224), centre crop to the resolution, ImageNet mean/std.

Results are written per configuration as each finishes (the whole profile file, replaced
atomically), so a killed run resumes where it stopped: configurations already in the file
with the same checkpoint hash, data set, split, image count and pre-processing are not
measured again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from vocab.errors import UserError
from vocab.inputs import read_text
from vocab.paths import atomic_write_text

from .accuracy import AccuracyDataError, binding_of, describe_binding, profile_binding
from .datasets import DatasetError, DatasetSpec, read_image, read_label
from .knobs import Config, ConfigError, Family
from .metrics import ClassificationMeter, SegmentationMeter

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PREPROCESS_VERSION = 1  # bump when the pre-processing changes (finished results are then re-measured)
DATASET_CLASSES = {"ade20k": 150, "cityscapes": 19, "imagenet": 1000}
DATASET_METRIC = {"ade20k": "ADE20K mIoU (single-scale)", "cityscapes": "Cityscapes mIoU (single-scale, whole image)",
                  "imagenet": "ImageNet top-1"}


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, unreadable, or of another model."""


# ---------------------------------------------------------------------------
# checkpoints


@dataclass
class Checkpoint:
    path: Path
    sha256: str
    weights: Mapping[str, Any]
    num_classes: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def _sha256(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


_HF_EXPECT = {
    # family -> (model_type, HF class name, config fields that must match the variant)
    "segformer": ("segformer", "SegformerForSemanticSegmentation",
                  ("depths", "hidden_sizes", "num_attention_heads", "decoder_hidden_size", "sr_ratios", "mlp_ratios")),
    "swin": ("swin", "SwinForImageClassification", ("embed_dim", "depths", "num_heads", "window_size", "patch_size")),
}


def _expected_hf(family: Family, config: Config) -> dict[str, Any]:
    if family.family == "segformer":
        cfg = family.hf_config(config["variant"])  # type: ignore[attr-defined]
    else:
        from .swin import swin_config

        cfg = swin_config(config.resolution)
    return {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in cfg.to_dict().items()}


def load_checkpoint(family: Family, config: Config, path: str | Path) -> Checkpoint:
    """Load the FULL model's weights (state_dict) of ``config``'s model from a local checkpoint."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or folder; expected a checkpoint of {config.name}")
    if family.family in _HF_EXPECT:
        return _load_hf(family, config, path)
    return _load_state_dict_file(family, config, path)


def _load_hf(family: Family, config: Config, path: Path) -> Checkpoint:
    model_type, cls_name, fields = _HF_EXPECT[family.family]
    want = f"a Hugging Face model folder (config.json + {' or '.join(HF_WEIGHT_FILES)}) of {config.name}"
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a folder; expected {want}")
    cj = path / "config.json"
    if not cj.is_file():
        raise CheckpointError(f"{path}: no config.json; expected {want}")
    try:
        got = json.loads(cj.read_text())
    except ValueError as e:
        raise CheckpointError(f"{cj}: not valid JSON ({e}); expected {want}") from None
    if got.get("model_type") != model_type:
        raise CheckpointError(f"{path}: a {got.get('model_type', 'unknown')!r} checkpoint; expected {want} "
                              f"(model_type {model_type!r})")
    exp = _expected_hf(family, config)
    diff = [f"{k}={got.get(k)} (expected {exp[k]})" for k in fields
            if k in exp and (list(got[k]) if isinstance(got.get(k), (list, tuple)) else got.get(k)) != exp[k]]
    if diff:
        raise CheckpointError(f"{path}: checkpoint of another model: {'; '.join(diff)}; expected {config.name}")
    wfiles = [path / f for f in HF_WEIGHT_FILES if (path / f).is_file()]
    if not wfiles:
        raise CheckpointError(f"{path}: no weights file; expected {want}")
    import transformers

    cls = getattr(transformers, cls_name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers.utils.logging.disable_progress_bar()
    try:
        model = cls.from_pretrained(str(path), local_files_only=True)
    except Exception as e:  # noqa: BLE001 - OSError, ValueError, safetensors' SafetensorError (a truncated file), ...
        if not isinstance(e, (OSError, ValueError, RuntimeError)) and type(e).__name__ != "SafetensorError":
            raise
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{path}: cannot load the checkpoint ({type(e).__name__}: {first}); "
                              f"damaged or truncated weights? expected {want}") from None
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    del model
    num = int(got.get("num_labels") or len(got.get("id2label") or {}) or 0)
    head = weights.get("decode_head.classifier.weight", weights.get("classifier.weight"))
    if head is not None:
        num = int(head.shape[0])
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    pp = path / "preprocessor_config.json"
    if pp.is_file():
        try:
            d = json.loads(pp.read_text())
            mean = tuple(float(v) for v in d.get("image_mean", mean))
            std = tuple(float(v) for v in d.get("image_std", std))
        except (ValueError, TypeError):
            raise CheckpointError(f"{pp}: image_mean/image_std must be 3 numbers each") from None
    return Checkpoint(path, _sha256([cj] + wfiles), weights, num, mean, std)


def _load_state_dict_file(family: Family, config: Config, path: Path) -> Checkpoint:
    import torch

    want = f"a state_dict file of {config.name} ({'the OFA super-net' if family.family == 'ofa-resnet50' else 'torchvision layout'})"
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file; expected {want}")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad checkpoint
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint ({type(e).__name__}); expected {want}") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not sd:
        raise CheckpointError(f"{path}: holds no state_dict; expected {want}")
    head = next((v for k, v in sd.items() if k.endswith("linear.weight") or k == "fc.weight"), None)
    return Checkpoint(path, _sha256([path]), sd, int(head.shape[0]) if head is not None else 1000)


def build_model(family: Family, config: Config, ckpt: Checkpoint, device: str = "cpu"):
    """The executable, knob-applied module of ``config`` with the checkpoint's weights."""
    try:
        return family.build_torch(config, device=device, weights=ckpt.weights)
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{ckpt.path}: checkpoint of another model ({str(e).splitlines()[0][:200]}); "
                              f"expected {config.name}") from None


# ---------------------------------------------------------------------------
# data


def _seg_input(img: np.ndarray, res: tuple[int, int], mean, std):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float().div_(255.0)[None]
    if tuple(x.shape[-2:]) != tuple(res):
        x = F.interpolate(x, size=res, mode="bilinear", align_corners=False, antialias=True)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return ((x - m) / s)[0]


def _cls_input(img: np.ndarray, res: tuple[int, int], mean, std):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float().div_(255.0)[None]
    h, w = x.shape[-2:]
    short = round(min(res) / 0.875)
    scale = short / min(h, w)
    nh, nw = max(res[0], round(h * scale)), max(res[1], round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
    top, left = (nh - res[0]) // 2, (nw - res[1]) // 2
    x = x[..., top: top + res[0], left: left + res[1]]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return ((x - m) / s)[0]


class _Batches:
    """Pre-processed batches of a data set at one resolution; kept in memory when small."""

    MAX_CACHE_BYTES = 1 << 30

    def __init__(self, data: DatasetSpec, ckpt: Checkpoint, res: tuple[int, int], batch: int) -> None:
        self.data, self.ckpt, self.res, self.batch = data, ckpt, res, batch
        per = 3 * res[0] * res[1] * 4
        self.cache: list | None = [] if per * len(data.samples) <= self.MAX_CACHE_BYTES else None
        self.complete = False

    def _make(self):
        import torch

        prep = _seg_input if self.data.task == "segmentation" else _cls_input
        samples = self.data.samples
        for i in range(0, len(samples), self.batch):
            chunk = samples[i: i + self.batch]
            xs, labels, where = [], [], []
            for s in chunk:
                img = read_image(s.image)
                xs.append(prep(img, self.res, self.ckpt.mean, self.ckpt.std))
                if self.data.task == "segmentation":
                    lab = read_label(s.label)  # type: ignore[arg-type]
                    if lab.shape != img.shape[:2]:
                        raise DatasetError(f"{s.label}: label is {lab.shape[1]}x{lab.shape[0]}, its image "
                                           f"{s.image} {img.shape[1]}x{img.shape[0]}; expected the same size")
                    labels.append(lab)
                else:
                    labels.append(int(s.label))  # type: ignore[arg-type]
                where.append(str(s.label if self.data.task == "segmentation" else s.image))
            yield torch.stack(xs), labels, where

    def __iter__(self):
        if self.cache is not None and self.complete:
            yield from self.cache
            return
        if self.cache is not None:
            self.cache.clear()
        for b in self._make():
            if self.cache is not None:
                self.cache.append(b)
            yield b
        self.complete = True


def evaluate(model, batches: Iterable, data: DatasetSpec, num_classes: int, device: str = "cpu",
             progress: Callable[[int], None] | None = None) -> dict:
    """Run ``model`` over the data set; the metric dict (percent)."""
    import torch
    import torch.nn.functional as F

    if data.task == "segmentation":
        meter: Any = SegmentationMeter(num_classes, data.ignore_index, data.reduce_zero_label)
    else:
        meter = ClassificationMeter(num_classes)
    with torch.inference_mode():
        for x, labels, where in batches:
            out = model(x.to(device))
            if data.task == "segmentation":
                for k, lab in enumerate(labels):
                    lg = F.interpolate(out[k: k + 1].float(), size=lab.shape, mode="bilinear", align_corners=False)
                    meter.update(lg[0].argmax(0).cpu().numpy(), lab, where=where[k])
            else:
                meter.update(out.float().cpu().numpy(), np.asarray(labels), where=where[0])
            if progress:
                progress(len(labels))
    return meter.result()


# ---------------------------------------------------------------------------
# sweeps


SWEEP_FRACTIONS = (0.75, 0.5, 0.25)


def sweep(family: Family, base: Config, knob: str) -> list[Config]:
    """One-knob sweep below ``base`` (every other knob as in ``base``).

    Per-stage knobs (blocks, heads, ffn): every stage at 3/4, 1/2 and 1/4 of its value
    (rounded up, at least 1, on the knob's step), then each stage alone at 1/2.
    Integer knobs (dec): 3/4, 1/2, 1/4 and 1/8 of the value. Duplicates and the base
    itself are left out; the order is from the most to the least work kept."""
    names = [k.name for k in family.knobs]
    if knob not in names:
        raise ConfigError(f"--sweep {knob!r} is not a knob of {family.family}; knobs: {', '.join(names)}")
    kd = family.knobs[names.index(knob)]
    top = base[knob]
    out: list[Any] = []

    def q(v: int, f: float, step: int = 1) -> int:
        n = max(1, math.ceil(v * f))
        return max(step, math.ceil(n / step) * step) if step > 1 else n

    if kd.kind == "per_stage":
        ctx = dict(base.knobs)
        ctx["resolution"] = base.resolution
        steps = kd.step(ctx) if kd.step else [1] * len(top)
        for f in SWEEP_FRACTIONS:
            out.append(tuple(q(v, f, s) for v, s in zip(top, steps)))
        for i in range(len(top)):
            v = list(top)
            v[i] = q(top[i], 0.5, steps[i])
            out.append(tuple(v))
    elif kd.kind == "int":
        for f in SWEEP_FRACTIONS + (0.125,):
            out.append(q(top, f))
    else:
        raise ConfigError(f"--sweep {knob!r}: only per-stage and integer knobs can be swept; "
                          f"give the configurations with --config")
    configs: list[Config] = []
    seen = {base.id}
    for v in out:
        vals = dict(base.knobs)
        vals[knob] = v
        name_keys = family.name_keys()
        cfg = family.config(name=base.name, resolution=base.resolution,
                            **{k: x for k, x in vals.items() if k not in name_keys})
        if cfg.id not in seen:
            seen.add(cfg.id)
            configs.append(cfg)
    return configs


# ---------------------------------------------------------------------------
# the profile file


def read_profile_doc(path: Path) -> dict:
    """The YAML document of an existing profile (for resuming); {} if there is none."""
    import yaml

    if not os.path.lexists(path):
        return {}
    text = read_text("accuracy profile", path, "an accuracy profile to resume, or a new file name")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise AccuracyDataError(f"{path}: exists but is not valid YAML ({str(e).splitlines()[0]}); "
                                "expected an accuracy profile to resume, or a new file name") from None
    if not isinstance(doc, dict) or doc.get("schema") != 1 or not isinstance(doc.get("entries", {}), dict):
        raise AccuracyDataError(f"{path}: exists but is not an accuracy profile (schema: 1, entries); "
                                "expected a profile to resume, or a new file name")
    return doc


_HEADER = """\
# Accuracy profile measured by `cosim accuracy` (schema: workloads/accuracy.py).
# Every entry was measured with the executable knobs (the sliced torch model whose IR gives
# the cost) on the checkpoint and data named in its provenance. Written after each
# configuration finished; a re-run with the same checkpoint and data resumes.
"""


def write_profile(path: Path, doc: dict, header: str = "") -> None:
    import yaml

    text = (header or _HEADER) + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    try:
        atomic_write_text(path, text, durable=True)
    except OSError as e:  # disk full, read-only folder: the old profile is left as it was
        raise AccuracyDataError(f"cannot write accuracy profile {path}: {e.strerror or e}") from None


@dataclass
class Measurement:
    """One `cosim accuracy` job: model, checkpoint, data, configurations, output."""

    family: Family
    checkpoint: Checkpoint
    data: DatasetSpec
    configs: Sequence[Config]
    out: Path
    batch: int = 8
    device: str = "cpu"
    tool_version: str = ""
    synthetic: dict | None = None
    notes: list[str] = field(default_factory=list)
    new_profile: bool = False  # replace an existing profile of another measurement instead of refusing

    @property
    def metric_name(self) -> str:
        if self.synthetic:
            return ("mIoU, " if self.data.task == "segmentation" else "top-1, ") + \
                f"{self.synthetic.get('task', 'synthetic task')} (single-scale)"
        return DATASET_METRIC[self.data.name]

    @property
    def label(self) -> str:
        if self.synthetic:
            return "measured on the project's synthetic demo task, not ADE20K"
        return f"measured: cosim accuracy on {self.data.name} {self.data.split}"

    def key(self, config: Config) -> dict:
        """What must match for a finished result to be reused."""
        return {"config": config.id, "checkpoint_sha256": self.checkpoint.sha256, "dataset": self.data.name,
                "split": self.data.split, "images": len(self.data.samples), "preprocess": PREPROCESS_VERSION}

    def provenance(self, config: Config, result: dict, seconds: float) -> dict:
        p = {
            "checkpoint": str(self.checkpoint.path),
            "checkpoint_sha256": self.checkpoint.sha256,
            "dataset": self.data.name,
            "split": self.data.split,
            "data": str(self.data.root),
            "images": int(result["images"]),
            "metric": "mIoU" if self.data.task == "segmentation" else "top-1",
            "preprocess": PREPROCESS_VERSION,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tool_version": self.tool_version,
            "seconds": round(seconds, 2),
        }
        if self.data.task == "segmentation":
            p["aAcc"] = round(float(result["aAcc"]), 4)
            p["per_class_IoU"] = [None if v is None else round(v, 4) for v in result["IoU"]]
        else:
            p["top5"] = round(float(result["top5"]), 4)
        if self.synthetic:
            p["synthetic_task"] = {k: self.synthetic[k] for k in ("task", "seed", "size") if k in self.synthetic}
        return p

    @property
    def binding(self) -> dict:
        """What this measurement binds its profile to (`workloads.accuracy.BINDING_FIELDS`, metric)."""
        return binding_of({"metric": self.metric_name, "provenance": {
            "checkpoint_sha256": self.checkpoint.sha256, "dataset": self.data.name, "split": self.data.split}})

    def check_binding(self, entries: Mapping[str, Any]) -> None:
        """AccuracyDataError unless the existing ``entries`` of the output profile come from this
        very checkpoint, data set, split and metric (never one profile of two measurements)."""
        have = profile_binding(str(self.out), entries)
        if have is not None and have != self.binding:
            differ = [f for f in have if have[f] != self.binding[f]]
            raise AccuracyDataError(
                f"{self.out}: holds a profile of {describe_binding(have)}; this run measures "
                f"{describe_binding(self.binding)} (different {', '.join(differ)}); a profile holds one checkpoint, "
                "data set, split and metric: give another -o, or --new-profile to replace it with a new profile")

    def run(self, progress: Callable[[str, int, int], None] | None = None,
            on_done: Callable[[Config, float, bool], None] | None = None) -> dict:
        """Measure every configuration not finished yet; returns the profile document."""
        import time

        import torch

        doc = read_profile_doc(self.out)
        if doc.get("family") not in (None, self.family.family):
            raise AccuracyDataError(f"{self.out}: a profile of {doc.get('family')!r}; expected one of "
                                    f"{self.family.family!r} (give another -o)")
        entries: dict = dict(doc.get("entries") or {})
        if entries and not self.new_profile:
            self.check_binding(entries)
        elif self.new_profile:
            entries = {}
        doc = {"schema": 1, "family": self.family.family, "entries": entries}
        todo = []
        for cfg in self.configs:
            e = entries.get(cfg.id)
            prov = (e or {}).get("provenance") or {}
            k = self.key(cfg)
            if e and all(prov.get(f) == v for f, v in k.items() if f != "config") and \
                    isinstance(e.get("value"), (int, float)) and math.isfinite(e["value"]):
                if on_done:
                    on_done(cfg, float(e["value"]), True)
                continue
            todo.append(cfg)
        if not todo:
            return doc
        batches: dict[tuple[int, int], _Batches] = {}
        torch.manual_seed(0)
        for cfg in todo:
            t0 = time.perf_counter()
            model = build_model(self.family, cfg, self.checkpoint, self.device)
            b = batches.get(cfg.resolution)
            if b is None:
                b = batches[cfg.resolution] = _Batches(self.data, self.checkpoint, cfg.resolution, self.batch)
            n_done = [0]

            def tick(n: int, cfg=cfg) -> None:
                n_done[0] += n
                if progress:
                    progress(cfg.id, n_done[0], len(self.data.samples))

            res = evaluate(model, b, self.data, self.checkpoint.num_classes, self.device, tick)
            del model
            value = res["mIoU"] if self.data.task == "segmentation" else res["top1"]
            if not math.isfinite(value):  # cannot happen with at least one labelled pixel / image
                raise DatasetError(f"{self.data.root}: no labelled pixels in the {len(self.data.samples)} images "
                                   "measured; expected labels other than the ignore value")
            seconds = time.perf_counter() - t0
            entries[cfg.id] = {
                "value": round(float(value), 4),
                "metric": self.metric_name,
                "source": (f"measured by cosim accuracy {self.tool_version}: checkpoint {self.checkpoint.path} "
                           f"(sha256 {self.checkpoint.sha256[:12]}), {self.data.name} {self.data.split} "
                           f"({len(self.data.samples)} images, {self.data.root})"),
                "label": self.label,
                "provenance": self.provenance(cfg, res, seconds),
            }
            write_profile(self.out, doc)  # after every configuration: a killed run loses at most one
            if on_done:
                on_done(cfg, float(value), False)
        return doc


def check_classes(ckpt: Checkpoint, data: DatasetSpec, synthetic: dict | None) -> None:
    """The checkpoint must predict the data set's classes."""
    want = len(synthetic["classes"]) if synthetic and "classes" in synthetic else DATASET_CLASSES[data.name]
    if ckpt.num_classes != want:
        raise CheckpointError(f"{ckpt.path}: predicts {ckpt.num_classes} classes; the {data.name} data in "
                              f"{data.root} has {want}; expected a checkpoint trained on it")
