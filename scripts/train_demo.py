#!/usr/bin/env python
"""Train the offline demo model: a small SegFormer on the project's synthetic task.

    python scripts/train_demo.py --out demo            # about 8-10 minutes on 2 CPU cores
    python scripts/train_demo.py --out /tmp/t --tiny   # seconds (what the tests run)

Writes, under ``--out``:

* ``data/ADEChallengeData2016/{images,annotations}/{training,validation}``: the synthetic
  task (`workloads/synthetic.py`) in ADE20K layout, plus ``data/dynvit_synthetic.json``
  (the marker that makes `cosim accuracy` label its numbers "measured on the project's
  synthetic demo task, not ADE20K");
* ``checkpoint/``: a Hugging Face model folder (``config.json``, ``model.safetensors``,
  ``preprocessor_config.json``) of ``segformer-demo`` (the real `transformers` SegFormer
  architecture, smaller than B0: `workloads/segformer.py`, variant ``demo``);
* ``train_log.json``: the settings, the loss curve and the wall time.

Then measure every knob sweep on it (no retraining)::

    cosim accuracy segformer-demo -r 128x128 --checkpoint demo/checkpoint --data demo/data \\
        --sweep heads --sweep blocks --sweep ffn --sweep dec -o demo/accuracy_segformer-demo.yaml

Training is seeded (data, initialisation, batch order); on the same machine and thread
count it gives the same weights. It is ordinary supervised training of the full model
(AdamW, warm-up then cosine decay, cross-entropy with the ignore label, SegFormer's own
stochastic depth 0.1 and classifier dropout 0.1); the knobs are NOT trained for, as the
paper studies pretrained models skipping work without retraining.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

FULL = dict(size=128, train=3000, val=200, steps=1000, batch=16, lr=2e-3)
TINY = dict(size=64, train=48, val=8, steps=12, batch=8, lr=2e-3)


def load_split(root: Path, split: str):
    """The split as uint8 tensors: images (N,3,H,W), labels (N,H,W) in 0..C-1 / 255 (reduce_zero_label)."""
    import numpy as np
    import torch

    from workloads.datasets import open_dataset, read_image, read_label
    from workloads.metrics import reduce_zero_label

    spec = open_dataset("ade20k", root, split)
    imgs = np.stack([read_image(s.image) for s in spec.samples])
    labs = np.stack([reduce_zero_label(read_label(s.label)) for s in spec.samples])
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labs.astype(np.int64))


def parse_args(argv=None) -> tuple[argparse.Namespace, dict]:
    """The command line, and the run's settings: ``--tiny``'s or the full run's, each overridden
    by its option where given."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--tiny", action="store_true", help="a tiny run in seconds (tests)")
    ap.add_argument("--steps", type=int, help="optimiser steps")
    ap.add_argument("--batch", type=int, help="images per step")
    ap.add_argument("--train", type=int, help="training images")
    ap.add_argument("--val", type=int, help="validation images")
    ap.add_argument("--size", type=int, help="image size (multiple of 32)")
    ap.add_argument("--lr", type=float, help="peak learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    args = ap.parse_args(argv)
    s = dict(TINY if args.tiny else FULL)
    for k in s:
        if getattr(args, k, None) is not None:
            s[k] = getattr(args, k)
    return args, s


def optimiser(model, s: dict):
    """AdamW (weight decay on the weights, not on biases and norms) and its schedule: linear
    warm-up over the first 5% of the steps, then cosine decay."""
    import torch

    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=s["lr"], betas=(0.9, 0.999))
    warm = max(1, s["steps"] // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: (i + 1) / warm if i < warm else 0.5 * (1 + math.cos(math.pi * (i - warm) / max(1, s["steps"] - warm))))
    return opt, sched


def train(model, xtr, ytr, s: dict, seed: int) -> tuple[list[dict], float]:
    """Train ``model`` in place on the images ``xtr`` and labels ``ytr`` (seeded batch order and
    horizontal flips): the loss log (every 25 steps and the last) and the training seconds."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    opt, sched = optimiser(model, s)
    rng = np.random.default_rng([seed, 7])
    order: list[int] = []
    log = []
    t1 = time.perf_counter()
    for step in range(s["steps"]):
        if len(order) < s["batch"]:
            order += rng.permutation(len(xtr)).tolist()
        idx, order = order[: s["batch"]], order[s["batch"]:]
        x = xtr[idx].float().div_(255.0)
        y = ytr[idx]
        flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
        x[flip] = x[flip].flip(-1)
        y[flip] = y[flip].flip(-1)
        logits = model((x - mean) / std)
        logits = F.interpolate(logits, size=y.shape[-2:], mode="bilinear", align_corners=False)
        loss = F.cross_entropy(logits, y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == s["steps"] - 1:
            el = time.perf_counter() - t1
            log.append({"step": step, "loss": round(loss.item(), 4), "seconds": round(el, 1)})
            print(f"step {step:5d}/{s['steps']}  loss {loss.item():.4f}  {el:6.1f} s", flush=True)
    return log, time.perf_counter() - t1


def save_checkpoint(fam, model, folder: Path, size: int) -> None:
    """Save the trained model as a plain SegformerForSemanticSegmentation (same parameter names)
    in a Hugging Face folder, with the class names and a preprocessor config."""
    from transformers import SegformerForSemanticSegmentation

    from workloads.synthetic import CLASS_NAMES

    hf_cfg = fam.hf_config("demo")
    hf_cfg.id2label = dict(enumerate(CLASS_NAMES))
    hf_cfg.label2id = {v: k for k, v in hf_cfg.id2label.items()}
    plain = SegformerForSemanticSegmentation(hf_cfg)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "SegformerImageProcessor", "do_resize": True,
        "size": {"height": size, "width": size}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
        "do_reduce_labels": True,
    }, indent=2) + "\n")


def main(argv=None) -> int:
    args, s = parse_args(argv)

    import torch

    from workloads.segformer import SegFormerFamily
    from workloads.synthetic import write_dataset

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    out = Path(args.out)
    t0 = time.perf_counter()
    data = write_dataset(out / "data", train=s["train"], val=s["val"], size=s["size"], seed=args.seed)
    xtr, ytr = load_split(data, "training")
    t_data = time.perf_counter() - t0
    print(f"data: {s['train']} + {s['val']} images of {s['size']}x{s['size']} in {t_data:.1f} s -> {data}", flush=True)

    fam = SegFormerFamily()
    cfg = fam.config(name="segformer-demo", resolution=(s["size"], s["size"]))
    torch.manual_seed(args.seed)
    model = fam._build(cfg).train()
    log, t_train = train(model, xtr, ytr, s, args.seed)
    ck = out / "checkpoint"
    save_checkpoint(fam, model, ck, s["size"])
    (out / "train_log.json").write_text(json.dumps({
        "settings": {**s, "seed": args.seed, "threads": torch.get_num_threads()},
        "model": cfg.id, "parameters": sum(p.numel() for p in model.parameters()),
        "data_seconds": round(t_data, 1), "train_seconds": round(t_train, 1), "torch": torch.__version__,
        "log": log,
    }, indent=2) + "\n")
    print(f"trained {cfg.id} ({sum(p.numel() for p in model.parameters()):,} parameters) in {t_train:.1f} s "
          f"on {torch.get_num_threads()} thread(s) -> {ck}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
