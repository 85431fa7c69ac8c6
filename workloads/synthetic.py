"""The project's procedurally generated segmentation task (the offline demo's data).

No model hub or data set host is reachable from the machines this project runs on, so
the whole accuracy path (train -> slice with the knobs -> measure mIoU) runs on a task the
project makes itself. It is NOT ADE20K and its numbers say nothing about ADE20K; they say
how a real SegFormer, trained for real on a non-trivial task, degrades when the knobs skip
part of its work.

The task (every image drawn from a seeded generator, so the data set is reproducible):

* 7 classes, written in ADE20K's convention (``reduce_zero_label``: value 0 = ignored,
  1..7 = classes 0..6): 1 background, 2..7 objects of six textures "stripes", "checker",
  "dots", "rings", "grid", "waves" (a texture-segmentation task). An object's class is its
  texture, whatever its shape (disc, box, triangle or cross) and colours.
* Every texture has a random orientation, period (10..20 px) and pair of colours per
  object; the background is smooth coloured noise with "clutter": untextured shapes of
  the same kinds (also background), so "is an object-like shape" is not enough.
* 2..6 objects per image, drawn in random order, so they occlude one another; each is
  randomly sized, rotated and sometimes partly outside the image.
* A one-pixel band along every class boundary is labelled 0 (ignored), the way
  annotated data sets leave uncertain edges out of the metric.
* Per-image brightness/contrast jitter and Gaussian pixel noise; images are stored as JPEG
  (``.jpg``, quality 90) and labels as PNG, the ADE20K layout
  ``ADEChallengeData2016/{images,annotations}/{training,validation}``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TEXTURES = ("stripes", "checker", "dots", "rings", "grid", "waves")
CLASS_NAMES = ("background",) + TEXTURES
NUM_CLASSES = len(CLASS_NAMES)
SHAPES = ("disc", "box", "triangle", "cross")
MARKER = "dynvit_synthetic.json"  # written beside ADEChallengeData2016/ by `write_dataset`
TASK_NAME = "dynvit synthetic demo task"


def _class_of(texture: str) -> int:
    """Index (0-based, after reduce_zero_label) of an object class."""
    return CLASS_NAMES.index(texture)


def _rotated(yy, xx, cy, cx, angle):
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    return c * dx + s * dy, -s * dx + c * dy  # u along the rotated x axis, v along y


def _shape_mask(shape, yy, xx, cy, cx, r, angle, aspect):
    u, v = _rotated(yy, xx, cy, cx, angle)
    if shape == "disc":  # an ellipse
        return (u / r) ** 2 + (v / (r * aspect)) ** 2 <= 1.0
    if shape == "box":  # (clutter only)
        return (np.abs(u) <= r) & (np.abs(v) <= r * aspect)
    if shape == "cross":  # a plus sign, arms 0.4 r wide
        au, av = np.abs(u), np.abs(v) / aspect
        return ((au <= r) & (av <= 0.4 * r)) | ((au <= 0.4 * r) & (av <= r))
    if shape == "triangle":  # isosceles, apex along -v
        h = r * 1.6
        t = (v + h / 2) / h  # 0 at the apex, 1 at the base
        return (t >= 0) & (t <= 1) & (np.abs(u) <= t * r * 1.1)
    raise AssertionError(shape)


def _texture(kind, yy, xx, rng, cy=0.0, cx=0.0):
    """A two-level pattern in [0, 1] (``cy, cx``: the centre of "rings")."""
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(10.0, 20.0)  # >= 2.5 tokens of the stride-4 stem (finer textures alias)
    u, v = _rotated(yy, xx, 0.0, 0.0, angle)
    if kind == "rings":
        return (np.sin(2 * np.pi * np.hypot(yy - cy, xx - cx) / period) > 0).astype(np.float32)
    if kind == "grid":  # thin lines along both axes
        return ((np.abs(np.sin(np.pi * u / period)) < 0.3) | (np.abs(np.sin(np.pi * v / period)) < 0.3)).astype(np.float32)
    if kind == "waves":  # stripes bent by a sine
        return (np.sin(2 * np.pi * (u + 0.25 * period * np.sin(2 * np.pi * v / (2.5 * period))) / period) > 0).astype(np.float32)
    if kind == "stripes":
        return (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    if kind == "checker":
        return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    if kind == "dots":
        return ((np.cos(2 * np.pi * u / period) * np.cos(2 * np.pi * v / period)) > 0.5).astype(np.float32)
    raise AssertionError(kind)


def _smooth_noise(rng, size, cells):
    """Bilinearly upsampled random grid: smooth background variation in [0, 1]."""
    g = rng.random((cells + 1, cells + 1, 3)).astype(np.float32)
    t = np.linspace(0, cells, size, dtype=np.float32)
    i0 = np.minimum(t.astype(int), cells - 1)
    f = (t - i0)[:, None]
    rows = g[i0] * (1 - f[:, :, None]) + g[i0 + 1] * f[:, :, None]  # (size, cells+1, 3)
    cols = rows[:, i0] * (1 - f.T[:, :, None]) + rows[:, i0 + 1] * f.T[:, :, None]
    return cols


def make_sample(seed: int, index: int, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """One (image uint8 HxWx3 RGB, label uint8 HxW in ADE20K convention) pair."""
    rng = np.random.default_rng([int(seed), int(index)])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = _smooth_noise(rng, size, int(rng.integers(2, 6))) * 0.6 + 0.2
    label = np.zeros((size, size), dtype=np.int64)  # 0-based class 0 = background

    # clutter: untextured shapes (flat colour, a smooth shading), labelled background
    for _ in range(int(rng.integers(1, 5))):
        cy, cx = rng.uniform(0, size), rng.uniform(0, size)
        m = _shape_mask(SHAPES[rng.integers(len(SHAPES))], yy, xx, cy, cx,
                        rng.uniform(0.06, 0.2) * size, rng.uniform(0, np.pi), rng.uniform(0.5, 1.0))
        shade = 1.0 + 0.3 * (yy[m] - cy) / size
        img[m] = np.clip(rng.random(3)[None, :] * shade[:, None], 0, 1)

    for _ in range(int(rng.integers(2, 7))):
        shape, texture = SHAPES[rng.integers(len(SHAPES))], TEXTURES[rng.integers(len(TEXTURES))]
        r = rng.uniform(0.10, 0.28) * size
        cy, cx = rng.uniform(0.05, 0.95) * size, rng.uniform(0.05, 0.95) * size
        m = _shape_mask(shape, yy, xx, cy, cx, r, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.0))
        if not m.any():
            continue
        tex = _texture(texture, yy, xx, rng, cy, cx)
        c0, c1 = rng.random(3), rng.random(3)
        while np.abs(c0 - c1).sum() < 0.6:  # keep the pattern visible
            c1 = rng.random(3)
        img[m] = c0 * (1 - tex[m, None]) + c1 * tex[m, None]
        label[m] = _class_of(texture)

    # photometric jitter and noise
    img = (img - 0.5) * rng.uniform(0.7, 1.2) + 0.5 + rng.uniform(-0.1, 0.1)
    img = img + rng.normal(0.0, rng.uniform(0.01, 0.06), img.shape)
    img8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

    # ADE20K convention: classes 1..N, 0 = ignored; a 1-pixel band along class boundaries is 0
    ann = (label + 1).astype(np.uint8)
    edge = np.zeros_like(label, dtype=bool)
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    edge[1:, :] |= label[1:, :] != label[:-1, :]
    ann[edge] = 0
    return img8, ann


def write_dataset(root: str | Path, *, train: int, val: int, size: int = 128, seed: int = 0,
                  splits: tuple[str, ...] = ("training", "validation")) -> Path:
    """Write the task in ADE20K layout under ``root/ADEChallengeData2016`` (+ a marker file).

    Training images use indices 0..train-1 and validation images train..train+val-1 of the
    same seeded generator, so the two splits never share an image. ``splits``: write only
    these (e.g. the validation split of a shipped checkpoint's data, to measure it again)."""
    from PIL import Image

    root = Path(root)
    base = root / "ADEChallengeData2016"
    for split, start, n in (("training", 0, train), ("validation", train, val)):
        if split not in splits:
            continue
        (base / "images" / split).mkdir(parents=True, exist_ok=True)
        (base / "annotations" / split).mkdir(parents=True, exist_ok=True)
        prefix = "ADE_train_" if split == "training" else "ADE_val_"
        for k in range(n):
            img, ann = make_sample(seed, start + k, size)
            stem = f"{prefix}{k + 1:08d}"
            Image.fromarray(img).save(base / "images" / split / f"{stem}.jpg", quality=90)
            Image.fromarray(ann).save(base / "annotations" / split / f"{stem}.png")
    (root / MARKER).write_text(json.dumps({
        "task": TASK_NAME, "module": "workloads.synthetic", "seed": seed, "size": size,
        "train": train, "val": val, "classes": list(CLASS_NAMES),
        "note": "procedurally generated by dynvit-cosim; not ADE20K",
    }, indent=2) + "\n")
    return root


def synthetic_info(data_root: str | Path) -> dict | None:
    """The marker of a data folder written by `write_dataset` (None for real data)."""
    for p in (Path(data_root) / MARKER, Path(data_root).parent / MARKER):
        if p.is_file():
            try:
                return json.loads(p.read_text())
            except ValueError:
                return None
    return None
