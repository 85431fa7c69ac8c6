"""Evaluation data sets in their standard folder layouts (read locally, never downloaded).

* ``ade20k``: ``ADEChallengeData2016/images/<split>/*.jpg`` and
  ``ADEChallengeData2016/annotations/<split>/*.png`` (same stem), split ``validation``
  by default; 150 classes stored as 1..150, 0 = "other", ignored (mmsegmentation's
  ``reduce_zero_label=True``). ``--data`` may name the folder holding
  ``ADEChallengeData2016`` or that folder itself.
* ``cityscapes``: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` and
  ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`` (19 train ids, 255 ignored; the
  ``labelTrainIds`` files are made by cityscapesscripts' ``createTrainIdLabelImgs``,
  as mmsegmentation requires too), split ``val`` by default.
* ``imagenet``: ``val/<wnid>/*.JPEG`` (the usual re-foldered validation set); the class
  index is the position of ``<wnid>`` among the sorted folder names (the torchvision /
  OFA ``ImageFolder`` convention), so ``val`` must hold all 1000 class folders.

Every bad layout raises `DatasetError` with one line naming the path and what was
expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocab.errors import UserError

DATASETS = ("ade20k", "cityscapes", "imagenet")
DEFAULT_SPLIT = {"ade20k": "validation", "cityscapes": "val", "imagenet": "val"}
LAYOUT = {"ade20k": "ADEChallengeData2016/images/{split}/*.jpg with annotations/{split}/*.png",
          "cityscapes": "leftImg8bit/{split}/<city>/*_leftImg8bit.png with gtFine/{split}/<city>/*_gtFine_labelTrainIds.png",
          "imagenet": "{split}/<wnid>/*.JPEG"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class DatasetError(UserError, ValueError):
    """A data folder that is missing, has the wrong layout, or holds no samples."""


@dataclass(frozen=True)
class Sample:
    image: Path
    label: Path | int  # a label image (segmentation) or a class index (classification)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # ade20k | cityscapes | imagenet
    root: Path  # the folder the user gave
    split: str
    samples: tuple[Sample, ...]
    num_classes: int
    reduce_zero_label: bool = False
    ignore_index: int = 255
    task: str = "segmentation"

    @property
    def description(self) -> str:
        return f"{self.name} {self.split} ({len(self.samples)} images, {self.root})"


def _need_dir(p: Path, what: str) -> Path:
    if not p.exists():
        raise DatasetError(f"{p}: no such folder; expected {what}")
    if not p.is_dir():
        raise DatasetError(f"{p}: not a folder; expected {what}")
    return p


def _ade20k(root: Path, split: str) -> DatasetSpec:
    base = root if root.name == "ADEChallengeData2016" else root / "ADEChallengeData2016"
    layout = "ADEChallengeData2016/{images,annotations}/" + split + " (ADE20K layout)"
    if not base.is_dir():
        raise DatasetError(f"{root}: no ADEChallengeData2016 folder; expected {layout}")
    imgs = _need_dir(base / "images" / split, f"the images of {layout}")
    anns = _need_dir(base / "annotations" / split, f"the label PNGs of {layout}")
    samples = []
    for p in sorted(imgs.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        lab = anns / (p.stem + ".png")
        if not lab.is_file():
            raise DatasetError(f"{lab}: missing; every image of {imgs} needs a label PNG of the same name in {anns}")
        samples.append(Sample(p, lab))
    return DatasetSpec("ade20k", root, split, tuple(samples), 150, reduce_zero_label=True)


def _cityscapes(root: Path, split: str) -> DatasetSpec:
    layout = f"leftImg8bit/{split}/<city>/*_leftImg8bit.png and gtFine/{split}/<city>/*_gtFine_labelTrainIds.png"
    imgs = _need_dir(root / "leftImg8bit" / split, f"Cityscapes layout: {layout}")
    gts = _need_dir(root / "gtFine" / split, f"Cityscapes layout: {layout}")
    samples = []
    for p in sorted(imgs.glob("*/*_leftImg8bit.png")):
        stem = p.name[: -len("_leftImg8bit.png")]
        lab = gts / p.parent.name / f"{stem}_gtFine_labelTrainIds.png"
        if not lab.is_file():
            raise DatasetError(f"{lab}: missing; expected train-id labels ({layout}; make them with "
                               "cityscapesscripts' createTrainIdLabelImgs)")
        samples.append(Sample(p, lab))
    return DatasetSpec("cityscapes", root, split, tuple(samples), 19)


def _imagenet(root: Path, split: str) -> DatasetSpec:
    base = root / split if (root / split).is_dir() else root
    layout = f"{split}/<wnid>/*.JPEG (ImageNet layout, 1000 class folders)"
    _need_dir(base, layout)
    classes = sorted(d.name for d in base.iterdir() if d.is_dir())
    if len(classes) != 1000:
        raise DatasetError(f"{base}: {len(classes)} class folders; expected {layout}")
    samples = []
    for i, c in enumerate(classes):
        for p in sorted((base / c).iterdir()):
            if p.suffix.lower() in IMAGE_SUFFIXES:
                samples.append(Sample(p, i))
    return DatasetSpec("imagenet", root, split, tuple(samples), 1000, task="classification")


def open_dataset(name: str, root: str | Path, split: str | None = None, limit: int | None = None) -> DatasetSpec:
    """Index a local data set (no pixels read yet). ``limit``: the first N samples (sorted)."""
    name = name.lower()
    if name not in DATASETS:
        raise DatasetError(f"dataset {name!r} is not known; datasets: {', '.join(DATASETS)}")
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such folder; expected a {name} data folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; expected a {name} data folder")
    split = split or DEFAULT_SPLIT[name]
    spec = {"ade20k": _ade20k, "cityscapes": _cityscapes, "imagenet": _imagenet}[name](root, split)
    if not spec.samples:
        raise DatasetError(f"{root}: no images found for {name} split {split!r} (the data set is empty); "
                           f"expected {LAYOUT[name].format(split=split)}")
    if limit is not None:
        if limit < 1:
            raise DatasetError(f"--limit {limit} must be at least 1")
        spec = DatasetSpec(spec.name, spec.root, spec.split, spec.samples[:limit], spec.num_classes,
                           spec.reduce_zero_label, spec.ignore_index, spec.task)
    return spec


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 HxWx3."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise DatasetError(f"{path}: cannot be read as an image ({e})") from None


def read_label(path: Path) -> np.ndarray:
    """A label PNG as HxW integers (single channel expected)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise DatasetError(f"{path}: label image has mode {im.mode}; expected a single-channel PNG of class ids")
            return np.asarray(im).astype(np.int64)
    except (OSError, UnidentifiedImageError) as e:
        raise DatasetError(f"{path}: cannot be read as a label image ({e})") from None
