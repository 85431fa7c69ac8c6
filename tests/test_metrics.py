"""mIoU as mmsegmentation computes it: a hand-computed example and independent checks."""

import math

import numpy as np
import pytest

from workloads.metrics import (ClassificationMeter, LabelRangeError, SegmentationMeter, intersect_and_union,
                               reduce_zero_label)


def test_hand_computed_example_with_ignore_and_absent_class():
    # 4 classes; class 3 appears in neither predictions nor labels -> NaN, left out of the mean
    pred = np.array([[0, 0, 1], [1, 2, 2]])
    label = np.array([[0, 1, 1], [255, 2, 0]])  # (1,0) is ignored, so the predicted 1 there does not count
    m = SegmentationMeter(num_classes=4)
    m.update(pred, label)
    # class 0: inter 1, pred 2, label 2 -> union 3;  class 1: inter 1, pred 1, label 2 -> union 2
    # class 2: inter 1, pred 2, label 1 -> union 2;  class 3: union 0 -> NaN
    assert m.inter.tolist() == [1, 1, 1, 0]
    assert m.union.tolist() == [3, 2, 2, 0]
    iou = m.iou()
    assert iou[:3].tolist() == pytest.approx([1 / 3, 1 / 2, 1 / 2]) and math.isnan(iou[3])
    assert m.miou() == pytest.approx((1 / 3 + 1 / 2 + 1 / 2) / 3)  # 4/9
    assert m.aacc() == pytest.approx(3 / 5)
    r = m.result()
    assert r["mIoU"] == pytest.approx(400 / 9) and r["IoU"][3] is None and r["images"] == 1


def test_areas_are_summed_over_the_set_not_averaged_per_image():
    m = SegmentationMeter(num_classes=2)
    m.update(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 1]))  # per image: IoU0 3/4, IoU1 0
    m.update(np.array([1]), np.array([1]))  # per image: IoU1 1
    # set totals: class 0 inter 3 union 4; class 1 inter 1 union 2
    assert m.iou().tolist() == pytest.approx([3 / 4, 1 / 2])
    # a class only predicted (never labelled) has IoU 0 and counts in the mean
    m2 = SegmentationMeter(num_classes=3)
    m2.update(np.array([2, 0]), np.array([0, 0]))
    assert m2.iou()[2] == 0.0 and math.isnan(m2.iou()[1]) and m2.miou() == pytest.approx(0.25)


def test_reduce_zero_label_ade20k_convention():
    stored = np.array([0, 1, 2, 150, 255])
    assert reduce_zero_label(stored).tolist() == [255, 0, 1, 149, 255]
    m = SegmentationMeter(num_classes=150, reduce_zero=True)
    m.update(np.array([5, 0, 1, 149, 3]), stored)  # the first and last pixel are ignored
    assert m.label.sum() == 3 and m.inter.sum() == 3 and m.miou() == 1.0


def test_label_out_of_range_is_an_error():
    with pytest.raises(LabelRangeError, match=r"x.png: label values 200 are out of range; expected 0 \(ignored\) or 1..7"):
        intersect_and_union(np.zeros(3), np.array([1, 200, 0]), 7, reduce_zero=True, where="x.png")
    with pytest.raises(LabelRangeError, match="0..18 or 255"):
        intersect_and_union(np.zeros(2), np.array([19, 255]), 19)


def _mmseg_torch(preds, labels, num_classes, ignore_index=255):
    """mmsegmentation's intersect_and_union (torch.histc) and total_area_to_metrics, re-typed."""
    import torch

    tot = [torch.zeros(num_classes, dtype=torch.float64) for _ in range(4)]
    for p, l in zip(preds, labels):
        p, l = torch.from_numpy(p), torch.from_numpy(l)
        mask = l != ignore_index
        p, l = p[mask], l[mask]
        inter = p[p == l]
        ai = torch.histc(inter.float(), bins=num_classes, min=0, max=num_classes - 1)
        ap = torch.histc(p.float(), bins=num_classes, min=0, max=num_classes - 1)
        al = torch.histc(l.float(), bins=num_classes, min=0, max=num_classes - 1)
        for t, a in zip(tot, (ai, ai + 0, ap, al)):
            t += a.double()
    ti, _, tp, tl = tot
    iou = ti / (tp + tl - ti)
    return float(np.nanmean(iou.numpy())), float(ti.sum() / tl.sum())


def _confusion(preds, labels, num_classes, ignore_index=255):
    """Another formulation: the confusion matrix over the set (torchvision's reference style)."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for p, l in zip(preds, labels):
        k = l != ignore_index
        cm += np.bincount(num_classes * l[k] + p[k], minlength=num_classes ** 2).reshape(num_classes, num_classes)
    diag = np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = diag / (cm.sum(0) + cm.sum(1) - diag)
    return float(np.nanmean(iou)), float(diag.sum() / cm.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_independent_computations_on_random_predictions(seed):
    rng = np.random.default_rng(seed)
    n = 12
    preds, labels = [], []
    for _ in range(6):
        h, w = rng.integers(5, 40, size=2)
        lab = rng.integers(0, n - 2, size=(h, w))  # classes n-2, n-1 never labelled
        lab[rng.random((h, w)) < 0.15] = 255  # ignored pixels
        pred = np.where(rng.random((h, w)) < 0.6, lab, rng.integers(0, n - 1, size=(h, w)))  # n-1 never predicted
        pred[pred == 255] = 0
        preds.append(pred)
        labels.append(lab)
    m = SegmentationMeter(num_classes=n)
    for p, l in zip(preds, labels):
        m.update(p, l)
    assert math.isnan(m.iou()[n - 1])  # neither predicted nor labelled
    for ref in (_mmseg_torch(preds, labels, n), _confusion(preds, labels, n)):
        assert m.miou() == pytest.approx(ref[0], rel=1e-12)
        assert m.aacc() == pytest.approx(ref[1], rel=1e-12)


def test_top1_top5():
    scores = np.array([[0.1, 0.9, 0.0, 0, 0, 0, 0], [0.5, 0.1, 0.2, 0.3, 0.05, 0.01, 0.04]])
    m = ClassificationMeter(num_classes=7)
    m.update(scores, np.array([1, 4]))
    r = m.result()
    assert r["top1"] == 50.0 and r["top5"] == 100.0 and r["images"] == 2
    with pytest.raises(LabelRangeError):
        m.update(scores, np.array([1, 7]))
