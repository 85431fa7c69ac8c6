"""Shared helpers for models built from Hugging Face `transformers` classes."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def logits_only(hf_class: type) -> type:
    """A subclass of ``hf_class`` whose forward returns only the logits tensor.

    Same parameter names, so a full state_dict of the Hugging Face model loads as is; the
    tracer and the executable model then see one plain tensor output.
    """

    class Logits(hf_class):  # type: ignore[misc, valid-type]
        def forward(self, pixel_values):  # type: ignore[override]
            return super().forward(pixel_values).logits

    Logits.__name__ = Logits.__qualname__ = hf_class.__name__ + "Logits"
    return Logits
