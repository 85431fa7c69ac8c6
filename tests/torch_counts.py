"""The reference counts tests compare the IR with: PyTorch's own FLOP counter and parameter count."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def flop_macs(module, x) -> int:
    """MACs of one forward pass by ``FlopCounterMode`` (FLOPs / 2). ``x``: an input tensor, or an
    (H, W) resolution for a 1x3xHxW zero image on the module's device."""
    if not isinstance(x, torch.Tensor):
        x = torch.zeros(1, 3, *x, device=next(module.parameters()).device)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        module(x)
    return fc.get_total_flops() // 2


def nparams(module) -> int:
    return sum(p.numel() for p in module.parameters())
