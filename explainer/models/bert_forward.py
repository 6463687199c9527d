"""The forward pass of a BERT encoder (MiniLM), composed from :mod:`explainer.numeric`
ops and recorded under the toy model's stage names where the two agree.

Stages (besides the encoder layers of :func:`explainer.forward.encoder_layers`,
``encoder.{l}.self_attn.*``, ``residual1``, ``norm1``, ``ffn.*``, ``residual2``,
``norm2``):

- ``encoder.embed.ids | one_hot | lookup``: the token embedding, as in the toy model
- ``encoder.embed.positions``: rows 0…T−1 of the learned position table
- ``encoder.embed.segments``: the token-type row of segment 0, for every token
- ``encoder.embed.with_positions``, ``encoder.embed.sum``: the two additions
- ``encoder.embed.norm``: LayerNorm of the sum (BERT normalises its embeddings),
  with the parameters ``encoder.embed.norm.gamma | beta``: the encoder's input
- ``output.pooled``: the mean of the last layer's token vectors
- ``output.embedding``: that mean at unit length: the sentence embedding

Devlin et al. 2019, §3 (BERT); Reimers & Gurevych 2019 (mean pooling).
"""

from __future__ import annotations

import numpy as np

from explainer import numeric
from explainer.config import ModelConfig
from explainer.forward import ForwardResult, Named, encoder_layers, token_lookup
from explainer.params import Params
from explainer.trace import Op, Recorder


def forward(
    cfg: ModelConfig, params: Params, ids: np.ndarray, *, record: bool = True
) -> ForwardResult:
    """Run the encoder on token ids (T,); ``logits`` holds the sentence embedding."""
    rec = Recorder(record)
    ids = np.array(ids)  # a copy: the trace freezes what it records
    x = embed(rec, cfg, params, ids)
    x = encoder_layers(rec, cfg, params, x, ids.shape[-1], None)
    embedding = pool(rec, x)
    return ForwardResult(tuple(rec.stages), embedding)


def embed(rec: Recorder, cfg: ModelConfig, params: Params, ids: np.ndarray) -> Named:
    """LayerNorm(E[ids] + P[0…T−1] + S[0]) (Devlin et al. 2019, §3.2, Figure 2)."""
    p = "encoder.embed"
    seq_len = ids.shape[-1]
    tokens, _ = token_lookup(rec, p, params, ids)  # (T, d_model)
    positions = rec(
        f"{p}.positions",
        Op.POSITION_EMBEDDING,
        ("position_embedding",),
        numeric.position_embedding(params["position_embedding"], seq_len),
    )  # (T, d_model)
    segments = rec(
        f"{p}.segments",
        Op.SEGMENT_EMBEDDING,
        ("segment_embedding",),
        numeric.segment_embedding(params["segment_embedding"], seq_len),
    )  # (T, d_model)
    x = rec(
        f"{p}.with_positions",
        Op.ADD,
        (f"{p}.lookup", f"{p}.positions"),
        numeric.add(tokens, positions),
    )
    x = rec(
        f"{p}.sum",
        Op.ADD,
        (f"{p}.with_positions", f"{p}.segments"),
        numeric.add(x, segments),
    )  # (T, d_model)
    gamma, beta = f"{p}.norm.gamma", f"{p}.norm.beta"
    value = numeric.layer_norm(x, params[gamma], params[beta], cfg.eps)
    return rec(f"{p}.norm", Op.LAYER_NORM, (f"{p}.sum", gamma, beta), value), (
        f"{p}.norm"
    )


def pool(rec: Recorder, x: Named) -> np.ndarray:
    """Mean over the tokens, then unit length (sentence-transformers' Pooling and
    Normalize modules)."""
    pooled = rec("output.pooled", Op.MEAN_POOL, (x[1],), numeric.mean_pool(x[0]))
    return rec(
        "output.embedding",
        Op.L2_NORMALIZE,
        ("output.pooled",),
        numeric.l2_normalize(pooled),
    )  # (d_model,)
