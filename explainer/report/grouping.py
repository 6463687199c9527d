"""Which section of the report shows which stage, and what each section explains.

Stages are grouped in the order the trace recorded them, so that pre-LN and
post-LN models both read in forward order. Layer 0 of each stack gets a section
per step; every other layer is one summary section.

The pretrained models add kinds of their own: a Llama decoder (SmolLM2) has
``rms-norm``, ``rope-angles``, ``rope``, ``gqa`` and ``swiglu`` sections (Touvron
et al. 2023, §2.2), a BERT encoder (MiniLM) ``learned`` and ``pooling`` ones
(Devlin et al. 2019, §3.2; Reimers & Gurevych 2019, §3).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from explainer.config import ModelConfig
from explainer.i18n import N_
from explainer.report.derivations import titled
from explainer.trace import Stage, Trace

ATTN = re.compile(r"^(encoder|decoder)\.(\d+)\.(self_attn|cross_attn)\.(\w+)$")
_LAYER = re.compile(r"^(encoder|decoder)\.(\d+)\.(residual|norm)(\d+)$")
_FFN = re.compile(r"^(encoder|decoder)\.(\d+)\.ffn\.\w+$")
_EMBED = re.compile(r"^(encoder|decoder)\.embed\.(\w+)$")
_ROPE = re.compile(r"^(encoder|decoder)\.rope\.angles$")
_ATTN_KINDS = {
    "q": "qkv",
    "k": "qkv",
    "v": "qkv",
    "scores": "scores",
    "scaled": "scores",
    "mask": "mask",
    "masked": "mask",
    "weights": "softmax",
    "heads": "weighted",
    "concat": "concat",
    "out": "concat",
    "q_rope": "rope",  # Llama: RoPE on queries and keys
    "k_rope": "rope",
    "k_heads": "gqa",  # Llama: each K/V head repeated for its query heads
    "v_heads": "gqa",
}
_EMBED_KINDS = {
    "ids": "tokens",
    "padding": "tokens",
    "one_hot": "embedding",
    "lookup": "embedding",
    "scaled": "embedding",
    "pe": "positional",
    "input": "positional",
    "positions": "learned",  # a pretrained BERT: learned positions, segments, norm
    "segments": "learned",
    "with_positions": "learned",
    "sum": "learned",
    "norm": "learned",
}
_OUTPUT_KINDS = {
    "output.logits": "logits",
    "output.probs": "probs",
    "output.pooled": "pooling",
    "output.embedding": "pooling",
}

# Which groups of which derivation each kind of section explains.
DERIVATIONS: dict[str, list[tuple[str, Callable[[str], bool] | None]]] = {
    "embedding": [("embedding", None)],
    "positional": [("positional-encoding", None)],
    "qkv": [("multi-head", titled("project once"))],
    "scores": [("scaled-dot-product-attention", titled("√d_k", "variance", "check"))],
    "mask": [("scaled-dot-product-attention", titled("mask"))],
    "softmax": [("softmax", None)],
    "weighted": [("scaled-dot-product-attention", titled("sum to one"))],
    "concat": [("multi-head", titled("concat", "parameters"))],
    "addnorm": [("residual-norm", None), ("layer-norm", None)],
    "norm": [("layer-norm", None), ("residual-norm", None)],
    "residual": [("residual-norm", None)],
    "ffn": [("feed-forward", None)],
    "logits": [("output", titled("tied"))],
    "probs": [("output", titled("cross-entropy", "∂l", "tying"))],
}
# The kinds of the pretrained models' variants (their derivations are not the
# paper's: see explainer derive rms-norm | rope | gqa | swiglu).
VARIANT_DERIVATIONS: dict[str, list[tuple[str, Callable[[str], bool] | None]]] = {
    "learned": [("layer-norm", None)],  # BERT normalises its embeddings
    "rms-norm": [("rms-norm", None)],
    "rope": [("rope", None)],
    "gqa": [("gqa", None)],
    "swiglu": [("swiglu", None)],
}


def derivations_of(
    kind: str, activation: str
) -> list[tuple[str, Callable[[str], bool] | None]]:
    """The derivation groups a section of ``kind`` explains; a GELU network
    leaves out the feed-forward derivation's ReLU step and adds the ``gelu``
    derivation (Hendrycks & Gimpel 2016).

    >>> [name for name, _ in derivations_of("rope", "swiglu")]
    ['rope']
    >>> [name for name, _ in derivations_of("ffn", "gelu")]
    ['feed-forward', 'gelu']
    >>> keep = derivations_of("ffn", "gelu")[0][1]
    >>> keep("ReLU"), keep("GELU ≈ ReLU away from 0")
    (False, True)
    """
    if kind == "ffn" and activation == "gelu":
        return [("feed-forward", lambda title: title != "ReLU"), ("gelu", None)]
    return DERIVATIONS.get(kind) or VARIANT_DERIVATIONS.get(kind, [])


def section_key(
    name: str, norm: str, op: str = "", activation: str = "relu"
) -> tuple[str, str, str, int | None, str | None]:
    """(id, kind, stack, layer, attention) of the section that shows stage ``name``
    (made by ``op``, in a model whose feed-forward network uses ``activation``).

    >>> section_key("encoder.0.self_attn.scaled", "post")
    ('encoder-0-self_attn-scores', 'scores', 'encoder', 0, 'self_attn')
    >>> section_key("decoder.1.norm2", "post")
    ('decoder-1', 'layer', 'decoder', 1, None)
    >>> section_key("decoder.0.norm1", "pre", "rms_norm")
    ('decoder-0-norm1', 'rms-norm', 'decoder', 0, None)
    >>> section_key("decoder.0.ffn.gate", "pre", "linear", "swiglu")[:2]
    ('decoder-0-ffn', 'swiglu')
    """
    rms = op == "rms_norm"
    if m := _EMBED.match(name):
        kind = _EMBED_KINDS.get(m[2], "other")
        return f"{m[1]}-{kind}", kind, m[1], None, None
    if m := _ROPE.match(name):
        return f"{m[1]}-rope-angles", "rope-angles", m[1], None, None
    for pattern in (ATTN, _LAYER, _FFN):
        if m := pattern.match(name):
            stack, layer = m[1], int(m[2])
            if layer > 0:
                return f"{stack}-{layer}", "layer", stack, layer, None
            if pattern is ATTN:
                kind = _ATTN_KINDS.get(m[4], "other")
                return f"{stack}-0-{m[3]}-{kind}", kind, stack, 0, m[3]
            if pattern is _FFN:
                kind = "swiglu" if activation == "swiglu" else "ffn"
                return f"{stack}-0-ffn", kind, stack, 0, None
            n = m[4]
            if norm == "post":
                return f"{stack}-0-addnorm{n}", "addnorm", stack, 0, None
            kind = "rms-norm" if rms else m[3]
            return f"{stack}-0-{m[3]}{n}", kind, stack, 0, None
    if name in ("encoder.norm", "decoder.norm"):
        stack = name.split(".")[0]
        return f"{stack}-final-norm", "rms-norm" if rms else "norm", stack, None, None
    if name == "output.prediction":
        return "output-prediction", "prediction", "output", None, None
    if name in _OUTPUT_KINDS:
        kind = _OUTPUT_KINDS[name]
        return f"output-{kind}", kind, "output", None, None
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"other-{slug}", "other", name.split(".")[0], None, None


def stage_key(
    stage: Stage, cfg: ModelConfig
) -> tuple[str, str, str, int | None, str | None]:
    """:func:`section_key` of a recorded stage."""
    return section_key(stage.name, cfg.norm, str(stage.op), cfg.activation)


# The section titles, in English (marked for the catalog: translated where shown).
TITLES = {
    "tokens": N_("Tokenization: words become ids"),
    "embedding": N_("One-hot × embedding matrix"),
    "positional": N_("Positional encoding"),
    "learned": N_("Learned positions and segments, then LayerNorm"),
    "pooling": N_("Mean pooling: one vector for the sentence"),
    "qkv": N_("Queries, keys and values, per head"),
    "scores": N_("Scores QKᵀ and scaling by √d_k"),
    "mask": N_("The mask"),
    "softmax": N_("Softmax: scores become attention weights"),
    "weighted": N_("Weighted sum of the values"),
    "concat": N_("Concatenating the heads and W_O"),
    "addnorm": N_("Residual connection + LayerNorm"),
    "norm": N_("LayerNorm"),
    "residual": N_("Residual connection"),
    "ffn": N_("Position-wise feed-forward network"),
    "rms-norm": N_("RMSNorm"),
    "rope-angles": N_("RoPE: the rotation angles θ = m·ω_i"),
    "rope": N_("RoPE: queries and keys rotated by their position"),
    "gqa": N_("Grouped-query attention: each K/V head serves several query heads"),
    "swiglu": N_("SwiGLU feed-forward network"),
    "logits": N_("Final projection: logits = h Eᵀ"),
    "probs": N_("Probabilities of the next token"),
    "prediction": N_("The predicted token"),
    "layer": N_("Layer {layer}, summarised"),
    "other": N_("Stage {stage}"),
}
ATTN_NAMES = {"self_attn": N_("self-attention"), "cross_attn": N_("cross-attention")}
"""English, marked for the catalog: translated where a title is made."""


def group_stages(trace: Trace) -> list[list[Stage]]:
    """Consecutive stages that one section shows, in forward order."""
    groups: list[list[Stage]] = []
    current = None
    for stage in trace.stages:
        key = stage_key(stage, trace.config)[0]
        if key != current:
            groups.append([])
            current = key
        groups[-1].append(stage)
    return groups
