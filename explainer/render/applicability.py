"""Which scenes a trace can show, and in one line why not.

A scene needs one :class:`Feature` of the model (sinusoidal positional encoding,
RoPE, a causal mask, cross-attention, next-token logits, …); a trace has it when it
records the stages that show it. When it does not, :func:`why_not` says what the
scene needs and what this model does instead, naming the scene that shows that:

    needs sinusoidal positional encoding; smollm2 (a decoder) rotates queries and
    keys by position instead (RoPE, see the rope scene)

>>> from explainer.config import ModelConfig
>>> from explainer.run import trace_sentence
>>> trace = trace_sentence(ModelConfig(architecture="encoder"), "you win")
>>> why_not("cross", trace)
'needs an encoder-decoder (cross-attention); this model is an encoder: it has \
self-attention only'
>>> why_not("sinusoids", trace)
''
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from explainer.trace import Op, Trace


@dataclass(frozen=True)
class Feature:
    """Something a scene shows that not every model has."""

    what: str  # what the scene needs, after "needs"
    has: Callable[[Trace], bool]
    instead: Callable[[Trace], str]  # what the model does instead, naming it


def subject(trace: Trace) -> str:
    """How a message names the model: ``smollm2 (a decoder)``, ``this model``."""
    if trace.config.model:
        return f"{trace.config.model} ({_article(trace.config.architecture)})"
    return "this model"


def _article(arch: str) -> str:
    return f"{'an' if arch.startswith('e') else 'a'} {arch}"


def _has(op: Op) -> Callable[[Trace], bool]:
    return lambda trace: bool(trace.find(op))


def _does(trace: Trace, choices: tuple[tuple[Op, str], ...], otherwise: str) -> str:
    """``<model> <phrase>``: the phrase of the first op in ``choices`` that the
    trace records, else ``otherwise``."""
    what = next((text for op, text in choices if trace.find(op)), otherwise)
    return f"{subject(trace)} {what}"


def positions(trace: Trace) -> str:
    """How the model tells positions apart, and which scene shows it."""
    return _does(
        trace,
        (
            (Op.ROPE, "rotates queries and keys by position instead (RoPE, see the "
             "rope scene)"),
            (Op.POSITION_EMBEDDING, "adds learned position embeddings instead (see "
             "position-embedding)"),
            (Op.POSITIONAL_ENCODING, "adds sinusoidal positional encoding instead "
             "(see positional-encoding)"),
        ),
        "has no position information",
    )  # fmt: skip


def outputs(trace: Trace) -> str:
    """What the model outputs, and which scene shows it."""
    return _does(
        trace,
        (
            (Op.MEAN_POOL, "outputs a sentence embedding instead (see "
             "sentence-embedding)"),
            (Op.LOGITS, "outputs next-token probabilities instead (see output)"),
        ),
        "records no output stage",
    )  # fmt: skip


def _kind(trace: Trace) -> str:
    """``minilm is an encoder``: the stack the model is."""
    name = trace.config.model or "this model"
    return f"{name} is {_article(trace.config.architecture)}"


def bidirectional(trace: Trace) -> str:
    """Why there is no causal mask (only an encoder lacks one)."""
    return f"{_kind(trace)}: every token sees every other"


def self_attention_only(trace: Trace) -> str:
    """Why there is no cross-attention (an encoder or a decoder alone)."""
    return f"{_kind(trace)}: it has self-attention only"


FEATURES: dict[str, Feature] = {
    "sinusoids": Feature(
        "sinusoidal positional encoding", _has(Op.POSITIONAL_ENCODING), positions
    ),
    "learned-positions": Feature(
        "learned position embeddings", _has(Op.POSITION_EMBEDDING), positions
    ),
    "rope": Feature("rotary position embeddings (RoPE)", _has(Op.ROPE), positions),
    "causal": Feature("a decoder (a causal mask)", _has(Op.CAUSAL_MASK), bidirectional),
    "cross": Feature(
        "an encoder-decoder (cross-attention)",
        lambda trace: "decoder.0.cross_attn.weights" in trace,
        self_attention_only,
    ),
    "logits": Feature("next-token logits", _has(Op.LOGITS), outputs),
    "pooling": Feature("a pooled sentence embedding", _has(Op.MEAN_POOL), outputs),
    "checkpoints": Feature(
        "the default preset's trained weights (their checkpoints)",
        lambda trace: _shipped(trace),
        lambda trace: _untrained(trace),
    ),
    "trained": Feature(
        "a toy model with trained weights (explainer train)",
        lambda trace: bool(trace.weights) and not trace.config.model,
        lambda trace: _untrained(trace),
    ),
}
"""Every feature a scene may need, by the key :class:`SceneSpec.needs` uses."""


def _untrained(trace: Trace) -> str:
    """What the model has instead of (the default preset's) trained weights."""
    if trace.config.model:
        return f"{subject(trace)} is pretrained"
    if not trace.weights:
        return f"{subject(trace)} has random weights"
    return f"{subject(trace)} has other trained weights (use --preset default)"


def _shipped(trace: Trace) -> bool:
    from explainer.train.learning import shipped_weights_of

    return shipped_weights_of(trace) is not None


def why_not(feature: str, trace: Trace) -> str:
    """Why ``trace`` cannot show a scene needing ``feature`` ('' if it can)."""
    need = FEATURES[feature]
    if need.has(trace):
        return ""
    return f"needs {need.what}; {need.instead(trace)}"
