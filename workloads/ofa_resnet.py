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
chosen by ``scripts/fit_ofa_subnets.py`` so that both its MACs and its params round to the
published figures: an APPROXIMATION, labelled so in ``data/accuracy_ofa_resnet50.yaml``. The
fitted configurations are data, ``data/ofa_resnet50_subnets.yaml`` (``NAMED_SUBNETS``). A
configuration built from knobs that equals a named sub-net gets the named id.
"""

from __future__ import annotations

from pathlib import Path
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
#: The fitted named sub-nets (written by scripts/fit_ofa_subnets.py).
SUBNETS_FILE = Path(__file__).parent / "data" / "ofa_resnet50_subnets.yaml"


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


# The 8 specialized sub-nets of the OFA model zoo (README.md table; net ids in ofa/model_zoo.py).
# APPROXIMATIONS: the published net.config / run.config files (han-cai/files,
# ofa/ofa_specialized/resnet50D_MAC-*) are not in any public source we could read, so each
# configuration was fitted by scripts/fit_ofa_subnets.py (which says how) to the published MACs
# and params: both round to the published figures. The smallest sub-net of the space has
# 0.96 GMACs at 224x224, so the 1.2B/0.9B/0.6B nets cannot be 224x224 nets: OFA specializes the
# resolution too (run.config "image_size", 128..224 in steps of 4), and the fit chose the largest
# resolution that admits a match. The resolution is part of the named configuration (its
# default); any other resolution is allowed but has no accuracy.
def _load_named_subnets(path: Path = SUBNETS_FILE) -> dict[str, dict[str, Any]]:
    """name -> net_id, published {top1, top5, params, macs}, depth, expand, width, resolution, exact."""
    import yaml

    out = {}
    for name, n in yaml.safe_load(path.read_text())["subnets"].items():
        out[name] = {
            "net_id": n["net_id"],
            "published": dict(n["published"]),
            "depth": tuple(n["depth"]),
            "expand": tuple(tuple(g) for g in n["expand"]),
            "width": tuple(n["width"]),
            "resolution": (n["resolution"], n["resolution"]),
            "exact": bool(n["exact"]),
        }
    return out


NAMED_SUBNETS: dict[str, dict[str, Any]] = _load_named_subnets()


class ResNet50Family(Family):
    """torchvision ResNet-50 v1.5 in our own torch module; the static baseline (no knobs)."""

    family = "resnet50"
    doc = "ResNet-50 v1.5 (torchvision layout), 1000 classes"
    knobs = ()
    default_resolution = (224, 224)
    min_resolution = 32
    resolution_multiple = 32

    def published_sizes(self) -> dict:
        from .knobs import PublishedSize

        return {self.family: PublishedSize(
            source="torchvision ResNet50_Weights.IMAGENET1K_V1: num_params 25557032, GFLOPS 4.09 (multiply-adds)",
            params=25_557_032, macs=4.09e9, macs_tol=0.005e9, resolution=(224, 224))}

    def _build(self, config: Config, weights: Mapping[str, torch.Tensor] | None = None):
        """``weights``: a torchvision ``resnet50`` state_dict (same module names)."""
        from .ofa_resnet_nets import ResNet50

        m = ResNet50(NUM_CLASSES)
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

    def published_sizes(self) -> dict:
        """The named sub-nets' published params and MACs (rounded to 0.1M / 0.1B) at their resolution."""
        from .knobs import PublishedSize

        return {name: PublishedSize(
            source=f"mit-han-lab/once-for-all README.md, OFA specialized sub-nets, {n['net_id']}",
            params=n["published"]["params"], params_tol=0.05e6, macs=n["published"]["macs"], macs_tol=0.05e9,
            resolution=n["resolution"]) for name, n in NAMED_SUBNETS.items()}

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
