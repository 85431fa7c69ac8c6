"""SegFormer (MiT-B0..B5 encoder + all-MLP decoder) as a dynamic model family.

The executable model is Hugging Face ``transformers``' ``SegformerForSemanticSegmentation``
built from a ``SegformerConfig`` with the published hyper-parameters (no download),
with its forward narrowed to return the logits tensor ``(N, 150, H/4, W/4)``.

Published hyper-parameters (``VARIANTS``), checked against:

* NVIDIA's Hugging Face configs ``nvidia/mit-b0`` .. ``nvidia/mit-b5`` (``config.json``:
  ``depths``, ``hidden_sizes``, ``num_attention_heads`` [1, 2, 5, 8], ``sr_ratios``
  [8, 4, 2, 1], ``mlp_ratios`` [4, 4, 4, 4], ``patch_sizes`` [7, 3, 3, 3], ``strides``
  [4, 2, 2, 2], ``decoder_hidden_size`` 256 for B0/B1 and 768 for B2..B5), e.g.
  https://huggingface.co/nvidia/mit-b0/blob/main/config.json and the fine-tuned copies of
  ``nvidia/mit-b5`` (depths [3, 6, 40, 3], decoder_hidden_size 768);
* open-mmlab/mmsegmentation ``configs/segformer/segformer_mit-b{0..5}_8xb2-160k_ade20k-512x512.py``
  and ``configs/_base_/models/segformer_mit-b0.py`` (``embed_dims`` 32/64, ``num_layers``
  [2,2,2,2] / [2,2,2,2] / [3,4,6,3] / [3,4,18,3] / [3,8,27,3] / [3,6,40,3],
  ``num_heads`` [1, 2, 5, 8]). NB: mmsegmentation's own SegFormer heads use 256 decoder
  channels for every variant, where NVIDIA's models use 768 for B2..B5 (see
  ``workloads/data/accuracy_segformer.yaml``).
* ADE20K has 150 classes.

One more variant is the project's own, not published: ``demo`` (``segformer-demo``), a
SegFormer smaller than B0 (same architecture, hidden sizes 16/32/80/128, 2 blocks per
stage, heads 1/2/5/8 as in every MiT, decoder 128, 7 classes) that
``scripts/train_demo.py`` trains on the project's synthetic task
(``workloads/synthetic.py``), so the accuracy path runs offline. Its accuracy profile is
measured, never published (``workloads/data/measured/``).

Knobs (one definition each; applied to the real torch module, which the IR lowering
then traces):

* ``variant`` b0..b5 (also spelled by the model name, e.g. ``segformer-b2``);
* ``blocks`` a.b.c.d: transformer blocks kept per stage (1..depth_i);
* ``heads`` a.b.c.d: attention heads kept per stage (1..heads_i);
* ``ffn`` a.b.c.d: Mix-FFN hidden channels kept per stage (1..4*hidden_i);
* ``dec``: decoder channels kept (1..decoder_hidden_size).

Selection rule (the only one): a knob keeps the FIRST n blocks / heads / channels and
drops the rest. Skipping is real: the q/k/v projections lose the output rows of the
dropped heads (``head_dim`` unchanged) and the output projection the matching input
columns; Mix-FFN ``fc1`` loses output rows, the depthwise conv its channels (and
groups), ``fc2`` input columns; the decoder's per-stage projections lose output rows,
``linear_fuse`` keeps the first n output channels and, of its 4*n-channel input, the
first n channels of each stage's slice, the batch norm and the classifier follow.
Weights of the full variant can be loaded before slicing (``build_torch(config,
weights=state_dict)``), so a pretrained model runs any configuration unchanged.
"""

from __future__ import annotations

from typing import Any, Mapping

from .hf import logits_only
from .knobs import Config, ConfigError, Family, Knob

NUM_LABELS = 150  # ADE20K
_COMMON = dict(
    num_attention_heads=(1, 2, 5, 8),
    sr_ratios=(8, 4, 2, 1),
    mlp_ratios=(4, 4, 4, 4),
    patch_sizes=(7, 3, 3, 3),
    strides=(4, 2, 2, 2),
)
# Published MiT-B0..B5 / SegFormer hyper-parameters (sources in the module docstring).
# "demo" (first: the smallest) is the project's own (module docstring), with its own classes.
VARIANTS: dict[str, dict[str, Any]] = {
    "demo": dict(depths=(2, 2, 2, 2), hidden_sizes=(16, 32, 80, 128), decoder_hidden_size=128, num_labels=7,
                 **_COMMON),
    "b0": dict(depths=(2, 2, 2, 2), hidden_sizes=(32, 64, 160, 256), decoder_hidden_size=256, **_COMMON),
    "b1": dict(depths=(2, 2, 2, 2), hidden_sizes=(64, 128, 320, 512), decoder_hidden_size=256, **_COMMON),
    "b2": dict(depths=(3, 4, 6, 3), hidden_sizes=(64, 128, 320, 512), decoder_hidden_size=768, **_COMMON),
    "b3": dict(depths=(3, 4, 18, 3), hidden_sizes=(64, 128, 320, 512), decoder_hidden_size=768, **_COMMON),
    "b4": dict(depths=(3, 8, 27, 3), hidden_sizes=(64, 128, 320, 512), decoder_hidden_size=768, **_COMMON),
    "b5": dict(depths=(3, 6, 40, 3), hidden_sizes=(64, 128, 320, 512), decoder_hidden_size=768, **_COMMON),
}
DEFAULT_VARIANT = "b2"
# Parameters of the ADE20K models (encoder + decoder) in the SegFormer paper's Table 1, in M.
PUBLISHED_PARAMS_M = {"b0": 3.8, "b1": 13.7, "b2": 27.5, "b3": 47.3, "b4": 64.1, "b5": 84.7}


def _spec(ctx: Mapping[str, Any]) -> dict[str, Any]:
    return VARIANTS[ctx.get("variant", DEFAULT_VARIANT)]


def _ffn_full(spec: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(int(h * r) for h, r in zip(spec["hidden_sizes"], spec["mlp_ratios"]))


KNOBS = (
    Knob(
        name="variant",
        doc="scaled model version (MiT-B0..B5 encoder)",
        kind="choice",
        allowed=lambda ctx: list(VARIANTS),
        default=lambda ctx: DEFAULT_VARIANT,
    ),
    Knob.kept_per_stage("blocks", "transformer blocks kept per stage (the first n)",
                        lambda ctx: _spec(ctx)["depths"]),
    Knob.kept_per_stage("heads", "attention heads kept per stage (the first n; head size unchanged)",
                        lambda ctx: _spec(ctx)["num_attention_heads"]),
    Knob.kept_per_stage("ffn", "Mix-FFN hidden channels kept per stage (the first n)",
                        lambda ctx: _ffn_full(_spec(ctx))),
    Knob(
        name="dec",
        doc="decoder channels kept (the first n, in every stage projection and the fuse layer)",
        kind="int",
        allowed=lambda ctx: (1, _spec(ctx)["decoder_hidden_size"]),
        default=lambda ctx: _spec(ctx)["decoder_hidden_size"],
    ),
)


class SegFormerFamily(Family):
    family = "segformer"
    doc = "SegFormer (MiT-B0..B5, ADE20K head, 150 classes; demo: the project's own small model, 7 classes)"
    knobs = KNOBS
    default_resolution = (512, 512)
    min_resolution = 64
    resolution_multiple = 32
    task = "segmentation"
    representative_model = "segformer-b0"  # the smallest published variant ("demo" is ours)

    # ---- names -------------------------------------------------------------
    def model_names(self) -> list[str]:
        return [self.family] + [f"{self.family}-{v}" for v in VARIANTS]

    def name_presets(self, name: str) -> dict[str, Any]:
        n = (name or self.family).lower()
        if n == self.family:
            return {}
        if n.startswith(self.family + "-") and n[len(self.family) + 1 :] in VARIANTS:
            return {"variant": n[len(self.family) + 1 :]}
        raise ConfigError(f"unknown model {name!r} for {self.family}; models: {', '.join(self.model_names())}")

    def config_name(self, values: Mapping[str, Any]) -> str:
        return f"{self.family}-{values['variant']}"

    def name_keys(self) -> set[str]:
        return {"variant"}

    def published_sizes(self) -> dict:
        from .knobs import PublishedSize

        src = "SegFormer paper (Xie et al., NeurIPS 2021), Table 1: {} M parameters (ADE20K, encoder + decoder)"
        return {f"{self.family}-{v}": PublishedSize(source=src.format(m), params=m * 1e6, params_tol=0.05e6)
                for v, m in PUBLISHED_PARAMS_M.items()}

    # ---- torch ----------------------------------------------------------------
    def hf_config(self, variant: str, num_labels: int | None = None):
        """The ``transformers.SegformerConfig`` of the full variant (eager attention).

        ``num_labels``: the classifier's classes (default: the variant's, 150 = ADE20K for
        B0..B5), e.g. 19 for a Cityscapes checkpoint."""
        from transformers import SegformerConfig

        spec = dict(VARIANTS[variant])
        labels = spec.pop("num_labels", NUM_LABELS)
        cfg = SegformerConfig(
            num_labels=num_labels or labels,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
        )
        # eager attention: the explicit matmul/softmax ops are what the IR must see, and
        # the executable model then runs the very same ops
        cfg._attn_implementation = "eager"
        return cfg

    def _build(self, config: Config, weights: Mapping[str, Any] | None = None):
        import torch

        # a checkpoint's classifier decides the number of classes (ADE20K 150, Cityscapes 19, ...)
        w = None if weights is None else weights.get("decode_head.classifier.weight")
        cls, hf_cfg = _logits_model_class(), self.hf_config(config["variant"], None if w is None else int(w.shape[0]))
        try:
            model = cls(hf_cfg)
        except RuntimeError as e:
            # transformers 4.x calls .item() on a tensor while constructing, which the
            # meta device refuses: build on the CPU without weight init, then move.
            if torch.get_default_device().type != "meta" or "meta" not in str(e):
                raise
            from transformers.modeling_utils import no_init_weights

            with torch.device("cpu"), no_init_weights():
                model = cls(hf_cfg)
            model = model.to("meta")
        if weights is not None:
            model.load_state_dict(weights, strict=True)
        with torch.no_grad():
            apply_knobs(model, config)
        return model


# ---------------------------------------------------------------------------
# the executable model


def _logits_model_class():
    from transformers import SegformerForSemanticSegmentation

    return logits_only(SegformerForSemanticSegmentation)


def _attr(obj, *names):
    """The first attribute of ``obj`` that exists among ``names`` (transformers 5 vs 4 names)."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    raise AttributeError(f"{type(obj).__name__} has none of {names}: unsupported transformers version")


def _stage_blocks(model) -> list:
    enc = model.segformer
    if hasattr(enc, "stages"):  # transformers >= 5
        return [st.blocks for st in enc.stages]
    return list(enc.encoder.block)  # transformers 4.x


def _set_stage_blocks(model, i: int, blocks) -> None:
    import torch.nn as nn

    enc = model.segformer
    if hasattr(enc, "stages"):
        enc.stages[i].blocks = nn.ModuleList(blocks)
    else:
        enc.encoder.block[i] = nn.ModuleList(blocks)


def _param(t):
    import torch.nn as nn

    return nn.Parameter(t.detach().clone(), requires_grad=False)


def _keep_out(lin_or_conv, idx) -> None:
    """Keep output rows/channels ``idx`` of a Linear or Conv2d."""
    m = lin_or_conv
    m.weight = _param(m.weight[idx])
    if m.bias is not None:
        m.bias = _param(m.bias[idx])
    n = m.weight.shape[0]
    if hasattr(m, "out_features"):
        m.out_features = n
    else:
        m.out_channels = n


def _keep_in(lin_or_conv, idx) -> None:
    """Keep input columns/channels ``idx`` of a Linear or (ungrouped) Conv2d."""
    m = lin_or_conv
    m.weight = _param(m.weight[:, idx])
    n = m.weight.shape[1]
    if hasattr(m, "in_features"):
        m.in_features = n
    else:
        m.in_channels = n


def _slice_heads(attn, h: int) -> None:
    if hasattr(attn, "q_proj"):  # transformers >= 5: SegformerAttention
        hd = attn.head_dim
        keep = slice(0, h * hd)
        for lin in (attn.q_proj, attn.k_proj, attn.v_proj):
            _keep_out(lin, keep)
        _keep_in(attn.o_proj, keep)
        attn.num_attention_heads = h
    else:  # transformers 4.x: attention.self (query/key/value) + attention.output.dense
        s = attn.self
        hd = s.attention_head_size
        keep = slice(0, h * hd)
        for lin in (s.query, s.key, s.value):
            _keep_out(lin, keep)
        _keep_in(attn.output.dense, keep)
        s.num_attention_heads = h
        s.all_head_size = h * hd


def _slice_ffn(mlp, f: int) -> None:
    keep = slice(0, f)
    fc1 = _attr(mlp, "fc1", "dense1")
    fc2 = _attr(mlp, "fc2", "dense2")
    dw = mlp.dwconv.dwconv
    _keep_out(fc1, keep)
    _keep_out(dw, keep)
    dw.in_channels = dw.groups = f
    _keep_in(fc2, keep)


def _slice_decoder(head, d: int, full: int, stages: int) -> None:
    import torch

    keep = slice(0, d)
    for mlp in _attr(head, "linear_projections", "linear_c"):
        _keep_out(mlp.proj, keep)
    # linear_fuse reads cat(stage outputs[::-1]): stage slice j occupies [j*full, (j+1)*full)
    cols = torch.cat([torch.arange(j * full, j * full + d) for j in range(stages)])
    _keep_in(head.linear_fuse, cols.to(head.linear_fuse.weight.device))
    _keep_out(head.linear_fuse, keep)
    bn = head.batch_norm
    bn.weight = _param(bn.weight[keep])
    bn.bias = _param(bn.bias[keep])
    bn.running_mean = bn.running_mean[keep].clone()
    bn.running_var = bn.running_var[keep].clone()
    bn.num_features = d
    _keep_in(head.classifier, keep)


def apply_knobs(model, config: Config) -> None:
    """Apply ``config``'s knobs to a full-variant ``SegformerForSemanticSegmentation`` in place."""
    spec = VARIANTS[config["variant"]]
    blocks, heads, ffn, dec = config["blocks"], config["heads"], config["ffn"], config["dec"]
    full_ffn = _ffn_full(spec)
    for i, stage_blocks in enumerate(_stage_blocks(model)):
        kept = list(stage_blocks)[: blocks[i]]
        if len(kept) != len(stage_blocks):
            _set_stage_blocks(model, i, kept)
        for blk in kept:
            if heads[i] != spec["num_attention_heads"][i]:
                _slice_heads(blk.attention, heads[i])
            if ffn[i] != full_ffn[i]:
                _slice_ffn(blk.mlp, ffn[i])
    if dec != spec["decoder_hidden_size"]:
        _slice_decoder(model.decode_head, dec, spec["decoder_hidden_size"], len(spec["depths"]))
