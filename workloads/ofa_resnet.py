"""ResNet-50 (static baseline) and the Once-For-All ResNet-50 design space.

Both networks are defined in plain torch in ``ofa_resnet_nets.py`` (torchvision does not
import beside the CPU torch build on these machines, and the ``ofa`` package imports
torchvision); this module holds their declarations and imports torch only to build one.

``resnet50``
    torchvision's ResNet-50 v1.5 (stride on the 3x3 conv of the bottleneck), same
    module names as torchvision so its state_dict loads unchanged. 25,557,032
    parameters, 4.09 GMACs at 224x224. No knobs: it is the static baseline.

``ofa-resnet50`` (and the named sub-nets ``ofa-resnet50-mac4.1b`` ... ``-mac0.6b``)
    The OFA ResNet-50 design space as published in mit-han-lab/once-for-all
    (``ofa/imagenet_classification/elastic_nn/networks/ofa_resnets.py``, built by
    ``ofa/model_zoo.py: ofa_net("ofa_resnet50")`` with depth_list=[0,1,2],
    expand_ratio_list=[0.2,0.25,0.35], width_mult_list=[0.65,0.8,1.0]).
    The executable module of a configuration is the real sub-net, i.e. what
    ``OFAResNets.get_active_subnet()`` returns (a ``ResNets`` of
    ``ofa/imagenet_classification/networks/resnets.py``): only the active
    layers and channels exist; with ``weights=`` (a supernet state_dict, OFA's
    dynamic key layout or ours) every tensor is the leading slice of the
    supernet's tensor, as ``DynamicConv2d.get_active_filter`` / ``copy_bn`` /
    ``DynamicLinear`` do in ``elastic_nn/modules/dynamic_layers.py`` and
    ``dynamic_op.py``.

Knobs of ``ofa-resnet50`` (text form as it appears in config ids):

``depth=s.a.b.c.d``
    OFA's ``d``: 5 values. ``s`` is the input stem: 2 keeps the stem's residual
    middle 3x3 conv, 0 skips it (OFA sets ``input_stem_skipping = d[0] != max(depth_list)``,
    so d[0]=1 would be the same network as 0; we accept only {0, 2} to keep ids
    canonical, and ``sample_active_subnet`` also samples only {min, max}).
    ``a..d`` in 0..2 are the extra blocks per stage over the base depths 2,2,4,2.
``expand=35.35.35.35-35.35.35.35-...``
    OFA's ``e``: the bottleneck expand ratio of every *active* block, in percent
    (20, 25 or 35), stages separated by ``-`` (dots inside a stage). A single
    value (``expand=25``) sets every block. Middle channels are
    ``make_divisible(round(out_channels * e), 8)``.
``width=65.65.80.80.100.100``
    OFA's ``w``: 6 width multipliers in percent (65, 80, 100): stem convs 1-2,
    stem conv 3, then the four stages. (OFA's stem convs 1-2 have
    make_divisible(c // 2, 8) = 24 channels at both 65 and 80, so those two values
    give the same network there.)

Resolution: multiples of 4, at least 32 (OFA is elastic in resolution, 128..224).

The named sub-nets ``ofa-resnet50-mac4.1b`` ... ``ofa-resnet50-mac0.6b`` are the 8
specialized ``resnet50D_MAC@...`` nets of the OFA model zoo. Their exact net.config /
run.config files (``han-cai/files``) could not be found in any public source we can
read, so each named sub-net here is a configuration of this space (and a resolution)
chosen by ``fit_subnet`` so that both its MACs and its params round to the published
figures: an APPROXIMATION, labelled so in ``data/accuracy_ofa_resnet50.yaml``. A
configuration built from knobs that equals a named sub-net gets the named id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .knobs import Config, ConfigError, Family, Knob

if TYPE_CHECKING:  # torch is imported only where a model is built (parsing a config needs none)
    import torch
    import torch.nn as nn

    from .ofa_resnet_nets import OFAResNetSubnet

# ---------------------------------------------------------------------------
# OFA constants (ofa/imagenet_classification/networks/resnets.py, ofa/utils/my_modules.py)
# ---------------------------------------------------------------------------
CHANNEL_DIVISIBLE = 8  # MyNetwork.CHANNEL_DIVISIBLE
BASE_DEPTH_LIST = (2, 2, 4, 2)  # ResNets.BASE_DEPTH_LIST
STAGE_WIDTH_LIST = (256, 512, 1024, 2048)  # ResNets.STAGE_WIDTH_LIST
STRIDE_LIST = (1, 2, 2, 2)
DEPTH_LIST = (0, 1, 2)
EXPAND_PCT = (20, 25, 35)  # expand_ratio_list 0.2, 0.25, 0.35 in percent
WIDTH_PCT = (65, 80, 100)  # width_mult_list 0.65, 0.8, 1.0 in percent
MAX_DEPTH = max(DEPTH_LIST)
NUM_CLASSES = 1000


def make_divisible(v: float, divisor: int = CHANNEL_DIVISIBLE, min_val: int | None = None) -> int:
    """ofa/utils/common_tools.py: make_divisible (from the TF MobileNet repo)."""
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _width_index(pct: int) -> int:
    return WIDTH_PCT.index(pct)


# Channel lists exactly as OFAResNets.__init__ builds them (one entry per width multiplier).
INPUT_CHANNEL = [make_divisible(64 * (w / 100)) for w in WIDTH_PCT]  # stem conv 3 output
MID_INPUT_CHANNEL = [make_divisible(c // 2) for c in INPUT_CHANNEL]  # stem convs 1-2 output
STAGE_WIDTHS = [[make_divisible(sw * (w / 100)) for w in WIDTH_PCT] for sw in STAGE_WIDTH_LIST]


def middle_channels(out_channels: int, expand_pct: int) -> int:
    """DynamicResNetBottleneckBlock.active_middle_channels."""
    return make_divisible(round(out_channels * (expand_pct / 100)))


# ---------------------------------------------------------------------------
# OFA architecture (d, e, w) -> sub-net
# ---------------------------------------------------------------------------
def _check_arch(depth, expand, width) -> None:
    if len(depth) != 5 or len(width) != 6 or len(expand) != 4:
        raise ConfigError("OFA arch needs depth (5), expand (4 stages) and width (6)")
    for s, (base, d) in enumerate(zip(BASE_DEPTH_LIST, depth[1:])):
        if len(expand[s]) != base + d:
            raise ConfigError(f"knob expand stage {s + 1} has {len(expand[s])} blocks, depth says {base + d}")


def subnet_layout(depth: Sequence[int], expand: Sequence[Sequence[int]], width: Sequence[int]) -> dict:
    """Channels of every layer of the active sub-net (OFAResNets.get_active_net_config)."""
    _check_arch(depth, expand, width)
    wi = [_width_index(w) for w in width]
    mid_in = MID_INPUT_CHANNEL[wi[0]]
    stem_out = INPUT_CHANNEL[wi[1]]
    blocks = []  # (supernet block index, cin, cout, mid, stride)
    cin = stem_out
    start = 0
    for s, (base, d) in enumerate(zip(BASE_DEPTH_LIST, depth[1:])):
        cout = STAGE_WIDTHS[s][wi[s + 2]]
        for i in range(base + d):
            stride = STRIDE_LIST[s] if i == 0 else 1
            blocks.append((start + i, cin, cout, middle_channels(cout, expand[s][i]), stride))
            cin = cout
        start += base + MAX_DEPTH
    return {"stem_skip": depth[0] != MAX_DEPTH, "mid_in": mid_in, "stem_out": stem_out, "blocks": blocks, "feat": cin}


def build_subnet(depth, expand, width, num_classes: int = NUM_CLASSES) -> OFAResNetSubnet:
    from .ofa_resnet_nets import BottleneckBlock, ConvLayer, LinearLayer, OFAResNetSubnet, StemResidual

    lay = subnet_layout(depth, expand, width)
    stem = [ConvLayer(3, lay["mid_in"], 3, 2)]
    if not lay["stem_skip"]:
        stem.append(StemResidual(lay["mid_in"]))
    stem.append(ConvLayer(lay["mid_in"], lay["stem_out"], 3, 1))
    blocks = [BottleneckBlock(cin, cout, mid, stride) for _, cin, cout, mid, stride in lay["blocks"]]
    return OFAResNetSubnet(stem, blocks, LinearLayer(lay["feat"], num_classes))


def _conv_out(h: int, k: int, s: int, p: int) -> int:
    return (h + 2 * p - k) // s + 1


def subnet_cost(depth, expand, width, resolution=(224, 224), num_classes: int = NUM_CLASSES) -> tuple[int, int]:
    """(MACs, params) of a sub-net, analytically: OFA's flops_counter.py counts conv + linear MACs.

    Params count every parameter (conv, BN affine, classifier) like ``count_parameters``.
    """
    lay = subnet_layout(depth, expand, width)
    h, w = resolution
    macs = params = 0

    def conv(cin, cout, k, s, h, w):
        nonlocal macs, params
        ho, wo = _conv_out(h, k, s, k // 2), _conv_out(w, k, s, k // 2)
        macs += cin * cout * k * k * ho * wo
        params += cin * cout * k * k + 2 * cout  # + BN affine
        return ho, wo

    m = lay["mid_in"]
    h, w = conv(3, m, 3, 2, h, w)
    if not lay["stem_skip"]:
        conv(m, m, 3, 1, h, w)
    h, w = conv(m, lay["stem_out"], 3, 1, h, w)
    h, w = _conv_out(h, 3, 2, 1), _conv_out(w, 3, 2, 1)
    for _, cin, cout, mid, stride in lay["blocks"]:
        conv(cin, mid, 1, 1, h, w)
        ho, wo = conv(mid, mid, 3, stride, h, w)
        conv(mid, cout, 1, 1, ho, wo)
        if not (stride == 1 and cin == cout):
            conv(cin, cout, 1, 1, -(-h // stride), -(-w // stride))
        h, w = ho, wo
    macs += lay["feat"] * num_classes
    params += lay["feat"] * num_classes + num_classes
    return macs, params


# ---------------------------------------------------------------------------
# supernet weights -> sub-net weights (OFAResNets.get_active_subnet, preserve_weight=True)
# ---------------------------------------------------------------------------
def _supernet_key(subnet_key: str, stem_skip: bool, block_map: Sequence[int]) -> str:
    parts = subnet_key.split(".")
    if parts[0] == "input_stem" and stem_skip and parts[1] == "1":
        parts[1] = "2"  # the skipped residual stem conv is input_stem.1 of the supernet
    elif parts[0] == "blocks":
        parts[1] = str(block_map[int(parts[1])])
    return ".".join(parts)


def _candidates(key: str) -> list[str]:
    """Our static key, then OFA's dynamic-module spellings (OFAResNets.load_state_dict, reversed)."""
    head, _, leaf = key.rpartition(".")
    out = [key]
    if head.endswith(".bn"):
        out.append(f"{head}.bn.{leaf}")  # DynamicBatchNorm2d.bn
    if head.endswith(".conv"):
        out.append(f"{head}.conv.{leaf}")  # DynamicConv2d.conv
    if head.endswith(".linear"):
        out.append(f"{head}.linear.{leaf}")  # DynamicLinear.linear
    return out


def slice_supernet_state_dict(
    supernet_state: Mapping[str, torch.Tensor], depth, expand, width, subnet: nn.Module | None = None
) -> dict[str, torch.Tensor]:
    """The sub-net's state_dict: each tensor is the leading slice of the supernet's tensor.

    ``supernet_state`` is the state_dict of the full OFA ResNet-50 supernet, either in
    OFA's dynamic layout (``blocks.0.conv1.conv.conv.weight``, ``...bn.bn.weight``,
    ``classifier.linear.linear.weight``; a checkpoint dict with a ``state_dict`` entry is
    accepted) or in ours (the largest configuration's module). Prefix slicing is what
    ``DynamicConv2d.get_active_filter`` (``weight[:out, :in]``), ``copy_bn`` and
    ``DynamicLinear`` do; kernel size is fixed at 3 in this space.
    """
    import torch

    if "state_dict" in supernet_state and not isinstance(supernet_state["state_dict"], torch.Tensor):
        supernet_state = supernet_state["state_dict"]
    lay = subnet_layout(depth, expand, width)
    block_map = [b[0] for b in lay["blocks"]]
    target = subnet.state_dict() if subnet is not None else build_subnet(depth, expand, width).state_dict()
    out = {}
    for key, t in target.items():
        skey = _supernet_key(key, lay["stem_skip"], block_map)
        src = next((supernet_state[c] for c in _candidates(skey) if c in supernet_state), None)
        if src is None:
            raise KeyError(f"supernet state_dict has no entry for {skey!r} (sub-net {key!r})")
        if src.dim() != t.dim() or any(a < b for a, b in zip(src.shape, t.shape)):
            raise ValueError(f"supernet tensor {skey!r} {tuple(src.shape)} cannot hold sub-net {key!r} {tuple(t.shape)}")
        out[key] = src[tuple(slice(0, n) for n in t.shape)].clone() if t.dim() else src.clone()
    return out


# ---------------------------------------------------------------------------
# knobs
# ---------------------------------------------------------------------------
def _stage_blocks(ctx: Mapping[str, Any]) -> list[int]:
    depth = ctx.get("depth", (MAX_DEPTH,) * 5)
    return [b + d for b, d in zip(BASE_DEPTH_LIST, depth[1:])]


class PerBlockKnob(Knob):
    """A value per active block, grouped by stage: ``35.35.35.35-20.20-...`` (value: tuple of tuples).

    ``allowed(ctx)`` gives the allowed values of one block; the block counts come
    from the ``depth`` knob already parsed.
    """

    def parse(self, text: str, ctx: Mapping[str, Any]) -> Any:
        text = str(text).strip()
        counts = _stage_blocks(ctx)
        try:
            if "-" in text:
                vals = tuple(tuple(int(p) for p in g.split(".")) for g in text.split("-"))
            else:
                flat = [int(p) for p in text.replace(",", ".").split(".")]
                if len(flat) == 1:
                    flat = flat * sum(counts)
                if len(flat) != sum(counts):
                    raise ConfigError(
                        f"knob {self.name}={text!r} has {len(flat)} values; the active blocks are "
                        f"{'+'.join(map(str, counts))}={sum(counts)} (or give one value for all); "
                        f"{self.describe_allowed(ctx)}"
                    )
                it = iter(flat)
                vals = tuple(tuple(next(it) for _ in range(n)) for n in counts)
        except ValueError as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(
                f"knob {self.name}={text!r} must be integers, dots between blocks and '-' between stages; "
                f"{self.describe_allowed(ctx)}"
            ) from None
        return self.validate(vals, ctx)

    def validate(self, value: Any, ctx: Mapping[str, Any]) -> Any:
        counts = _stage_blocks(ctx)
        allowed = tuple(self.allowed(ctx))
        if isinstance(value, (int, float)):
            value = tuple((value,) * n for n in counts)
        try:
            vals = tuple(tuple(int(v) if float(v).is_integer() else v for v in g) for g in value)
        except TypeError:
            raise ConfigError(f"knob {self.name}={value!r} must be one sequence per stage; {self.describe_allowed(ctx)}") from None
        if len(vals) != len(counts) or any(len(g) != n for g, n in zip(vals, counts)):
            raise ConfigError(
                f"knob {self.name} needs {'-'.join(map(str, counts))} blocks per stage (from depth), "
                f"got {'-'.join(str(len(g)) for g in vals)}; {self.describe_allowed(ctx)}"
            )
        for s, g in enumerate(vals):
            for b, v in enumerate(g):
                if v not in allowed:
                    raise ConfigError(
                        f"knob {self.name} stage {s + 1} block {b + 1} = {v} is not allowed; {self.describe_allowed(ctx)}"
                    )
        return vals

    def describe_allowed(self, ctx: Mapping[str, Any]) -> str:
        counts = _stage_blocks(ctx)
        return (
            f"allowed per block: {{{','.join(map(str, self.allowed(ctx)))}}}, "
            f"{'-'.join(map(str, counts))} blocks per stage"
        )

    def format(self, value: Any) -> str:
        return "-".join(".".join(str(int(v)) for v in g) for g in value)


_DEPTH_KNOB = Knob(
    name="depth",
    doc="OFA d: input stem (2 keeps the residual middle conv, 0 skips it) then extra blocks per stage "
    "over the base depths 2,2,4,2",
    kind="per_stage",
    allowed=lambda ctx: [frozenset({0, MAX_DEPTH})] + [(min(DEPTH_LIST), MAX_DEPTH)] * 4,
    default=lambda ctx: (MAX_DEPTH,) * 5,
)
_EXPAND_KNOB = PerBlockKnob(
    name="expand",
    doc="OFA e: bottleneck expand ratio (percent) of every active block, stages separated by '-'",
    kind="per_block",
    allowed=lambda ctx: EXPAND_PCT,
    default=lambda ctx: tuple((max(EXPAND_PCT),) * n for n in _stage_blocks(ctx)),
)
_WIDTH_KNOB = Knob(
    name="width",
    doc="OFA w: width multiplier (percent) of stem convs 1-2, stem conv 3, stages 1-4",
    kind="per_stage",
    allowed=lambda ctx: [WIDTH_PCT] * 6,
    default=lambda ctx: (max(WIDTH_PCT),) * 6,
)


def _g(*stages: str) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in s.split(".")) for s in stages)


def fit_subnet(
    target_macs: float,
    target_params: float,
    mac_tol: float = 0.05e9,
    param_tol: float = 0.05e6,
    resolutions: Sequence[int] = tuple(range(224, 127, -4)),
    restarts: int = 40,
    seed: int = 0,
):
    """Find a configuration whose MACs and params round to the published ones.

    Deterministic local search (random restarts + best-improvement hill climbing over
    single-knob changes) on ``excess(MACs) + excess(params)`` beyond the rounding
    tolerance of the published figures, refined by the relative error to them.
    Resolutions are tried from the largest down (224 first); the first resolution
    with a configuration inside both tolerances wins. Returns
    ``(depth, expand, width, resolution, macs, params)`` or None. This is how the
    NAMED_SUBNETS below were chosen (they are approximations, not the published nets).
    """
    import random

    rng = random.Random(seed)
    nblocks = [b + MAX_DEPTH for b in BASE_DEPTH_LIST]

    def decode(d, e):
        out, st = [], 0
        for s, n in enumerate(nblocks):
            out.append(tuple(e[st: st + BASE_DEPTH_LIST[s] + d[s + 1]]))
            st += n
        return tuple(out)

    def score(st, res):
        d, e, w = st
        m, p = subnet_cost(d, decode(d, e), w, (res, res))
        excess = max(0.0, abs(m - target_macs) - mac_tol) / target_macs + max(0.0, abs(p - target_params) - param_tol) / target_params
        return 1000 * excess + abs(m - target_macs) / target_macs + abs(p - target_params) / target_params, excess, m, p

    for res in resolutions:
        best = None
        for _ in range(restarts):
            st = (
                tuple([rng.choice((0, MAX_DEPTH))] + [rng.choice(DEPTH_LIST) for _ in range(4)]),
                tuple(rng.choice(EXPAND_PCT) for _ in range(sum(nblocks))),
                tuple(rng.choice(WIDTH_PCT) for _ in range(6)),
            )
            cur = score(st, res)
            while True:
                d, e, w = st
                nbrs = [((*d[:i], v, *d[i + 1:]), e, w) for i in range(5) for v in ((0, MAX_DEPTH) if i == 0 else DEPTH_LIST) if v != d[i]]
                nbrs += [(d, (*e[:i], v, *e[i + 1:]), w) for i in range(len(e)) for v in EXPAND_PCT if v != e[i]]
                nbrs += [(d, e, (*w[:i], v, *w[i + 1:])) for i in range(6) for v in WIDTH_PCT if v != w[i]]
                cand = min(((score(n, res), n) for n in nbrs), key=lambda t: t[0][0])
                if cand[0][0] >= cur[0]:
                    break
                cur, st = cand
            if cur[1] == 0 and (best is None or cur[0] < best[0][0]):
                best = (cur, st)
        if best is not None:
            (_, _, m, p), (d, e, w) = best
            return d, decode(d, e), w, res, m, p
    return None


# The 8 specialized sub-nets of the OFA model zoo (README.md table; net ids in ofa/model_zoo.py).
# APPROXIMATIONS: the published net.config / run.config files (han-cai/files,
# ofa/ofa_specialized/resnet50D_MAC-*) are not in any public source we could read, so each
# configuration below was chosen by ``fit_subnet(published MACs, published params)`` (seed 0):
# MACs and params both round to the published figures. The smallest sub-net of the space
# has 0.96 GMACs at 224x224, so the 1.2B/0.9B/0.6B nets cannot be 224x224 nets: OFA
# specializes the resolution too (run.config "image_size", 128..224 in steps of 4), and the
# fit chose the largest resolution that admits a match. The resolution is part of the
# named configuration (its default); any other resolution is allowed but has no accuracy.
NAMED_SUBNETS: dict[str, dict[str, Any]] = {}


def _named(name, net_id, top1, top5, params, macs, depth, expand, width, resolution):
    NAMED_SUBNETS[name] = {
        "net_id": net_id,
        "published": {"top1": top1, "top5": top5, "params": params, "macs": macs},
        "depth": tuple(depth),
        "expand": _g(*expand),
        "width": tuple(width),
        "resolution": (resolution, resolution),
        "exact": False,
    }


_named("ofa-resnet50-mac4.1b", "resnet50D_MAC@4.1B_top1@79.8", 79.8, 94.7, 30.9e6, 4.1e9,
       (0, 2, 0, 0, 2), ("20.35.35.35", "20.35", "25.35.25.35", "20.25.35.25"), (80, 100, 80, 100, 100, 100), 224)
_named("ofa-resnet50-mac3.7b", "resnet50D_MAC@3.7B_top1@79.7", 79.7, 94.7, 26.5e6, 3.7e9,
       (2, 1, 1, 2, 1), ("25.20.25", "25.20.20", "25.25.35.35.35.20", "25.25.25"), (80, 65, 100, 65, 100, 100), 224)
_named("ofa-resnet50-mac3.0b", "resnet50D_MAC@3.0B_top1@79.3", 79.3, 94.5, 28.7e6, 3.0e9,
       (0, 0, 1, 0, 2), ("25.35", "25.25.35", "25.25.25.25", "25.35.35.20"), (80, 65, 100, 80, 65, 100), 224)
_named("ofa-resnet50-mac2.4b", "resnet50D_MAC@2.4B_top1@79.0", 79.0, 94.2, 29.0e6, 2.4e9,
       (0, 2, 0, 0, 2), ("20.20.20.35", "20.20", "25.25.25.25", "35.25.35.25"), (100, 65, 65, 65, 65, 100), 224)
_named("ofa-resnet50-mac1.8b", "resnet50D_MAC@1.8B_top1@78.3", 78.3, 94.0, 20.7e6, 1.8e9,
       (0, 0, 0, 1, 1), ("20.20", "20.20", "35.20.25.20.20", "25.35.20"), (65, 65, 65, 65, 65, 100), 224)
_named("ofa-resnet50-mac1.2b", "resnet50D_MAC@1.2B_top1@77.1_finetune@25", 77.1, 93.3, 19.3e6, 1.2e9,
       (0, 0, 0, 0, 2), ("20.20", "20.25", "25.25.25.20", "25.20.35.35"), (65, 65, 65, 65, 65, 80), 192)
_named("ofa-resnet50-mac0.9b", "resnet50D_MAC@0.9B_top1@76.3_finetune@25", 76.3, 92.9, 14.5e6, 0.9e9,
       (0, 0, 0, 0, 2), ("20.20", "20.20", "25.25.25.25", "25.25.20.20"), (65, 65, 65, 65, 65, 80), 176)
_named("ofa-resnet50-mac0.6b", "resnet50D_MAC@0.6B_top1@75.0_finetune@25", 75.0, 92.1, 9.6e6, 0.6e9,
       (0, 0, 0, 0, 0), ("20.20", "20.20", "20.20.35.20", "20.25"), (65, 65, 65, 65, 65, 80), 160)


class ResNet50Family(Family):
    """torchvision ResNet-50 v1.5 in our own torch module; the static baseline (no knobs)."""

    family = "resnet50"
    doc = "ResNet-50 v1.5 (torchvision layout), 1000 classes"
    knobs = ()
    default_resolution = (224, 224)
    min_resolution = 32
    resolution_multiple = 32

    def _build(self, config: Config, weights: Mapping[str, torch.Tensor] | None = None):
        """``weights``: a torchvision ``resnet50`` state_dict (same module names)."""
        from .ofa_resnet_nets import ResNet50

        m = ResNet50()
        if weights is not None:
            m.load_state_dict(weights)
        return m


class OFAResNet50Family(Family):
    """The Once-For-All ResNet-50 design space; each config builds its real sub-net."""

    family = "ofa-resnet50"
    doc = "Once-For-All ResNet-50 (ResNet-50D design space): elastic depth, expand ratio, width"
    knobs = (_DEPTH_KNOB, _EXPAND_KNOB, _WIDTH_KNOB)
    default_resolution = (224, 224)
    min_resolution = 32
    # OFA is elastic in resolution too: its specialized nets run at multiples of 4
    # (run.config image_size, e.g. 172, 208); the convolutions work at any size >= 32.
    resolution_multiple = 4

    # ---- names --------------------------------------------------------------
    def model_names(self) -> list[str]:
        return [self.family] + list(NAMED_SUBNETS)

    def name_presets(self, name: str) -> dict[str, Any]:
        name = (name or self.family).lower()
        if name in NAMED_SUBNETS:
            n = NAMED_SUBNETS[name]
            return {"depth": n["depth"], "expand": n["expand"], "width": n["width"]}
        if name != self.family:
            raise ConfigError(f"unknown model {name!r}; models: {', '.join(self.model_names())}")
        return {}

    def _named_of(self, values: Mapping[str, Any]) -> str | None:
        for name, n in NAMED_SUBNETS.items():
            if (tuple(values["depth"]), values["expand"], tuple(values["width"])) == (n["depth"], n["expand"], n["width"]):
                return name
        return None

    def config_name(self, values: Mapping[str, Any]) -> str:
        return self._named_of(values) or self.family

    def config(self, name: str | None = None, resolution=None, **knobs: Any) -> Config:
        if resolution is None and name and name.lower() in NAMED_SUBNETS:
            resolution = NAMED_SUBNETS[name.lower()]["resolution"]
        cfg = super().config(name=name, resolution=resolution, **knobs)
        if cfg.name != self.family:  # a named sub-net: its name spells every knob
            return Config(
                family=cfg.family, resolution=cfg.resolution, knobs=cfg.knobs, name=cfg.name,
                id=f"{cfg.name}@{cfg.resolution[0]}x{cfg.resolution[1]}",
            )
        return cfg

    # ---- helpers ------------------------------------------------------------
    @staticmethod
    def arch(config: Config) -> dict[str, Any]:
        """OFA's set_active_subnet arguments (d, e as ratios per supernet block, w as indices)."""
        depth, expand, width = config["depth"], config["expand"], config["width"]
        e: list[float | None] = []
        for s, base in enumerate(BASE_DEPTH_LIST):
            g = list(expand[s]) + [None] * (base + MAX_DEPTH - len(expand[s]))
            e += [None if v is None else v / 100 for v in g]
        return {"d": list(depth), "e": e, "w": [_width_index(v) for v in width]}

    def cost(self, config: Config) -> tuple[int, int]:
        """(MACs of conv + linear, params): analytic, as OFA's flops_counter counts them."""
        return subnet_cost(config["depth"], config["expand"], config["width"], config.resolution)

    def largest(self, resolution=None) -> Config:
        return self.config(resolution=resolution)

    def smallest(self, resolution=None) -> Config:
        return self.config(
            resolution=resolution, depth=(0, 0, 0, 0, 0), expand=min(EXPAND_PCT), width=(min(WIDTH_PCT),) * 6
        )

    # ---- torch ----------------------------------------------------------------
    def _build(self, config: Config, weights: Mapping[str, torch.Tensor] | None = None):
        """The sub-net; with ``weights`` (a state_dict of the full supernet, OFA's dynamic
        layout or ours) every tensor is sliced from it as OFA's get_active_subnet does."""
        import torch

        if weights is None:
            return build_subnet(config["depth"], config["expand"], config["width"])
        device = torch.get_default_device()  # Family.build_torch builds under `with torch.device(...)`
        if device.type == "meta":
            raise ConfigError("weights= cannot be loaded into a meta-device module")
        with torch.device("meta"):  # no random init: every tensor comes from the supernet
            m = build_subnet(config["depth"], config["expand"], config["width"])
        m = m.to_empty(device=device)
        m.load_state_dict(slice_supernet_state_dict(weights, config["depth"], config["expand"], config["width"], subnet=m))
        return m

    def build_supernet(self, device: str = "cpu") -> nn.Module:
        """A module holding the full supernet's tensors (the largest configuration)."""
        return self.build_torch(self.largest(), device=device)
