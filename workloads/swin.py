"""Swin-T (transformers ``SwinForImageClassification``) with dynamic blocks and heads.

The model is built from a ``SwinConfig`` (no download), with its forward narrowed
to return the logits tensor ``(N, 1000)``: Swin-T, embed dim 96,
depths 2,2,6,2, heads 3,6,12,24, window 7, patch 4, MLP ratio 4, 1000 classes,
eager attention (plain matmuls, so QK^T and AV show up as such in the IR).

Knobs (both really remove work from the executable module):

``blocks=a.b.c.d``
    blocks kept per stage (1..2, 1..2, 1..6, 1..2): the stage's block list is
    truncated to its first ``n`` blocks. Blocks alternate regular (W-MSA, even
    index) and shifted (SW-MSA, odd index) windows and keep their own shift, so an
    odd count simply ends the stage on a regular-window block, which HF runs as is.
    The patch merging at the end of a stage always runs.
``heads=a.b.c.d``
    attention heads kept per stage (1..3, 1..6, 1..12, 1..24), the first ``h``
    heads of every block of the stage: the q/k/v projections keep their first
    ``h * head_dim`` output rows, the output projection its first ``h * head_dim``
    input columns, and the relative position bias table its first ``h`` columns.
    The head dim (32) and the attention scaling do not change; the MLP is untouched.

Resolution: HF Swin pads the patch grid to window multiples and merges patches
by 2x2, so we allow heights/widths that are multiples of 32 and at least 224
(at least one full 7x7 window in the last stage). Below 224 the last stage's grid
is smaller than the window and HF shrinks the window at run time while the
relative position bias stays 7x7, which fails; above 224, sizes that are not
multiples of 224 make HF pad feature maps to window multiples, and that padded
work is part of the model's cost (it is what HF executes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .hf import logits_only
from .knobs import Config, Family, Knob

if TYPE_CHECKING:  # torch is imported only where a model is built (parsing a config needs none)
    import torch.nn as nn

EMBED_DIM = 96
DEPTHS = (2, 2, 6, 2)
NUM_HEADS = (3, 6, 12, 24)
WINDOW = 7
PATCH = 4
NUM_CLASSES = 1000


def swin_config(resolution=(224, 224)):
    """The transformers SwinConfig of Swin-T (HF's defaults, spelled out)."""
    from transformers import SwinConfig

    cfg = SwinConfig(
        image_size=resolution[0],
        patch_size=PATCH,
        num_channels=3,
        embed_dim=EMBED_DIM,
        depths=list(DEPTHS),
        num_heads=list(NUM_HEADS),
        window_size=WINDOW,
        mlp_ratio=4.0,
        qkv_bias=True,
        num_labels=NUM_CLASSES,
    )
    cfg._attn_implementation = "eager"
    return cfg


def _sliced_linear(lin: nn.Linear, out_features: int | None = None, in_features: int | None = None) -> nn.Linear:
    """A new Linear holding the leading rows/columns of ``lin``'s weight (and bias)."""
    import torch
    import torch.nn as nn

    out_f = lin.out_features if out_features is None else out_features
    in_f = lin.in_features if in_features is None else in_features
    new = nn.Linear(in_f, out_f, bias=lin.bias is not None, device=lin.weight.device, dtype=lin.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(lin.weight[:out_f, :in_f])
        if lin.bias is not None:
            new.bias.copy_(lin.bias[:out_f] if out_features is not None else lin.bias)
    return new


def _keep_heads(layer: nn.Module, heads: int) -> None:
    """Keep the first ``heads`` heads of one SwinLayer's window attention."""
    import torch.nn as nn

    att = layer.attention
    if hasattr(att, "q_proj"):  # transformers >= 5: SwinAttention with q/k/v/o_proj
        hd = att.head_dim
        n = heads * hd
        att.q_proj = _sliced_linear(att.q_proj, out_features=n)
        att.k_proj = _sliced_linear(att.k_proj, out_features=n)
        att.v_proj = _sliced_linear(att.v_proj, out_features=n)
        att.o_proj = _sliced_linear(att.o_proj, in_features=n)
        rpb = att.relative_position_bias
        rpb.relative_position_bias_table = nn.Parameter(rpb.relative_position_bias_table.data[:, :heads].clone())
        att.num_attention_heads = heads
    else:  # transformers 4.x: SwinAttention(self=SwinSelfAttention, output=SwinSelfOutput)
        sa = att.self
        hd = sa.attention_head_size
        n = heads * hd
        sa.query = _sliced_linear(sa.query, out_features=n)
        sa.key = _sliced_linear(sa.key, out_features=n)
        sa.value = _sliced_linear(sa.value, out_features=n)
        sa.relative_position_bias_table = nn.Parameter(sa.relative_position_bias_table.data[:, :heads].clone())
        sa.num_attention_heads = heads
        sa.all_head_size = n
        att.output.dense = _sliced_linear(att.output.dense, in_features=n)


def apply_knobs(model: nn.Module, blocks, heads) -> nn.Module:
    """Truncate block lists and slice heads of a (full) SwinForImageClassification in place."""
    import torch.nn as nn

    stages = model.swin.encoder.layers
    for stage, nb, nh, full_h in zip(stages, blocks, heads, NUM_HEADS):
        stage.blocks = nn.ModuleList(list(stage.blocks)[:nb])
        if nh != full_h:
            for layer in stage.blocks:
                _keep_heads(layer, nh)
    return model


def _logits_model_class():
    from transformers import SwinForImageClassification

    return logits_only(SwinForImageClassification)


class SwinFamily(Family):
    """Swin-T image classification with per-stage block and head skipping."""

    family = "swin-t"
    doc = "Swin-T (transformers SwinForImageClassification), 1000 classes, window 7"
    knobs = (
        Knob.kept_per_stage("blocks", "Swin blocks kept per stage (first n; odd n ends on a regular-window block)",
                            lambda ctx: DEPTHS),
        Knob.kept_per_stage("heads", "attention heads kept per stage (first h of every block; q/k/v/out and bias "
                            "table sliced)", lambda ctx: NUM_HEADS),
    )
    default_resolution = (224, 224)
    min_resolution = PATCH * 8 * WINDOW  # 224: a full window in the last stage
    resolution_multiple = PATCH * 8  # 32: patch 4, then three 2x2 patch mergings

    def published_sizes(self) -> dict:
        from .knobs import PublishedSize

        # torchvision's swin_t is the same network (the paper rounds: 28M params, 4.5G FLOPs)
        return {self.family: PublishedSize(
            source="torchvision Swin_T_Weights.IMAGENET1K_V1: num_params 28288354, GFLOPS 4.49 (multiply-adds)",
            params=28_288_354, macs=4.49e9, macs_tol=0.005e9, resolution=(224, 224))}

    def _build(self, config: Config, weights: Mapping[str, Any] | None = None):
        """``weights``: a state_dict of the full HF Swin-T classifier, loaded before slicing."""
        import torch

        model = _logits_model_class()(swin_config(config.resolution))
        if weights is not None:
            model.load_state_dict(weights, strict=True)
        with torch.no_grad():
            return apply_knobs(model, config["blocks"], config["heads"])
