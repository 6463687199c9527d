"""What an op needs besides its input arrays: the sizes of the model, and for a
forward formula the shape it must produce."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    """A forward op's sizes (the formulas of :mod:`explainer.verify.formulas`)."""

    n_heads: int
    d_k: int
    d_model: int
    eps: float
    pad_id: int
    shape: tuple[int, ...]  # the recorded output's shape (for PE and masks)


@dataclass(frozen=True)
class GradContext:
    """A backward op's sizes (the rules of :mod:`explainer.backward.rules`)."""

    n_heads: int
    d_k: int
    d_model: int
    eps: float
    eos_id: int  # the label after the last word
    shift: bool  # decoders predict the next token; an encoder its own
