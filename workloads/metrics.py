"""Accuracy metrics, computed the way the reference tool chains compute them.

Segmentation: mIoU as mmsegmentation computes it (``mmseg/evaluation/metrics/iou_metric.py``:
``intersect_and_union`` per image, summed over the whole set, then
``total_area_to_metrics``):

* with ``reduce_zero_label`` (ADE20K) label 0 becomes ``ignore_index`` and every other
  label is shifted down by one (so 150 classes 1..150 become 0..149);
* pixels whose label equals ``ignore_index`` (255) are left out;
* per class, the intersection, the predicted area and the label area are summed over
  every image of the set; ``union = pred + label - intersection``;
* IoU of a class = total intersection / total union; a class absent from both the
  predictions and the labels of the whole set has union 0, IoU NaN, and is left out of
  the mean (``np.nanmean``); a class only predicted has IoU 0 and counts;
* aAcc (pixel accuracy) = total intersection / total labelled pixels.

Unlike mmsegmentation (whose ``histc`` silently drops them), a label value that is
neither a class nor ``ignore_index`` is an error here: it means the data is not what the
model was trained for.

Classification: top-1 and top-5 accuracy (percent of images whose label is among the
first k scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vocab.errors import UserError


class LabelRangeError(UserError, ValueError):
    """A label value that is neither a class index nor the ignore index."""


def reduce_zero_label(label: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """mmsegmentation's ``reduce_zero_label``: 0 -> ignore, k -> k-1 (ignore stays ignore)."""
    lab = np.asarray(label).astype(np.int64, copy=True)
    lab[lab == 0] = ignore_index
    lab = lab - 1
    lab[lab == ignore_index - 1] = ignore_index
    return lab


def intersect_and_union(pred: np.ndarray, label: np.ndarray, num_classes: int, ignore_index: int = 255,
                        reduce_zero: bool = False, where: str = "") -> tuple[np.ndarray, ...]:
    """Per-class (intersection, union, predicted area, label area) of one image (int64 arrays)."""
    pred = np.asarray(pred).astype(np.int64, copy=False).ravel()
    label = np.asarray(label).astype(np.int64, copy=False).ravel()
    if pred.shape != label.shape:
        raise ValueError(f"prediction has {pred.size} pixels, label {label.size}")
    if reduce_zero:
        label = reduce_zero_label(label, ignore_index)
    keep = label != ignore_index
    pred, label = pred[keep], label[keep]
    bad = (label < 0) | (label >= num_classes)
    if bad.any():
        vals = np.unique(label[bad])
        shown = vals + 1 if reduce_zero else vals  # the value as stored in the file
        raise LabelRangeError(
            f"{where or 'label'}: label values {', '.join(map(str, shown[:5].tolist()))} are out of range; expected "
            + (f"0 (ignored) or 1..{num_classes}" if reduce_zero else f"0..{num_classes - 1} or {ignore_index} (ignored)")
        )
    if ((pred < 0) | (pred >= num_classes)).any():
        raise ValueError(f"predictions out of range 0..{num_classes - 1}")
    inter = pred[pred == label]
    a_inter = np.bincount(inter, minlength=num_classes)
    a_pred = np.bincount(pred, minlength=num_classes)
    a_label = np.bincount(label, minlength=num_classes)
    return a_inter, a_pred + a_label - a_inter, a_pred, a_label


@dataclass
class SegmentationMeter:
    """Accumulates per-class areas over a data set; ``result()`` gives mIoU, aAcc, per-class IoU."""

    num_classes: int
    ignore_index: int = 255
    reduce_zero: bool = False
    inter: np.ndarray = field(init=False)
    union: np.ndarray = field(init=False)
    pred: np.ndarray = field(init=False)
    label: np.ndarray = field(init=False)
    images: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        z = lambda: np.zeros(self.num_classes, dtype=np.int64)  # noqa: E731
        self.inter, self.union, self.pred, self.label = z(), z(), z(), z()

    def update(self, pred: np.ndarray, label: np.ndarray, where: str = "") -> None:
        i, u, p, l = intersect_and_union(pred, label, self.num_classes, self.ignore_index, self.reduce_zero, where)
        self.inter += i
        self.union += u
        self.pred += p
        self.label += l
        self.images += 1

    def iou(self) -> np.ndarray:
        """Per-class IoU (fraction; NaN for classes absent from both predictions and labels)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.union > 0, self.inter / np.maximum(self.union, 1), np.nan)

    def miou(self) -> float:
        iou = self.iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else math.nan

    def aacc(self) -> float:
        total = int(self.label.sum())
        return float(self.inter.sum() / total) if total else math.nan

    def result(self) -> dict:
        """Percent values, as the model zoos publish them."""
        return {"mIoU": 100.0 * self.miou(), "aAcc": 100.0 * self.aacc(),
                "IoU": [None if math.isnan(v) else 100.0 * float(v) for v in self.iou()],
                "images": self.images}


@dataclass
class ClassificationMeter:
    """Top-1 / top-5 accuracy over a data set."""

    num_classes: int
    correct1: int = 0
    correct5: int = 0
    images: int = 0

    def update(self, scores: np.ndarray, labels: np.ndarray, where: str = "") -> None:
        scores = np.asarray(scores)
        labels = np.asarray(labels).astype(np.int64).ravel()
        if ((labels < 0) | (labels >= self.num_classes)).any():
            raise LabelRangeError(f"{where or 'label'}: class index out of range; expected 0..{self.num_classes - 1}")
        k = min(5, scores.shape[1])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        self.correct1 += int((top[:, 0] == labels).sum())
        self.correct5 += int((top == labels[:, None]).any(axis=1).sum())
        self.images += len(labels)

    def result(self) -> dict:
        n = self.images
        return {"top1": 100.0 * self.correct1 / n if n else math.nan,
                "top5": 100.0 * self.correct5 / n if n else math.nan, "images": n}
