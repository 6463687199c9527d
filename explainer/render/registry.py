"""The scenes, by the kebab-case names the CLI uses, in the order of the movie.

Each name maps to a class in ``explainer.scenes`` (the ``scenes/`` folder). Looking
a scene up imports nothing heavy: Manim is only imported by the process that renders.

>>> [spec.name for spec in resolve(["softmax", "tokens"])]
['softmax', 'tokens']
>>> resolve(["sofmax"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown scene 'sofmax'; valid scenes: intro, tokens, ..., outro
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from explainer.render.applicability import FEATURES, why_not
from explainer.trace import Trace


@dataclass(frozen=True)
class SceneSpec:
    """One scene: its CLI name, where its class lives, and what it shows."""

    name: str  # kebab-case, as typed on the command line
    module: str  # the module under explainer.scenes (the file scenes/<module>.py)
    cls: str  # the Scene class (CamelCase)
    title: str  # one line for --list
    seconds: float  # about how long it runs at normal speed (for the progress bar)
    needs: str = ""  # a key of applicability.FEATURES the trace must have, or ""

    @property
    def import_path(self) -> str:
        return f"explainer.scenes.{self.module}"

    def __post_init__(self) -> None:
        if self.needs and self.needs not in FEATURES:
            raise ValueError(
                f"scene {self.name!r} needs unknown feature {self.needs!r}"
            )

    def unavailable(self, trace: Trace) -> str:
        """Why ``trace`` cannot show this scene ('' if it can), in one line."""
        return why_not(self.needs, trace) if self.needs else ""

    @property
    def requirement(self) -> str:
        """What the scene needs, for ``--list`` ('' if every model has it)."""
        return FEATURES[self.needs].what if self.needs else ""


def available(specs: Iterable[SceneSpec], trace: Trace) -> list[SceneSpec]:
    """The scenes of ``specs`` that ``trace`` can show, in order."""
    return [spec for spec in specs if not spec.unavailable(trace)]


SCENES: dict[str, SceneSpec] = {
    s.name: s
    for s in (
        SceneSpec(
            "intro",
            "intro",
            "Introduction",
            "the architecture (the paper's Figure 1) for this model; the corner map",
            22,
        ),
        SceneSpec(
            "tokens", "tokens", "Tokenization", "the sentence → tokens → ids", 12
        ),
        SceneSpec(
            "embedding",
            "embedding",
            "EmbeddingLookup",
            "one-hot row × E picks a row (× √d_model in the paper)",
            14,
        ),
        SceneSpec(
            "positional-encoding",
            "positional_encoding",
            "PositionalEncoding",
            "sinusoids of falling frequency, added to the embeddings",
            17,
            needs="sinusoids",
        ),
        SceneSpec(
            "position-embedding",
            "position_embedding",
            "PositionEmbedding",
            "learned position and segment rows added, then LayerNorm (BERT)",
            16,
            needs="learned-positions",
        ),
        SceneSpec(
            "projections",
            "projections",
            "QKVProjections",
            "Q, K, V = X W + b, split into heads",
            14,
        ),
        SceneSpec(
            "rope",
            "rope",
            "RotaryPositions",
            "each query/key pair turned by m·ω_i: scores see n − m (Llama)",
            16,
            needs="rope",
        ),
        SceneSpec(
            "softmax", "softmax", "Softmax", "one row: exponentiate, sum, divide", 12
        ),
        SceneSpec(
            "attention",
            "attention",
            "ScaledDotProductAttention",
            "QKᵀ cell by cell, ÷√d_k, (mask), softmax, weights · V",
            28,
        ),
        SceneSpec(
            "scaling",
            "scaling",
            "ScaledScores",
            "why ÷√d_k: softmax of d_k = 64 random scores, unscaled vs scaled",
            22,
        ),
        SceneSpec(
            "multi-head",
            "multi_head",
            "MultiHeadAttention",
            "heads side by side, Concat, · W^O",
            13,
        ),
        SceneSpec(
            "layer-norm",
            "layer_norm",
            "ResidualLayerNorm",
            "x + Sublayer(x) and LayerNorm (or RMSNorm) of each row",
            16,
        ),
        SceneSpec(
            "feed-forward",
            "feed_forward",
            "FeedForward",
            "x W₁ + b₁ → ReLU / GELU → · W₂ + b₂ (or SwiGLU)",
            12,
        ),
        SceneSpec(
            "bridge",
            "bridge",
            "EncoderToDecoder",
            "now the decoder: the encoder's output M gives cross-attention K and V",
            18,
            needs="cross",
        ),
        SceneSpec(
            "causal-mask",
            "masking",
            "CausalMask",
            "the decoder may not look ahead: −∞, then softmax",
            11,
            needs="causal",
        ),
        SceneSpec(
            "cross-attention",
            "cross_attention",
            "CrossAttention",
            "decoder queries over the encoder's output",
            11,
            needs="cross",
        ),
        SceneSpec(
            "output",
            "output",
            "OutputProbabilities",
            "logits h Eᵀ, softmax, the most probable next tokens",
            13,
            needs="logits",
        ),
        SceneSpec(
            "sentence-embedding",
            "sentence_embedding",
            "SentenceEmbedding",
            "mean of the token vectors, scaled to length 1 (MiniLM)",
            12,
            needs="pooling",
        ),
        SceneSpec(
            "learning",
            "learning",
            "WatchItLearn",
            "the loss falls; the demo pair's cross-attention at each checkpoint",
            40,
            needs="checkpoints",
        ),
        SceneSpec(
            "gradient-flow",
            "gradient_flow",
            "GradientFlow",
            "one gradient back through attention: p − y → ∂h → ∂P → ∂S → ∂Q, ∂K",
            36,
            needs="trained",
        ),
        SceneSpec(
            "outro",
            "outro",
            "Recap",
            "the whole path again: tokens → … → logits → the output, from the trace",
            20,
        ),
    )
}
"""Every scene, in the order the movie plays them."""


def resolve(names: Iterable[str]) -> list[SceneSpec]:
    """The scenes called ``names`` (in the order given, without repeats).

    Raises ValueError naming the first unknown name and listing the valid ones.
    """
    specs: list[SceneSpec] = []
    for name in names:
        if name not in SCENES:
            raise ValueError(
                f"unknown scene {name!r}; valid scenes: {', '.join(SCENES)}"
            )
        if SCENES[name] not in specs:
            specs.append(SCENES[name])
    return specs
