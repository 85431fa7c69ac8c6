"""The paper's study, shared by the parts of `cosim reproduce` (explore/reproduce_parts.py,
explore/reproduce_ofa.py) and its page (explore/reproduce.py): the paper's claims in its own
words, the study's op classes, the verdict line and the small helpers every part uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vocab.names import OP_CLASSES

TOLERANCE_PCT = 5.0  # a tool's saving "agrees" with the paper's when within this many percentage points

# The paper (quoted on the page, so that it stands alone).
PAPER_REF = ("Sreedhar, Clemons, Venkatesan, Keckler, Horowitz. arXiv 2212.02687: v1 (Dec 2022) and v2 (Feb 2023) "
             "*Enabling and Accelerating Dynamic Vision Transformer Inference for Real-Time Applications*; v3 "
             "(Apr 2024, IEEE ISPASS 2024) *Vision Transformer Computation and Resilience for Dynamic Inference*. "
             "Only the abstracts are used here: the body (exact hardware, tables) was not available to this "
             "project, so the tool's hardware is its own sourced presets.")


@dataclass(frozen=True)
class Claim:
    version: str     # which abstract
    quote: str       # its words (v2: verbatim; v1/v3: the figures the abstract states)
    numbers: dict = field(default_factory=dict)


PAPER = {
    "op_classes": Claim("v2 abstract", "We find that unlike early transformer models, recent state-of-the-art vision "
                        "transformers heavily rely on convolution layers."),
    "b2": Claim("v2 abstract", "Our accelerator saves 20% of execution time and 30% of energy with a 4% drop in "
                "accuracy with pretrained SegFormer B2 model in our dynamic inference approach",
                {"drop": 4.0, "time": 20.0, "energy": 30.0}),
    "b2_v3": Claim("v3 abstract", "28% energy saved with a 1.4% accuracy drop for SegFormer (63 GFLOPs) with no "
                   "additional training", {"drop": 1.4, "energy": 28.0}),
    "ofa": Claim("v2 abstract", "[saves] 57% of execution time for the ResNet-50 backbone with a 4.5% drop in "
                 "accuracy with the Once-For-All approach", {"drop": 4.5, "time": 57.0}),
    "ofa_v3": Claim("v3 abstract", "53% energy saved for ResNet-50 (4 GFLOPs) with a 3.3% drop by switching between "
                    "pretrained Once-For-All models", {"drop": 3.3, "energy": 53.0}),
    "vector_size": Claim("v2 abstract", "We find that wider vector sizes produce a better energy-accuracy tradeoff "
                         "across dynamic configurations despite limiting the granularity of dynamic execution"),
    "scaling": Claim("v2 abstract", "but scaling accelerator resources for larger models does not significantly "
                     "improve the latency-area-energy-tradeoffs."),
}
VERDICTS = ("agrees", "disagrees", "cannot be stated")
#: The study's MAC classes: the IR's op classes (`vocab.names.OP_CLASSES`, `workloads.ir.Layer.op_class`)
#: with `pointwise` split by its op into 1x1 convolutions and per-token linear layers (the paper
#: counts convolutions apart from linear layers), in the IR's order.
POINTWISE_SPLIT = {"conv": "conv1x1", "linear": "linear"}
STUDY_CLASSES = tuple(s for c in OP_CLASSES if c != "non_mac"
                      for s in (POINTWISE_SPLIT.values() if c == "pointwise" else (c,)))


def study_class(layer) -> str:
    """A layer's study class (`STUDY_CLASSES`), or ``non_mac``."""
    c = layer.op_class
    return POINTWISE_SPLIT[layer.op] if c == "pointwise" else c


def macs_by_class(config_id: str) -> dict[str, int]:
    import workloads

    wl = workloads.lower(workloads.parse_config(config_id))
    out = {c: 0 for c in STUDY_CLASSES}
    for l in wl.layers:
        c = study_class(l)
        if c != "non_mac":
            out[c] += l.macs
    return out


def quote(key: str) -> str:
    c = PAPER[key]
    return f"> \"{c.quote}\" (arXiv 2212.02687 {c.version})"


def verdict(kind: str, text: str) -> str:
    """The one verdict line of a part."""
    if kind not in VERDICTS:
        raise ValueError(f"verdict {kind!r}; allowed: {', '.join(VERDICTS)}")
    return f"**Verdict: {kind}.** {text}"


def pct(a: float, b: float) -> float:
    """Percent saved going from b to a."""
    return 100.0 * (1.0 - a / b) if b else float("nan")


def ok_rows(df):
    return df[df["error"].fillna("") == ""].copy()


def close_to(tool: float, paper: float) -> bool:
    return abs(tool - paper) <= TOLERANCE_PCT


@dataclass
class Context:
    """What a part's analysis gets: every sweep's results, where figures go, the accuracy profiles."""
    results: dict
    figs: Path
    profiles: Sequence[Any] = ()
    verdicts: dict = field(default_factory=dict)   # part -> verdict line (the page's summary)
